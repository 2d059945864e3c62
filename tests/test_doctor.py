"""`watcher doctor` against the test Dovecot and a real SMTP server (aiosmtpd, STARTTLS and
AUTH): a good set-up passes every check; each broken one fails the right check, with a line
that says what to fix, and exit code 1. The mailbox is only read.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result
from configs import MAYA, write_digest_config
from dovecot import DovecotServer, MailUser
from mailfactory import make_message
from smtpserver import SMTP_PASSWORD, InboxDelivery

from watcher.cli.doctor import doctor_command

ME = MAYA  # the address write_digest_config configures
# No OS keyring, as under systemd: passwords come from the environment only.
pytestmark = pytest.mark.usefixtures("no_keyring")


@pytest.fixture
def config(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> Path:
    """A good config, and a Sent folder that shows the user's address."""
    when = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    sent = make_message(from_=f"Maya <{ME}>", to="lea@acme.example", subject="Quote", date=when)
    imap_server.append(mail_user, "Sent", sent, internal_date=when)
    path = tmp_path / "config.toml"
    return write_digest_config(path, imap_server, mail_user, smtp_inbox[0].port, tmp_path / "state")


def doctor(path: Path, env: dict[str, str | None]) -> Result:
    return CliRunner(env=env).invoke(doctor_command, ["--config", str(path)])


def good_env(user: MailUser) -> dict[str, str | None]:
    return {"TEST_IMAP_PASSWORD": user.password, "TEST_SMTP_PASSWORD": SMTP_PASSWORD}


def failing(output: str) -> dict[str, str]:
    """Title -> detail of every failed check."""
    found = {}
    for line in output.splitlines():
        if line.startswith("✘ "):
            title, _, detail = line[2:].partition("  ")
            found[title.strip()] = detail.strip()
    return found


def edit(path: Path, old: str, new: str) -> None:
    """Change the first `old` (the account's line: it comes before [digest.smtp])."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_good_setup_passes_every_check(
    imap_server: DovecotServer, mail_user: MailUser, config: Path
) -> None:
    before = imap_server.all_folder_states(mail_user)
    result = doctor(config, good_env(mail_user))
    assert result.exit_code == 0, result.output
    out = result.output
    assert failing(out) == {} and "! " not in out
    flat = "\n".join(" ".join(line.split()) for line in out.splitlines())  # columns aside
    for expected in (
        "✔ config",
        "✔ state directory",
        "✔ maya: credentials from environment variable TEST_IMAP_PASSWORD",
        "✔ maya: server reachable",
        "✔ maya: TLS verified STARTTLS, TLSv1",
        f"✔ maya: login as {mail_user.name}",
        "CONDSTORE, SPECIAL-USE, LIST-STATUS",
        "✔ maya: folders to read",
        f"✔ maya: who is me {ME}",
        "✔ SMTP login",
        "logged in as digest-sender",
        "· next sync",
        "· next digest",
    ):
        assert expected in flat, expected
    folder_lines = [line.split() for line in out.splitlines() if line.startswith("      ")]
    assert ["INBOX", "0"] in folder_lines and ["Sent", "1", "\\Sent"] in folder_lines
    assert mail_user.password not in out and SMTP_PASSWORD not in out
    assert imap_server.all_folder_states(mail_user) == before  # read-only


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("breakage", "title", "says"),
    [
        ("wrong password", "maya: login", "refused the login"),
        ("closed port", "maya: server reachable", "refused the connection"),
        ("no ca_file", "maya: TLS verified", "could not be verified"),
        ("no password", "maya: credentials", "no password found"),
        ("state dir", "state directory", "is not writable"),
        ("bad line", "config", "lookback_days"),
        ("wrong SMTP password", "SMTP login", "refused the login for 'digest-sender'"),
    ],
)
def test_a_broken_setup_fails_the_right_check(
    imap_server: DovecotServer,
    mail_user: MailUser,
    config: Path,
    tmp_path: Path,
    breakage: str,
    title: str,
    says: str,
) -> None:
    env = good_env(mail_user)
    if breakage == "wrong password":
        env["TEST_IMAP_PASSWORD"] = "not-the-password"
    elif breakage == "closed port":
        edit(config, f"port = {imap_server.port}", f"port = {_free_port()}")
    elif breakage == "no ca_file":
        edit(config, f'ca_file = "{imap_server.ca_file}"\n', "")
    elif breakage == "no password":
        env["TEST_IMAP_PASSWORD"] = None
    elif breakage == "state dir":
        (tmp_path / "a-file").write_text("in the way", encoding="utf-8")
        edit(config, f'state_dir = "{tmp_path / "state"}"', f'state_dir = "{tmp_path}/a-file/s"')
    elif breakage == "bad line":
        edit(config, "lookback_days = 0", 'lookback_days = "ninety"')
    elif breakage == "wrong SMTP password":
        env["TEST_SMTP_PASSWORD"] = "not-the-smtp-password"
    before = imap_server.all_folder_states(mail_user)
    result = doctor(config, env)
    assert result.exit_code == 1, result.output
    failed = failing(result.output)
    assert list(failed) == [title], result.output
    assert says in failed[title], failed[title]
    assert "\n" not in failed[title] and "Traceback" not in result.output
    assert imap_server.all_folder_states(mail_user) == before


def test_plain_words_when_the_output_is_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[[accounts]]\nname = 7\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", "from watcher.cli.doctor import doctor_command; doctor_command()"],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "ascii", "WATCHER_CONFIG": str(config)},
    )
    out = result.stdout.decode("ascii")
    assert result.returncode == 1
    assert out.startswith("FAIL config") and "accounts[1].name" in out
