"""Which later message answers mine (issue 9, patterns 6 and 7): hand-written messages only.

Each test pins one rule of how a reply verdict is decided: who counts as "me" when the
conversations are built (watcher/conversations.py), a fresh message under the bare subject
my reply answered (`answers.new_matter`), an answer to another message of mine in the thread
(`answers.answers_another`), and a contact's answer seen only as a quote in a later
message of mine (watcher/quoted.py, `OwnText.quoted_from`).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from replythreads import (
    ALICE,
    BOB,
    CAROL,
    DAVID,
    DAY,
    KIM,
    ME,
    PDF,
    T0,
    conversation,
    copy,
    facts,
    threads,
    verdict_on,
    verdicts,
)

from watcher.analysis.conversations import build_conversations
from watcher.analysis.owntext import split_own
from watcher.analysis.quoted import quoted_contact
from watcher.analysis.tracker import ANSWERED, AWAITING, TrackedMessage
from watcher.identity import name_key
from watcher.model import Address, MessageFacts

# -- who is "me" when conversations are built -------------------------------------------------


def test_a_colleagues_mail_filed_in_my_sent_folder_does_not_make_them_me() -> None:
    """Kim's one message filed in my Sent folder (a delegate, a draft saved there) is marked
    mine; her own mail in INBOX outnumbers it. Her later "Re:" answer without threading
    headers joins my message by subject, which needs her to be someone other than me."""
    filed = facts("filed", sender=KIM, to=(ALICE,), subject="Parking permits", mine=True)
    hers = [
        facts(f"inbox{n}", sender=KIM, to=(ME,), subject=f"Lunch on {n}", day=n) for n in (1, 2)
    ]
    asked = facts("asked", to=(KIM,), day=3)
    answer = facts("answer", sender=KIM, to=(ME,), subject=f"Re: {asked.subject}", day=4)
    copies = [copy(filed, "Sent"), *map(copy, hers), copy(asked), copy(answer)]
    assert threads(*copies) == [["asked", "answer"], ["filed"], ["inbox1"], ["inbox2"]]


def test_my_address_stays_me_when_copies_of_my_mail_arrive_without_identity() -> None:
    """Each proposal also comes back as a Bcc to myself, in INBOX and not marked mine: as
    many copies unmarked as marked. My address is still me, so the two proposals under one
    subject to two clients do not meet through me."""
    to_alice = facts("a", to=(ALICE,), subject="Proposal: new website")
    to_bob = facts("b", to=(BOB,), subject="Proposal: new website", day=1)
    bccs = [copy(replace(m, is_from_me=False), "INBOX") for m in (to_alice, to_bob)]
    assert threads(copy(to_alice), copy(to_bob), *bccs) == [["a"], ["b"]]


# -- a fresh message under the bare subject my reply answered ---------------------------------


CHECKOUT = "4/12 Checkout"
HOTEL = "ops@hotel.example"


def checkout_thread(later: MessageFacts) -> TrackedMessage:
    """Their "4/12 Checkout", my "Re: 4/12 Checkout", then `later` from them: the verdict
    on my reply."""
    theirs = facts("theirs", sender=HOTEL, to=(ME,), subject=CHECKOUT)
    reply = facts(
        "reply", to=(HOTEL,), subject=f"Re: {CHECKOUT}", day=0.2, in_reply_to=theirs.message_id
    )
    (result,) = verdicts(conversation(theirs, reply, later))
    assert result.message.facts.key == "reply"
    return result


def test_their_new_message_under_the_bare_subject_is_not_the_answer() -> None:
    result = checkout_thread(facts("next", sender=HOTEL, to=(ME,), subject=CHECKOUT, day=1))
    assert (result.state, result.answered_by) == (AWAITING, None)
    assert f"{HOTEL} wrote anew under the same subject: not a reply" in result.notes


def test_the_bare_subject_with_a_threading_header_naming_my_reply_is_the_answer() -> None:
    later = facts(
        "next", sender=HOTEL, to=(ME,), subject=CHECKOUT, day=1, in_reply_to="<reply@test>"
    )
    result = checkout_thread(later)
    assert (result.state, result.answered_by) == (ANSWERED, ("", HOTEL))


def test_their_re_under_the_subject_is_the_answer() -> None:
    later = facts("next", sender=HOTEL, to=(ME,), subject=f"Re: {CHECKOUT}", day=1)
    result = checkout_thread(later)
    assert (result.state, result.answered_by) == (ANSWERED, ("", HOTEL))


# -- an answer to another message of mine in the thread ---------------------------------------


def asked_elsewhere(other: str) -> list[TrackedMessage]:
    """My proposal to Alice, then in the same thread a question of mine to `other`, who
    answers it: the verdicts on both of my messages."""
    subject = "Website relaunch"
    offer = facts(
        "offer",
        to=(ALICE,),
        subject=subject,
        day=0,
        attachments=PDF,
        body_text="Hi Alice, attached is our proposal for the relaunch. Total EUR 12,400.",
    )
    question = facts(
        "question",
        to=(other,),
        subject=f"Re: {subject}",
        day=1,
        in_reply_to="<offer@test>",
        body_text="Could you confirm the hosting dates?",
    )
    answer = facts(
        "answer",
        sender=other,
        to=(ME,),
        subject=f"Re: {subject}",
        day=2,
        in_reply_to="<question@test>",
        body_text="Yes, the dates are fine.",
    )
    return verdicts(conversation(offer, question, answer))


def test_an_answer_from_someone_i_wrote_to_elsewhere_in_the_thread_answers_that() -> None:
    results = asked_elsewhere(BOB)
    offer = verdict_on("offer", results)
    assert (offer.state, offer.answered_by) == (AWAITING, None)
    assert f"{BOB} answered another message of yours in the thread" in offer.notes
    question = verdict_on("question", results)
    assert (question.state, question.answered_by) == (ANSWERED, ("", BOB))


def test_an_answer_from_the_contacts_organisation_answers_both() -> None:
    """Carol works where Alice works: she may answer for Alice, though I wrote to her too."""
    results = asked_elsewhere(CAROL)
    offer = verdict_on("offer", results)
    assert (offer.state, offer.answered_by) == (ANSWERED, ("", CAROL))
    assert verdict_on("question", results).answered_by == ("", CAROL)


# -- an answer seen only as a quote in a later message of mine --------------------------------


SUBJECT = "Operating agreements"
HIS_WORDS = "The operating agreements look fine to us; we will sign them next week."


def outlook_quote(author: str, subject: str = f"RE: {SUBJECT}") -> str:
    return (
        "Kim, see David's answer below.\n\n"
        "-----Original Message-----\n"
        f"From: {author}\n"
        "Sent: Wednesday, September 23, 2026 4:12 PM\n"
        "To: Lind, Maya\n"
        f"Subject: {subject}\n\n"
        f"{HIS_WORDS}\n"
    )


def quoted_later(body: str, day: float = 3) -> TrackedMessage:
    """My proposal to David, no reply in the mailbox, and `day` days later my forward to a
    colleague with `body`: the verdict on the proposal."""
    offer = facts(
        "offer",
        to=(DAVID,),
        subject=SUBJECT,
        attachments=PDF,
        body_text="David, attached are the operating agreements for your signature.",
    )
    forward = facts("forward", to=(KIM,), subject=f"FW: {SUBJECT}", day=day, body_text=body)
    results = verdicts(
        conversation(offer), conversation(forward, thread_id="t0000000002"), day=day + 2
    )
    return verdict_on("offer", results)


@pytest.mark.parametrize(
    "author",
    [
        "Roensch, David",
        "David Roensch",
        "david.roensch@corp-b.example [mailto:david.roensch@corp-b.example]",
    ],
)
def test_a_contacts_reply_quoted_in_my_later_mail_answers(author: str) -> None:
    result = quoted_later(outlook_quote(author))
    assert (result.state, result.answered_by) == (ANSWERED, DAVID)
    assert result.answered_at == T0 + 3 * DAY  # at the latest when I quoted it
    assert any("quoted" in note and f"FW: {SUBJECT}" in note for note in result.notes)


@pytest.mark.parametrize(
    ("body", "day"),
    [
        # their message under the bare subject: the one I answered, not an answer to mine
        (outlook_quote("Roensch, David", subject=SUBJECT), 3),
        # someone else's words
        (outlook_quote("Smith, Jane"), 3),
        # quoted too long after the proposal (QUOTE_WINDOW, 45 days)
        (outlook_quote("Roensch, David"), 46),
    ],
    ids=["bare-subject", "someone-else", "too-late"],
)
def test_a_quote_that_is_not_the_contacts_answer_leaves_it_awaiting(body: str, day: int) -> None:
    result = quoted_later(body, day)
    assert (result.state, result.answered_by) == (AWAITING, None)
    assert not any("quoted" in note for note in result.notes)


@pytest.mark.parametrize(
    "author",
    [
        "David Roensch/ET&S/Corp@CORP on 02/07/2002 05:53 PM",  # Lotus Notes
        "On 12/3/2026, David Roensch wrote:",
        "Roensch, David",
        "David Roensch <DAVID.ROENSCH@corp-b.example>",
    ],
)
def test_quoted_contact_finds_the_contact_by_name_or_address(author: str) -> None:
    assert quoted_contact(author, [("", ALICE), DAVID]) == DAVID


def test_quoted_contact_takes_the_name_from_the_address_without_a_display_name() -> None:
    contact = ("", "david.roensch@corp-b.example")
    assert quoted_contact("Roensch, David", [contact]) == contact


@pytest.mark.parametrize(
    ("author", "contacts"),
    [
        ("David", [DAVID]),  # one of his names is not his name
        ("Roensch, Dave", [DAVID]),
        ("Smith, Jane", [DAVID]),
        ("Ana Ruiz", [("Ana", "ana@acme.example")]),  # a single-word name never matches
        ("david.roensch@corp-a.example", [DAVID]),  # an address names exactly that address
    ],
)
def test_quoted_contact_needs_every_part_of_the_name(author: str, contacts: list[Address]) -> None:
    assert quoted_contact(author, contacts) is None


@pytest.mark.parametrize(
    ("body", "author"),
    [
        (outlook_quote("Roensch, David"), "Roensch, David"),
        (
            "Thanks.\n\nDavid Roensch/ET&S/Corp@CORP on 02/07/2002 05:53 PM\n\n"
            f"To: Maya Lind/HOU/Corp@Corp\ncc:\nSubject: Re: {SUBJECT}\n\n{HIS_WORDS}\n",
            "David Roensch/ET&S/Corp@CORP on 02/07/2002 05:53 PM",
        ),
        (
            f"Thanks.\n\nOn 12/3/2026, David Roensch wrote:\n> {HIS_WORDS}\n",
            "On 12/3/2026, David Roensch wrote:",
        ),
        ("Just my own words, no quote.\n", ""),
    ],
)
def test_split_own_reports_who_wrote_the_quoted_message(body: str, author: str) -> None:
    quoted_from = split_own(body).quoted_from
    assert quoted_from == author  # one line, also for a Notes header found by its "To:"
    if author:
        assert quoted_contact(quoted_from, [("", ALICE), DAVID]) == DAVID


# -- my other address, their other address (display names) ------------------------------------

MAYA_ELSEWHERE: Address = ("Maya Lindqvist", "maya.lindqvist@mail.example")


def named(message: MessageFacts, name: str) -> MessageFacts:
    """The message with a display name on its From."""
    return replace(message, from_=((name, message.from_[0][1]),))


def test_name_key_compares_names_whatever_their_order_and_needs_two_words() -> None:
    assert name_key("Roensch, David") == name_key(" david  ROENSCH ") == "david roensch"
    assert name_key("Anna") == name_key("") == name_key("j. k.") == ""


def test_mail_to_my_own_other_address_is_nobody_to_wait_for() -> None:
    to_myself = named(facts("self", to=(MAYA_ELSEWHERE,)), "Maya Lindqvist")
    to_alice = named(facts("alice", to=(("Alice Berg", ALICE),), day=1), "Maya Lindqvist")
    results = verdicts(conversation(to_myself, thread_id="t1"), conversation(to_alice))
    assert [r.message.facts.key for r in results] == ["alice"]
    # Without a name of mine on my own From, the other address is someone else.
    plain = verdicts(conversation(facts("self", to=(MAYA_ELSEWHERE,))))
    assert [r.message.facts.key for r in plain] == ["self"]


def test_a_nudge_from_my_other_address_is_mine_not_the_answer() -> None:
    proposal = named(facts("p", attachments=PDF), "Maya Lindqvist")
    nudge = replace(
        facts("n", subject="Re: Venue contract for the spring offsite", day=4, mine=False),
        from_=(MAYA_ELSEWHERE,),
    )
    (result,) = [r for r in verdicts(conversation(proposal, nudge)) if r.message.facts.key == "p"]
    assert result.state == AWAITING and result.answered_by is None


def test_a_client_answering_from_another_address_of_theirs_joins_and_answers() -> None:
    proposal = facts("p", to=(("Tom Berg", "tom@msn.example"),), attachments=PDF)
    answer = named(
        facts("a", sender="tom@email.msn.example", to=(ME,), subject="RE: " + proposal.subject),
        "Berg, Tom",
    )
    answer = replace(answer, date=int(T0 + 2 * DAY))
    assert threads(copy(proposal), copy(answer)) == [["p", "a"]]
    (result,) = verdicts(*build_conversations([copy(proposal), copy(answer)]))
    assert result.state == ANSWERED and result.answered_by == ("Berg, Tom", answer.from_[0][1])
    # Another one-word name, or another name, stays apart.
    for other in ("Tom", "Tim Berg"):
        stranger = replace(answer, from_=((other, "tom@email.msn.example"),))
        assert threads(copy(proposal), copy(stranger)) == [["a"], ["p"]]
