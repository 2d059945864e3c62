"""The digest stopped and nobody knows: no more. A digest that cannot be sent (here: the SMTP
server refuses the login) is said in the systemd status line, in an error-priority journal
line, and by `watcher status` (text and --json), which also says whether `watcher run` runs;
all of it until a digest goes out again. Real parts: Dovecot, the aiosmtpd server of
smtpserver.py, a datagram socket as systemd's notify socket, `watcher run` as a process.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from configs import write_digest_config
from demomailbox import seed_demo
from dovecot import DovecotServer, MailUser
from smtpserver import SMTP_PASSWORD, InboxDelivery

from watcher.logsetup import configure_logging, stderr_is_journal
from watcher.service.health import (
    Health,
    daemon_running,
    health_path,
    read_health,
    update_health,
    write_health,
)

WRONG_SMTP_PASSWORD = "not-the-smtp-password-42"


class NotifySocket:
    """What the daemon tells systemd, over a real AF_UNIX datagram socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._done.is_set():
            try:
                self.messages.append(self._sock.recv(4096).decode())
            except TimeoutError:
                continue

    def close(self) -> None:
        self._done.set()
        self._thread.join()
        self._sock.close()

    def statuses(self) -> list[str]:
        return [m for m in self.messages if m.startswith(("STATUS=", "READY=1\nSTATUS="))]


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify.sock")
    try:
        yield listener
    finally:
        listener.close()


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def due_all_day(config: Path) -> Path:
    """The digest due now, in a zone where it is about noon (no window crosses midnight)."""
    offset = 12 - dt.datetime.now(dt.UTC).hour
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    text = config.read_text(encoding="utf-8")
    text = text.replace('timezone = "Europe/Stockholm"', f'timezone = "{zone}"')
    text = text.replace(
        'webmail = "fastmail"',
        'webmail = "fastmail"\nat = "00:00"\ncatch_up_until = "23:59"\nsend_when_empty = true',
    )
    config.write_text(text, encoding="utf-8")
    return config


def status(config: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), "status", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_refused_smtp_login_is_said_in_status_journal_and_watcher_status(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    notify_socket: NotifySocket,
    tmp_path: Path,
) -> None:
    controller, handler = smtp_inbox
    seed_demo(imap_server, mail_user)
    state = tmp_path / "state"
    config = due_all_day(
        write_digest_config(tmp_path / "c.toml", imap_server, mail_user, controller.port, state)
    )
    log = tmp_path / "journal.log"
    log.touch()
    stat = log.stat()
    env = {
        **os.environ,
        "TEST_IMAP_PASSWORD": mail_user.password,
        "TEST_SMTP_PASSWORD": WRONG_SMTP_PASSWORD,
        "TEST_SMTP_GOOD": SMTP_PASSWORD,
        "WATCHER_SYNC_INTERVAL_SECONDS": "1",
        "NOTIFY_SOCKET": str(notify_socket.path),
        # stderr is "the journal": the file this variable names by device and inode
        "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}",
    }
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(config), "run"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        wait_for(lambda: "digest not sent" in log.read_text(), "the failed digest")
        wait_for(
            lambda: any("last digest failed: " in m for m in notify_socket.statuses()),
            "the status line to say so",
        )
        text = log.read_text()
        failed = [line for line in text.splitlines() if "digest not sent" in line]
        assert failed[0].startswith("<3>ERROR digest not sent: "), failed[0]
        assert any(line.startswith("<6>INFO watcher started: ") for line in text.splitlines())
        assert all(line.startswith("<") for line in text.splitlines()), text
        line = next(m for m in notify_socket.statuses() if "last digest failed: " in m)
        assert WRONG_SMTP_PASSWORD not in line and SMTP_PASSWORD not in line

        shown = status(config)
        assert f"Service: running (pid {process.pid}, since " in shown, shown
        (failure,) = [s for s in shown.splitlines() if s.startswith("Last digest failed ")]
        reason = line.split("last digest failed: ", 1)[1]
        assert failure.endswith(f": {reason}"), (failure, reason)
        assert WRONG_SMTP_PASSWORD not in shown
        data = json.loads(status(config, "--json"))
        assert data["service"] == {
            "running": True,
            "pid": process.pid,
            "started_at": data["service"]["started_at"],
        }
        assert data["last_digest_failure"]["error"] == reason
        assert data["last_digest"] is None and data["accounts"][0]["name"] == "maya"

        # The password is fixed and the service reloaded: the digest goes out, and every
        # place stops saying it failed.
        fixed = config.read_text(encoding="utf-8").replace(
            'password_env = "TEST_SMTP_PASSWORD"', 'password_env = "TEST_SMTP_GOOD"'
        )
        config.write_text(fixed, encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: bool(handler.received), "the digest after the reload")
        wait_for(
            lambda: "last digest failed" not in notify_socket.statuses()[-1],
            "a status line without the failure",
        )
        shown = status(config)
        assert "Last digest failed" not in shown and "Last digest: sent " in shown
        assert json.loads(status(config, "--json"))["last_digest_failure"] is None
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert "Service: not running" in status(config)
    assert json.loads(status(config, "--json"))["service"]["running"] is False
    assert WRONG_SMTP_PASSWORD not in log.read_text() and SMTP_PASSWORD not in log.read_text()


def test_a_failure_survives_a_restart_until_a_digest_is_sent(tmp_path: Path) -> None:
    """`watcher status` reads the failure back from the health file after the daemon is gone
    (a crash, a reboot); a digest sent later (by hand, say) makes it old news."""
    store = tmp_path / "watcher.sqlite3"
    path = health_path(store)
    assert read_health(path) == Health()
    update_health(path, pid=999_999_999, started_at=1, digest_failed_at=100, digest_error="x")
    assert read_health(path).digest_error == "x"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not daemon_running(read_health(path))  # no such process
    path.write_text("{not json", encoding="utf-8")
    assert read_health(path) == Health()  # a torn or foreign file: nothing known


def test_a_live_pid_counts_only_when_it_is_a_watcher(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "30"])
    ours = subprocess.Popen(
        [sys.executable, "-c", "import time, watcher; print(flush=True); time.sleep(30)"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
    )
    try:
        assert ours.stdout is not None
        ours.stdout.readline()  # running its own program now, not a fork of pytest any more
        assert daemon_running(Health(pid=ours.pid))
        assert not daemon_running(Health(pid=other.pid))  # a reused pid after a crash
    finally:
        for process in (other, ours):
            process.kill()
            process.communicate()
    assert not daemon_running(Health(pid=ours.pid))
    assert not daemon_running(Health())
    write_health(tmp_path / "missing-dir" / "service.json", Health(pid=1))  # logged, not raised


def test_priority_prefixes_only_when_stderr_is_the_journal_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = logging.getLogger()
    # configure_logging replaces the root's handlers in place: give it a list of its own
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    journal, other = tmp_path / "journal", tmp_path / "elsewhere"
    for path in (journal, other):
        path.touch()
    stat = journal.stat()
    for target, prefixed in ((journal, True), (other, False)):
        with target.open("w", encoding="utf-8") as stream:
            monkeypatch.setattr(sys, "stderr", stream)
            monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino}")
            configure_logging(verbosity=1)
            log = logging.getLogger("watcher.test")
            log.error("digest not sent: refused")
            log.warning("slow")
            log.info("synced")
            log.debug("detail")
            try:
                raise ValueError("boom")
            except ValueError:
                log.exception("crashed")
        lines = target.read_text(encoding="utf-8").splitlines()
        if prefixed:
            assert lines[:4] == [
                "<3>ERROR digest not sent: refused",
                "<4>WARNING slow",
                "<6>INFO synced",
                "<7>DEBUG detail",
            ]
            # journald reads each line alone: every traceback line is an error, too
            assert all(line.startswith("<3>") for line in lines[4:]) and len(lines) > 6
        else:
            assert lines[0] == "ERROR digest not sent: refused"
            assert not any(line.startswith("<") for line in lines)
    monkeypatch.setenv("JOURNAL_STREAM", "garbage")
    assert not stderr_is_journal()
    monkeypatch.delenv("JOURNAL_STREAM")
    assert not stderr_is_journal()
