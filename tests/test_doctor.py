"""`watcher doctor` against the test Dovecot and a real SMTP server (aiosmtpd, STARTTLS and
AUTH): a good set-up passes every check; each broken one fails the right check, with a line
that says what to fix, and exit code 1. The mailbox is only read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

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


# -- --json, and the local relay's deliveries (issue 13) ------------------------------------


def test_json_is_an_array_of_every_check(
    imap_server: DovecotServer, mail_user: MailUser, config: Path
) -> None:
    env = good_env(mail_user)
    result = CliRunner(env=env).invoke(doctor_command, ["--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    checks = json.loads(result.output)
    assert isinstance(checks, list) and all(
        set(check) == {"status", "title", "detail", "lines"} for check in checks
    )
    by_title = {check["title"]: check for check in checks}
    assert by_title["config"]["status"] == "ok"
    assert by_title["SMTP login"]["status"] == "ok"
    assert by_title["next digest"]["status"] == "info"
    folders = by_title["maya: folders to read"]
    assert isinstance(folders["lines"], list) and any("Sent" in x for x in folders["lines"])
    assert mail_user.password not in result.output and SMTP_PASSWORD not in result.output

    env["TEST_IMAP_PASSWORD"] = "not-the-password"
    result = CliRunner(env=env).invoke(doctor_command, ["--config", str(config), "--json"])
    assert result.exit_code == 1
    failed = [c for c in json.loads(result.output) if c["status"] == "fail"]
    assert [c["title"] for c in failed] == ["maya: login"]


def test_json_of_a_broken_config_is_still_an_array(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[[accounts]]\nname = 7\n", encoding="utf-8")
    result = CliRunner().invoke(doctor_command, ["--config", str(path), "--json"])
    assert result.exit_code == 1
    ((check),) = json.loads(result.output)
    assert check["status"] == "fail" and check["title"] == "config"
    assert "accounts[1].name" in check["detail"] and check["lines"] == []


def relayed(config: Path, digest: str) -> Path:
    """A copy of `config` with its [digest.smtp] table replaced by `digest` (lines of
    [digest], then perhaps a table of its own)."""
    text = config.read_text(encoding="utf-8")
    path = config.with_name("relay.toml")
    path.write_text(text[: text.index("[digest.smtp]")] + digest + "\n", encoding="utf-8")
    return path


def doctor_json(config: Path, user: MailUser) -> tuple[int, dict[str, dict[str, object]]]:
    result = CliRunner(env=good_env(user)).invoke(
        doctor_command, ["--config", str(config), "--json"]
    )
    return result.exit_code, {c["title"]: c for c in json.loads(result.output)}


def test_sendmail_delivery_is_checked_without_sending(
    mail_user: MailUser, config: Path, tmp_path: Path
) -> None:
    script = tmp_path / "sendmail"
    script.write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\n", encoding="utf-8")
    script.chmod(0o755)
    relay = relayed(config, f'delivery = "sendmail"\nsendmail_command = "{script} -t -oi"')
    code, checks = doctor_json(relay, mail_user)
    assert code == 0, checks
    assert checks["sendmail"] == {
        "status": "ok",
        "title": "sendmail",
        "detail": f"{script} found, executable",
        "lines": [],
    }
    assert "SMTP login" not in checks and not (tmp_path / "ran").exists()

    script.chmod(0o644)
    code, checks = doctor_json(relay, mail_user)
    assert code == 1 and checks["sendmail"]["status"] == "fail"
    assert "not executable" in str(checks["sendmail"]["detail"])
    relay = relayed(config, 'delivery = "sendmail"\nsendmail_command = "/nowhere/sendmail"')
    code, checks = doctor_json(relay, mail_user)
    assert code == 1 and "/nowhere/sendmail not found" in str(checks["sendmail"]["detail"])


def test_a_plain_relay_on_this_machine_is_checked_without_a_login(
    mail_user: MailUser, config: Path
) -> None:
    mailbox: list[bytes] = []

    class Relay:
        async def handle_DATA(self, _server: object, _session: object, envelope: Any) -> str:
            mailbox.append(envelope.original_content)
            return "250 OK"

    port = _free_port()
    controller = Controller(Relay(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = f'[digest.smtp]\nhost = "localhost"\nport = {port}\nsecurity = "none"'
        code, checks = doctor_json(relayed(config, smtp), mail_user)
    finally:
        controller.stop(no_assert=True)
    assert code == 0, checks
    assert checks["SMTP relay"]["status"] == "ok"
    assert checks["SMTP relay"]["detail"] == (
        f"localhost:{port}: plain SMTP to this machine's relay, no login"
    )
    assert mailbox == []  # checked, nothing sent
