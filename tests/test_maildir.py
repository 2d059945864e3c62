"""The Maildir source: the bundled demo mailbox, and incremental changes to a Maildir on disk."""

from __future__ import annotations

import datetime as dt
import shutil
from importlib import resources
from pathlib import Path

import pytest
from mailfactory import make_message

from watcher.config.settings import Account
from watcher.mail.maildir import find_folders, sync_maildir_account
from watcher.store.store import Store

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
DEMO = Path(str(resources.files("watcher") / "demo_mailbox"))
MAYA = "maya@lindqvist-studio.example"


def demo_account(root: Path = DEMO) -> Account:
    return Account(
        name="demo", addresses=(MAYA,), aliases=("maya.lindqvist@gmail.example",), maildir=root
    )


def test_demo_mailbox_layout() -> None:
    names = {f.name: f.special_use for f in find_folders(DEMO)}
    assert names == {
        "INBOX": "",
        "Archive": "",
        "Clients/Acme": "",
        "Junk": "\\Junk",
        "Sent": "\\Sent",
    }


def test_demo_mailbox_syncs_every_message(fresh_store: Store) -> None:
    report = sync_maildir_account(demo_account(), fresh_store, lookback_days=0, now=NOW)
    assert report.new == 33  # MANIFEST.txt: 33 messages; .gitkeep files are not messages
    by_id = {m.message_id: m for m in fresh_store.messages() if m.message_id}
    assert all(m.parse_problems == () for m in fresh_store.messages())
    sent = list(fresh_store.messages(folder="Sent"))
    assert len(sent) == 17 and all(m.is_from_me for m in sent)
    acme = [
        m for m in sent if any(a.filename == "Proposal_Acme_Website_v2.pdf" for a in m.attachments)
    ]
    assert len(acme) == 1 and acme[0].body_text  # my own text is kept
    bounce = next(
        m for m in fresh_store.messages(folder="INBOX") if m.report_type == "delivery-status"
    )
    assert bounce.reported_message_id in by_id  # the bounce names my proposal
    receipt = next(m for m in fresh_store.messages() if m.report_type == "disposition-notification")
    assert receipt.content_type == "multipart/report"
    ooo = next(m for m in fresh_store.messages() if m.auto_submitted == "auto-replied")
    assert ooo.x_autoreply == "yes"
    junk = list(fresh_store.messages(folder="Junk"))
    assert len(junk) == 2 and not any(m.is_from_me for m in junk)
    seen = [m for m in fresh_store.messages() if "\\Seen" in m.flags]
    assert 0 < len(seen) < 33  # flags come from the file names


def test_second_sync_is_a_no_op(fresh_store: Store) -> None:
    sync_maildir_account(demo_account(), fresh_store, lookback_days=0, now=NOW)
    again = sync_maildir_account(demo_account(), fresh_store, lookback_days=0, now=NOW)
    assert (again.new, again.removed, again.flag_changes) == (0, 0, 0)
    assert fresh_store.count_messages() == 33


def test_new_flagged_and_removed_files(tmp_path: Path, fresh_store: Store) -> None:
    root = tmp_path / "Mail"
    shutil.copytree(DEMO, root)
    sync_maildir_account(demo_account(root), fresh_store, lookback_days=0, now=NOW)
    inbox = root / "cur"
    unread = next(p for p in inbox.iterdir() if p.name.endswith(":2,"))
    unread.rename(unread.with_name(unread.name + "S"))  # the mail client marks it read
    next(p for p in (root / ".Junk" / "cur").iterdir()).unlink()  # and deletes some spam
    new = make_message(
        from_="ana@acme.example", to=MAYA, subject="Re: Proposal", date=NOW - dt.timedelta(hours=1)
    )
    (root / "new" / "1795420000.M99P1.test").write_bytes(new)
    report = sync_maildir_account(demo_account(root), fresh_store, lookback_days=0, now=NOW)
    assert (report.new, report.flag_changes, report.removed) == (1, 1, 1)
    assert fresh_store.count_messages() == 33


def test_lookback_window_applies(fresh_store: Store) -> None:
    sync_maildir_account(demo_account(), fresh_store, lookback_days=7, now=NOW)
    stored = list(fresh_store.messages())
    assert 0 < len(stored) < 33
    assert all((m.date or 0) >= (NOW - dt.timedelta(days=7)).timestamp() for m in stored)


def test_missing_maildir_is_a_clear_error(tmp_path: Path, fresh_store: Store) -> None:
    from watcher.errors import AccountError

    with pytest.raises(AccountError, match="does not exist; check maildir in the config"):
        sync_maildir_account(demo_account(tmp_path / "nope"), fresh_store, lookback_days=0)
