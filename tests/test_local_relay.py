"""The digest through this machine's own mail relay (issue 13, item 4): plain SMTP to a
loopback host without TLS or login (`[digest.smtp] security = "none"`), and `[digest]
delivery = "sendmail"` (the message piped to `sendmail -t -oi`, as cron does).

Real parts: an aiosmtpd relay on 127.0.0.1 that offers neither STARTTLS nor AUTH and
delivers into the Dovecot INBOX, a fake `sendmail` script in tmp_path that stores its argv
and the message and delivers into the same INBOX, and `watcher digest --send` as a process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import socket
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from configs import MAYA
from demomailbox import NOW, seed_demo
from dovecot import DovecotServer, MailUser
from smtpserver import digests_in_inbox
from watcherproc import finish, watcher

from watcher.config.digest import DigestSettings, SmtpServer, sendmail_argv
from watcher.config.settings import load_settings
from watcher.digest.deliver import check_sendmail, check_smtp_login, send_sendmail, send_smtp
from watcher.digest.send import IN_FLIGHT, SENT, WAITING, send_digest
from watcher.digest.today import select_for
from watcher.errors import ConfigError, DeliveryError
from watcher.store.store import Store

HOST = "127.0.0.1"


# -- a relay and a sendmail ---------------------------------------------------------------------


class Relay:
    """An aiosmtpd handler like a local MTA on port 25: no TLS, no AUTH; it keeps what it got
    (and whether the client tried STARTTLS or AUTH) and may deliver into a Dovecot INBOX."""

    def __init__(self, deliver_to: tuple[DovecotServer, MailUser] | None = None) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.commands: list[str] = []
        self.deliver_to = deliver_to

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = bytes(envelope.original_content or b"")
        self.received.append((envelope.mail_from or "", list(envelope.rcpt_tos), content))
        if self.deliver_to is not None:
            dovecot, user = self.deliver_to
            dovecot.append(user, "INBOX", content)
        return "250 OK queued"


@contextlib.contextmanager
def running_relay(relay: Relay) -> Iterator[int]:
    with socket.socket() as probe:  # aiosmtpd cannot start on port 0
        probe.bind((HOST, 0))
        port = int(probe.getsockname()[1])
    controller = Controller(relay, hostname=HOST, port=port)
    try:
        controller.start()
        yield port
    finally:
        controller.stop(no_assert=True)


def fake_sendmail(tmp_path: Path, *, exit_code: int = 0, inbox: Path | None = None) -> Path:
    """A `sendmail` that stores its arguments and the message in tmp_path/sendmail/ (one
    numbered pair per call), then exits with `exit_code`."""
    store = tmp_path / "sendmail"
    store.mkdir(exist_ok=True)
    script = tmp_path / "fake-sendmail"
    script.write_text(
        f"""#!{sys.executable}
import sys, pathlib
store = pathlib.Path({str(store)!r})
n = len(list(store.glob("*.eml")))
data = sys.stdin.buffer.read()
(store / f"{{n}}.eml").write_bytes(data)
(store / f"{{n}}.argv").write_text("\\n".join(sys.argv[1:]))
if {exit_code}:
    print("sendmail: fatal: no such recipient", file=sys.stderr)
sys.exit({exit_code})
""",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def sent_by_sendmail(tmp_path: Path) -> list[tuple[list[str], bytes]]:
    store = tmp_path / "sendmail"
    calls = sorted(store.glob("*.eml"), key=lambda p: int(p.stem)) if store.exists() else []
    return [(p.with_suffix(".argv").read_text().split("\n"), p.read_bytes()) for p in calls]


def digest_message() -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "Follow-up Watcher <me@example.test>"
    message["To"] = "me@example.test"
    message["Subject"] = "3 threads waiting — Überblick"
    message["Message-ID"] = "<digest-2026-11-23@followup-watcher>"
    message.set_content("Guten Morgen,\n.a dot line\nGrüße\n")
    return message


# -- settings -------------------------------------------------------------------------------


def config_text(smtp: str, digest: str = "") -> str:
    return f"""
[[accounts]]
name = "work"
host = "imap.example.com"
addresses = ["me@example.com"]
password_env = "IMAP_PW"

[digest]
{digest}
{smtp}
"""


def load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return load_settings(path)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.53"])
def test_plain_smtp_to_this_machine_is_allowed_on_port_25_without_a_login(
    tmp_path: Path, host: str
) -> None:
    settings = load(tmp_path, config_text(f'[digest.smtp]\nhost = "{host}"\nsecurity = "none"'))
    server = settings.digest.smtp
    assert (server.security, server.port, server.host) == ("none", 25, host)
    # The account's password is not copied in: a local relay takes no login.
    assert (server.username, server.password_env, server.password_command) == ("", "", "")
    assert settings.digest.delivery == "smtp"


def test_plain_smtp_to_another_host_is_refused_in_one_line_with_the_fix(tmp_path: Path) -> None:
    text = config_text('[digest.smtp]\nhost = "smtp.example.com"\nsecurity = "none"')
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message
    assert 'digest.smtp.security is "none"' in message
    assert "smtp.example.com" in message and '"starttls"' in message


@pytest.mark.parametrize(
    "login",
    ['username = "me"', 'password_env = "SMTP_PW"', 'password_command = "pass smtp"'],
)
def test_plain_smtp_with_a_login_is_refused(tmp_path: Path, login: str) -> None:
    text = config_text(f'[digest.smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n{login}')
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message and "no login" in message and "digest.smtp" in message


def test_settings_built_in_code_refuse_none_too() -> None:
    with pytest.raises(ConfigError, match="not this machine"):
        SmtpServer(host="mail.example.com", security="none")
    assert SmtpServer(host="localhost", security="none").port == 587  # the loader picks 25


def test_sendmail_delivery_and_its_command(tmp_path: Path) -> None:
    settings = load(tmp_path, config_text("", 'delivery = "sendmail"'))
    assert settings.digest.delivery == "sendmail" and settings.digest.smtp is None
    assert sendmail_argv(settings.digest) == ["/usr/sbin/sendmail", "-t", "-oi"]
    own = config_text("", 'delivery = "sendmail"\nsendmail_command = "\'/opt/my mta/sm\' -t -oi"')
    assert sendmail_argv(load(tmp_path, own).digest) == ["/opt/my mta/sm", "-t", "-oi"]
    for bad in ('"/usr/sbin/sendmail \'-t"', '""'):
        with pytest.raises(ConfigError, match=r"digest\.sendmail_command") as caught:
            text = config_text("", f'delivery = "sendmail"\nsendmail_command = {bad}')
            load(tmp_path, text)
        assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match='"sendmail"'):
        DigestSettings(delivery="mailx")


# -- plain SMTP -------------------------------------------------------------------------------


def test_plain_smtp_reaches_a_relay_without_tls_or_auth() -> None:
    relay = Relay()
    with running_relay(relay) as port:
        server = SmtpServer(host=HOST, port=port, security="none")
        send_smtp(digest_message(), server, None)
        assert check_smtp_login(server, None) == "plain SMTP to this machine's relay, no login"
    ((mail_from, rcpt_tos, content),) = relay.received
    assert (mail_from, rcpt_tos) == ("me@example.test", ["me@example.test"])
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert "Grüße" in parsed.get_content() and "\n.a dot line" in parsed.get_content()


def test_plain_smtp_never_sends_a_password(tmp_path: Path) -> None:
    """A secret passed in by mistake (settings built in code) is not used over plain text."""
    from watcher.credentials import Secret

    relay = Relay()
    with running_relay(relay) as port:
        server = SmtpServer(host=HOST, port=port, security="none")
        with pytest.raises(DeliveryError, match="no login"):
            send_smtp(digest_message(), server, Secret("pw-123", "environment variable X"))
    assert relay.received == []


def test_a_relay_that_is_down_is_one_line() -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = int(probe.getsockname()[1])
    with pytest.raises(DeliveryError) as caught:
        send_smtp(digest_message(), SmtpServer(host=HOST, port=port, security="none"), None)
    assert "refused the connection" in str(caught.value) and "\n" not in str(caught.value)


# -- sendmail ---------------------------------------------------------------------------------


def test_sendmail_gets_the_message_on_stdin_with_t_and_oi(tmp_path: Path) -> None:
    script = fake_sendmail(tmp_path)
    send_sendmail(digest_message(), [str(script), "-t", "-oi"], timeout=30)
    ((argv, raw),) = sent_by_sendmail(tmp_path)
    assert argv == ["-t", "-oi"]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"] == "me@example.test"  # -t: the recipients come from the message
    assert parsed["Message-ID"] == "<digest-2026-11-23@followup-watcher>"
    assert b"\r\n" not in raw  # sendmail takes the local form: LF line endings
    assert "\n.a dot line" in parsed.get_content()  # -oi: a dot line does not end it


def test_sendmail_failures_are_one_line_naming_the_command_and_the_fix(tmp_path: Path) -> None:
    failing = fake_sendmail(tmp_path, exit_code=75)
    cases = {
        (str(failing), "-t", "-oi"): ("exited with status 75", "no such recipient"),
        (str(tmp_path / "nowhere" / "sendmail"), "-t"): ("not found", "sendmail_command"),
        (str(tmp_path),): ("cannot be run", "sendmail_command"),
    }
    for argv, expected in cases.items():
        with pytest.raises(DeliveryError) as caught:
            send_sendmail(digest_message(), list(argv), timeout=30)
        message = str(caught.value)
        assert "\n" not in message and argv[0] in message
        for part in expected:
            assert part in message, message


def test_a_hanging_sendmail_times_out(tmp_path: Path) -> None:
    script = tmp_path / "slow"
    script.write_text("#!/bin/sh\nexec sleep 30\n", encoding="utf-8")
    script.chmod(0o755)
    with pytest.raises(DeliveryError, match=r"did not finish within 0.5 s"):
        send_sendmail(digest_message(), [str(script)], timeout=0.5)


def test_check_sendmail_says_found_and_executable(tmp_path: Path) -> None:
    script = fake_sendmail(tmp_path)
    assert check_sendmail([str(script), "-t", "-oi"]) == f"{script} found, executable"
    with pytest.raises(DeliveryError, match="not found"):
        check_sendmail([str(tmp_path / "none")])
    (tmp_path / "plain").write_text("", encoding="utf-8")
    with pytest.raises(DeliveryError, match="not executable"):
        check_sendmail([str(tmp_path / "plain")])
    assert sent_by_sendmail(tmp_path) == []  # nothing sent by a check


# -- exactly once, end to end ---------------------------------------------------------------


def relay_config(path: Path, server: DovecotServer, user: MailUser, digest: str) -> Path:
    path.write_text(
        f"""
state_dir = "{path.parent / "state"}"
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
password_env = "TEST_IMAP_PASSWORD"

[digest]
to = "{MAYA}"
{digest}
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def test_plain_smtp_relay_sends_the_digest_once(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    seed_demo(imap_server, mail_user)
    relay = Relay(deliver_to=(imap_server, mail_user))
    with running_relay(relay) as port:
        smtp = f'[digest.smtp]\nhost = "localhost"\nport = {port}\nsecurity = "none"'
        config = relay_config(tmp_path / "c.toml", imap_server, mail_user, smtp)
        assert finish(watcher(config, mail_user, "sync"))[0] == 0
        code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
        assert code == 0, err
        assert f"digest sent to {MAYA}" in out
        code, out, _ = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
        assert code == 0 and "was sent already" in out
    assert len(relay.received) == 1
    assert relay.received[0][1] == [MAYA]
    assert digests_in_inbox(imap_server, mail_user) == 1


def test_sendmail_sends_the_digest_once(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    seed_demo(imap_server, mail_user)
    script = fake_sendmail(tmp_path)
    digest = f'delivery = "sendmail"\nsendmail_command = "{script} -t -oi"'
    config = relay_config(tmp_path / "c.toml", imap_server, mail_user, digest)
    assert finish(watcher(config, mail_user, "sync"))[0] == 0
    code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0, err
    assert f"digest sent to {MAYA}" in out
    code, out, _ = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0 and "was sent already" in out
    ((argv, raw),) = sent_by_sendmail(tmp_path)
    assert argv == ["-t", "-oi"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] == MAYA and message["X-Followup-Watcher"] == "digest"


def test_a_failing_sendmail_leaves_the_digest_for_the_next_run(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    seed_demo(imap_server, mail_user)
    script = fake_sendmail(tmp_path, exit_code=1)
    digest = f'delivery = "sendmail"\nsendmail_command = "{script}"'
    config = relay_config(tmp_path / "c.toml", imap_server, mail_user, digest)
    assert finish(watcher(config, mail_user, "sync"))[0] == 0
    code, _, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 1 and err.startswith("error: ") and "Traceback" not in err
    assert "exited with status 1" in err and err.count("\n") == 1
    assert fake_sendmail(tmp_path) == script  # the mail system is fixed: it takes mail again
    code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0 and f"digest sent to {MAYA}" in out, err
    assert len(sent_by_sendmail(tmp_path)) == 2  # the failed call, then the one that took it


def test_a_sendmail_run_killed_before_recording_is_waited_for_then_sent_again(
    imap_server: DovecotServer,
    mail_user: MailUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """sendmail hands the digest to the local queue, which may deliver it minutes later: like
    SMTP, a pending digest not yet in the inbox is waited for (IN_FLIGHT), then sent again."""
    seed_demo(imap_server, mail_user)
    script = fake_sendmail(tmp_path)
    digest = f'delivery = "sendmail"\nsendmail_command = "{script} -t -oi"'
    config = relay_config(tmp_path / "c.toml", imap_server, mail_user, digest)
    assert finish(watcher(config, mail_user, "sync"))[0] == 0
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    settings = load_settings(config)
    now = dt.datetime.fromisoformat(NOW).replace(tzinfo=settings.zone)
    with Store.open(settings.store_path) as store:
        selection = select_for(store, settings, now, next_digest=None)
        day = selection.digest
        # What a run killed after sendmail took the digest leaves: pending, nothing after it.
        assert store.claim_digest(day.day, day.recipient, day.message_id, ()) is None
        began = store.digest_state(day.day, day.recipient)
        assert began is not None
        waiting = send_digest(selection, settings, store, now_epoch=began.created_at + 60)
        assert waiting.state == WAITING and sent_by_sendmail(tmp_path) == []
        later = send_digest(selection, settings, store, now_epoch=began.created_at + IN_FLIGHT + 1)
        assert later.state == SENT
        assert len(sent_by_sendmail(tmp_path)) == 1
