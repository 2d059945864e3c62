"""The digest card names the account a thread was read from, when there are several."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from digestitems import make_item

from watcher.digest.model import Digest, DigestGroup
from watcher.digest.render import render_html, render_text


def test_the_card_names_the_account_only_when_the_digest_covers_several() -> None:
    one = Digest(
        day=date(2026, 11, 23),
        generated_at=datetime(2026, 11, 23, 7, 30, tzinfo=UTC),
        recipient="maya@studio.example",
        message_id="<d@x>",
        groups=(DigestGroup("Quiet for a week or more", (make_item(1), make_item(2))),),
    )
    assert "account " not in render_text(one)
    several = replace(
        one,
        groups=(
            DigestGroup(
                "Quiet for a week or more",
                (make_item(1), replace(make_item(2), account="north")),
            ),
        ),
    )
    text, html = render_text(several), render_html(several)
    assert "· account north" in text and "· account north" in html
