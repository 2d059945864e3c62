"""Delivery failures from Exchange and Notes administrators (issue 9, pattern 8): they come
from an administrator mailbox, not MAILER-DAEMON, and often name neither a Message-ID nor an
address, only the subject ("Undeliverable: <subject>")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from watcher.analysis.conversations import Conversation, ThreadMessage
from watcher.analysis.signals import automatic_reason, bounce_of
from watcher.analysis.tracker import AWAITING, BOUNCED, track
from watcher.config.tracking import Tracking
from watcher.identity import Identity
from watcher.model import Attachment, MessageFacts, from_delivery_system

ME = "maya@studio.example"
CLIENT = "ana@acme.example"
ZONE = ZoneInfo("Europe/Berlin")
SUBJECT = "Proposal for the Acme website"
EXCHANGE_TEXT = (
    "Your message\n\n  To:      Ana\n  Subject: Proposal for the Acme website\n\n"
    "did not reach the following recipient(s):\n\n"
    "ana@acme.example on 11/10/2026 9:06 AM\n"
    "            The e-mail account does not exist at the organization this message was sent to.\n"
)


def at(day: int, hour: int = 9) -> int:
    return int(datetime(2026, 11, day, hour, tzinfo=ZONE).timestamp())


def message(sender: tuple[str, str], when: int, subject: str, **facts: object) -> ThreadMessage:
    values: dict[str, object] = {
        "key": f"{sender}-{when}",
        "message_id": f"<{when}-{sender[1]}>",
        "from_": (sender,),
        "to": (("", CLIENT if sender[1] == ME else ME),),
        "subject": subject,
        "date": when,
        **facts,
    }
    mine = sender[1] == ME
    return ThreadMessage(
        facts=MessageFacts(**values),  # type: ignore[arg-type]
        account="work",
        folders=("Sent" if mine else "INBOX",),
        folder_uses=frozenset({"\\Sent"}) if mine else frozenset(),
        when=when,
    )


def proposal(when: int) -> ThreadMessage:
    return message(
        ("Maya", ME),
        when,
        SUBJECT,
        body_text="Hi Ana, attached is our proposal for the new site. Total EUR 12,400.",
        attachments=(Attachment("Proposal_Acme.pdf", "application/pdf", 2000),),
    )


def verdicts(*conversations: Conversation) -> list[tuple[str, str]]:
    results = track(
        conversations,
        identity=Identity([ME]),
        tracking=Tracking(),
        overrides={},
        now=datetime(2026, 11, 23, 8, tzinfo=ZONE),
        zone=ZONE,
    )
    return [(r.state, "; ".join(r.notes)) for r in results]


@pytest.mark.parametrize(
    ("sender", "system"),
    [
        (("", "exchange.administrator@corp.example"), True),
        (("System Administrator", "admin@corp.example"), True),
        (("Exchange System Administrator", "x@corp.example"), True),
        (
            ("Microsoft Outlook", "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@c.example"),
            True,
        ),
        (("Mail Delivery Subsystem", "daemon@mx.example"), True),
        (("", "postmaster@mx.example"), True),
        (("", "MAILER-DAEMON@mx.example"), True),
        (("Jane Admin", "jane@corp.example"), False),
        (("", "administrator.jones@corp.example"), False),
        (("Postmaster General", "pg@gov.example"), False),
        (("", "ana@acme.example"), False),
    ],
)
def test_who_is_a_delivery_system(sender: tuple[str, str], system: bool) -> None:
    lowered = (sender[0], sender[1].lower())
    assert from_delivery_system([lowered]) is system


def test_an_exchange_report_names_the_failed_recipient_and_the_subject() -> None:
    facts = MessageFacts(
        key="1",
        from_=(("Exchange System Administrator", "exchange.administrator@corp.example"),),
        subject=f"Undeliverable: {SUBJECT}",
        body_text=EXCHANGE_TEXT,
    )
    bounce = bounce_of(facts)
    assert bounce is not None
    assert bounce.recipients == (CLIENT,)
    assert bounce.original_subject == SUBJECT
    assert automatic_reason(facts) == "delivery report"  # never a human reply


def test_a_report_that_quotes_nothing_has_no_original_subject() -> None:
    facts = MessageFacts(
        key="1",
        from_=(("", "mailer-daemon@mx.example"),),
        subject="Returned mail: see transcript for details",
    )
    bounce = bounce_of(facts)
    assert bounce is not None and bounce.original_subject == ""


def test_a_person_writing_undeliverable_is_no_bounce() -> None:
    facts = MessageFacts(
        key="1", from_=(("Ana", CLIENT),), subject="Undeliverable: the crates you sent"
    )
    assert bounce_of(facts) is None


def test_an_exchange_report_by_subject_alone_marks_the_proposal_bounced() -> None:
    sent = proposal(at(10))
    report = message(
        ("", "exchange.administrator@corp.example"),
        at(10, 10),
        f"Undeliverable: {SUBJECT}",
        body_text="--------- Inline attachment follows ---------\n\nSorry, just a little late.",
    )
    results = verdicts(Conversation("t0000000001", (sent,)), Conversation("t0000000002", (report,)))
    assert results == [(BOUNCED, "bounced: a delivery failure quotes its subject")]


def test_a_report_about_another_subject_or_much_later_leaves_it_alone() -> None:
    sent = proposal(at(10))
    other = message(
        ("", "exchange.administrator@corp.example"), at(10, 10), "Undeliverable: Lunch?"
    )
    late = message(("", "exchange.administrator@corp.example"), at(20), f"Undeliverable: {SUBJECT}")
    results = verdicts(
        Conversation("t0000000001", (sent,)),
        Conversation("t0000000002", (other,)),
        Conversation("t0000000003", (late,)),
    )
    assert [state for state, _ in results] == [AWAITING]
