"""The bundled demo mailbox (watcher/demo_mailbox): its MANIFEST, and how to put it on Dovecot.

`NOW` is the moment the MANIFEST's verdicts hold, as the `--now` the CLI takes.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

from dovecot import DovecotServer, MailUser

DEMO = Path(str(resources.files("watcher") / "demo_mailbox"))
FOLDERS = {"": "INBOX", ".Sent": "Sent", ".Archive": "Archive", ".Junk": "Junk"}
NOW = "2026-11-23T08:00"


def manifest() -> list[tuple[str, str, str, list[str]]]:
    rows = []
    for line in (DEMO / "MANIFEST.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            number, verdict, _day, contact, files, _why = (f.strip() for f in line.split(" | "))
            rows.append((number, verdict, contact, files.split()))
    return rows


def imap_folder(relative: str) -> str:
    top = relative.split("/")[0]
    if top.startswith("."):
        return FOLDERS.get(top, top[1:].replace(".", "/"))
    return "INBOX"


def seed_demo(server: DovecotServer, user: MailUser) -> None:
    """Every demo message APPENDed to its folder, dated as delivered (its file name)."""
    for _number, _verdict, _contact, files in manifest():
        for relative in files:
            delivered = int(Path(relative).name.split(".")[0])
            server.append(
                user,
                imap_folder(relative),
                (DEMO / relative).read_bytes(),
                internal_date=dt.datetime.fromtimestamp(delivered, dt.UTC),
            )
