"""The whole chain as a user runs it: a realistic mailbox on a real IMAP server, `watcher sync`,
then `watcher list --json`, checked against the verdicts MANIFEST.txt promises for each thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from demomailbox import NOW, manifest, seed_demo
from dovecot import DovecotServer, MailUser

# MANIFEST verdict -> (state in `watcher list --json`, reply in spam)
STATES = {
    "awaiting": ("awaiting", False),
    "auto-reply-only": ("awaiting", False),
    "answered": ("answered", False),
    "reply-in-spam": ("answered", True),
    "bounced": ("bounced", False),
}


def run_watcher(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "DEMO_IMAP_PASSWORD": config.with_suffix(".pw").read_text()},
    )


@pytest.fixture
def synced_demo(imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path) -> Path:
    seed_demo(imap_server, mail_user)
    config = tmp_path / "config.toml"
    config.with_suffix(".pw").write_text(mail_user.password)
    config.write_text(
        f"""
state_dir = "{tmp_path / "state"}"
timezone = "Europe/Stockholm"
lookback_days = 0

[[accounts]]
name = "maya"
host = "{imap_server.host}"
port = {imap_server.port}
security = "starttls"
ca_file = "{imap_server.ca_file}"
username = "{mail_user.name}"
addresses = ["maya@lindqvist-studio.example"]
aliases = ["maya.lindqvist@gmail.example"]
password_env = "DEMO_IMAP_PASSWORD"
""",
        encoding="utf-8",
    )
    result = run_watcher(config, "sync")
    assert result.returncode == 0, result.stderr
    return config


def test_list_json_gives_every_thread_its_promised_verdict(synced_demo: Path) -> None:
    result = run_watcher(synced_demo, "list", "--all", "--json", "--now", NOW)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    for item in items:
        for key in (
            "thread_id",
            "message_id",
            "subject",
            "contacts",
            "sent_at",
            "quiet_days",
            "due",
            "kind",
            "reasons",
            "bounced",
            "state",
        ):
            assert key in item, key
    by_contact: dict[str, list[dict[str, object]]] = {}
    for item in items:
        for contact in item["contacts"]:
            by_contact.setdefault(contact["address"], []).append(item)
    for number, verdict, contact, _files in manifest():
        found = by_contact.get(contact, [])
        if verdict == "not-a-proposal":
            assert found == [], f"thread {number} should not be tracked: {found}"
            continue
        assert found, f"thread {number} ({contact}) is not tracked"
        latest = max(found, key=lambda i: str(i["sent_at"]))
        state, in_spam = STATES[verdict]
        assert (latest["state"], latest["reply_in_spam"]) == (state, in_spam), (number, latest)
        assert latest["reasons"], number
    due = {c["address"] for i in items if i["due"] for c in i["contacts"]}
    assert "ben.carter@greenleaf-architects.example" not in due  # Bcc maya+10d@: not yet
    assert "daniel.okafor@acme-outdoor.example" in due
    assert "ingrid.halvorsen@fjellstue.example" in due  # v2 of 20 November, 3 days


def test_list_table_and_thread_overrides(synced_demo: Path) -> None:
    table = run_watcher(synced_demo, "list", "--now", NOW)
    assert table.returncode == 0, table.stderr
    assert "Proposal" in table.stdout and "awaiting" in table.stdout
    assert "greenleaf" not in table.stdout.lower()  # not due yet: only with --all
    items = json.loads(run_watcher(synced_demo, "list", "--json", "--now", NOW).stdout)
    acme = next(i for i in items if "acme-outdoor" in json.dumps(i["contacts"]))
    thread_id = str(acme["thread_id"])
    shown = run_watcher(synced_demo, "thread", thread_id, "--now", NOW)
    assert shown.returncode == 0, shown.stderr
    assert "verdict: awaiting" in shown.stdout and "tracked because:" in shown.stdout
    muted = run_watcher(synced_demo, "thread", thread_id[:6], "--mute", "--now", NOW)
    assert muted.returncode == 0, muted.stderr
    assert "verdict: muted" in muted.stdout
    after = json.loads(run_watcher(synced_demo, "list", "--json", "--now", NOW).stdout)
    assert thread_id not in {i["thread_id"] for i in after}
    reset = run_watcher(synced_demo, "thread", thread_id, "--reset", "--now", NOW)
    assert "back to the rules" in reset.stdout
    assert "verdict: awaiting" in reset.stdout
    unknown = run_watcher(synced_demo, "thread", "tzzzzzzzz", "--now", NOW)
    assert unknown.returncode == 2
    assert "no thread 'tzzzzzzzz'" in unknown.stderr and "Traceback" not in unknown.stderr
