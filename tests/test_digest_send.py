"""The digest end to end: the demo mailbox on Dovecot, a real SMTP server on loopback that
delivers into that mailbox like an MTA would, and `watcher digest --send` run as a process.

Exactly once: a second run does not send again; a run killed after the server accepted the
digest but before recording it is followed by a run that finds it in the inbox instead of
sending it again; a digest the server refused is sent by the next run, not lost.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import re
import shutil
import signal
import sqlite3
import time
from dataclasses import replace
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from configs import write_digest_config
from demomailbox import NOW, seed_demo
from dovecot import DovecotServer, MailUser
from smtpserver import SMTP_PASSWORD, InboxDelivery, digests_in_inbox
from watcherproc import finish, watcher

from watcher.config.settings import load_settings
from watcher.digest.model import DigestItem
from watcher.digest.render import build_message
from watcher.digest.send import (
    ALREADY_SENT,
    APPEND_IN_FLIGHT,
    BUSY,
    FOUND,
    SENT,
    WAITING,
    draft_message_id,
    send_digest,
)
from watcher.digest.today import select_for
from watcher.store.store import Store


def test_digest_arrives_once_by_smtp_and_survives_a_kill(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> None:
    controller, handler = smtp_inbox
    seed_demo(imap_server, mail_user)
    config = write_digest_config(
        tmp_path / "c.toml", imap_server, mail_user, controller.port, tmp_path / "s"
    )
    assert finish(watcher(config, mail_user, "sync"))[0] == 0

    code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0, err
    assert "digest sent to maya@lindqvist-studio.example" in out
    (raw,) = handler.received
    message = message_from_bytes(raw)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Followup-Watcher"] == "digest"
    assert message.get_content_type() == "multipart/alternative"
    assert "waiting for a reply" in str(message["Subject"])
    assert digests_in_inbox(imap_server, mail_user) == 1

    code, out, _ = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0 and "was sent already" in out
    assert len(handler.received) == 1

    # The watcher's own digest in the inbox is never read as mail of a thread.
    assert finish(watcher(config, mail_user, "sync"))[0] == 0
    code, out, _ = finish(watcher(config, mail_user, "list", "--all", "--json", "--now", NOW))
    assert "followup-watcher" not in out.lower()

    # Killed after the server took the next day's digest, before it was recorded as sent.
    handler.hold = True
    handler.delivered.clear()
    tomorrow = "2026-11-24T08:00"
    process = watcher(config, mail_user, "digest", "--send", "--now", tomorrow)
    assert handler.delivered.wait(timeout=60)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    handler.release.set()
    handler.hold = False
    assert len(handler.received) == 2
    code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", tomorrow))
    assert code == 0, err
    assert "had arrived; recorded" in out
    assert len(handler.received) == 2  # not sent again
    assert digests_in_inbox(imap_server, mail_user) == 2  # one for each day


def test_refused_digest_is_sent_by_the_next_run(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> None:
    controller, handler = smtp_inbox
    seed_demo(imap_server, mail_user)
    closed_port = 1
    broken = write_digest_config(
        tmp_path / "b.toml", imap_server, mail_user, closed_port, tmp_path / "s"
    )
    assert finish(watcher(broken, mail_user, "sync"))[0] == 0
    code, _, err = finish(watcher(broken, mail_user, "digest", "--send", "--now", NOW))
    assert code == 1
    assert err.startswith("error: ") and "Traceback" not in err
    assert SMTP_PASSWORD not in err
    fixed = write_digest_config(
        tmp_path / "f.toml", imap_server, mail_user, controller.port, tmp_path / "s"
    )
    code, out, err = finish(watcher(fixed, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0, err
    assert len(handler.received) == 1
    time.sleep(0)  # nothing pending remains: a third run sends nothing
    code, out, _ = finish(watcher(fixed, mail_user, "digest", "--send", "--now", NOW))
    assert "was sent already" in out and len(handler.received) == 1


def test_imap_delivery_and_opt_in_drafts(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    seed_demo(imap_server, mail_user)
    config = write_digest_config(tmp_path / "c.toml", imap_server, mail_user, 1, tmp_path / "s")
    text = config.read_text().replace(
        'webmail = "fastmail"', 'webmail = "fastmail"\ndelivery = "imap"\ndrafts = true'
    )
    config.write_text(text)
    before = imap_server.folder_state(mail_user, "Sent")
    assert finish(watcher(config, mail_user, "sync"))[0] == 0
    code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0, err
    assert digests_in_inbox(imap_server, mail_user) == 1
    with imap_server.connect(mail_user) as client:
        client.select_folder("Drafts", readonly=True)
        drafts = client.fetch(client.search("ALL"), ["FLAGS", "BODY.PEEK[HEADER]"])
    assert len(drafts) >= 4  # one per thread in the digest (alarms excluded)
    for data in drafts.values():
        assert b"\\Draft" in data[b"FLAGS"]
        headers = message_from_bytes(data[b"BODY[HEADER]"])
        assert headers["In-Reply-To"] and headers["Subject"].startswith("Re: ")
    code, out, _ = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert "was sent already" in out
    with imap_server.connect(mail_user) as client:
        client.select_folder("Drafts", readonly=True)
        assert len(client.search("ALL")) == len(drafts)  # not saved twice
    assert imap_server.folder_state(mail_user, "Sent") == before  # sent mail untouched


def slow_passwords(config: Path, user: MailUser) -> Path:
    """Both passwords from a `password_command` that takes half a second, like `pass` with
    a GPG agent: the window in which two processes used to both decide to send."""
    text = config.read_text(encoding="utf-8")
    text = text.replace(
        'password_env = "TEST_IMAP_PASSWORD"',
        f"password_command = \"sleep 0.5; echo '{user.password}'\"",
    ).replace(
        'password_env = "TEST_SMTP_PASSWORD"',
        f"password_command = \"sleep 0.5; echo '{SMTP_PASSWORD}'\"",
    )
    config.write_text(text, encoding="utf-8")
    return config


ONE_LINE_BUSY = re.compile(
    r"^the digest for 2026-11-23 (was sent already|is being sent by another process)"
)


def test_two_sends_at_once_deliver_one_digest(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> None:
    controller, handler = smtp_inbox
    seed_demo(imap_server, mail_user)
    synced = tmp_path / "synced"
    config = write_digest_config(
        tmp_path / "c.toml", imap_server, mail_user, controller.port, synced
    )
    assert finish(watcher(config, mail_user, "sync"))[0] == 0
    for trial in range(5):  # 10 of 12 trials sent twice before the day was claimed under a lock
        state = tmp_path / f"state{trial}"
        shutil.copytree(synced, state)  # a store with no digest sent, as after the sync
        trial_config = write_digest_config(
            tmp_path / f"c{trial}.toml", imap_server, mail_user, controller.port, state
        )
        slow_passwords(trial_config, mail_user)
        send = ("digest", "--send", "--now", NOW)
        results = [finish(p) for p in [watcher(trial_config, mail_user, *send) for _ in "ab"]]
        assert len(handler.received) == trial + 1, results
        assert [code for code, _, _ in results] == [0, 0], results
        outs = sorted(out for _, out, _ in results)
        assert outs[0].startswith("digest sent to maya@"), outs
        assert ONE_LINE_BUSY.match(outs[1]) and outs[1].count("\n") == 1, outs


def imap_only(config: Path) -> Path:
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('webmail = "fastmail"', 'webmail = "fastmail"\ndelivery = "imap"'),
        encoding="utf-8",
    )
    return config


def test_an_append_left_under_way_by_a_dead_process_is_waited_for_not_doubled(
    imap_server: DovecotServer,
    mail_user: MailUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_demo(imap_server, mail_user)
    config = imap_only(
        write_digest_config(tmp_path / "c.toml", imap_server, mail_user, 1, tmp_path / "s")
    )
    assert finish(watcher(config, mail_user, "sync"))[0] == 0
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    settings = load_settings(config)
    now = dt.datetime.fromisoformat(NOW).replace(tzinfo=settings.zone)
    with Store.open(settings.store_path) as store:
        selection = select_for(store, settings, now, next_digest=None)
        digest = selection.digest
        # What a process killed during its APPEND leaves: the day claimed, nothing recorded
        # after it, the lock released by the kernel, and the server still storing the message.
        assert store.claim_digest(digest.day, digest.recipient, digest.message_id, ()) is None
        began = store.digest_state(digest.day, digest.recipient)
        assert began is not None and began.state == "pending"

        waiting = send_digest(selection, settings, store, now_epoch=began.created_at + 5)
        assert waiting.state == WAITING
        assert digests_in_inbox(imap_server, mail_user) == 0  # not appended a second time

        raw = build_message(digest, sender=settings.digest.sender).as_bytes()
        imap_server.append(mail_user, "INBOX", raw)  # the server finishes the dead APPEND
        found = send_digest(selection, settings, store, now_epoch=began.created_at + 10)
        assert found.state == FOUND
        assert digests_in_inbox(imap_server, mail_user) == 1

        # The next day the APPEND never completed: after the wait it is sent, once.
        tomorrow = select_for(store, settings, now + dt.timedelta(days=1), next_digest=None)
        later = tomorrow.digest
        assert store.claim_digest(later.day, later.recipient, later.message_id, ()) is None
        began = store.digest_state(later.day, later.recipient)
        assert began is not None
        after = began.created_at + APPEND_IN_FLIGHT + 1
        assert send_digest(tomorrow, settings, store, now_epoch=after).state == SENT
        assert digests_in_inbox(imap_server, mail_user) == 2
        assert send_digest(tomorrow, settings, store).state == ALREADY_SENT
    assert (settings.store_path.parent / "digest.lock").stat().st_mode & 0o777 == 0o600


def test_a_held_lock_sends_nothing_and_says_so(
    imap_server: DovecotServer,
    mail_user: MailUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = imap_only(
        write_digest_config(tmp_path / "c.toml", imap_server, mail_user, 1, tmp_path / "s")
    )
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    settings = load_settings(config)
    now = dt.datetime.fromisoformat(NOW).replace(tzinfo=settings.zone)
    with Store.open(settings.store_path) as store:
        selection = select_for(store, settings, now, next_digest=None)
        day = selection.digest.day
        lock = settings.store_path.parent / "digest.lock"
        with lock.open("a") as other:  # another process's lock (flock: per open file)
            fcntl.flock(other, fcntl.LOCK_EX)
            busy = send_digest(selection, settings, store)
        assert (busy.state, busy.message) == (
            BUSY,
            f"the digest for {day} is being sent by another process; not sent",
        )
        assert store.digest_state(day, selection.digest.recipient) is None  # nothing claimed
        # The same day claimed by a process that took no lock: still not sent twice.
        digest = selection.digest
        other_id = "<other@x.invalid>"
        assert store.claim_digest(day, digest.recipient, other_id, ()) is None
        assert store.claim_digest(day, digest.recipient, digest.message_id, ()) is not None


def test_a_new_attempt_restarts_the_in_flight_clock(tmp_path: Path) -> None:
    day = dt.date(2026, 11, 23)
    with Store.open(tmp_path / "s.sqlite3") as store:
        assert store.claim_digest(day, "me@x.example", "<d@x>", ()) is None
        with store.transaction():
            store.record_digest_failed(day, "me@x.example")
        with sqlite3.connect(tmp_path / "s.sqlite3") as db:  # that attempt was long ago
            db.execute("UPDATE digests SET created_at = 1")
        with store.transaction():
            store.record_digest_attempt(day, "me@x.example")
        retry = store.digest_state(day, "me@x.example")
        assert retry is not None and retry.state == "pending"
        assert retry.created_at > time.time() - 60  # mail of this attempt may be on its way
        with store.transaction():
            store.record_digest_sent(day, "me@x.example")
            store.record_digest_attempt(day, "me@x.example")
        sent = store.digest_state(day, "me@x.example")
        assert sent is not None and sent.state == "sent"


def test_each_message_of_a_mail_merge_gets_its_own_draft() -> None:
    """Two proposals sharing one Message-ID (and one Date) must not share a draft id."""
    item = DigestItem(
        thread_id="t1",
        message_id="<merge@x.example>",
        account="work",
        contact_name="Ana",
        contact_address="ana@acme.example",
        first_name="Ana",
        other_contacts=(),
        subject="Proposal",
        kind="proposal",
        sent_at=dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC),
        quiet_days=3,
        reasons=(),
        attachments=(),
        excerpt="",
        rung="first",
        reminder_number=0,
        suggestion="Hi Ana,",
        reply_subject="Re: Proposal",
        since=1_795_000_000,
        message_key="<merge@x.example>",
    )
    other = replace(item, thread_id="t2", message_key="<merge@x.example>#9f3a")
    assert draft_message_id(item) != draft_message_id(other)
    # An ordinary message keeps the id its draft had before keys existed.
    legacy = hashlib.blake2b(b"<merge@x.example>|1795000000|0", digest_size=8).hexdigest()
    assert draft_message_id(item) == f"<draft-{legacy}@followup-watcher.invalid>"
    assert draft_message_id(replace(item, message_key="")) == draft_message_id(item)
