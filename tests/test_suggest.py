"""The suggested follow-up texts: one per situation, in the voice of FOLLOW-UP-VOICE.md."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest

from watcher.config.digest import check_template
from watcher.digest.model import FIRST, LAST, REMINDER
from watcher.digest.suggest import (
    first_name_of,
    strip_subject,
    suggest_follow_up,
)

SENT = date(2026, 11, 12)  # a Thursday
# What a pushy or hollow follow-up says; none of it belongs in a suggestion.
FORBIDDEN = (
    "just checking in",
    "just following up",
    "circling back",
    "touching base",
    "urgent",
    "asap",
    "as soon as possible",
    "last chance",
    "!",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def suggest(
    *,
    rung: str = FIRST,
    quiet_days: int = 5,
    reminder_number: int = 0,
    first_name: str = "Ana",
    subject: str = "Re: Website proposal for Acme Outdoor",
    kind: str = "proposal",
    templates: dict[str, str] | None = None,
    attachments: tuple[str, ...] = ("Proposal_Acme_v2.pdf",),
) -> str:
    return suggest_follow_up(
        first_name=first_name,
        subject=subject,
        kind=kind,
        sent_on=SENT,
        quiet_days=quiet_days,
        rung=rung,
        reminder_number=reminder_number,
        attachments=attachments,
        templates=templates,
    )


SITUATIONS = {
    "recent": {"rung": FIRST, "quiet_days": 5},
    "reminder": {"rung": REMINDER, "quiet_days": 9, "reminder_number": 1},
    "second reminder": {"rung": REMINDER, "quiet_days": 12, "reminder_number": 2},
    "long quiet": {"rung": FIRST, "quiet_days": 21},
    "long quiet reminder": {"rung": REMINDER, "quiet_days": 30, "reminder_number": 3},
    "last": {"rung": LAST, "quiet_days": 45, "reminder_number": 4},
}


@pytest.mark.parametrize("situation", SITUATIONS)
@pytest.mark.parametrize("kind", ["proposal", "quote", "contract", "message", ""])
def test_every_situation_keeps_the_voice(situation: str, kind: str) -> None:
    text = suggest(kind=kind, **SITUATIONS[situation])  # type: ignore[arg-type]
    assert text.startswith("Hi Ana,\n\n")
    assert len(text.split()) < 90
    assert not [phrase for phrase in FORBIDDEN if phrase in text.lower()]
    assert "12 November" in text  # says plainly what happened, and when
    assert "(Proposal_Acme_v2.pdf)" in text  # and what: the document sent
    assert "Re:" not in text
    # Signed off without a name: no sender name was given.
    assert text.endswith("\n\nBest,")
    # Without a document, the subject says what was sent.
    text = suggest(kind=kind, attachments=(), **SITUATIONS[situation])  # type: ignore[arg-type]
    assert '"Website proposal for Acme Outdoor"' in text
    assert "Re:" not in text


def test_a_recent_proposal_gets_a_short_warm_note_with_one_next_step() -> None:
    text = suggest(rung=FIRST, quiet_days=5)
    assert "the proposal" in text
    assert "haven't heard back" in text
    assert "15-minute call" in text
    # The call is proposed on two working days after today (12 + 5 = Tue 17 Nov).
    assert "Thursday or Friday" in text
    assert "not now" in text  # easy to answer with a no


@pytest.mark.parametrize("quiet_days", [0, 1, 2, 3, 4, 5, 6])
def test_the_proposed_call_days_are_working_days(quiet_days: int) -> None:
    text = suggest(quiet_days=quiet_days)
    days = re.search(r"on (\w+) or (\w+)", text)
    assert days is not None
    assert days.group(1) in WEEKDAYS
    assert days.group(2) in WEEKDAYS


def test_reminders_vary_the_wording_and_each_adds_something() -> None:
    first = suggest(rung=FIRST, quiet_days=5)
    one = suggest(rung=REMINDER, quiet_days=9, reminder_number=1)
    two = suggest(rung=REMINDER, quiet_days=12, reminder_number=2)
    assert len({first, one, two}) == 3
    assert "smaller first phase" in one
    assert "move the start date" in two
    for text in (one, two):
        assert "15 minutes on" in text
        assert "when would suit you better" in text  # takes "not now", asks when


def test_a_contract_reminder_offers_to_change_it_before_signing() -> None:
    text = suggest(rung=REMINDER, quiet_days=9, reminder_number=1, kind="contract")
    assert "the contract" in text
    assert "before you can sign" in text


def test_a_long_quiet_thread_owns_the_gap_and_offers_to_pick_up() -> None:
    text = suggest(rung=REMINDER, quiet_days=20, reminder_number=2)
    assert "I should have followed up" in text
    assert "pick up where we left off" in text


def test_the_last_rung_closes_out_politely() -> None:
    text = suggest(rung=LAST, quiet_days=45)
    assert "isn't the right time" in text
    assert "won't keep" in text
    assert "15-minute" not in text  # no more asks
    assert "If things change" in text


@pytest.mark.parametrize(
    ("first_name", "greeting"), [("Ana", "Hi Ana,"), ("José", "Hi José,"), ("", "Hello,")]
)
def test_the_greeting_uses_the_first_name_when_known(first_name: str, greeting: str) -> None:
    assert suggest(first_name=first_name).split("\n")[0] == greeting


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [
        ("Re: Fwd: Website proposal", "Website proposal"),
        ("AW: WG: Angebot 2026-114", "Angebot 2026-114"),
        ("RE[2]: SV: Offert", "Offert"),
        ("[External] Re: Quote 1042", "Quote 1042"),
        ("Re:", "Re:"),
        ("Proposal: Re-design", "Proposal: Re-design"),
        ("Website\n proposal\tfolded", "Website proposal folded"),
    ],
)
def test_reply_and_forward_prefixes_are_stripped(subject: str, stripped: str) -> None:
    assert strip_subject(subject) == stripped


def test_a_very_long_subject_is_shortened_in_the_text() -> None:
    text = suggest(subject="Proposal " + "for a very long project name " * 12, attachments=())
    assert '("Proposal for a very long project name for a…")' in text
    assert len(text.split()) < 90


def test_no_subject_names_the_kind_alone() -> None:
    text = suggest(subject="", kind="quote", attachments=())
    assert "the quote on 12 November" in text


def test_a_user_template_replaces_the_built_in_text() -> None:
    templates = {
        "first": (
            '{greeting}\n\nThe {kind} "{subject}" from {sent_on} ({attachments}) has been '
            "quiet for {days} days. {first_name}, shall we talk?\n"
        )
    }
    text = suggest(templates=templates)
    assert text == (
        'Hi Ana,\n\nThe proposal "Website proposal for Acme Outdoor" from 12 November '
        "(Proposal_Acme_v2.pdf) has been quiet for 5 days. Ana, shall we talk?"
    )
    # Only the situation it names: a reminder keeps the built-in text.
    assert suggest(rung=REMINDER, quiet_days=9, templates=templates) == suggest(
        rung=REMINDER, quiet_days=9
    )


def test_a_template_without_a_name_reads_cleanly() -> None:
    text = suggest(first_name="", templates={"first": "Hi {first_name},\n\nAbout {subject}."})
    assert text.startswith("Hi,\n\n")


@pytest.mark.parametrize(
    "template",
    [
        "Hi {name},",  # unknown placeholder
        "Hi {first_name",  # bad braces
        "Price: {5}",  # positional
        "{}",
        "Hi } there",
        "{subject.__class__}",  # attribute access reaches into Python objects
        "{subject[0]}",
        "{days:q}",  # a bad format spec
        "{subject!z}",
        "{subject:{days}}",  # nested
    ],
)
def test_a_broken_template_falls_back_to_the_built_in_text(
    template: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert check_template(template) is not None
    with caplog.at_level(logging.WARNING, logger="watcher.digest.suggest"):
        text = suggest(templates={"first": template})
    assert text == suggest()
    assert "'first'" in caplog.text


def test_check_template_accepts_every_placeholder_and_names_the_bad_one() -> None:
    good = "{greeting} {first_name} {subject} {kind} {sent_on} {days:>3} {attachments} {{x}}"
    assert check_template(good) is None
    problem = check_template("Hi {frist_name},")
    assert problem is not None
    assert "{frist_name}" in problem
    assert "{first_name}" in problem  # and says what would work


@pytest.mark.parametrize(
    ("display_name", "address", "first"),
    [
        ("Ana Ruiz", "ana.ruiz@example.com", "Ana"),
        ("Ruiz, Ana", "aruiz@example.com", "Ana"),
        ("", "ana.ruiz@example.com", "Ana"),
        ("", "ana_ruiz+quotes@example.com", "Ana"),
        ("", "info@example.com", ""),
        ("", "sales@example.com", ""),
        ("", "office@example.com", ""),
        ("", "no-reply@example.com", ""),
        ("", "jdoe@example.com", ""),  # one word: a name or not, "Hello," is safe
        ("", "j.becker@example.com", ""),  # an initial
        ("Dr. Hans Meier", "", "Hans"),
        ("Prof. Dr. Hans Meier", "", "Hans"),
        ("Herr Becker", "j.becker@example.com", ""),  # a title and a family name
        ("José Müller-Łukasiewicz", "", "José"),
        ("Jean-Luc Picard", "", "Jean-Luc"),
        ("ANA RUIZ", "", "Ana"),
        ('"Ana Ruiz"', "", "Ana"),
        ("Acme Outdoor Sales", "sales@acme.example", ""),
        ("Kumo Tea GmbH", "", ""),
        ("ana.ruiz@example.com", "ana.ruiz@example.com", "Ana"),
        ("Ana\r\nBcc: x@y", "", ""),  # an address in the name: not trusted
        ("<script>", "", ""),
    ],
)
def test_first_name_of(display_name: str, address: str, first: str) -> None:
    assert first_name_of(display_name, address) == first


def test_the_configs_template_check_fills_in_what_suggest_fills_in() -> None:
    # config/ cannot import digest/: its sample must keep the names and types of `_values`.
    from datetime import date as _date

    from watcher.config.digest import _SAMPLE, PLACEHOLDERS
    from watcher.digest.suggest import placeholders

    filled = placeholders(
        first_name="Ana",
        subject="Website",
        kind="proposal",
        sent_on=_date(2026, 11, 12),
        quiet_days=9,
        attachments=["a.pdf"],
    )
    assert set(filled) == set(_SAMPLE) == set(PLACEHOLDERS)
    assert {k: type(v) for k, v in filled.items()} == {k: type(v) for k, v in _SAMPLE.items()}
