"""A digest that keeps failing is an error in the journal once per reason, not after every
sync: the same reason again is a warning (the status line still says it until one goes)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest

from watcher.config.settings import load_settings
from watcher.service.daemon import FAILED, Daemon

DEMO = Path(__file__).resolve().parent.parent / "watcher" / "demo_mailbox"


def test_the_same_digest_failure_is_an_error_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\ntimezone = "Europe/Stockholm"\n'
        f'[[accounts]]\nname = "demo"\nmaildir = "{DEMO}"\n'
        'addresses = ["maya@lindqvist-studio.example"]\n'
        '[digest]\nat = "07:30"\nsend_when_empty = true\n'
        '[digest.smtp]\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    daemon = Daemon(load_settings(config))
    now = datetime.fromisoformat("2026-11-23T08:00+01:00")
    try:
        with caplog.at_level(logging.INFO):
            assert daemon._digest_if_due(now) == FAILED
            assert daemon._digest_if_due(now) == FAILED
    finally:  # `run` closes its wake-up sockets; this test never runs it
        daemon._wake_r.close()
        daemon._wake_w.close()
    failed = [r for r in caplog.records if r.getMessage().startswith("digest not sent")]
    assert [r.levelname for r in failed] == ["ERROR", "WARNING"]
