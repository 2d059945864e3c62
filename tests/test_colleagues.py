"""Mail between colleagues: who counts as one, what is followed, and whose words answer."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from watcher.analysis.conversations import Conversation, ThreadMessage, build_conversations
from watcher.analysis.pipeline import identity_of
from watcher.analysis.tracker import ANSWERED, AWAITING, Assessment, assess
from watcher.cli.listing import format_thread
from watcher.cli.main import cli
from watcher.config.settings import parse_settings
from watcher.config.tracking import Rule, Tracking
from watcher.identity import Identity
from watcher.model import Attachment, MessageFacts
from watcher.store.store import Store

ME = "maya@corp.example"
BOB = "bob@corp.example"  # my colleague
CLIENT = "ana@acme.example"
ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 8, tzinfo=ZONE)
PDF = (Attachment("Proposal_Acme_v2.pdf", "application/pdf", 2000),)


def at(day: int, hour: int = 9) -> int:
    return int(datetime(2026, 11, day, hour, tzinfo=ZONE).timestamp())


def message(
    sender: str,
    when: int,
    *to: str,
    subject: str = "Proposal for the Acme website",
    cc: tuple[str, ...] = (),
    sent: bool = False,
) -> ThreadMessage:
    facts = MessageFacts(
        key=f"{sender}-{when}",
        message_id=f"<{sender}-{when}@x>",
        from_=(("", sender),),
        to=tuple(("", a) for a in to),
        cc=tuple(("", a) for a in cc),
        subject=subject,
        date=when,
        attachments=PDF if sent else (),
        body_text="Hi, here is our proposal. Total EUR 12,400." if sent else "Thanks.",
    )
    return ThreadMessage(
        facts=facts,
        account="work",
        folders=("Sent" if sent else "INBOX",),
        folder_uses=frozenset({"\\Sent"}) if sent else frozenset(),
        when=when,
    )


def proposal(when: int, *to: str, cc: tuple[str, ...] = ()) -> ThreadMessage:
    return message(ME, when, *to, cc=cc, sent=True)


def thread(*messages: ThreadMessage) -> Conversation:
    return Conversation(thread_id="t0000000001", messages=messages)


def run(
    *messages: ThreadMessage,
    identity: Identity | None = None,
    tracking: Tracking | None = None,
) -> Assessment:
    return assess(
        [thread(*messages)],
        identity=identity or Identity([ME]),
        tracking=tracking or Tracking(),
        overrides={},
        now=NOW,
        zone=ZONE,
    )


# -- what is followed --------------------------------------------------------------------------


def test_a_proposal_only_to_colleagues_is_not_followed_and_says_why() -> None:
    result = run(proposal(at(10), BOB, "carl@mail.corp.example"))
    assert result.tracked == []
    (skipped,) = result.not_followed
    assert skipped.why == "it went only to colleagues (corp.example)"
    assert skipped.kind == "proposal"
    assert any("Proposal_Acme_v2.pdf" in reason for reason in skipped.reasons)
    shown = format_thread(thread(skipped.message), [], ZONE, result.not_followed)
    assert "not followed: it went only to colleagues (corp.example)" in shown
    assert "track_internal = true" in shown
    assert "Nothing in this thread is tracked" not in shown


def test_one_person_outside_is_enough() -> None:
    result = run(proposal(at(10), BOB, cc=(CLIENT,)))
    (tracked,) = result.tracked
    assert tracked.state == AWAITING
    assert result.not_followed == []


def test_track_all_also_leaves_out_mail_only_to_colleagues() -> None:
    note = message(ME, at(10), BOB, subject="Lunch?", sent=False)
    note = ThreadMessage(note.facts, "work", ("Sent",), frozenset({"\\Sent"}), note.when)
    result = run(note, tracking=Tracking(track="all"))
    assert result.tracked == []
    assert result.not_followed[0].kind == "message"


def test_track_internal_follows_it_and_says_so() -> None:
    result = run(proposal(at(10), BOB), tracking=Tracking(track_internal=True))
    (tracked,) = result.tracked
    assert tracked.state == AWAITING
    assert tracked.reasons[-1] == (
        "it went only to colleagues (corp.example), followed by track_internal = true"
    )


def test_a_rule_follows_internal_mail_for_its_contacts_only() -> None:
    rule = Rule(number=1, domain="finance.corp.example", track_internal=True)
    tracking = Tracking(rules=(rule,))
    (tracked,) = run(proposal(at(10), "fin@finance.corp.example"), tracking=tracking).tracked
    assert (
        "followed by rule 1 (domain finance.corp.example): track_internal = true"
        in (tracked.reasons[-1])
    )
    # The rule says nothing about the quiet period, so it is no source of it.
    assert not any("rule 1" in source for source in tracked.policy.sources)
    assert run(proposal(at(10), BOB), tracking=tracking).tracked == []


def test_a_later_rule_can_turn_internal_tracking_off_again() -> None:
    rule = Rule(number=1, subject=re.compile("acme", re.I), track_internal=False)
    result = run(proposal(at(10), BOB), tracking=Tracking(track_internal=True, rules=(rule,)))
    assert result.tracked == []
    assert len(result.not_followed) == 1


# -- who is a colleague ------------------------------------------------------------------------


def test_a_public_provider_never_makes_colleagues() -> None:
    me = "maya.lindqvist@gmail.com"
    sent = message(me, at(10), "friend@gmail.com", "pal@googlemail.com", sent=True)
    (tracked,) = run(sent, identity=Identity([me, "maya@hotmail.co.uk"])).tracked
    assert tracked.state == AWAITING


def test_configured_colleagues_patterns_and_domains() -> None:
    identity = Identity([ME], colleagues=["partner.example", "*@agency.example"])
    result = run(
        proposal(at(10), "pat@eu.partner.example", "ann@agency.example"), identity=identity
    )
    assert result.tracked == []
    assert result.not_followed[0].why == (
        "it went only to colleagues (*@agency.example, partner.example)"
    )


def test_the_from_of_my_sent_mail_names_my_domain() -> None:
    # Only a private address is configured; what I send from at work tells my colleagues.
    identity = Identity(["maya@gmail.com"])
    work = message("maya@corp.example", at(10), BOB, sent=True)
    result = run(work, identity=identity)
    assert result.tracked == []
    assert result.not_followed[0].why == "it went only to colleagues (corp.example)"


# -- whose words answer ------------------------------------------------------------------------


def test_my_colleague_writing_is_not_the_answer_to_an_outside_proposal() -> None:
    reply = message(BOB, at(11), CLIENT, ME, subject="Re: Proposal for the Acme website")
    (tracked,) = run(proposal(at(10), CLIENT, cc=(BOB,)), reply).tracked
    assert tracked.state == AWAITING and tracked.due
    assert f"{BOB} is a colleague of yours: not the answer" in tracked.notes


def test_the_clients_side_or_another_outsider_still_answers() -> None:
    for sender in (CLIENT, "boss@acme.example", "assistant@elsewhere.example"):
        reply = message(sender, at(12), ME, subject="Re: Proposal for the Acme website")
        (tracked,) = run(proposal(at(10), CLIENT), reply).tracked
        assert (tracked.state, tracked.answered_by) == (ANSWERED, ("", sender))


def test_between_colleagues_a_colleague_answers() -> None:
    reply = message(BOB, at(12), ME, subject="Re: Proposal for the Acme website")
    tracking = Tracking(track_internal=True)
    (tracked,) = run(proposal(at(10), BOB), reply, tracking=tracking).tracked
    assert (tracked.state, tracked.answered_by) == (ANSWERED, ("", BOB))


def test_my_note_to_a_colleague_neither_restarts_nor_supersedes() -> None:
    sent = proposal(at(10), CLIENT)
    forward = message(ME, at(13), BOB, subject="Fw: Proposal for the Acme website", sent=True)
    result = run(sent, forward)
    (tracked,) = result.tracked
    assert (tracked.state, tracked.since) == (AWAITING, at(10))
    assert "you wrote only to colleagues in the thread; the clock runs on" in tracked.notes


def test_the_config_names_colleagues_for_the_analysis() -> None:
    settings = parse_settings(
        'colleagues = ["partner.example"]\n[[accounts]]\nname = "w"\nhost = "h"\n'
        'addresses = ["maya@corp.example"]\n'
    )
    identity = identity_of(settings)
    assert identity.colleague_because("pat@partner.example") == "partner.example"
    assert identity.colleague_because("bob@corp.example") == "corp.example"


def test_watcher_thread_explains_an_internal_proposal(tmp_path: Path) -> None:
    maildir = tmp_path / "Mail"
    for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / ".Sent" / "cur" / "1793000000.M1P1.test:2,S").write_bytes(
        b"From: Maya <maya@corp.example>\r\nTo: Bob <bob@corp.example>\r\n"
        b"Subject: Proposal for the Acme website\r\nMessage-ID: <p1@corp.example>\r\n"
        b"Date: Tue, 10 Nov 2026 09:00:00 +0100\r\n\r\n"
        b"Hi Bob, here is our proposal for Acme. Total EUR 12,400. Please sign.\r\n"
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\nlookback_days = 0\n[[accounts]]\nname = "w"\n'
        f'maildir = "{maildir}"\naddresses = ["maya@corp.example"]\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "sync"]).exit_code == 0
    listed = runner.invoke(cli, ["--config", str(config), "list", "--all", "--json"])
    assert json.loads(listed.stdout) == []
    with Store.open(tmp_path / "state" / "watcher.sqlite3") as store:
        (conversation,) = build_conversations(store.stored_messages())
    shown = runner.invoke(cli, ["--config", str(config), "thread", conversation.thread_id])
    assert shown.exit_code == 0, shown.output
    assert "not followed: it went only to colleagues (corp.example)" in shown.stdout
