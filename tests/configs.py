"""Config files the CLI tests write, one function per set-up (each names what it configures)."""

from __future__ import annotations

from pathlib import Path

from dovecot import DovecotServer, MailUser
from smtpserver import SMTP_USER

# The address `write_digest_config` gives the account and sends the digest to.
MAYA = "maya@lindqvist-studio.example"


def write_account_config(path: Path, server: DovecotServer, user: MailUser, state: Path) -> Path:
    """One IMAP account, "work", on the test Dovecot; no digest. Password: TEST_IMAP_PASSWORD."""
    path.write_text(
        f"""
state_dir = "{state}"
lookback_days = 0

[[accounts]]
name = "work"
host = "{server.host}"
port = {server.port}
security = "starttls"
username = "{user.name}"
addresses = ["{user.address}"]
ca_file = "{server.ca_file}"
password_env = "TEST_IMAP_PASSWORD"
""",
        encoding="utf-8",
    )
    return path


def write_digest_config(
    path: Path, server: DovecotServer, user: MailUser, smtp_port: int, state: Path
) -> Path:
    """The demo's user, "maya", on the test Dovecot, and a digest sent by the SMTP server of
    smtpserver.py on `smtp_port`. Passwords: TEST_IMAP_PASSWORD, TEST_SMTP_PASSWORD."""
    path.write_text(
        f"""
state_dir = "{state}"
timezone = "Europe/Stockholm"
lookback_days = 0

[[accounts]]
name = "maya"
host = "{server.host}"
port = {server.port}
security = "starttls"
ca_file = "{server.ca_file}"
username = "{user.name}"
addresses = ["{MAYA}"]
aliases = ["maya.lindqvist@gmail.example"]
password_env = "TEST_IMAP_PASSWORD"

[digest]
to = "{MAYA}"
webmail = "fastmail"

[digest.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
ca_file = "{server.ca_file}"
username = "{SMTP_USER}"
password_env = "TEST_SMTP_PASSWORD"
""",
        encoding="utf-8",
    )
    return path
