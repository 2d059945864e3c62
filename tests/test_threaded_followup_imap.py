"""Issue 11 §2 against the real Dovecot: the draft reply to a quiet proposal is saved in the
Drafts folder of the account the proposal was read from, From the address it was sent from,
threaded under it; the follow-up the user sends from that draft (its header kept, as many
clients do) is read from Sent and counted as the proposal's first reminder, not as a new
proposal; and an account that cannot take a draft stops neither the others nor the digest.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import logging
import os
import subprocess
import sys
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from digestitems import make_item
from dovecot import DovecotServer, MailUser

from watcher.analysis.pipeline import analyze
from watcher.config.settings import Settings, load_settings
from watcher.digest.model import REMINDER, Digest, DigestGroup, DigestItem
from watcher.digest.select import Selection, digest_message_id
from watcher.digest.send import SENT, draft_message_id, save_drafts, send_digest
from watcher.digest.today import select_for
from watcher.store.store import Store

ZONE = ZoneInfo("Europe/Berlin")
MAYA_WORK = "maya@studio.example"
MAYA_HOME = "maya@home.example"
ANA = "ana@acme.example"
PROPOSAL_ID = "<angebot-1@studio.example>"
INQUIRY_ID = "<anfrage-1@acme.example>"


def when(day: int, hour: int = 10, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=ZONE)


def inquiry() -> bytes:
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"] = f"Ana Ruiz <{ANA}>"
    mail["To"] = f"Maya Lindqvist <{MAYA_WORK}>"
    mail["Subject"] = "Angebot Website"
    mail["Date"] = format_datetime(when(9))
    mail["Message-ID"] = INQUIRY_ID
    mail.set_content(
        "Hallo Maya,\n\nkönnten Sie uns ein Angebot für die Website schicken?\n\nAna\n"
    )
    return mail.as_bytes()


def proposal() -> bytes:
    """My answer to Ana's inquiry, sent from the work address: "AW: Angebot Website"."""
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"] = f"Maya Lindqvist <{MAYA_WORK}>"
    mail["To"] = f"Ana Ruiz <{ANA}>"
    mail["Subject"] = "AW: Angebot Website"
    mail["Date"] = format_datetime(when(10))
    mail["Message-ID"] = PROPOSAL_ID
    mail["In-Reply-To"] = INQUIRY_ID
    mail["References"] = INQUIRY_ID
    mail.set_content(
        "Hallo Ana,\n\nanbei unser Angebot für die neue Website: Gesamtpreis EUR 12.400.\n\n"
        "Viele Grüße\nMaya\n"
    )
    mail.add_attachment(
        b"%PDF-1.4 offer", maintype="application", subtype="pdf", filename="Angebot_Acme.pdf"
    )
    return mail.as_bytes()


def write_config(path: Path, server: DovecotServer, work: MailUser, home: MailUser) -> Path:
    """Two IMAP accounts; the digest goes to, and is appended in, "home"; drafts on."""
    accounts = "".join(
        f"""
[[accounts]]
name = "{name}"
host = "{server.host}"
port = {server.port}
security = "starttls"
ca_file = "{server.ca_file}"
username = "{user.name}"
addresses = ["{address}"]
password_env = "{name.upper()}_PW"
"""
        for name, user, address in (("home", home, MAYA_HOME), ("work", work, MAYA_WORK))
    )
    path.write_text(
        f"""
state_dir = "{path.parent / "state"}"
timezone = "Europe/Berlin"
lookback_days = 0
{accounts}
[digest]
to = "{MAYA_HOME}"
from = "{MAYA_HOME}"
account = "home"
delivery = "imap"
drafts = true
""",
        encoding="utf-8",
    )
    return path


def run(config: Path, work: MailUser, home: MailUser, *args: str) -> str:
    env = {**os.environ, "WORK_PW": work.password, "HOME_PW": home.password}
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def messages_in(server: DovecotServer, user: MailUser, folder: str) -> list[EmailMessage]:
    with server.connect(user) as client:
        client.select_folder(folder, readonly=True)
        fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
    parser = BytesParser(policy=email.policy.default)
    return [parser.parsebytes(data[b"BODY[]"]) for _, data in sorted(fetched.items())]  # type: ignore[misc]


def text_part(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def test_draft_in_the_proposals_account_and_the_sent_draft_is_reminder_one(
    imap_server: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, home = imap_server.add_user(), imap_server.add_user()
    imap_server.append(work, "INBOX", inquiry(), internal_date=when(9))
    imap_server.append(work, "Sent", proposal(), flags=["\\Seen"], internal_date=when(10))
    config = write_config(tmp_path / "config.toml", imap_server, work, home)
    run(config, work, home, "sync")
    out = run(config, work, home, "digest", "--send", "--now", "2026-11-23T08:00")
    assert "digest sent to maya@home.example: 1 threads" in out

    # 1. The draft: in work's Drafts (not in the digest account's), from the work identity.
    assert messages_in(imap_server, home, "Drafts") == []
    (draft,) = messages_in(imap_server, work, "Drafts")
    assert str(draft["From"]) == f"Maya Lindqvist <{MAYA_WORK}>"
    assert str(draft["To"]) == ANA
    assert str(draft["Subject"]) == "AW: Angebot Website"  # 3. its own prefix, not "Re: AW:"
    assert str(draft["In-Reply-To"]) == PROPOSAL_ID
    assert str(draft["References"]) == f"{INQUIRY_ID} {PROPOSAL_ID}"
    assert str(draft["X-Followup-Watcher"]) == "draft"
    # 4. The digest (in home's inbox) says where the draft is, in both parts.
    (digest,) = messages_in(imap_server, home, "INBOX")
    text = " ".join(text_part(digest).split())
    assert "A draft reply is waiting in Drafts (account work)." in text
    html_part = digest.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    assert "A draft reply is waiting in Drafts (account work)." in html_part.get_content()

    # 2. The user sends the draft two days later; the client keeps every header (the
    # watcher's too) and files the copy in Sent, as Thunderbird and Apple Mail do.
    sent = BytesParser(policy=email.policy.default).parsebytes(draft.as_bytes())
    sent.replace_header("Date", format_datetime(when(25, 9)))
    imap_server.append(work, "Sent", sent.as_bytes(), flags=["\\Seen"], internal_date=when(25, 9))
    run(config, work, home, "sync")

    monkeypatch.setenv("WORK_PW", work.password)
    monkeypatch.setenv("HOME_PW", home.password)
    settings = load_settings(config)
    later = when(2, 8, month=12)
    with Store.open(settings.store_path) as store:
        tracked = analyze(store, settings, later).tracked
        (proposal_verdict,) = tracked  # the sent draft is no proposal of its own
        assert proposal_verdict.message.facts.message_id == PROPOSAL_ID
        assert proposal_verdict.nudges == 1
        assert proposal_verdict.since == int(when(25, 9).timestamp())
        selection = select_for(store, settings, later, next_digest=None)
    # 5. The next digest: a later reminder about the proposal of 10 November, with a call
    # proposed from today (Wed 2 Dec), not from 10 Nov + the days since the nudge; in German,
    # the proposal's language, naming my follow-up of 25 November as such.
    (item,) = selection.digest.items
    assert item.rung == REMINDER and item.message_id == PROPOSAL_ID
    assert "am 10. November habe ich dir das Angebot" in item.suggestion
    assert "am Freitag oder Montag" in item.suggestion
    assert "und am 25. November noch einmal nachgefragt" in item.suggestion

    # Its draft is a new one (a new rung of a new clock), saved once.
    run(config, work, home, "digest", "--send", "--now", "2026-12-02T08:00")
    run(config, work, home, "digest", "--send", "--now", "2026-12-02T08:00")
    drafts = messages_in(imap_server, work, "Drafts")
    assert len(drafts) == 2
    assert str(drafts[1]["Message-ID"]) == draft_message_id(item)


def test_an_account_that_cannot_take_drafts_stops_neither_the_others_nor_the_digest(
    imap_server: DovecotServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    work, home = imap_server.add_user(), imap_server.add_user()
    config = write_config(tmp_path / "config.toml", imap_server, work, home)
    maildir = tmp_path / "local"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    text = config.read_text(encoding="utf-8").replace(
        "\n[digest]",
        f"""
[[accounts]]
name = "nopass"
host = "{imap_server.host}"
port = {imap_server.port}
security = "starttls"
ca_file = "{imap_server.ca_file}"
username = "{work.name}"
addresses = ["maya@old.example"]
password_env = "NOPASS_PW_NOT_SET"

[[accounts]]
name = "local"
maildir = "{maildir}"
addresses = ["maya@local.example"]

[digest]""",
    )
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("WORK_PW", work.password)
    monkeypatch.setenv("HOME_PW", home.password)
    monkeypatch.delenv("NOPASS_PW_NOT_SET", raising=False)
    settings = load_settings(config)
    items = tuple(
        make_item(number, account=account, sender_name="Maya", sender_address=address)
        for number, account, address in (
            (1, "nopass", "maya@old.example"),
            (2, "local", "maya@local.example"),
            (3, "work", MAYA_WORK),
        )
    )
    selection = selection_of(settings, items)
    with caplog.at_level(logging.INFO), Store.open(settings.store_path) as store:
        outcome = send_digest(selection, settings, store)
        assert outcome.state == SENT
        assert save_drafts(selection, settings, store) == {draft_message_id(items[2])}
    assert "account local is a Maildir" in caplog.text
    assert "account nopass: follow-up drafts not saved" in caplog.text
    assert work.password not in caplog.text and home.password not in caplog.text
    (draft,) = messages_in(imap_server, work, "Drafts")
    assert str(draft["From"]) == f"Maya <{MAYA_WORK}>"
    (digest,) = messages_in(imap_server, home, "INBOX")
    text = " ".join(text_part(digest).split())
    assert text.count("A draft reply is waiting in Drafts") == 1
    assert "A draft reply is waiting in Drafts (account work)." in text


def selection_of(settings: Settings, items: tuple[DigestItem, ...]) -> Selection:
    now = dt.datetime(2026, 11, 23, 7, 30, tzinfo=ZONE)
    recipient = settings.digest.recipient
    digest = Digest(
        day=now.date(),
        generated_at=now,
        recipient=recipient,
        message_id=digest_message_id(recipient, now.date()),
        groups=(DigestGroup("Quiet for a week or more", items),),
        watched=len(items),
    )
    return Selection(digest, ())
