"""Conversations rebuilt from stored copies: headers, Gmail/Outlook ids, the subject fallback."""

from __future__ import annotations

import base64
import mailbox
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import EllipsisType
from zoneinfo import ZoneInfo

import pytest
from corpus import CORPUS_DIR, extract
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.analysis.conversations import Conversation, ThreadMessage, build_conversations
from watcher.analysis.subjectlinks import SUBJECT_WINDOW
from watcher.analysis.tracker import AWAITING, BOUNCED, TrackedMessage, track
from watcher.config.digest import DigestSettings
from watcher.config.tracking import Tracking
from watcher.digest.select import select_digest
from watcher.identity import Identity
from watcher.mail.parse import facts_from_headers, facts_from_raw
from watcher.model import MessageFacts, StoredMessage

DAY = 86_400
T0 = 1_790_000_000  # 2026-09-21, a Monday
ME = "me@studio.example"
ANN = "ann@acme.example"  # a client
BOB = "bob@acme.example"  # her colleague
CY = "cy@other.example"  # another client
DEMO = Path(__file__).resolve().parent.parent / "watcher" / "demo_mailbox"
ENRON = CORPUS_DIR / "enron-sample.tar.xz"


def mail(
    key: str,
    *,
    sender: str = ME,
    to: Iterable[str] = (ANN,),
    cc: Iterable[str] = (),
    subject: str = "Proposal: new website",
    day: float = 0,
    date: int | EllipsisType | None = ...,
    message_id: str | None = None,
    in_reply_to: str = "",
    references: tuple[str, ...] = (),
    **extra: object,
) -> MessageFacts:
    """Facts of one message; its Message-ID is <key@test> unless given ("" for none), its
    Date `day` days after T0 unless given."""
    return MessageFacts(
        key=key,
        message_id=f"<{key}@test>" if message_id is None else message_id,
        in_reply_to=in_reply_to,
        references=references,
        from_=(("", sender),),
        to=tuple(("", a) for a in to),
        cc=tuple(("", a) for a in cc),
        subject=subject,
        date=int(T0 + day * DAY) if date is ... else date,
        is_from_me=sender == ME,
        **extra,  # type: ignore[arg-type]
    )


def stored(facts: MessageFacts, folder: str = "", account: str = "work") -> StoredMessage:
    folder = folder or ("Sent" if facts.is_from_me else "INBOX")
    use = {"Sent": "\\Sent", "Junk": "\\Junk", "Trash": "\\Trash"}.get(folder, "")
    return StoredMessage(account, folder, use, facts)


def threads(*facts: MessageFacts) -> list[list[str]]:
    """The conversations as lists of message keys, oldest first, sorted by first key."""
    conversations = build_conversations(stored(f) for f in facts)
    return sorted([m.facts.key for m in c.messages] for c in conversations)


# -- headers --------------------------------------------------------------------------------


def test_reply_chain_by_in_reply_to() -> None:
    first = mail("a", subject="Proposal")
    reply = mail("b", sender=ANN, to=(ME,), subject="Something else", day=1, in_reply_to="<a@test>")
    again = mail("c", subject="And another", day=2, in_reply_to="<b@test>")
    assert threads(again, reply, first) == [["a", "b", "c"]]


def test_missing_parent_joins_children_through_references() -> None:
    # The root <gone@test> was deleted: its replies still meet through References.
    child = mail("b", subject="x", day=1, references=("<gone@test>",), in_reply_to="<gone@test>")
    grandchild = mail("c", subject="y", day=2, references=("<gone@test>", "<b@test>"))
    cousin = mail("d", subject="z", day=3, references=("<gone@test>", "<other-gone@test>"))
    unrelated = mail("e", subject="w", day=3, references=("<elsewhere@test>",))
    assert threads(child, grandchild, cousin, unrelated) == [["b", "c", "d"], ["e"]]


def test_gmail_thread_id() -> None:
    a = mail("a", subject="one", gm_thread_id=1001)
    b = mail("b", subject="two", day=1, gm_thread_id=1001)
    c = mail("c", subject="three", day=2, gm_thread_id=1002)
    assert threads(a, b, c) == [["a", "b"], ["c"]]


def test_outlook_thread_index() -> None:
    conversation = bytes(range(22))
    root = base64.b64encode(conversation).decode()
    reply = base64.b64encode(conversation + b"\x01\x02\x03\x04\x05").decode()
    other = base64.b64encode(bytes(range(1, 23))).decode()
    short = base64.b64encode(b"too short").decode()  # shared, but no Thread-Index: ignored
    assert threads(
        mail("a", subject="one", thread_index=root),
        mail("b", subject="two", day=1, thread_index=reply),
        mail("c", subject="three", day=2, thread_index=other),
        mail("d", subject="four", day=3, thread_index=short),
        mail("e", subject="five", day=4, thread_index=short),
        mail("f", subject="six", day=5, thread_index="!!not base64!!"),
    ) == [["a", "b"], ["c"], ["d"], ["e"], ["f"]]


def test_bounce_joins_the_message_it_reports_on() -> None:
    sent = mail("a", to=("mateusz.nowack@wisla.example",))
    bounce = mail(
        "b",
        sender="mailer-daemon@mx.studio.example",
        to=(ME,),
        subject="Undelivered Mail Returned to Sender",
        content_type="multipart/report",
        reported_message_id="<a@test>",
    )
    assert threads(sent, bounce) == [["a", "b"]]


# -- the subject fallback -------------------------------------------------------------------


def test_reply_without_headers_joins_by_subject_and_participants() -> None:
    proposal = mail("a")
    reply = mail("b", sender=ANN, to=(ME,), subject="Re: Proposal: new website", day=3)
    assert threads(proposal, reply) == [["a", "b"]]


def test_a_reply_through_an_auto_reply_joins_and_answers() -> None:
    """Ann is away; Bob, on copy, answers her out-of-office notice (issue 9, pattern 6)."""
    proposal = mail("a", cc=(BOB,), body_text="Hi Ann, attached is our proposal.")
    notice = mail(
        "b",
        sender=ANN,
        to=(ME,),
        subject="Out of Office AutoReply: Proposal: new website",
        day=0.1,
        auto_submitted="auto-replied",
    )
    answer = mail(
        "c",
        sender=BOB,
        to=(ME,),
        subject="RE: Out of Office AutoReply: Proposal: new website",
        day=2,
    )
    assert threads(proposal, notice, answer) == [["a", "b", "c"]]
    (verdict,) = track(
        build_conversations(stored(f) for f in (proposal, notice, answer)),
        identity=Identity([ME]),
        tracking=Tracking(track="all"),
        overrides={},
        now=datetime.fromtimestamp(T0 + 10 * DAY, UTC),
        zone=ZoneInfo("UTC"),
    )
    assert verdict.answered_by == ("", BOB)


def test_same_subject_without_shared_participants_stays_apart() -> None:
    proposal = mail("a")
    stranger = mail("b", sender=CY, to=(ME,), subject="RE: Proposal: new website", day=3)
    assert threads(proposal, stranger) == [["a"], ["b"]]


def test_time_window_counts_from_the_latest_message() -> None:
    gap = SUBJECT_WINDOW / DAY
    proposal = mail("a")
    late = mail("b", sender=ANN, to=(ME,), subject="Re: Proposal: new website", day=gap + 1)
    assert threads(proposal, late) == [["a"], ["b"]]
    # A conversation that keeps going stays open: each message is within the window of the last.
    steps = [
        mail(f"m{n}", subject="Re: Proposal: new website", day=n * gap * 0.9) for n in range(4)
    ]
    assert threads(*steps) == [["m0", "m1", "m2", "m3"]]


@pytest.mark.parametrize(
    "subject",
    ["", "Hi", "hello!", "Re: Question", "FW: update", "Meeting", "(no subject)", "Thanks"],
)
def test_generic_subjects_merge_only_a_direct_reply(subject: str) -> None:
    # Nothing but the pair and the timing can tie mail under "Hi" or "Re:" together.
    first = mail("a", subject=subject)
    stranger = mail("b", sender=CY, to=(ME,), subject=f"Re: {subject}", day=1)
    late = mail("c", sender=ANN, to=(ME,), subject=f"Re: {subject}", day=3.5)
    anew = mail("d", sender=ANN, to=(ME,), subject=subject.partition(": ")[2] or subject, day=1)
    elsewhere = mail(
        "e", sender=ANN, to=(ME,), subject=f"Re: {subject}", day=1, in_reply_to="<x@y>"
    )
    for other in (stranger, late, anew, elsewhere):
        assert threads(first, other) == [["a"], [other.key]]
    # Ann answers, addressed to me, within three days, with a reply prefix and no headers:
    # the answer to the latest of my messages to her under that subject.
    earlier = mail("z", subject=subject, day=-1)
    answer = mail("f", sender=ANN, to=(ME,), subject=f"Re: {subject}", day=1)
    assert sorted(threads(earlier, first, answer)) == [["a", "f"], ["z"]]


def test_my_proposals_to_different_clients_stay_apart() -> None:
    to_ann = mail("a", to=(ANN,), subject="Proposal")
    to_cy = mail("b", to=(CY,), subject="Proposal", day=1)
    ann_answers = mail("c", sender=ANN, to=(ME,), subject="Re: Proposal", day=2)
    assert threads(to_ann, to_cy, ann_answers) == [["a", "c"], ["b"]]


def test_a_colleague_of_the_client_answering_joins() -> None:
    # Bob answers and copies Ann, to whom the proposal went.
    proposal = mail("a", to=(ANN,))
    bob = mail("b", sender=BOB, to=(ME,), cc=(ANN,), subject="Re: Proposal: new website", day=2)
    assert threads(proposal, bob) == [["a", "b"]]
    # Bob was copied on the proposal, and answers alone.
    proposal = mail("c", to=(ANN,), cc=(BOB,))
    bob = mail("d", sender=BOB, to=(ME,), subject="RE: Proposal: new website", day=2)
    assert threads(proposal, bob) == [["c", "d"]]


def test_a_recipient_writing_anew_under_the_same_subject_joins() -> None:
    proposal = mail("a")
    # No prefix, and threading headers that point elsewhere: still Ann answering.
    anew = mail(
        "b", sender=ANN, to=(ME,), day=4, in_reply_to="<old@acme>", references=("<old@acme>",)
    )
    assert threads(proposal, anew) == [["a", "b"]]


def test_a_new_matter_reusing_a_subject_stays_apart() -> None:
    # Bob got nothing from me, writes to Ann (shared), has his own headers and no prefix.
    proposal = mail("a", to=(ANN,))
    bob = mail("b", sender=BOB, to=(ANN,), day=2, in_reply_to="<bobs@acme>")
    assert threads(proposal, bob) == [["a"], ["b"]]


# -- copies, folders, times, ids ------------------------------------------------------------


def test_copies_in_several_folders_count_once() -> None:
    sent = mail("a", bcc=(("", "me+10d@studio.example"),))
    inbox = mail("a-inbox", message_id="<a@test>")  # the Bcc delivered back to me
    copies = [stored(inbox, "INBOX"), stored(sent, "Sent"), stored(inbox, "Clients/Acme")]
    (conversation,) = build_conversations(copies)
    assert conversation.messages == (
        ThreadMessage(
            facts=sent,  # the Sent copy stands for the message: it has the Bcc
            account="work",
            folders=("Clients/Acme", "INBOX", "Sent"),
            folder_uses=frozenset({"", "\\Sent"}),
            when=T0,
            ident="<a@test>",
        ),
    )
    assert conversation.messages[0].in_sent
    assert not conversation.messages[0].only_in_junk


def test_copies_with_different_message_ids_but_one_content_count_once() -> None:
    # Enron: overlapping sent folders give one message two Message-IDs.
    one = mail("a", to=(ANN, BOB), subject="RE: Gas supply")
    two = mail("b", to=(BOB, ANN), subject="Re: Gas supply", date=T0 + 30)
    later = mail("c", to=(ANN, BOB), subject="RE: Gas supply", day=1)
    copies = [stored(one, "sent"), stored(two, "sent_items"), stored(later, "sent")]
    conversations = build_conversations(copies)
    assert [[m.folders for m in c.messages] for c in conversations] == [
        [("sent", "sent_items"), ("sent",)]
    ]


def test_only_in_junk() -> None:
    proposal = mail("a")
    reply = mail("b", sender=ANN, to=(ME,), day=1, in_reply_to="<a@test>")
    (conversation,) = build_conversations([stored(proposal), stored(reply, "Junk")])
    assert [m.only_in_junk for m in conversation.messages] == [False, True]
    both = [stored(proposal), stored(reply, "Junk"), stored(reply, "INBOX")]
    (conversation,) = build_conversations(both)
    assert [m.only_in_junk for m in conversation.messages] == [False, False]


def test_when_prefers_the_date_header_unless_it_is_far_in_the_future() -> None:
    arrived = T0 + DAY
    cases = {"a": T0, "b": arrived + 3 * DAY, "c": None}
    conversations = build_conversations(
        stored(mail(key, subject=key, date=date, internal_date=arrived))
        for key, date in cases.items()
    )
    whens = {c.messages[0].facts.key: c.messages[0].when for c in conversations}
    assert whens == {"a": T0, "b": arrived, "c": arrived}


def test_thread_id_is_stable_when_a_reply_arrives() -> None:
    proposal = mail("a")
    reply = mail("b", sender=ANN, to=(ME,), day=1, in_reply_to="<a@test>")
    (before,) = build_conversations([stored(proposal)])
    (after,) = build_conversations([stored(reply), stored(proposal)])
    assert re.fullmatch(r"t[0-9a-f]{10}", before.thread_id)
    assert after.thread_id == before.thread_id
    assert after.latest.facts.key == "b"


def test_accounts_never_share_a_conversation() -> None:
    proposal = mail("a")
    copies = [stored(proposal, account="work"), stored(proposal, account="home")]
    conversations = build_conversations(copies)
    assert sorted(c.account for c in conversations) == ["home", "work"]
    assert conversations[0].thread_id != conversations[1].thread_id


# -- one Message-ID, several messages -------------------------------------------------------

SHARED = "<merge-0001@mailer.example>"  # what a mail-merge tool or "send again" reuses


def _track(conversations: list[Conversation]) -> list[TrackedMessage]:
    now = datetime.fromtimestamp(T0 + 20 * DAY, UTC)
    return track(
        conversations,
        identity=Identity([ME]),
        tracking=Tracking(track="all"),
        overrides={},
        now=now,
        zone=ZoneInfo("UTC"),
    )


def test_two_proposals_with_one_message_id_are_two_tracked_threads() -> None:
    to_ann = mail("a", to=(ANN,), subject="Proposal: new website", message_id=SHARED)
    to_cy = mail("b", to=(CY,), subject="Proposal: shop redesign", day=2, message_id=SHARED)
    conversations = build_conversations([stored(to_ann), stored(to_cy)])
    assert sorted([m.facts.key for m in c.messages] for c in conversations) == [["a"], ["b"]]
    assert len({c.thread_id for c in conversations}) == 2
    keys = [c.messages[0].key for c in conversations]
    assert len(set(keys)) == 2 and SHARED in keys  # the first keeps its id, unchanged
    tracked = _track(conversations)
    assert sorted(t.message.facts.key for t in tracked) == ["a", "b"]
    assert len({t.thread_id for t in tracked}) == 2


def test_the_digest_keeps_the_cadence_of_each_merged_message_apart() -> None:
    # One Date, one id, two clients: the digest's (message, since, rung) entries must differ,
    # or showing Ann's proposal would count as having shown Cy's.
    merged = [mail(k, to=(c,), message_id=SHARED, date=T0) for k, c in (("a", ANN), ("b", CY))]
    tracked = _track(build_conversations(stored(m) for m in merged))
    settings = DigestSettings(recipient=ME, sender=ME)
    now = datetime.fromtimestamp(T0 + 20 * DAY, UTC)
    selection = select_digest(tracked, carried={}, settings=settings, now=now, zone=ZoneInfo("UTC"))
    assert len(selection.digest.items) == 2
    assert len({entry[:2] for entry in selection.entries}) == 2


def test_copies_in_sent_and_archive_still_count_once() -> None:
    # One Date header; the servers' arrival times differ by a few minutes.
    sent = mail("a", message_id=SHARED, internal_date=T0 + 5)
    archived = replace(sent, key="a-archive", internal_date=T0 + 200)
    inbox = replace(
        sent, key="a-inbox", internal_date=T0 + 40, subject="[acme] Proposal: new website"
    )
    copies = [stored(sent, "Sent"), stored(archived, "Archive"), stored(inbox, "INBOX")]
    (conversation,) = build_conversations(copies)
    (message,) = conversation.messages
    assert message.folders == ("Archive", "INBOX", "Sent")
    assert message.key == SHARED


def test_a_copy_without_readable_addresses_cannot_disagree() -> None:
    # Headers too broken to read a From or To from (one parser path of a hostile message):
    # no evidence of another message, so it joins the copy nearest in time with its subject.
    to_ann = mail("a", to=(ANN,), message_id=SHARED)
    to_cy = mail("b", to=(CY,), message_id=SHARED, date=T0 + 600)
    unread = replace(to_ann, key="a-unread", from_=(), to=(), date=T0 + 60)
    conversations = build_conversations([stored(to_ann), stored(to_cy), stored(unread, "INBOX")])
    assert sorted(m.folders for c in conversations for m in c.messages) == [
        ("INBOX", "Sent"),
        ("Sent",),
    ]


def test_mail_merge_to_three_recipients_with_one_id_gives_three_messages() -> None:
    merged = [
        mail(f"m{n}", to=(client,), message_id=SHARED, date=T0 + n)
        for n, client in enumerate((ANN, CY, "dee@third.example"))
    ]
    conversations = build_conversations(stored(m) for m in merged)
    assert sorted(m.facts.key for c in conversations for m in c.messages) == ["m0", "m1", "m2"]
    assert len({m.key for c in conversations for m in c.messages}) == 3
    assert len({c.thread_id for c in conversations}) == 3


def test_a_bounce_naming_a_shared_id_marks_only_the_message_that_failed() -> None:
    merged = [
        mail(f"m{n}", to=(client,), message_id=SHARED, date=T0 + n)
        for n, client in enumerate((ANN, CY, "dee@third.example"))
    ]
    bounce = mail(
        "x",
        sender="mailer-daemon@mx.studio.example",
        to=(ME,),
        subject="Undelivered Mail Returned to Sender",
        day=0.1,
        content_type="multipart/report",
        report_type="delivery-status",
        reported_message_id=SHARED,
        body_text=f"Final-Recipient: rfc822; {CY}\nAction: failed\n",
    )
    tracked = _track(build_conversations(stored(m) for m in [*merged, bounce]))
    assert {t.message.facts.key: t.state for t in tracked} == {
        "m0": AWAITING,
        "m1": BOUNCED,
        "m2": AWAITING,
    }


def test_a_newsletter_reusing_an_id_is_not_swallowed() -> None:
    issue_1 = mail(
        "n1", sender="news@shop.example", to=(ME,), subject="May news", message_id=SHARED
    )
    issue_2 = mail(
        "n2", sender="news@shop.example", to=(ME,), subject="June news", day=30, message_id=SHARED
    )
    assert threads(issue_1, issue_2) == [["n1"], ["n2"]]


def test_sent_again_later_is_a_second_message() -> None:
    # The same proposal to the same client, sent again with the same id an hour later.
    first = mail("a", message_id=SHARED)
    again = mail("b", message_id=SHARED, date=T0 + 3600)
    assert threads(first, again) == [["a", "b"]]  # one thread, by subject: two messages


def test_a_reply_to_a_shared_id_joins_the_copy_sent_to_its_author() -> None:
    to_ann = mail("a", to=(ANN,), subject="Proposal: new website", message_id=SHARED)
    to_cy = mail("b", to=(CY,), subject="Proposal: shop redesign", day=1, message_id=SHARED)
    from_ann = mail("c", sender=ANN, to=(ME,), subject="Thoughts", day=3, in_reply_to=SHARED)
    from_cy = mail(
        "d",
        sender=CY,
        to=(ME,),
        subject="Re: Proposal: shop redesign",
        day=4,
        in_reply_to=SHARED,
        references=(SHARED,),
    )
    assert threads(to_ann, to_cy, from_ann, from_cy) == [["a", "c"], ["b", "d"]]


def test_a_reply_to_a_shared_id_matching_neither_joins_the_latest_earlier_one() -> None:
    to_ann = mail("a", to=(ANN,), subject="Proposal: new website", message_id=SHARED)
    to_cy = mail("b", to=(CY,), subject="Proposal: shop redesign", day=2, message_id=SHARED)
    after_a = mail("c", sender=BOB, to=(ME,), subject="Question", day=1, in_reply_to=SHARED)
    after_b = mail("d", sender=BOB, to=(ME,), subject="Question", day=5, in_reply_to=SHARED)
    assert threads(to_ann, to_cy, after_a, after_b) == [["a", "c"], ["b", "d"]]


# -- order does not matter ------------------------------------------------------------------

_PEOPLE = [ME, ANN, BOB, CY]
_SUBJECTS = ["Proposal", "Re: Proposal", "Quote 7", "RE: Quote 7", "hi", "Fwd: Proposal"]
_FOLDERS = ["INBOX", "Sent", "Junk", "Archive"]


@st.composite
def _mailboxes(draw: st.DrawFn) -> list[StoredMessage]:
    copies: list[StoredMessage] = []
    for n in range(draw(st.integers(1, 14))):
        sender = draw(st.sampled_from(_PEOPLE))
        cited = st.sampled_from(["", "<m0@x>", "<gone@x>", f"<m{max(n - 1, 0)}@x>"])
        date = T0 + draw(st.integers(0, 120)) * DAY // 2  # ties happen
        facts = MessageFacts(
            key=f"m{n}",
            # A shared id: mail merge, "send again", or true copies filed apart.
            message_id=draw(st.sampled_from([f"<m{n}@x>", "", "<shared@x>"])),
            in_reply_to=draw(cited),
            references=tuple(draw(st.lists(cited, max_size=2))),
            gm_thread_id=draw(st.sampled_from([None, None, 1, 2])),
            from_=(("", sender),),
            to=tuple(("", a) for a in draw(st.lists(st.sampled_from(_PEOPLE), min_size=1))),
            subject=draw(st.sampled_from(_SUBJECTS)),
            date=draw(st.sampled_from([date, date, None])),
            internal_date=date + draw(st.integers(0, 3 * DAY)),
            is_from_me=sender == ME,
        )
        for folder in draw(st.lists(st.sampled_from(_FOLDERS), min_size=1, unique=True)):
            # Enron: a copy may carry its own Message-ID; a Sent folder makes a copy mine.
            own_id = draw(st.sampled_from([facts.message_id, f"<m{n}-{folder}@x>"]))
            copy = replace(facts, message_id=own_id, is_from_me=sender == ME or folder == "Sent")
            copies.append(stored(copy, folder))
    return copies


def _outcome(conversations: list[Conversation]) -> list[tuple[str, tuple[object, ...]]]:
    return [
        (c.thread_id, tuple((m.facts.key, m.folders, m.when, m.key) for m in c.messages))
        for c in conversations
    ]


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_the_order_of_the_input_does_not_matter(data: st.DataObject) -> None:
    copies = data.draw(_mailboxes())
    shuffled = data.draw(st.permutations(copies))
    conversations = build_conversations(copies)
    assert _outcome(build_conversations(shuffled)) == _outcome(conversations)
    # Nothing downstream (digest entries, thread ids) may collapse two messages again.
    keys = [m.key for c in conversations for m in c.messages if m.facts.message_id]
    assert len(keys) == len(set(keys))
    assert len({c.thread_id for c in conversations}) == len(conversations)


# -- the demo mailbox -----------------------------------------------------------------------


def _demo_copies() -> Iterator[StoredMessage]:
    identity = Identity(["maya@lindqvist-studio.example", "maya.lindqvist@gmail.example"])
    for directory in [DEMO, *sorted(DEMO.glob(".*"))]:
        folder = "INBOX" if directory == DEMO else directory.name[1:].replace(".", "/")
        use = {"Sent": "\\Sent", "Junk": "\\Junk"}.get(folder, "")
        for path in sorted(directory.glob("[cn][ue][rw]/*")):
            if path.name.startswith("."):
                continue
            key = str(path.relative_to(DEMO))
            arrived = int(path.name.split(".", 1)[0])
            raw = path.read_bytes()
            facts = facts_from_raw(
                raw,
                key=key,
                identity=identity,
                in_sent_folder=use == "\\Sent",
                internal_date=arrived,
            )
            yield StoredMessage("demo", folder, use, facts)


def test_demo_mailbox_threads_come_out_as_listed() -> None:
    copies = list(_demo_copies())
    conversations = build_conversations(copies)
    # A conversation's files: those of its messages, and their other copies (thread 10).
    ids = {c.facts.key: c.facts.message_id for c in copies}
    found = [
        {key for key, mid in ids.items() if mid in {m.facts.message_id for m in c.messages}}
        | {m.facts.key for m in c.messages}
        for c in conversations
    ]
    listed: dict[str, set[str]] = {}
    for line in (DEMO / "MANIFEST.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            fields = line.split(" | ")
            listed[fields[0]] = set(fields[4].split())
    assert sum(len(files) for files in listed.values()) == len(copies) == 33
    # 11a lists two issues of a newsletter: different subjects, no threading headers, and
    # nothing else that could tell they belong together. They stay two conversations.
    newsletter = listed.pop("11a")
    assert sorted(found, key=sorted) == sorted(
        [*listed.values(), *({file} for file in newsletter)], key=sorted
    )


# -- real mail: Enron -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def parks_mailbox(tmp_path_factory: pytest.TempPathFactory) -> list[StoredMessage]:
    """Joe Parks's four folders from the Enron sample (2,284 messages)."""
    if not ENRON.is_file():
        pytest.skip(f"the Enron sample is not at {ENRON}")
    target = tmp_path_factory.mktemp("enron")
    with tarfile.open(ENRON, "r:xz") as tar:
        members = [m for m in tar.getmembers() if ".parks-j." in m.name]
        extract(tar, target, members)
    nobody = Identity(())
    copies = []
    for path in sorted(target.rglob("enron.parks-j.*")):
        folder = path.name.removeprefix("enron.parks-j.")
        sent = folder == "sent_items"
        box = mailbox.mbox(path, create=False)
        for key in box.iterkeys():
            raw = box.get_bytes(key)
            header = raw[: raw.find(b"\n\n") + 1] if b"\n\n" in raw else raw
            facts = facts_from_headers(
                header, key=f"{folder}/{key}", identity=nobody, in_sent_folder=sent
            )
            copies.append(StoredMessage("parks-j", folder, "\\Sent" if sent else "", facts))
        box.close()
    return copies


def test_enron_replies_without_headers_join_by_subject(parks_mailbox: list[StoredMessage]) -> None:
    thread_of = {
        m.facts.message_id: c.thread_id
        for c in build_conversations(parks_mailbox)
        for m in c.messages
    }

    def together(one: str, two: str) -> bool:
        return (
            thread_of[f"<{one}.JavaMail.evans@thyme>"] == thread_of[f"<{two}.JavaMail.evans@thyme>"]
        )

    # Enron mail has no In-Reply-To or References at all. Joe's "Credit" to Trevor Mihalik
    # (sent_items) and Trevor's "RE: Credit" three hours later (deleted_items) are one thread;
    # so are "MARATHON" to Kim Parks and her "RE: MARATHON".
    assert together("11306683.1075841394622", "32531236.1075841358340")
    assert together("20948677.1075841403643", "23963012.1075841378756")
    # Two of Joe's mails named "Duke Field Services", to Phil Polsky and to Doug Sewell two
    # days apart, share only Joe: two threads.
    assert not together("21776667.1075841397500", "33034004.1075841397175")
