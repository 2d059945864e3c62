"""Awaiting, but the contact has written to me since under another subject (issue 9).

Nothing ties their message to mine, so it is not the answer (on labelled real mail, "they
wrote since" does not tell answered threads from waiting ones); but the user should see it
before following up: `watcher thread`, `list --json` and the digest card say so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from digestitems import HOSTILE_SUBJECT, NOW, make_item
from replythreads import ALICE, ME, PDF, T0, conversation, facts, verdict_on, verdicts

from watcher.analysis.answers import HeardFrom
from watcher.analysis.tracker import AWAITING
from watcher.cli.listing import as_json, heard_since_line
from watcher.digest.model import Digest, DigestGroup
from watcher.digest.render import render_html, render_text

ZONE = ZoneInfo("UTC")
DATA_ROOM = "Data room access for the due diligence"


def test_a_contact_writing_since_in_another_thread_is_named_not_taken_for_an_answer() -> None:
    proposal = facts("p", attachments=PDF)
    before = facts("b", sender=ALICE, to=(ME,), subject="Parking at the venue", day=-1)
    other = facts("o", sender=ALICE, to=(ME,), subject=DATA_ROOM, day=3)
    later = facts("l", sender=ALICE, to=(ME,), subject="Lunch?", day=5)
    auto = facts("a", sender=ALICE, to=(ME,), subject="Out of office", day=6)
    auto = replace(auto, auto_submitted="auto-replied")
    results = verdicts(
        conversation(proposal),
        conversation(before, thread_id="t2"),
        conversation(other, thread_id="t3"),
        conversation(later, thread_id="t4"),
        conversation(auto, thread_id="t5"),
    )
    result = verdict_on("p", results)
    assert result.state == AWAITING
    assert result.heard_since == HeardFrom(("", ALICE), int(T0 + 5 * 86_400), "Lunch?", "t4")
    line = heard_since_line(result.heard_since, ZONE)
    assert line.startswith(f"heard since: {ALICE} wrote to you on 2026-09-26 in another thread")
    assert as_json(result, ZONE)["heard_since"] == {
        "name": "",
        "address": ALICE,
        "at": datetime.fromtimestamp(T0 + 5 * 86_400, ZONE).isoformat(),
        "subject": "Lunch?",
        "thread_id": "t4",
    }


def test_nothing_heard_when_they_wrote_only_before_or_automatically() -> None:
    proposal = facts("p", attachments=PDF)
    before = facts("b", sender=ALICE, to=(ME,), subject="Parking at the venue", day=-1)
    auto = replace(
        facts("a", sender=ALICE, to=(ME,), subject="Automatic reply: away", day=2),
        auto_submitted="auto-replied",
    )
    results = verdicts(
        conversation(proposal),
        conversation(before, thread_id="t2"),
        conversation(auto, thread_id="t5"),
    )
    assert verdict_on("p", results).heard_since is None
    assert as_json(verdict_on("p", results), ZONE)["heard_since"] is None


def test_the_digest_card_says_who_wrote_since_escaped_in_html() -> None:
    heard = make_item(
        1,
        heard_from="Ana Ruiz",
        heard_at=datetime(2026, 11, 20, 9, 0, tzinfo=NOW.tzinfo),
        heard_subject=HOSTILE_SUBJECT + "\x1b]0;pwned\x07",
    )
    quiet = make_item(2)
    digest = Digest(
        day=NOW.date(),
        generated_at=NOW,
        recipient="maya@example.com",
        message_id="<digest-20261123-abc@followup-watcher.invalid>",
        alarms=(),
        groups=(DigestGroup("Quiet for a few days", (heard, quiet)),),
        watched=2,
        next_digest=datetime(2026, 11, 24, 7, 30, tzinfo=NOW.tzinfo),
        account_problems=(),
    )
    text, html = render_text(digest), render_html(digest)
    assert (
        " ".join(text.split()).count("Since then: Ana Ruiz wrote to you on Fri 20 Nov, under “<")
        == 1
    )
    assert "\x1b" not in text and "\x07" not in text
    assert html.count("Since then:") == 1
    assert "<script>" not in html and "&lt;script&gt;" in html
