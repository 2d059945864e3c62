"""`watcher init` at a real terminal (a pseudo-terminal), as a new user on a headless server
meets it: Dovecot over TLS with a self-signed certificate nobody vouches for, no OS keyring,
a mistyped password. Then `watcher doctor` on what was written, and `init --add`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pty
import re
import select
import signal
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dovecot import DovecotServer, MailUser
from mailfactory import make_message

from watcher.config.settings import load_settings

OLD_ADDRESS = "maya@previous-employer.example"
_ENV = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "NO_COLOR": "1"}


class Terminal:
    """A command on a pseudo-terminal of its own (its controlling tty: getpass reads it)."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: never returns
            os.execve(sys.executable, [sys.executable, "-m", "watcher", *args], env)  # noqa: S606
        self.seen = ""

    def expect(self, text: str, timeout: float = 30.0) -> str:
        """Read until `text` shows; what came before it (the question's whole line)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(f"no {text!r} in the terminal; it shows:\n{self.seen}")
        before, _, self.seen = self.seen.partition(text)
        return before + text

    def answer(self, question: str, line: str) -> str:
        shown = self.expect(question)
        os.write(self.fd, line.encode() + b"\r")
        return shown

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while self._read(max(deadline - time.monotonic(), 0.01)):
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status), self.seen

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # EIO: the other side is closed
            return False
        self.seen += data.decode("utf-8", "replace").replace("\r\n", "\n")
        return bool(data)

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


@pytest.fixture
def terminal_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **_ENV, "HOME": str(tmp_path / "home"), "TERM": "dumb"}


@pytest.fixture
def running() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.kill()


def _with_sent_mail(server: DovecotServer, user: MailUser) -> MailUser:
    when = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    for sender in (user.address, f"Maya <{OLD_ADDRESS}>"):
        message = make_message(from_=sender, to="client@acme.example", subject="Quote", date=when)
        server.append(user, "Sent", message, internal_date=when)
    return user


def _doctor(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", "doctor", "--config", str(config)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _init(
    server: DovecotServer,
    user: MailUser,
    config: Path,
    running: list[Terminal],
    env: dict[str, str],
    *extra: str,
) -> Terminal:
    terminal = Terminal("init", "--config", str(config), *extra, env=env)
    running.append(terminal)
    terminal.answer("Your email address:", user.address)
    terminal.answer("IMAP server:", server.host)
    terminal.answer("Security", "ssl")
    terminal.answer("Port [993]:", str(server.ssl_port))
    terminal.answer("Login name", user.name)
    return terminal


def test_init_at_a_terminal_self_signed_wrong_password_no_keyring_then_doctor(
    imap_server: DovecotServer,
    mail_user: MailUser,
    tmp_path: Path,
    terminal_env: dict[str, str],
    running: list[Terminal],
) -> None:
    user = _with_sent_mail(imap_server, mail_user)
    config = tmp_path / "conf" / "config.toml"
    state = tmp_path / "state"
    terminal = _init(imap_server, user, config, running, terminal_env, "--state-dir", str(state))

    shown = terminal.answer("(r)eject, (t)rust this certificate", "t")
    fingerprint = re.search(r"SHA-256 fingerprint: ([0-9A-F:]{95})", shown)
    assert fingerprint is not None, shown
    assert "self-signed certificate" in shown

    terminal.answer(f"Password for {user.name}:", "not-the-password")
    retried = terminal.answer(f"Password for {user.name}:", user.password)
    assert "refused the login" in retried and "Try again (2 left)" in retried

    menu = terminal.answer("Choice [1]:", "3")  # no keyring here: a file only I can read
    assert "cannot go into an OS keyring" in menu and "systemd credential" in menu
    terminal.answer("Password file", "")  # the default, next to the config
    asked = terminal.answer("Also count these as you? [y/N]:", "")  # default: no
    assert OLD_ADDRESS in asked
    terminal.answer(
        "SMTP server for the digest (- for none, localhost for this machine's relay, "
        "sendmail for /usr/sbin/sendmail) [-]:",
        "-",
    )
    terminal.answer("Time zone", "Europe/Stockholm")
    terminal.answer("Digest time [07:30]:", "")
    code, rest = terminal.finish()
    assert code == 0, rest
    assert f"Wrote {config}" in rest
    assert user.password not in terminal.seen + rest + menu + retried

    pem = config.parent / "example-server.pem"
    password = config.parent / "example.password"
    for path in (config, pem, password):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert pem.read_text(encoding="ascii").startswith("-----BEGIN CERTIFICATE-----")
    assert pem.read_text(encoding="ascii") == imap_server.ca_file.read_text(encoding="ascii")
    (account,) = load_settings(config).accounts
    assert (account.ca_file, account.password_file) == (pem, password)
    assert account.aliases == ()  # the old employer's address was not adopted
    assert user.password not in config.read_text(encoding="utf-8")

    doctor = _doctor(config, terminal_env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "logged in" in doctor.stdout.lower() or "login" in doctor.stdout.lower()


def test_init_add_a_second_account_keeps_the_rest(
    imap_server: DovecotServer,
    tmp_path: Path,
    terminal_env: dict[str, str],
    running: list[Terminal],
) -> None:
    first, second = imap_server.add_user(), imap_server.add_user()
    config = tmp_path / "config.toml"
    mine = "# my own note, kept\n"
    config.write_text(
        f'{mine}timezone = "UTC"\nstate_dir = "{tmp_path / "state"}"\n\n[[accounts]]\n'
        f'name = "first"\nhost = "{imap_server.host}"\nport = {imap_server.port}\n'
        f'security = "starttls"\nusername = "{first.name}"\naddresses = ["{first.address}"]\n'
        f'ca_file = "{imap_server.ca_file}"\npassword_command = "echo {first.password}"\n\n'
        '[digest]\nat = "06:00"   # early\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    before = config.read_text(encoding="utf-8")
    fingerprint = _sha256_of(imap_server)
    terminal = _init(
        imap_server, second, config, running, terminal_env,
        *("--add", "--name", "second", "--trust-fingerprint", fingerprint),
        *("--password-command", f"echo {second.password}"),
    )  # fmt: skip
    code, rest = terminal.finish()
    assert code == 0, rest
    assert "Added account 'second'" in rest
    after = config.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n"))  # every line before kept, comments too
    settings = load_settings(config)
    assert [a.name for a in settings.accounts] == ["first", "second"]
    assert settings.digest.at == "06:00"
    assert settings.accounts[1].ca_file == tmp_path / "second-server.pem"
    doctor = _doctor(config, terminal_env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr

    again = Terminal(
        *("init", "--config", str(config), "--add", "--name", "first"),
        *("--email", second.address, "--host", imap_server.host),
        env=terminal_env,
    )
    running.append(again)
    code, rest = again.finish()
    assert code == 2 and "an account named 'first' is already in" in rest
    assert config.read_text(encoding="utf-8") == after


def _sha256_of(server: DovecotServer) -> str:
    der = ssl.PEM_cert_to_DER_cert(server.ca_file.read_text(encoding="ascii"))
    return "SHA256:" + hashlib.sha256(der).hexdigest()
