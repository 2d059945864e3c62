"""The `watcher` command as a user runs it: a real process, real config files, real exit codes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import click
from dovecot import DovecotServer, MailUser
from mailfactory import make_message

from watcher.cli import cli

REPO = Path(__file__).resolve().parent.parent


def run_watcher(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def write_config(path: Path, server: DovecotServer, user: MailUser, state: Path) -> Path:
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


def test_demo_runs_without_an_account(tmp_path: Path) -> None:
    result = run_watcher("demo", "--state-dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "demo: 33 new messages this run" in result.stdout
    assert "Sent" in result.stdout
    lines = result.stdout.splitlines()
    assert any("Website proposal for Acme Outdoor" in x and "awaiting" in x for x in lines)
    assert any("Wisla Ceramics" in x and "bounced" in x for x in lines)
    assert any("(reply in spam)" in x for x in lines)
    assert "Traceback" not in result.stderr


def test_broken_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[accounts]]\nname = "w"\nhost = "h"\naddresses = ["a@b.c"]\nport = "x"\n')
    result = run_watcher("--config", str(config), "sync")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: config.toml line 5: accounts[1].port must be a whole number"
    )


def test_missing_config_names_the_fix(tmp_path: Path) -> None:
    result = run_watcher("sync", env={"WATCHER_CONFIG": str(tmp_path / "none.toml")})
    assert result.returncode == 2
    assert "copy config.example.toml there" in result.stderr
    assert "Traceback" not in result.stderr


def test_sync_then_wrong_password(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    imap_server.append(
        mail_user,
        "INBOX",
        make_message(
            from_="a@acme.example",
            to=mail_user.address,
            subject="hi",
            date=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        ),
    )
    config = write_config(tmp_path / "config.toml", imap_server, mail_user, tmp_path / "state")
    good = run_watcher(
        "--config", str(config), "sync", env={"TEST_IMAP_PASSWORD": mail_user.password}
    )
    assert good.returncode == 0, good.stderr
    assert "work: 1 new messages this run; the store holds 1 messages" in good.stdout
    assert "INFO work: synced" in good.stderr
    assert mail_user.password not in good.stdout + good.stderr
    bad = run_watcher("--config", str(config), "sync", env={"TEST_IMAP_PASSWORD": "nope-nope"})
    assert bad.returncode == 1
    assert "refused the login" in bad.stdout
    assert "Traceback" not in bad.stderr + bad.stdout


def test_no_password_anywhere_names_the_sources(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.toml", imap_server, mail_user, tmp_path / "state")
    env = {"TEST_IMAP_PASSWORD": "", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = run_watcher("--config", str(config), "sync", env=env)
    assert result.returncode == 1
    assert "no password found; store it with `keyring set followup-watcher" in result.stdout
    assert "TEST_IMAP_PASSWORD" in result.stdout


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        assert command.help, f"`watcher {name}` has no help text"
        assert f"`watcher {name}" in readme, f"`watcher {name}` is not in the README"
