"""Each source of a password, in order, and that none of them ever leaks the value."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path

import pytest
from memorykeyring import MemoryKeyring

from watcher import credentials
from watcher.config.settings import Account, parse_settings
from watcher.credentials import KEYRING_SERVICE, find_password, find_token
from watcher.errors import CredentialError
from watcher.logsetup import RedactingFilter

ACCOUNT = Account(name="work", addresses=("me@x.example",), host="h", username="me@x.example")


def test_password_command_comes_first(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password(KEYRING_SERVICE, "me@x.example", "from-keyring")
    account = Account(**{**_fields(ACCOUNT), "password_command": "printf 'cmd-pw\\nignored'"})
    secret = find_password(account)
    assert (secret.value, secret.source) == ("cmd-pw", "password_command")
    assert "cmd-pw" not in repr(secret) and "cmd-pw" not in str(secret)


def test_failing_command_is_one_line_without_its_output() -> None:
    account = Account(
        **{**_fields(ACCOUNT), "password_command": "echo s3cret; echo nope >&2; exit 3"}
    )
    with pytest.raises(CredentialError) as caught:
        find_password(account)
    assert "exit code 3: nope" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_hanging_command_is_killed_with_all_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(credentials, "PASSWORD_COMMAND_TIMEOUT", 0.5)
    pids = tmp_path / "pids"
    # Every process it starts writes its pid: the shell, a child shell, a background child.
    command = (
        f"echo $$ >> {pids}; "
        f"sh -c 'sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; exec sleep 300'"
    )
    account = Account(**{**_fields(ACCOUNT), "password_command": command})
    started = time.monotonic()
    try:
        with pytest.raises(CredentialError) as caught:
            find_password(account)
        assert time.monotonic() - started < 10
        assert str(caught.value) == (
            f"account 'work': password_command did not finish within 0.5 s: {command}"
        )
        assert len(_pids(pids)) == 3
        assert _still_running(_pids(pids)) == []
    finally:
        for pid in _pids(pids):  # before the fix: the children lived on for 300 s
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _still_running(pids: list[int]) -> list[int]:
    """Those of `pids` alive a second after: neither gone nor a zombie waiting for a reaper."""
    deadline = time.monotonic() + 1.0
    while True:
        alive = [pid for pid in pids if _state(pid) not in ("", "Z", "X")]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


def test_systemd_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_keyring: None
) -> None:
    (tmp_path / "work").write_text("cred-pw\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    secret = find_password(ACCOUNT)
    assert (secret.value, secret.source) == ("cred-pw", "systemd credential work")
    named = Account(**{**_fields(ACCOUNT), "credential": "missing"})
    with pytest.raises(CredentialError, match="check LoadCredential="):
        find_password(named)


def test_keyring_then_environment(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHER_PASSWORD_WORK", "env-pw")
    memory_keyring.set_password(KEYRING_SERVICE, "me@x.example", "ring-pw")
    assert find_password(ACCOUNT).source == "OS keyring"
    memory_keyring.values.clear()
    secret = find_password(ACCOUNT)
    assert (secret.value, secret.source) == ("env-pw", "environment variable WATCHER_PASSWORD_WORK")


def test_headless_without_any_source_names_the_alternatives(
    no_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHER_PASSWORD_WORK", raising=False)
    with pytest.raises(CredentialError) as caught:
        find_password(ACCOUNT)
    message = str(caught.value)
    assert "password_command" in message and "WATCHER_PASSWORD_WORK" in message


def test_oauth2_token_command_runs_each_time() -> None:
    account = Account(**{**_fields(ACCOUNT), "oauth2_token_command": "date +tok%N"})
    first, second = find_token(account), find_token(account)
    assert first.source == "oauth2_token_command"
    assert first.value != second.value  # a fresh token per connection


def test_found_secrets_are_redacted_from_log_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_PASSWORD_WORK", "unique-marker-9f3a")
    find_password(Account(**{**_fields(ACCOUNT), "name": "work"}))
    record = logging.LogRecord(
        "x", logging.ERROR, "f", 1, "login failed for %s", ("unique-marker-9f3a",), None
    )
    RedactingFilter().filter(record)
    assert "unique-marker-9f3a" not in record.getMessage()


def _fields(account: Account) -> dict[str, object]:
    return {name: getattr(account, name) for name in account.__slots__}  # type: ignore[attr-defined]


def test_password_file_only_you_can_read(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password(KEYRING_SERVICE, "me@x.example", "from-keyring")
    path = tmp_path / "work.password"
    path.write_text("file-pw\nignored\n", encoding="utf-8")
    path.chmod(0o600)
    account = Account(**{**_fields(ACCOUNT), "password_file": path})
    secret = find_password(account)
    assert (secret.value, secret.source) == ("file-pw", "password_file")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_password_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "work.password"
    path.write_text("file-pw\n", encoding="utf-8")
    path.chmod(mode)
    account = Account(**{**_fields(ACCOUNT), "password_file": path})
    with pytest.raises(CredentialError) as caught:
        find_password(account)
    message = str(caught.value)
    assert "file-pw" not in message and "\n" not in message
    assert f"password_file {path} " in message
    assert f"chmod {'600' if mode & 0o020 == 0 else 'g-w'} {path}" in message


def test_a_missing_or_empty_password_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "work.password"
    account = Account(**{**_fields(ACCOUNT), "password_file": path})
    with pytest.raises(CredentialError, match="cannot be checked for safe permissions"):
        find_password(account)
    path.write_text("", encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(CredentialError, match="is empty"):
        find_password(account)


def test_the_digest_smtp_login_reads_the_accounts_password_file(tmp_path: Path) -> None:
    path = tmp_path / "work.password"
    path.write_text("file-pw\n", encoding="utf-8")
    path.chmod(0o600)
    settings = parse_settings(
        '[[accounts]]\nname = "work"\nhost = "imap.x.example"\nusername = "me@x.example"\n'
        f'password_file = "{path}"\n[digest.smtp]\nhost = "smtp.x.example"\n'
    )
    assert settings.digest.smtp is not None
    assert find_password(settings.digest.smtp).value == "file-pw"
