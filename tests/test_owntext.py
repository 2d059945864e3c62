"""Which words of a message are mine (watcher/owntext.py); hand-written messages only."""

from __future__ import annotations

import pytest

from watcher.analysis.owntext import own_text, split_own

MINE = "Sounds good, thanks.\n"
THEIRS = "Please sign the contract by Friday: EUR 12,400.\n"


@pytest.mark.parametrize(
    "header",
    [
        "-----Original Message-----\nFrom: Ana Ruiz\nSent: Monday, March 4, 2002 2:38 PM",
        " -----Original Message-----\nFrom: \tRuiz, Ana  \nSent:\tMonday, March 4, 2002",
        "---------------------- Forwarded by Maya Lind/HOU/Corp on 12/01/2000 10:02 AM "
        "---------------------------",
        # Lotus Notes reply headers: an address and a date on one line, or a name, then a
        # date line and To:/cc: below it (often indented).
        "Jane Doe <jd@acme.example> on 12/13/99 03:06:49 PM",
        "Jane Doe@ACME on 12/13/2000 03:06 PM",
        "Lisa Sawyer\n12/08/2000 12:55 PM\nTo: Maya Lind/HOU/Corp@Corp\ncc: Bob\nSubject: Plan",
        "\tLisa Sawyer\n\t12/08/2000 12:55 PM\n\t\t\n\t To: Maya Lind\n\t cc: \n\t Subject: x",
        "Stephanie Piwetz   03/29/2001 11:52 AM\nTo: Maya Lind/PDX/Corp@Corp\ncc:\nSubject: x",
    ],
)
def test_everything_below_a_quote_header_is_theirs(header: str) -> None:
    body = f"{MINE}\n{header}\n\n{THEIRS}"
    assert own_text(body).strip() == MINE.strip()
    assert not split_own(body).nothing_mine


@pytest.mark.parametrize(
    "body",
    [
        f"-----Original Message-----\nFrom: Ana\nSent: today\nSubject: Contract\n\n{THEIRS}",
        f"\n\n -----Original Message-----\nFrom: \tAna\nSent:\ttoday\n\n{THEIRS}",
        f"---------- Forwarded message ---------\nFrom: Ana <ana@acme.example>\n\n{THEIRS}",
        f"FYI\n\n-----Original Message-----\nFrom: Ana\nSent: today\n\n{THEIRS}",
        f"Ed,\nfyi - see below.\nJoe\n\nFrom: Ana\nSent: today\n\n{THEIRS}",
        f"Jane Doe <jd@acme.example> on 12/13/99 03:06:49 PM\n\n{THEIRS}",
        # a reply header on top with no ">" lines: the whole text is the quoted message
        f"On Tue, 3 Nov 2026, Ana <ana@acme.example> wrote:\n{THEIRS}",
    ],
)
def test_a_pure_forward_has_nothing_of_mine(body: str) -> None:
    own = split_own(body)
    assert own.nothing_mine
    assert own.text == ""


def test_bottom_posting_keeps_my_text_below_the_quote() -> None:
    body = f"On Tue, 3 Nov 2026, Ana <ana@acme.example> wrote:\n> {THEIRS}\n{MINE}"
    own = split_own(body)
    assert not own.nothing_mine
    assert own.text.strip() == MINE.strip()


def test_a_forward_separator_and_the_quoted_subject_are_reported() -> None:
    body = (
        "Have a look.\n\n---------- Forwarded message ---------\nFrom: Ana\n"
        "Date: Mon, 2 Nov 2026\nSubject: Supply contract\n\nText.\n"
    )
    own = split_own(body)
    assert own.forward_header
    assert own.quoted_subject == "Supply contract"
    assert own.text.strip() == "Have a look."


def test_a_long_note_above_a_forward_is_mine_even_with_fyi() -> None:
    note = "FYI: the supply contract is ready, and I have two changes to it."
    body = f"{note}\n\nFrom: Ana\nSent: x\n{THEIRS}"
    assert not split_own(body).nothing_mine


@pytest.mark.parametrize("body", ["", "\n\n", "> only a quote\n> nothing else\n", "-- \nMaya\n"])
def test_empty_and_quote_only_bodies(body: str) -> None:
    assert own_text(body).strip() == ""
