"""`watcher run` as a real process: against Dovecot and the SMTP server of smtpserver.py,
and against the bundled demo Maildir when no server is needed.

`--once` exits 1 when an account (or a due digest) failed, after doing everything else: the
good account is synced and the digest goes out, naming the account it could not read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from configs import write_digest_config
from demomailbox import seed_demo
from dovecot import START_TIMEOUT, DovecotServer, MailUser, find_binary
from smtpserver import SMTP_PASSWORD, SMTP_USER, InboxDelivery
from watcherproc import finish, watcher

from watcher.cli.status import next_digest
from watcher.config.settings import Settings, load_settings
from watcher.errors import AuthenticationError, ImapError, StoreError
from watcher.service.daemon import Daemon, DigestTrigger
from watcher.service.retry import AccountRetry, duration
from watcher.service.schedule import Backoff
from watcher.store.store import Store

# `watcher run` whether or not cli.py has added the command yet.
LAUNCH = (
    "from watcher.cli.main import cli, main\n"
    "from watcher.cli.run import run_command\n"
    "if 'run' not in cli.commands:\n"
    "    cli.add_command(run_command)\n"
    "main()\n"
)
DEMO_MAILDIR = Path(str(resources.files("watcher") / "demo_mailbox"))
BAD_PASSWORD = "wrong-password-for-the-test"


class RestartableDovecot(DovecotServer):
    """A private Dovecot that can be stopped and started again on the same ports."""

    def restart(self) -> None:
        self.stop(remove=False)
        dovecot = os.environ.get("WATCHER_TEST_DOVECOT") or find_binary("dovecot")
        assert dovecot is not None
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [dovecot, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self._wait_ready(time.monotonic() + START_TIMEOUT)


class NotifyListener:
    """What the daemon tells systemd, over a real datagram socket."""

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

    def seen(self, text: str) -> bool:
        return any(text in message for message in self.messages)


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifyListener]:
    listener = NotifyListener(tmp_path / "notify.sock")
    try:
        yield listener
    finally:
        listener.close()


def zone_near_noon() -> str:
    """A fixed-offset IANA zone where it is about noon: no test window crosses midnight."""
    offset = 12 - dt.datetime.now(dt.UTC).hour  # -11 .. 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def configure(config: Path, zone: str, digest: str, extra_accounts: str = "") -> Path:
    text = config.read_text(encoding="utf-8").replace(
        'timezone = "Europe/Stockholm"', f'timezone = "{zone}"'
    )
    text = text.replace('webmail = "fastmail"', f'webmail = "fastmail"\n{digest}')
    config.write_text(text + extra_accounts, encoding="utf-8")
    return config


def start_watcher(
    config: Path, log: Path, env: dict[str, str], *args: str
) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "--config", str(config), "run", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **env},
        )


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
    """Poll until `check()`; the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic()


def stored_messages(state: Path) -> int:
    path = state / "watcher.sqlite3"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> tuple[int, float]:
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=timeout)
    return code, time.monotonic() - began


def good_and_broken(
    server: DovecotServer, user: MailUser, smtp_port: int, tmp_path: Path
) -> tuple[Path, dict[str, str]]:
    """A config with the demo account and one whose password is wrong; digest due all day."""
    broken = f"""
[[accounts]]
name = "broken"
host = "{server.host}"
port = {server.port}
security = "starttls"
ca_file = "{server.ca_file}"
username = "{user.name}"
addresses = ["broken@example.test"]
password_env = "TEST_BROKEN_PASSWORD"
"""
    config = write_digest_config(tmp_path / "c.toml", server, user, smtp_port, tmp_path / "state")
    digest = 'at = "00:00"\ncatch_up_until = "23:59"\nsend_when_empty = true'
    configure(config, zone_near_noon(), digest, broken)
    env = {
        "TEST_IMAP_PASSWORD": user.password,
        "TEST_SMTP_PASSWORD": SMTP_PASSWORD,
        "TEST_BROKEN_PASSWORD": BAD_PASSWORD,
    }
    return config, env


def digest_text(raw: bytes) -> str:
    plain = message_from_bytes(raw, policy=policy.default).get_body(("plain",))
    assert plain is not None
    return str(plain.get_content())  # type: ignore[attr-defined]


def test_once_syncs_the_good_account_reports_the_broken_one_and_sends_the_digest(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> None:
    controller, handler = smtp_inbox
    seed_demo(imap_server, mail_user)
    config, env = good_and_broken(imap_server, mail_user, controller.port, tmp_path)
    log = tmp_path / "once.log"
    process = start_watcher(config, log, env, "--once")
    assert process.wait(timeout=120) == 1
    text = log.read_text()
    assert "maya: synced" in text
    assert "account 'broken': the server 127.0.0.1 refused the login" in text
    assert "not synced: broken" in text
    assert "retrying" not in text  # --once does not retry
    assert "Traceback" not in text
    for secret in (mail_user.password, SMTP_PASSWORD, BAD_PASSWORD):
        assert secret not in text
    assert stored_messages(tmp_path / "state") > 0
    (raw,) = handler.received
    assert "Account broken could not be read since" in digest_text(raw)


def test_the_daemon_and_a_hand_run_send_one_digest_whichever_comes_first(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> None:
    controller, handler = smtp_inbox
    seed_demo(imap_server, mail_user)
    env = {"TEST_IMAP_PASSWORD": mail_user.password, "TEST_SMTP_PASSWORD": SMTP_PASSWORD}
    digest = 'at = "00:00"\ncatch_up_until = "23:59"\nsend_when_empty = true'
    zone = zone_near_noon()
    busy = re.compile(r"the digest for \S+ is being sent by another process; not sent")
    for first in ("daemon", "hand"):
        state = tmp_path / f"state-{first}"
        config = write_digest_config(
            tmp_path / f"{first}.toml", imap_server, mail_user, controller.port, state
        )
        configure(config, zone, digest)
        handler.hold = True  # the first holds its lock while the SMTP server keeps it waiting
        handler.delivered.clear()
        handler.release.clear()
        log = tmp_path / f"{first}.log"
        if first == "daemon":
            daemon = start_watcher(config, log, env, "--once")
            assert handler.delivered.wait(timeout=60)
            code, out, err = finish(watcher(config, mail_user, "digest", "--send"))
            assert code == 0 and busy.fullmatch(out.strip()) and out.count("\n") == 1, (out, err)
        else:
            hand = watcher(config, mail_user, "digest", "--send")
            assert handler.delivered.wait(timeout=60)
            daemon = start_watcher(config, log, env, "--once")
            assert daemon.wait(timeout=120) == 0
            assert busy.search(log.read_text()), log.read_text()
        handler.release.set()
        handler.hold = False
        if first == "hand":
            code, out, err = finish(hand)
            assert code == 0 and out.startswith("digest sent to"), (out, err)
        assert daemon.wait(timeout=120) == 0, log.read_text()
    assert len(handler.received) == 2  # one for each order


def test_run_catches_up_on_the_digest_despite_a_broken_account(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> None:
    controller, handler = smtp_inbox
    seed_demo(imap_server, mail_user)
    config, env = good_and_broken(imap_server, mail_user, controller.port, tmp_path)
    log = tmp_path / "run.log"
    process = start_watcher(config, log, {**env, "WATCHER_SYNC_INTERVAL_SECONDS": "0.5"})
    try:
        wait_for(lambda: bool(handler.received), "the digest (it was due at 00:00)")
        cycles = log.read_text().count("maya: synced")
        wait_for(lambda: log.read_text().count("maya: synced") > cycles + 2, "more syncs")
        code, took = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert code == 0 and took < 5, text
    assert "Account broken could not be read since" in digest_text(handler.received[0])
    assert len(handler.received) == 1
    assert text.count("refused the login") == 1  # logged once, then retried hourly
    assert "retrying every 1 h (after fixing it, reload the service" in text
    assert BAD_PASSWORD not in text and mail_user.password not in text


@pytest.mark.slow
def test_run_survives_a_server_restart_sends_the_digest_on_time_and_stops_on_sigterm(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    notify_socket: NotifyListener,
    tmp_path: Path,
) -> None:
    controller, handler = smtp_inbox
    server = RestartableDovecot.start()
    try:
        user = server.add_user()
        seed_demo(server, user)
        zone_name = zone_near_noon()
        zone = ZoneInfo(zone_name)
        # `at`: a whole minute 20 to 80 s away (time for the restart below)
        soon = dt.datetime.now(zone) + dt.timedelta(seconds=80)
        at = soon.replace(second=0, microsecond=0)
        until = at + dt.timedelta(hours=1)
        state = tmp_path / "state"
        config = write_digest_config(tmp_path / "c.toml", server, user, controller.port, state)
        account, smtp = config.read_text().split("[digest.smtp]")
        smtp = smtp.replace(str(server.ca_file), str(imap_server.ca_file))  # the SMTP cert
        config.write_text(f"{account}[digest.smtp]{smtp}")
        digest = f'at = "{at:%H:%M}"\ncatch_up_until = "{until:%H:%M}"\nsend_when_empty = true'
        configure(config, zone_name, digest)
        env = {
            "TEST_IMAP_PASSWORD": user.password,
            "TEST_SMTP_PASSWORD": SMTP_PASSWORD,
            "WATCHER_SYNC_INTERVAL_SECONDS": "2",
            "NOTIFY_SOCKET": str(notify_socket.path),
            "WATCHDOG_USEC": "1000000",
        }
        log = tmp_path / "run.log"
        process = start_watcher(config, log, env)
        try:
            wait_for(lambda: notify_socket.seen("READY=1"), "READY=1")
            wait_for(lambda: stored_messages(state) > 0, "the first sync")
            synced = stored_messages(state)

            server.stop(remove=False)
            wait_for(lambda: "refused the connection" in log.read_text(), "the failure logged")
            server.restart()
            server.append(user, "INBOX", b"From: a@b.example\r\nSubject: new\r\n\r\nhello\r\n")
            wait_for(lambda: stored_messages(state) > synced, "a sync after the restart")
            wait_for(lambda: "maya: readable again" in log.read_text(), "the recovery logged")
            assert not handler.received, "the digest went out before its time"

            arrived = wait_for(lambda: bool(handler.received), "the digest", timeout=150)
            late = dt.datetime.now(zone) - at - dt.timedelta(seconds=time.monotonic() - arrived)
            assert dt.timedelta(0) <= late < dt.timedelta(seconds=20), late
            time.sleep(3)  # more sync cycles: none sends it again
            assert len(handler.received) == 1

            code, took = stop(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    finally:
        server.stop()
    text = log.read_text()
    assert code == 0, text
    assert took < 5
    assert text.count("watcher started") == 1
    assert text.count("watcher stopped") == 1
    assert "SIGTERM received: stopping" in text
    assert "Traceback" not in text
    assert user.password not in text and SMTP_PASSWORD not in text
    for expected in ("WATCHDOG=1", "threads due", "STOPPING=1"):
        assert notify_socket.seen(expected), (expected, notify_socket.messages)
    assert notify_socket.messages[-1] == "STOPPING=1"


def test_sighup_reloads_and_a_bad_config_keeps_the_old_one(
    notify_socket: NotifyListener, tmp_path: Path
) -> None:
    good = f"""
state_dir = "{tmp_path / "state"}"
timezone = "Europe/Stockholm"

[[accounts]]
name = "demo"
maildir = "{DEMO_MAILDIR}"
addresses = ["maya@lindqvist-studio.example"]
"""
    config = tmp_path / "c.toml"
    config.write_text(good, encoding="utf-8")
    log = tmp_path / "run.log"
    env = {"WATCHER_SYNC_INTERVAL_SECONDS": "0.5", "NOTIFY_SOCKET": str(notify_socket.path)}
    process = start_watcher(config, log, env)
    try:
        wait_for(lambda: notify_socket.seen("READY=1"), "READY=1")
        wait_for(lambda: notify_socket.seen("last sync"), "a sync cycle")
        assert "no digest delivery configured" in log.read_text()

        config.write_text(good.replace("Europe/Stockholm", "Mars/Olympus_Mons"))
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "config not reloaded" in log.read_text(), "the reload refused")
        assert "Mars/Olympus_Mons" in log.read_text()
        cycles = log.read_text().count("demo: synced")
        wait_for(lambda: log.read_text().count("demo: synced") > cycles, "syncs going on")

        config.write_text(good.replace("Europe/Stockholm", "Europe/Berlin"))
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "config reloaded" in log.read_text(), "the reload")
        code, took = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert code == 0 and took < 5, text
    assert text.count("watcher stopped") == 1
    assert notify_socket.messages[-1] == "STOPPING=1"


def test_a_config_error_at_start_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('timezone = "Nowhere/Special"\n', encoding="utf-8")
    log = tmp_path / "run.log"
    process = start_watcher(config, log, {})
    assert process.wait(timeout=60) == 2
    assert log.read_text().startswith("error: ")


# -- what is logged after a failed sync (watcher/backoff.py) ---------------------------------------


def test_a_refused_login_is_logged_once_with_the_fix(caplog: pytest.LogCaptureFixture) -> None:
    retry = AccountRetry("work", Backoff(first=2, jitter=0))
    refused = AuthenticationError("work", "the server refused the login; check the password")
    with caplog.at_level(logging.INFO):
        delays = [retry.failed(refused) for _ in range(3)]
        retry.succeeded()
        retry.failed(refused)
    assert delays == [3600, 3600, 3600]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2  # once per failure streak
    assert "check the password; retrying every 1 h" in errors[0]
    assert "SIGHUP" in errors[0]
    assert any("readable again (failed attempts: 3)" in r.getMessage() for r in caplog.records)


def test_transient_and_store_faults_back_off_and_say_when(
    caplog: pytest.LogCaptureFixture,
) -> None:
    retry = AccountRetry("work", Backoff(first=30, cap=1800, jitter=0))
    with caplog.at_level(logging.INFO):
        delays = [retry.failed(ImapError("work", "connection refused")) for _ in range(3)]
        delays.append(retry.failed(StoreError("database or disk is full")))
    assert delays == [30, 60, 120, 240]
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines[0] == ("WARNING", "account 'work': connection refused; retrying in 30 s")
    assert lines[3] == ("ERROR", "work: database or disk is full; retrying in 4 min")
    buggy = AccountRetry("work")
    with caplog.at_level(logging.INFO):
        buggy.failed(RuntimeError("a bug"))
        buggy.failed(RuntimeError("a bug"))
    bugs = [r for r in caplog.records if "unexpected" in r.getMessage()]
    # the traceback once (logsetup's redacting filter, if installed, moves it to exc_text)
    assert [bool(r.exc_info or r.exc_text) for r in bugs] == [True, False]
    once = AccountRetry("work", retrying=False)
    with caplog.at_level(logging.INFO):
        once.failed(ImapError("work", "timeout"))
    assert caplog.records[-1].getMessage() == "account 'work': timeout"
    assert [duration(s) for s in (0.5, 29.71, 600, 3600, 5400)] == [
        "0.5 s",
        "29.7 s",
        "10 min",
        "1 h",
        "1.5 h",
    ]


def test_a_sync_finishing_after_the_stop_sends_no_status_after_stopping(
    notify_socket: NotifyListener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\ntimezone = "Europe/Stockholm"\n\n'
        f'[[accounts]]\nname = "demo"\nmaildir = "{DEMO_MAILDIR}"\n'
        'addresses = ["maya@lindqvist-studio.example"]\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))
    daemon = Daemon(load_settings(config))
    runner = threading.Thread(target=daemon.run)
    runner.start()
    wait_for(lambda: notify_socket.seen("READY=1"), "READY=1")
    daemon.stop()
    runner.join(timeout=30)
    daemon._report_status()  # what a sync job still running at the stop does last
    time.sleep(0.5)  # the listener reads every datagram within its 0.2 s timeout
    assert notify_socket.messages[-1] == "STOPPING=1", notify_socket.messages


# -- the daemon's digest timing with a fake clock (milliseconds, not a real minute) ------------


class FakeClock:
    """A `schedule.Clock` the test moves by hand."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment

    def set(self, moment: dt.datetime) -> None:
        self.moment = moment


@contextlib.contextmanager
def fake_clock_daemon(
    tmp_path: Path, ca_file: Path, smtp_port: int, zone: str, at: str, clock: FakeClock
) -> Iterator[Daemon]:
    """A daemon on the demo Maildir that sends its digest by SMTP, at `at` in `zone`."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
state_dir = "{tmp_path / "state"}"
timezone = "{zone}"

[[accounts]]
name = "demo"
maildir = "{DEMO_MAILDIR}"
addresses = ["maya@lindqvist-studio.example"]

[digest]
to = "maya@lindqvist-studio.example"
at = "{at}"
catch_up_until = "12:00"
send_when_empty = true

[digest.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
ca_file = "{ca_file}"
username = "{SMTP_USER}"
password_env = "TEST_SMTP_PASSWORD"
""",
        encoding="utf-8",
    )
    daemon = Daemon(load_settings(config), clock)
    try:
        daemon._schedule_jobs()  # the scheduler is not started: nothing runs by itself
        yield daemon
    finally:
        daemon._wake_r.close()
        daemon._wake_w.close()


def digest_trigger(daemon: Daemon) -> DigestTrigger:
    job = daemon._scheduler.get_job("digest")
    assert isinstance(job.trigger, DigestTrigger)
    return job.trigger


def status_next_digest(daemon: Daemon, now: dt.datetime) -> dt.datetime:
    settings: Settings = daemon._running.settings
    with Store.open(settings.store_path) as store:
        shown = next_digest(settings, store, now)
    assert shown is not None
    return shown


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def test_spring_forward_the_daemon_sends_at_the_end_of_the_gap_as_status_and_footer_say(
    smtp_inbox: tuple[Controller, InboxDelivery],
    imap_server: DovecotServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`at = "02:30"` in Berlin on 2026-03-29: 02:30 does not exist; the daemon, `watcher
    status` and the footer of the day before all say 03:00 CEST."""
    controller, handler = smtp_inbox
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    berlin = ZoneInfo("Europe/Berlin")
    clock = FakeClock(dt.datetime(2026, 3, 29, 1, 0, tzinfo=berlin))
    with fake_clock_daemon(
        tmp_path, imap_server.ca_file, controller.port, "Europe/Berlin", "02:30", clock
    ) as daemon:
        assert "digest at 02:30 Europe/Berlin (next Sun 29 Mar)" in daemon._describe()
        fires = digest_trigger(daemon).get_next_fire_time(None, clock.now())
        assert f"{fires:%Y-%m-%d %H:%M %z}" == "2026-03-29 03:00 +0200"
        assert utc(status_next_digest(daemon, clock.now())) == utc(fires)

        assert daemon.run_once() == 0  # syncs at the clock's time; the digest is not due yet
        with Store.open(daemon._running.settings.store_path) as store:
            assert store.account_statuses()["demo"].last_success == int(clock.now().timestamp())
        clock.set(utc(fires) - dt.timedelta(seconds=1))
        daemon._digest_job()
        assert not handler.received

        clock.set(fires)
        daemon._digest_job()
        (raw,) = handler.received
        following = digest_trigger(daemon).get_next_fire_time(fires, fires)
        assert f"{following:%Y-%m-%d %H:%M %z}" == "2026-03-30 02:30 +0200"
        assert "Next digest: Mon 30 Mar, 02:30." in digest_text(raw).replace("\n", " ")
        assert utc(status_next_digest(daemon, clock.now())) == utc(following)

        clock.set(fires + dt.timedelta(hours=1))
        daemon._sync_job("demo")  # a sync cycle looks at the digest again: sent already
        daemon._digest_job()
        assert len(handler.received) == 1


def test_fall_back_the_daemon_sends_once_at_the_first_of_two_0130s(
    smtp_inbox: tuple[Controller, InboxDelivery],
    imap_server: DovecotServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`at = "01:30"` in New York on 2026-11-01: 01:30 EDT, not again at 01:30 EST, not even
    by a daemon restarted in between; status and the footer agree."""
    controller, handler = smtp_inbox
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    new_york = ZoneInfo("America/New_York")
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=new_york)  # fold=0: EDT
    second = first.replace(fold=1)  # EST, an hour later
    clock = FakeClock(dt.datetime(2026, 10, 31, 23, 0, tzinfo=new_york))
    with fake_clock_daemon(
        tmp_path, imap_server.ca_file, controller.port, "America/New_York", "01:30", clock
    ) as daemon:
        fires = digest_trigger(daemon).get_next_fire_time(None, clock.now())
        assert utc(fires) == utc(first)
        assert utc(status_next_digest(daemon, clock.now())) == utc(first)
        clock.set(fires)
        daemon._digest_job()
        assert len(handler.received) == 1
        assert "Next digest: Mon 2 Nov, 01:30." in digest_text(handler.received[0])

        clock.set(second)
        assert utc(digest_trigger(daemon).get_next_fire_time(fires, fires)) == utc(
            dt.datetime(2026, 11, 2, 1, 30, tzinfo=new_york)
        )
        daemon._digest_job()
        status = status_next_digest(daemon, clock.now())
        assert f"{status:%Y-%m-%d %H:%M %z}" == "2026-11-02 01:30 -0500"
    with fake_clock_daemon(
        tmp_path, imap_server.ca_file, controller.port, "America/New_York", "01:30", clock
    ) as restarted:
        assert restarted.run_once() == 0
    assert len(handler.received) == 1


def test_a_daemon_down_at_the_digest_time_catches_up_until_the_cut_off(
    smtp_inbox: tuple[Controller, InboxDelivery],
    imap_server: DovecotServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    controller, handler = smtp_inbox
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    berlin = ZoneInfo("Europe/Berlin")
    late = FakeClock(dt.datetime(2026, 11, 23, 12, 0, tzinfo=berlin))  # the cut-off itself
    with fake_clock_daemon(
        tmp_path / "late", imap_server.ca_file, controller.port, "Europe/Berlin", "07:30", late
    ) as daemon:
        daemon._sync_job("demo")
        assert not handler.received
    back = FakeClock(dt.datetime(2026, 11, 23, 9, 45, tzinfo=berlin))
    with fake_clock_daemon(
        tmp_path / "back", imap_server.ca_file, controller.port, "Europe/Berlin", "07:30", back
    ) as daemon:
        assert utc(status_next_digest(daemon, back.now())) == utc(back.now())  # due now
        daemon._sync_job("demo")  # the first sync cycle after the start sends it
        (raw,) = handler.received
        assert "Next digest: Tue 24 Nov, 07:30." in digest_text(raw)
