"""`watcher` run as a process (`python -m watcher`) with the test passwords in its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dovecot import MailUser
from smtpserver import SMTP_PASSWORD


def watcher(config: Path, user: MailUser, *args: str) -> subprocess.Popen[str]:
    """Started with TEST_IMAP_PASSWORD (the user's) and TEST_SMTP_PASSWORD set; see `finish`."""
    env = {**os.environ, "TEST_IMAP_PASSWORD": user.password, "TEST_SMTP_PASSWORD": SMTP_PASSWORD}
    return subprocess.Popen(
        [sys.executable, "-m", "watcher", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err
