"""Screenshots of a realistic digest, for the README and for judging the design by eye.

Builds a digest by hand from the demo mailbox's threads (watcher/demo_mailbox/MANIFEST.txt,
"this morning" = Mon 23 Nov 2026), plus two invented threads so that every section shows
(two weeks quiet, last rung), with the report of two commands by mail and the one-tap
actions (a fixed key), renders it, and photographs it with headless Chromium:

    docs/digest-360.png        phone width, light
    docs/digest-360-dark.png   phone width, prefers-color-scheme: dark
    docs/digest-1024.png       desktop width, light

    /tmp/venv/bin/python bench/screenshot.py [--out docs] [--html digest.html]

Needs the Debian package `chromium` (`pngquant`, if installed, makes the PNGs smaller). Each
page is measured first (laid out in an iframe of the same width), so the PNGs are cropped to
the content.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from watcher.config.digest import DigestSettings
from watcher.digest.commandlinks import CommandLinks, CommandReport
from watcher.digest.model import (
    BOUNCED,
    FIRST,
    LAST,
    REMINDER,
    REPLY_IN_SPAM,
    Digest,
    DigestGroup,
    DigestItem,
)
from watcher.digest.render import render_html, render_text
from watcher.digest.suggest import first_name_of, suggest_follow_up

ZONE = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 23, 7, 30, tzinfo=ZONE)
SETTINGS = DigestSettings(webmail="gmail")
# A fixed key, so the one-tap links (and their codes) are the same in every run: a real
# installation makes its own secret key on first run.
SAMPLE_KEY = b"screenshot key, not a secret...."
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def _item(
    number: int,
    name: str,
    address: str,
    subject: str,
    kind: str,
    sent: datetime,
    *,
    reasons: tuple[str, ...],
    attachments: tuple[str, ...] = (),
    excerpt: str = "",
    rung: str = FIRST,
    reminder: int = 0,
    alarm: str = "",
    detail: str = "",
    price: str = "",
) -> DigestItem:
    first = first_name_of(name, address)
    quiet = (NOW.date() - sent.date()).days
    message_id = f"<demo-{number:02d}@lindqvist-studio.example>"
    return DigestItem(
        thread_id="t" + hashlib.blake2b(message_id.encode(), digest_size=5).hexdigest(),
        message_id=message_id,
        account="studio",
        contact_name=name,
        contact_address=address,
        first_name=first,
        other_contacts=(),
        subject=subject,
        kind=kind,
        sent_at=sent,
        quiet_days=quiet,
        reasons=reasons,
        attachments=attachments,
        excerpt=excerpt,
        rung=rung,
        reminder_number=reminder,
        suggestion=suggest_follow_up(
            first_name=first,
            subject=subject,
            kind=kind,
            sent_on=sent.date(),
            quiet_days=quiet,
            rung=rung,
            reminder_number=reminder,
            attachments=attachments,
        ),
        reply_subject=f"Re: {subject}",
        alarm=alarm,
        alarm_detail=detail,
        open_link=SETTINGS.link_to(message_id),
        price=price,
    )


def sample_digest() -> Digest:
    """The demo mailbox's morning, as the selection would build it."""
    day = timedelta(days=1)

    def at(days_ago: int, hour: int, minute: int) -> datetime:
        return (NOW - days_ago * day).replace(hour=hour, minute=minute)

    bounced = _item(
        4,
        "Mateusz Nowak",
        "mateusz.nowack@wisla-ceramics.example",
        "Proposal: online shop for Wisla Ceramics",
        "proposal",
        at(5, 11, 5),
        reasons=("attachment Proposal_Wisla_Ceramics_Shop.pdf", "price EUR 9,800"),
        attachments=("Proposal_Wisla_Ceramics_Shop.pdf",),
        rung=LAST,
        alarm=BOUNCED,
        detail="Delivery to mateusz.nowack@wisla-ceramics.example failed.",
        price="EUR 9,800",
    )
    spam = _item(
        7,
        "Ravi Menon",
        "ravi@saffron-table.example",
        "Proposal: menu and brand refresh for Saffron Table",
        "proposal",
        at(10, 11, 30),
        reasons=("attachment Proposal_Saffron_Table.pdf",),
        attachments=("Proposal_Saffron_Table.pdf",),
        rung=LAST,
        alarm=REPLY_IN_SPAM,
    )
    acme = _item(
        1,
        "Daniel Okafor",
        "daniel.okafor@acme-outdoor.example",
        "Website proposal for Acme Outdoor",
        "proposal",
        at(12, 10, 12),
        reasons=("attachment Proposal_Acme_Website_v2.pdf", "price GBP 18,400"),
        price="GBP 18,400",
        attachments=("Proposal_Acme_Website_v2.pdf",),
        excerpt=(
            "Thanks again for walking me through the current site on Monday. As\n"
            "promised, here is my proposal for the new Acme Outdoor website. This is\n"
            "v2: the trail-guide section we talked about is now part of phase one."
        ),
    )
    harbour = _item(
        3,
        "Tom Whitaker",
        "tom.whitaker@harbourline.example",
        "Services agreement: Harbourline brand refresh",
        "agreement",
        at(7, 9, 40),
        reasons=("DocuSign link", "asks to sign (“review and sign”)", "price GBP 24,000"),
        price="GBP 24,000",
        excerpt=(
            "As discussed on Thursday, I've put the scope into a short services\n"
            "agreement: the brand refresh in three phases, GBP 24,000 excl. VAT,\n"
            "starting on 7 December."
        ),
    )
    anil = _item(
        12,
        "Lucía Fernández",
        "lucia.fernandez@estudio-anil.example",
        "Presupuesto 2026-118: identidad visual para Estudio Añil",
        "quote",
        at(4, 16, 45),
        reasons=("attachment Presupuesto_2026-118.pdf", "price 5.800 €"),
        price="5.800 €",
        attachments=("Presupuesto_2026-118.pdf",),
        excerpt=(
            "Muchas gracias por la videollamada del martes. Tal como acordamos, te\n"
            "envío el presupuesto para la nueva identidad visual de Estudio Añil."
        ),
    )
    # Invented: the demo mailbox has nothing quiet this long.
    nordlys = _item(
        15,
        "Henrik Dahl",
        "henrik@nordlys-bakery.example",
        "Quote: packaging and signage for Nordlys Bakery",
        "quote",
        at(18, 14, 20),
        reasons=("attachment Quote_Nordlys_2026-109.pdf", "price SEK 86,000"),
        price="SEK 86,000",
        attachments=("Quote_Nordlys_2026-109.pdf",),
        excerpt="Here is the quote for the packaging and the shop signage we discussed.",
        rung=REMINDER,
        reminder=2,
    )
    pine = _item(
        16,
        "Ruiz, Ana",
        "ana.ruiz@pinewood-clinic.example",
        "Proposal: patient booking site for Pinewood Clinic",
        "proposal",
        at(34, 9, 15),
        reasons=("attachment Proposal_Pinewood_Booking.pdf",),
        attachments=("Proposal_Pinewood_Booking.pdf",),
        excerpt="As promised, the proposal for the new booking site is attached.",
        rung=LAST,
        reminder=4,
    )
    return Digest(
        day=NOW.date(),
        generated_at=NOW,
        recipient="maya@lindqvist-studio.example",
        message_id="<digest-20261123-3f1a2b@followup-watcher.invalid>",
        alarms=(bounced, spam),
        groups=(
            DigestGroup("Quiet for a few days", (anil,)),
            DigestGroup("Quiet for a week or more", (acme, harbour)),
            DigestGroup("Quiet for two weeks or more", (nordlys,)),
            DigestGroup("Let it go, or one last check-in?", (pine,)),
        ),
        watched=9,
        next_digest=NOW + day,
        commands=CommandLinks("maya+followup@lindqvist-studio.example", NOW.date(), SAMPLE_KEY),
        command_report=CommandReport(
            applied=(
                "Snoozed “Logo refresh for Fjäll Coffee” until Mon 30 Nov, "
                "from your mail of Sat 21 Nov 18:40",
                "Marked “Shop photography, spring catalogue” done, from your mail of 06:58",
            ),
            unreadable=(
                "Your mail of 07:02: “4 snooze soon”: snooze for how long? "
                "e.g. “4 snooze 1w” or “4 snooze until 2026-12-14”",
            ),
        ),
    )


def _chromium(html: Path, width: int, height: int, dark: bool, *extra: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        command = [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            *(["--force-dark-mode", "--blink-settings=preferredColorScheme=0"] if dark else []),
            *extra,
            html.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def measure(page: str, width: int, work: Path) -> tuple[int, int]:
    """The page's (height, scroll width) at `width`, as Chromium lays it out.

    Headless windows are at least 500 px wide when dumping the DOM, so the page is laid out
    in an iframe of exactly `width` (its own viewport: the narrow-screen media query
    applies), and a script puts the sizes into the title that --dump-dom prints.
    """
    probe = work / f"probe-{width}.html"
    script = (
        "var d=this.contentDocument.documentElement;"
        "document.title='H'+Math.ceil(d.getBoundingClientRect().height)+'W'+d.scrollWidth"
    )
    probe.write_text(
        f'<!DOCTYPE html><html><head><title>-</title></head><body style="margin:0">'
        f'<iframe style="width:{width}px;height:200px;border:0" onload="{script}" '
        f'srcdoc="{html.escape(page, quote=True)}"></iframe></body></html>',
        encoding="utf-8",
    )
    dom = _chromium(probe, max(width, 600), 1000, False, "--dump-dom", "--virtual-time-budget=5000")
    found = re.search(r"<title>H(\d+)W(\d+)</title>", dom)
    if found is None:
        raise SystemExit(f"could not measure the page at {width} px")
    return int(found.group(1)), int(found.group(2))


def shoot(page: str, out: Path, width: int, dark: bool, work: Path) -> None:
    height, scroll_width = measure(page, width, work)
    if scroll_width > width:  # something does not wrap: the reader would scroll sideways
        print(f"warning: at {width} px the page is {scroll_width} px wide", file=sys.stderr)
    target = work / "digest.html"
    target.write_text(page, encoding="utf-8")
    _chromium(target, width, height, dark, f"--screenshot={out.resolve()}")
    if shutil.which("pngquant"):  # a 256-colour palette: a third of the size, text stays crisp
        subprocess.run(
            [
                "pngquant",
                "--quality=60-90",
                "--speed=1",
                "--strip",
                "--force",
                "--output",
                out,
                out,
            ],
            check=True,
            timeout=120,
        )
    print(f"{out}: {width}x{height}, {out.stat().st_size // 1024} KB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--html", type=Path, help="also write the HTML here")
    parser.add_argument("--text", action="store_true", help="print the plain-text part")
    args = parser.parse_args(argv)
    digest = sample_digest()
    page = render_html(digest)
    if args.html:
        args.html.write_text(page, encoding="utf-8")
    if args.text:
        print(render_text(digest))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for name, width, dark in (
            ("digest-360.png", 360, False),
            ("digest-360-dark.png", 360, True),
            ("digest-1024.png", 1024, False),
        ):
            shoot(page, args.out / name, width, dark, Path(work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
