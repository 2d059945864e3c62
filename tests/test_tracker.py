"""The tracker's verdicts, with hand-built conversations and a fixed `now`."""

from __future__ import annotations

import re
import sys
from collections import Counter
from datetime import UTC, date, datetime
from types import FrameType

from threads import (
    CLIENT,
    ME,
    ZONE,
    at,
    message,
    proposal,
    thread,
    unthreaded_nudge,
    verdicts,
)

from watcher.analysis.conversations import Conversation, build_conversations
from watcher.analysis.rules import Override
from watcher.analysis.signals import automatic_reason, bounce_of
from watcher.analysis.tracker import (
    ANSWERED,
    AWAITING,
    BOUNCED,
    DONE,
    IGNORED,
    MUTED,
    SNOOZED,
    SUPERSEDED,
    TrackedMessage,
)
from watcher.cli.listing import format_thread
from watcher.config.tracking import Rule, Tracking
from watcher.model import Attachment, StoredMessage


def only(conversation: Conversation, **kwargs: object) -> TrackedMessage:
    (result,) = verdicts(conversation, **kwargs)  # type: ignore[arg-type]
    return result


def test_unanswered_proposal_is_awaiting_and_due() -> None:
    result = only(thread(proposal(at(11))))
    assert (result.state, result.due, result.quiet_days) == (AWAITING, True, 12)
    assert result.due_date == date(2026, 11, 14)
    assert result.contacts == (("", CLIENT),)
    assert any("Proposal_Acme_v2.pdf" in r for r in result.reasons)
    assert result.kind == "proposal"


def test_not_due_before_the_quiet_period_ends() -> None:
    result = only(thread(proposal(at(21, 17))))  # Saturday evening, 3 calendar days
    assert (result.state, result.due, result.due_date) == (AWAITING, False, date(2026, 11, 24))


def test_business_days_skip_the_weekend() -> None:
    friday = only(thread(proposal(at(20))), tracking=Tracking(business_days=True))
    assert friday.due_date == date(2026, 11, 25)
    assert not friday.due


def test_quiet_days_count_local_dates_across_the_dst_change() -> None:
    # Sent late on Saturday 24 October (summer time), clocks go back on Sunday 25 October.
    result = only(
        thread(proposal(at(24, 23, month=10))), now=datetime(2026, 10, 27, 7, tzinfo=ZONE)
    )
    assert result.due_date == date(2026, 10, 27)
    assert result.due and result.quiet_days == 3


def test_reply_from_recipient_or_colleague_answers() -> None:
    sent = proposal(at(10))
    for sender in (CLIENT, "boss@acme.example", "assistant@elsewhere.example"):
        result = only(
            thread(sent, message(sender, at(12), "Re: Proposal for the Acme website", to=ME))
        )
        assert result.state == ANSWERED
        assert result.answered_by == ("", sender)
        assert not result.due


def test_automatic_messages_are_not_replies() -> None:
    sent = proposal(at(10))
    ooo = message(
        CLIENT, at(10, 10), "Out of Office: Proposal", to=ME, auto_submitted="auto-replied"
    )
    receipt = message(
        CLIENT,
        at(11),
        "Read: Proposal",
        to=ME,
        content_type="multipart/report",
        report_type="disposition-notification",
    )
    result = only(thread(sent, ooo, receipt))
    assert result.state == AWAITING and result.due
    assert any("out-of-office" in note for note in result.notes)
    assert any("read receipt" in note for note in result.notes)


def test_reply_in_spam_counts_and_is_flagged() -> None:
    reply = message(
        CLIENT, at(12), "Re: Proposal for the Acme website", to=ME, folder="Junk", use="\\Junk"
    )
    result = only(thread(proposal(at(10)), reply))
    assert result.state == ANSWERED
    assert result.reply_in_spam
    assert "reply is in your spam folder" in result.notes


def test_bounce_naming_the_message_even_in_another_conversation() -> None:
    sent = proposal(at(10))
    bounce = message(
        "MAILER-DAEMON@mx.example",
        at(10, 10),
        "Undelivered Mail Returned to Sender",
        to=ME,
        content_type="multipart/report",
        report_type="delivery-status",
        reported_message_id=sent.facts.message_id,
    )
    results = verdicts(thread(sent), thread(bounce, thread_id="t0000000002"))
    assert [(r.state, r.bounced) for r in results] == [(BOUNCED, True)]
    assert not results[0].due


def test_revised_proposal_supersedes_and_restarts_the_clock() -> None:
    v1 = proposal(at(1))
    v2 = proposal(at(20, 10), subject="Proposal for the Acme website v2")
    first, second = verdicts(thread(v1, v2))
    assert first.state == SUPERSEDED
    assert (second.state, second.due_date, second.due) == (AWAITING, date(2026, 11, 23), True)


def test_my_nudge_restarts_the_clock() -> None:
    nudge = message(
        ME,
        at(21),
        "Re: Proposal for the Acme website",
        folder="Sent",
        use="\\Sent",
        body_text="Any news?",
    )
    result = only(thread(proposal(at(10)), nudge))
    assert result.state == AWAITING
    assert result.since == at(21)
    assert (result.quiet_days, result.due) == (2, False)


def test_answered_stays_answered_after_my_thank_you() -> None:
    reply = message(CLIENT, at(12), "Re: Proposal for the Acme website", to=ME)
    thanks = message(
        ME,
        at(13),
        "Re: Proposal for the Acme website",
        folder="Sent",
        use="\\Sent",
        body_text="Thanks!",
    )
    assert only(thread(proposal(at(10)), reply, thanks)).state == ANSWERED


def test_my_reply_to_someone_elses_proposal_is_not_tracked() -> None:
    theirs = message("vendor@print.example", at(5), "Proposal for printing", to=ME)
    mine = message(
        ME,
        at(6),
        "Re: Proposal for printing",
        to="vendor@print.example",
        folder="Sent",
        use="\\Sent",
        body_text="Thanks, we will look at it.",
    )
    assert verdicts(thread(theirs, mine)) == []


def test_overrides_from_every_source() -> None:
    conversation = thread(proposal(at(18)))
    assert only(conversation).due
    keyword = only(thread(proposal(at(18), flags=("\\Seen", "followup-10d"))))
    assert (keyword.due, keyword.due_date) == (False, date(2026, 11, 28))
    plus = only(thread(proposal(at(18), bcc=(("", "maya+mute@studio.example"),))))
    assert plus.state == MUTED and not plus.due
    assert plus.contacts == (("", CLIENT),)  # my own plus-address is not a contact
    muted = only(conversation, overrides={"t0000000001": Override(muted=True)})
    assert muted.state == MUTED
    done = only(conversation, overrides={"t0000000001": Override(done=True)})
    assert done.state == DONE
    snoozed = only(
        conversation, overrides={"t0000000001": Override(snooze_until=date(2026, 12, 1))}
    )
    assert (snoozed.state, snoozed.due, snoozed.due_date) == (SNOOZED, False, date(2026, 12, 1))
    woke = only(
        conversation,
        overrides={"t0000000001": Override(snooze_until=date(2026, 11, 22))},
    )
    assert (woke.state, woke.due) == (AWAITING, True)
    cli_beats_keyword = only(
        thread(proposal(at(18), flags=("followup-mute",))),
        overrides={"t0000000001": Override(quiet_days=1)},
    )
    assert cli_beats_keyword.policy.quiet_days == 1
    assert cli_beats_keyword.state == MUTED  # muting from the keyword still holds


def test_rules_can_ignore_or_lengthen() -> None:
    tracking = Tracking(
        rules=(
            Rule(number=1, domain="acme.example", quiet_days=10),
            Rule(number=2, subject=re.compile("website", re.I), kind="proposal", ignore=True),
        )
    )
    result = only(thread(proposal(at(18))), tracking=tracking)
    assert result.state == IGNORED
    assert result.policy.quiet_days == 10
    assert result.policy.sources[1].startswith("rule 1 (domain acme.example)")


def test_track_all_follows_ordinary_mail_but_not_automatic_mail() -> None:
    question = message(
        ME, at(15), "Lunch next week?", folder="Sent", use="\\Sent", body_text="Free on Tuesday?"
    )
    assert verdicts(thread(question)) == []
    (result,) = verdicts(thread(question), tracking=Tracking(track="all"))
    assert (result.state, result.kind) == (AWAITING, "message")
    my_ooo = message(
        ME, at(15), "Out of office", folder="Sent", use="\\Sent", auto_submitted="auto-replied"
    )
    assert verdicts(thread(my_ooo), tracking=Tracking(track="all")) == []


def test_verdicts_do_not_depend_on_input_order() -> None:
    a = thread(
        proposal(at(10)), message(CLIENT, at(12), "Re: Proposal for the Acme website", to=ME)
    )
    b = thread(proposal(at(15), subject="Quote 1042"), thread_id="t0000000002")
    now = datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert verdicts(a, b, now=now) == verdicts(b, a, now=now)


def test_unthreaded_follow_up_is_a_nudge_not_a_new_proposal() -> None:
    original = proposal(at(10))
    nudge = unthreaded_nudge(at(17))
    assert nudge.facts.in_reply_to == "" and nudge.facts.references == ()
    conversation = build_conversations(
        StoredMessage("work", m.folders[0], "\\Sent", m.facts) for m in (original, nudge)
    )
    assert len(conversation) == 1  # the subject fallback joins it to the proposal
    result = only(thread(original, nudge))
    assert result.message is original and result.state == AWAITING
    assert (result.since, result.nudges) == (at(17), 1)
    assert "you followed it up; the clock restarted" in result.notes


def test_every_nudge_counts() -> None:
    result = only(thread(proposal(at(1)), unthreaded_nudge(at(8)), unthreaded_nudge(at(15))))
    assert (result.since, result.nudges, result.quiet_days) == (at(15), 2, 8)


def test_revised_proposal_with_a_new_document_still_supersedes() -> None:
    revised = unthreaded_nudge(
        at(17),
        attachments=(Attachment("Proposal_Acme_v3.pdf", "application/pdf", 2000),),
        body_text="Hi Ana, here is the revised proposal.",
    )
    first, second = verdicts(thread(proposal(at(10)), revised))
    assert first.state == SUPERSEDED and first.nudges == 0
    assert second.message is revised and second.state == AWAITING


def test_follow_up_to_another_contact_is_not_this_proposals_nudge() -> None:
    other = unthreaded_nudge(at(17), to="bo@other.example")
    first, second = verdicts(thread(proposal(at(10)), other))
    assert first.nudges == 0
    assert second.message is other and second.contacts == (("", "bo@other.example"),)


def test_my_offer_after_their_answer_is_not_a_nudge() -> None:
    answer = message(CLIENT, at(12), "Re: Proposal for the Acme website", to=ME)
    first, second = verdicts(thread(proposal(at(10)), answer, unthreaded_nudge(at(14))))
    assert first.state == ANSWERED and first.nudges == 0
    assert second.state == AWAITING


def test_each_message_is_judged_automatic_or_a_bounce_once() -> None:
    # The bounce index, "did they write between two of mine", the reply rules, "heard since"
    # and `watcher thread` all ask about the same messages: each is computed once, on the
    # message. (Counted on the real functions' code, however they are imported.)
    sent = proposal(at(10))
    ooo = message(
        CLIENT, at(10, 10), "Out of Office: Proposal", to=ME, auto_submitted="auto-replied"
    )
    reply = message(CLIENT, at(12), "Re: Proposal for the Acme website", to=ME)
    elsewhere = message(CLIENT, at(13), "Lunch?", to=ME)
    conversations = [thread(sent, ooo, reply), thread(elsewhere, thread_id="t0000000002")]
    asked = {automatic_reason.__code__, bounce_of.__code__}
    calls: Counter[tuple[str, int]] = Counter()

    def count(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code in asked:
            calls[frame.f_code.co_name, id(frame.f_locals["facts"])] += 1

    sys.setprofile(count)
    try:
        for tracking in (Tracking(), Tracking(track="all")):
            results = verdicts(*conversations, tracking=tracking)
            format_thread(conversations[0], results, ZONE)
    finally:
        sys.setprofile(None)
    assert calls[("automatic_reason", id(ooo.facts))] == 1
    assert calls[("bounce_of", id(reply.facts))] == 1
    assert max(calls.values()) == 1
