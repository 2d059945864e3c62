"""What a misbehaving server can do to a sync, and what it must not.

- a server that echoes the password in its login refusal: the password reaches neither the
  store, nor `watcher status`, nor the digest;
- a server whose UIDVALIDITY (in SELECT/EXAMINE or STATUS) is not a number: that account
  fails with one line, the other accounts are synced, no traceback;
- a server that leaves a message out of a FETCH reply (a proxy in front of the real Dovecot
  drops it): the folder's position does not pass it, and the next sync stores it;
- a `ca_file` that is not a certificate: one line that names ca_file, not the port.

Replies Dovecot never sends come from `ScriptedImapServer` (tests/scriptedimap.py) on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from dovecot import DovecotServer, MailUser
from mailfactory import make_message
from scriptedimap import Reply, ScriptedImapServer, ok

from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.errors import ImapError
from watcher.mail.imap import sync_imap_account
from watcher.store.store import Store

NOW = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)


# -- the CLI, as a user runs it ---------------------------------------------------------------


def write_accounts_config(path: Path, accounts: str) -> Path:
    path.write_text(
        f"""
state_dir = "{path.parent / "state"}"
timezone = "Europe/Stockholm"
lookback_days = 0

{accounts}

[digest]
to = "me@example.test"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def dovecot_account(server: DovecotServer, user: MailUser, name: str = "good") -> str:
    return f"""
[[accounts]]
name = "{name}"
host = "{server.host}"
port = {server.port}
security = "starttls"
ca_file = "{server.ca_file}"
username = "{user.name}"
addresses = ["{user.address}"]
password_env = "GOOD_PASSWORD"
"""


def fake_account(server: ScriptedImapServer, name: str = "odd") -> str:
    return f"""
[[accounts]]
name = "{name}"
host = "127.0.0.1"
port = {server.port}
security = "none"
username = "me"
addresses = ["me@example.test"]
password_env = "ODD_PASSWORD"
timeout_seconds = 5
"""


def run_watcher(config: Path, *args: str, **env: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        timeout=120,
        check=False,
        text=True,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return result.returncode, output


# -- item: a password echoed by the server --------------------------------------------------

ECHOED = 'Pw-3c9f"x\\y-echoed-by-the-server'  # a quote and a backslash: escaped in IMAP


def _echo_login(tag: bytes, arguments: bytes) -> list[bytes]:
    # As some servers do: the LOGIN arguments, as the client sent them, in the refusal.
    return [tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials (LOGIN " + arguments + b")\r\n"]


def test_a_password_echoed_in_the_login_refusal_is_never_kept_or_shown(
    tmp_path: Path,
) -> None:
    with ScriptedImapServer({"LOGIN": _echo_login}) as server:
        config = write_accounts_config(tmp_path / "config.toml", fake_account(server))
        code, sync_output = run_watcher(config, "sync", ODD_PASSWORD=ECHOED)
        assert code == 1
        assert any(
            ECHOED.replace("\\", "\\\\").replace('"', '\\"') in line for line in server.received
        )
    code, status_output = run_watcher(config, "status")
    assert code == 0
    assert "refused the login" in status_output  # the error is shown, scrubbed
    code, digest_output = run_watcher(config, "digest", "--preview", "--now", "2026-11-23T08:00")
    assert code == 0
    assert "could not be read" in digest_output
    store_bytes = b"".join(p.read_bytes() for p in (tmp_path / "state").iterdir() if p.is_file())
    escaped = ECHOED.replace("\\", "\\\\").replace('"', '\\"')
    for form in (ECHOED, escaped, "Pw-3c9f", "-echoed-by-the-server"):
        assert form not in sync_output
        assert form not in status_output
        assert form not in digest_output
        assert form.encode() not in store_bytes
    with sqlite3.connect(tmp_path / "state" / "watcher.sqlite3") as db:
        (error,) = db.execute("SELECT last_error FROM account_status").fetchone()
    assert "<redacted>" in error and "AUTHENTICATIONFAILED" in error


def test_a_password_echoed_in_base64_or_quoted_is_scrubbed_from_server_text() -> None:
    import base64

    from watcher.mail.connection import server_text

    secret = 'se"cr\\et-42'
    plain = base64.b64encode(b"\0me\0" + secret.encode()).decode()
    xoauth = base64.b64encode(f"user=me\1auth=Bearer {secret}\1\1".encode()).decode()
    escaped = secret.replace("\\", "\\\\").replace('"', '\\"')
    for said in (
        f'NO bad (LOGIN me "{escaped}")',
        f"NO bad AUTHENTICATE PLAIN {plain}",
        f"NO bad {xoauth}",
        repr(f'NO (LOGIN me "{escaped}")'.encode()),  # as imaplib's error text shows it
    ):
        text = server_text(Exception(said), secret)
        assert "cr" not in text.replace("<redacted>", ""), text
        assert "<redacted>" in text


# -- item: replies that are not what IMAP says ----------------------------------------------


_uidvalidity_abc_on_examine = ok("* 1 EXISTS", "* OK [UIDVALIDITY abc] UIDs", "* OK [UIDNEXT 2]")
_uidvalidity_abc_in_status = ok("* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY abc)")


@pytest.mark.parametrize(
    "replies",
    [
        {"EXAMINE": _uidvalidity_abc_on_examine},
        {"STATUS": _uidvalidity_abc_in_status},
    ],
    ids=["examine", "status"],
)
def test_a_non_numeric_uidvalidity_fails_one_account_and_the_others_sync(
    imap_server: DovecotServer, tmp_path: Path, replies: dict[str, Reply]
) -> None:
    user = imap_server.add_user()
    imap_server.append(
        user,
        "INBOX",
        make_message(from_="Ana <ana@acme.example>", to=user.address, subject="Hello", date=NOW),
    )
    with ScriptedImapServer(replies) as server:
        config = write_accounts_config(
            tmp_path / "config.toml",
            fake_account(server) + dovecot_account(imap_server, user),
        )
        code, output = run_watcher(
            config, "sync", ODD_PASSWORD="odd-password", GOOD_PASSWORD=user.password
        )
    assert code == 1
    assert "odd: not synced:" in output
    assert "cannot read" in output
    assert ("UIDVALIDITY 'abc'" in output) or ("EXAMINE reply for 'INBOX'" in output)
    assert "good: 1 new messages" in output
    code, status = run_watcher(config, "status")
    assert "cannot read" in status


@pytest.mark.parametrize(
    "replies",
    [
        {"EXAMINE": _uidvalidity_abc_on_examine},
        {"EXAMINE": ok("* 1 EXISTS", "* OK [UIDVALIDITY 7]", "* OK [UIDNEXT zz]")},
        {"STATUS": _uidvalidity_abc_in_status},
        {"STATUS": ok("* STATUS INBOX (MESSAGES -1 UIDNEXT 2 UIDVALIDITY 7)")},
        {"LIST": ok("* LIST (\\Noselect")},
        {"UID SEARCH": ok("* SEARCH 1 x 3")},
    ],
    ids=[
        "examine-uidvalidity",
        "examine-uidnext",
        "status-uidvalidity",
        "status-negative",
        "list-unbalanced",
        "search-word",
    ],
)
def test_every_malformed_reply_is_one_account_error(
    tmp_path: Path, replies: dict[str, Reply]
) -> None:
    with (
        ScriptedImapServer({"UID SEARCH": ok("* SEARCH"), **replies}) as server,
        Store.open(tmp_path / "store.sqlite3") as store,
        pytest.raises(ImapError) as caught,
    ):
        sync_imap_account(
            server.account("odd"), Secret("pw-1234", "test"), store, lookback_days=0, now=NOW
        )
    message = str(caught.value)
    assert message.startswith("account 'odd': 127.0.0.1:")
    assert "\n" not in message and "\r" not in message


# -- item: a message left out of a FETCH reply ------------------------------------------------


class FetchDroppingProxy:
    """A plain-text proxy in front of Dovecot that, while `drop_uid` is set, removes the
    `* N FETCH (UID <drop_uid> ...)` response (with its literals) from what the server sends.

    Dovecot never leaves a message out of a FETCH reply that ends OK; some servers do.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.drop_uid: int | None = None
        self.dropped = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            self._start(self._pump_client, client, server)
            self._start(self._pump_server, server, client)

    def _pump_client(self, client: socket.socket, server: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                server.sendall(data)
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)

    def _pump_server(self, server: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError), server.makefile("rb") as stream:
            while line := stream.readline():
                response = [line]
                while (literal := re.search(rb"\{(\d+)\}\r\n$", response[-1])) is not None:
                    response.append(stream.read(int(literal.group(1))))
                    response.append(stream.readline())
                if self._dropped(line):
                    continue
                client.sendall(b"".join(response))
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)

    def _dropped(self, line: bytes) -> bool:
        if self.drop_uid is None or re.match(rb"\* \d+ FETCH \(", line) is None:
            return False
        if re.search(rb"[( ]UID %d[ )]" % self.drop_uid, line) is None:
            return False
        self.dropped += 1
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self.threads:
            thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def test_a_message_left_out_of_a_fetch_reply_is_fetched_next_time(
    imap_server: DovecotServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    user = imap_server.add_user()
    uids = [
        imap_server.append(
            user,
            "INBOX",
            make_message(
                from_="Ana <ana@acme.example>",
                to=user.address,
                subject=f"Note {number}",
                date=NOW - dt.timedelta(hours=number),
            ),
        )
        for number in range(5)
    ]
    proxy = FetchDroppingProxy((imap_server.host, imap_server.port))
    account = Account(
        name="left-out",
        addresses=(user.address,),
        host="127.0.0.1",
        port=proxy.port,
        security="none",
        username=user.name,
        timeout_seconds=10.0,
    )
    secret = Secret(user.password, "test")
    try:
        with Store.open(tmp_path / "store.sqlite3") as store:
            proxy.drop_uid = uids[2]
            with caplog.at_level("WARNING"):
                first = sync_imap_account(account, secret, store, lookback_days=30, now=NOW)
            assert proxy.dropped == 1
            assert first.new == 4
            (state,) = [s for s in store.folder_states("left-out").values() if s.name == "INBOX"]
            assert state.last_uid == uids[2] - 1  # the position stops just below it
            warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
            assert warnings == [
                f"left-out: the server left 1 message(s) of folder 'INBOX' out of its FETCH "
                f"reply (UID {uids[2]}); they will be fetched on the next sync"
            ]

            proxy.drop_uid = None
            second = sync_imap_account(account, secret, store, lookback_days=30, now=NOW)
            assert second.new == 1  # only the one left out: the others are stored already
            subjects = sorted(m.subject for m in store.messages(folder="INBOX"))
            assert subjects == [f"Note {number}" for number in range(5)]
            (state,) = [s for s in store.folder_states("left-out").values() if s.name == "INBOX"]
            assert state.last_uid == uids[-1] and state.server_messages == 5
            third = sync_imap_account(account, secret, store, lookback_days=30, now=NOW)
            assert third.new == 0 and not third.folders  # nothing changed: no folder opened
    finally:
        proxy.close()


# -- a SEARCH reply over imaplib's 1 MB line limit ---------------------------------------------


def test_a_folder_of_200000_messages_can_be_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`UID SEARCH UID 1:*` of a big folder (a Gmail All Mail, an archive read with
    lookback_days = 0) is one line of 1.3 MB, which plain imaplib refuses."""
    count = 200_000
    monkeypatch.setattr("watcher.mail.imap.FETCH_BATCH", 100_000)  # two round trips, not 400
    every_uid = "* SEARCH " + " ".join(map(str, range(1, count + 1)))
    assert len(every_uid) > 1_000_000

    def search(tag: bytes, arguments: bytes) -> Iterable[bytes]:
        whole_folder = arguments.endswith(b":*")
        return ok(every_uid if whole_folder else "* SEARCH")(tag, arguments)

    with (
        ScriptedImapServer(
            {
                "EXAMINE": ok(
                    f"* {count} EXISTS",
                    "* OK [UIDVALIDITY 7] UIDs",
                    f"* OK [UIDNEXT {count + 1}] n",
                ),
                "STATUS": ok(
                    f"* STATUS INBOX (MESSAGES {count} UIDNEXT {count + 1} UIDVALIDITY 7)"
                ),
                "UID SEARCH": search,
                "UID FETCH": ok(),  # nothing comes back: the messages count as expunged meanwhile
            }
        ) as server,
        Store.open(tmp_path / "store.sqlite3") as store,
    ):
        report = sync_imap_account(
            server.account("odd"), Secret("pw-1234", "test"), store, lookback_days=0, now=NOW
        )
    assert [f.name for f in report.folders] == ["INBOX"]
    assert server.counts["UID FETCH"] == 2


def test_a_flood_of_untagged_lines_in_any_answer_fails_the_account(tmp_path: Path) -> None:
    """imaplib keeps every untagged line until the command ends: a million `* 1 EXISTS` in
    answer to LIST must end that account's sync, not fill the memory."""
    flood = "\r\n".join(["* 1 EXISTS"] * 1_000_000)
    with (
        ScriptedImapServer({"LIST": ok(flood, '* LIST () "/" INBOX')}) as server,
        Store.open(tmp_path / "store.sqlite3") as store,
        pytest.raises(ImapError, match="MiB in answer to one command"),
    ):
        sync_imap_account(
            server.account("odd"), Secret("pw-1234", "test"), store, lookback_days=0, now=NOW
        )
