"""Digest items as the renderer gets them, for the rendering tests: `make_item(n, **changes)`,
sent some days before NOW (a morning in Berlin)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from watcher.digest.model import FIRST, DigestItem

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 7, 30, tzinfo=ZONE)
HOSTILE_SUBJECT = '<script>alert(1)</script> <a href="javascript:alert(1)">x</a>'


def make_item(number: int, **changes: object) -> DigestItem:
    sent = NOW - timedelta(days=5 + number)
    item = DigestItem(
        thread_id=f"t{number:03d}abc",
        message_id=f"<m{number}@example.com>",
        account="work",
        contact_name="Ana Ruiz",
        contact_address="ana.ruiz@example.com",
        first_name="Ana",
        other_contacts=(),
        subject=f"Website proposal {number}",
        kind="proposal",
        sent_at=sent,
        quiet_days=5 + number,
        reasons=("attachment Proposal.pdf", "price EUR 9,800"),
        attachments=("Proposal.pdf",),
        excerpt="Thanks for the call on Monday. Here is my proposal for the new site.\nBest,",
        rung=FIRST,
        reminder_number=0,
        suggestion=(
            "Hi Ana,\n\nI sent you the proposal on 12 November and haven't heard back yet.\n"
            'Would a 15-minute call on Thursday help? A "no" is fine too & easy.\n\nBest,'
        ),
        reply_subject=f"Re: Website proposal {number}",
        open_link="",
    )
    return replace(item, **changes)  # type: ignore[arg-type]
