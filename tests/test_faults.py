"""Faults between the watcher and its servers, injected by `faultproxy.FaultProxy`.

- the proxy itself, against a tiny echo server: forwarding, delay, stall, cut, refuse;
- IMAP: a connection cut in the middle of a bulk FETCH fails the sync with one line, and the
  next sync resumes after the last stored batch: every message stored exactly once;
- IMAP: a server that stops answering is given up after `timeout_seconds`, with an error that
  says so, instead of hanging;
- SMTP: the connection cut during DATA fails `watcher digest --send` with one line; the next
  run delivers, and exactly one digest arrives;
- (slow) crash consistency: `kill -9` during a large sync and during a digest send, then run
  again: a sound store with the same facts as an uninterrupted sync, one digest
  (a short version of `bench/crash.py`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import random
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller
from configs import write_digest_config
from demomailbox import NOW, seed_demo
from dovecot import DovecotServer, MailUser
from faultproxy import FaultProxy
from imapaccount import account_for
from smtpserver import InboxDelivery, digests_in_inbox
from watcherproc import finish, watcher

from watcher.credentials import Secret
from watcher.errors import ImapError
from watcher.mail.imap import FETCH_BATCH, sync_imap_account
from watcher.model import MessageFacts
from watcher.store.store import Store

T = TypeVar("T")
SYNC_NOW = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
BULK_MESSAGES = 3000  # six FETCH batches of 500
TIMEOUT = 2.0  # the account's timeout_seconds in the stall tests


# -- helpers --------------------------------------------------------------------------------


class EchoServer:
    """Upstream for the proxy's own tests: sends `greeting` on connect, then echoes."""

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(self.greeting)
            while data := conn.recv(65536):
                conn.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.accepting.join(timeout=5)
        for conn in self.sockets:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self.threads:
            thread.join(timeout=5)
        for conn in self.sockets:
            conn.close()


@contextlib.contextmanager
def echo_behind_proxy(greeting: bytes = b"") -> Iterator[tuple[EchoServer, FaultProxy]]:
    server = EchoServer(greeting)
    proxy = FaultProxy(("127.0.0.1", server.port))
    try:
        proxy.start()
        yield server, proxy
    finally:
        proxy.stop()
        server.close()


def read_all(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """Everything until EOF (or `limit` bytes)."""
    chunks = []
    total = 0
    while total < limit:
        data = sock.recv(65536)
        if not data:
            break
        chunks.append(data)
        total += len(data)
    return b"".join(chunks)


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def bounded(function: Callable[[], T], seconds: float) -> T:
    """Run `function` in a thread; fail the test (not hang it) if it takes over `seconds`."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(("ok", function()))
        except BaseException as exc:
            outcome.append(("error", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds:g} s: it hangs", pytrace=False)
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


def small_message(number: int, tag: str) -> tuple[bytes, str]:
    """A small plain-text message and its Message-ID (built by hand: thousands are needed)."""
    message_id = f"<fault-{tag}-{number}@acme.example>"
    date = email.utils.format_datetime(SYNC_NOW - dt.timedelta(minutes=number))
    raw = (
        "From: Ana <ana@acme.example>\r\n"
        "To: me@example.test\r\n"
        f"Subject: note {number}\r\n"
        f"Date: {date}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Hello, this is note {number}.\r\n"
    ).encode()
    return raw, message_id


class BulkMailbox:
    """A new user whose INBOX holds `count` small messages."""

    def __init__(self, server: DovecotServer, count: int = BULK_MESSAGES) -> None:
        self.server = server
        self.user = server.add_user()
        tag = secrets.token_hex(4)
        made = [small_message(n, tag) for n in range(count)]
        self.uids = server.append_many(self.user, "INBOX", [raw for raw, _ in made])
        self.message_ids = {message_id for _, message_id in made}


@pytest.fixture(scope="module")
def bulk(imap_server: DovecotServer) -> BulkMailbox:
    return BulkMailbox(imap_server)


class ArmingStore(Store):
    """A store that calls `after_batch(number)` as each batch of messages is written."""

    after_batch: Callable[[int], None] = staticmethod(lambda _number: None)
    batches = 0

    def put_messages(self, account: str, folder: str, messages: Any) -> int:
        facts: list[MessageFacts] = list(messages)
        stored = super().put_messages(account, folder, facts)
        if facts:
            self.batches += 1
            # Still inside the batch's transaction: arm just before the next FETCH is sent.
            self.after_batch(self.batches)
        return stored


def sync_through(
    proxy: FaultProxy,
    bulk: BulkMailbox,
    path: Path,
    *,
    after_batch: Callable[[int], None] | None = None,
    **changes: object,
) -> int:
    """One sync of `bulk`'s user through `proxy` into the store at `path`; the new count."""
    store = ArmingStore.open(path)
    assert isinstance(store, ArmingStore)
    with store:
        if after_batch is not None:
            store.after_batch = after_batch
        report = sync_imap_account(
            account_for(bulk.server, bulk.user, port=proxy.port, **changes),
            Secret(bulk.user.password, "test"),
            store,
            lookback_days=0,
            now=SYNC_NOW,
        )
    return report.new


def stored_ids(path: Path) -> list[str]:
    with Store.open(path) as store:
        assert store.integrity_ok()
        return [m.message_id for m in store.messages()]


# -- the proxy itself -----------------------------------------------------------------------


def test_proxy_forwards_both_ways_and_counts() -> None:
    with echo_behind_proxy(b"hello\r\n") as (_server, proxy):
        with socket.create_connection(proxy.address, timeout=5) as client:
            assert read_exactly(client, 7) == b"hello\r\n"
            client.sendall(b"x" * 100_000)
            assert read_exactly(client, 100_000) == b"x" * 100_000
        assert proxy.bytes_from_client == 100_000
        assert proxy.bytes_from_server == 100_007
        assert proxy.connections == 1


def test_proxy_cuts_after_exactly_n_server_bytes_once() -> None:
    with echo_behind_proxy(b"g" * 50_000) as (_server, proxy):
        proxy.cut(after=12_345)
        with socket.create_connection(proxy.address, timeout=5) as client:
            assert read_all(client) == b"g" * 12_345  # then EOF
        assert proxy.cuts == 1
        with socket.create_connection(proxy.address, timeout=5) as client:
            assert read_exactly(client, 50_000) == b"g" * 50_000  # the cut fired once


def test_proxy_cuts_after_client_bytes_and_can_reset() -> None:
    with echo_behind_proxy() as (_server, proxy):
        proxy.cut(after=10, direction="client", reset=True)
        with socket.create_connection(proxy.address, timeout=5) as client:
            client.sendall(b"0123456789abcdef")
            with pytest.raises(ConnectionResetError):
                read_all(client)
        assert proxy.bytes_from_client == 10


def test_proxy_stall_keeps_the_socket_open_until_healed() -> None:
    with echo_behind_proxy(b"a" * 1000) as (_server, proxy):
        proxy.stall(after=600)
        with socket.create_connection(proxy.address, timeout=5) as client:
            assert read_exactly(client, 600) == b"a" * 600
            client.settimeout(0.3)
            with pytest.raises(TimeoutError):
                client.recv(1)  # nothing comes, and no EOF either
            assert proxy.stalled
            proxy.heal()
            client.settimeout(5)
            assert read_exactly(client, 400) == b"a" * 400


def test_proxy_delays_each_chunk() -> None:
    with echo_behind_proxy() as (_server, proxy):
        proxy.delay(0.2)
        with socket.create_connection(proxy.address, timeout=5) as client:
            began = time.monotonic()
            client.sendall(b"ping")
            assert read_exactly(client, 4) == b"ping"
            assert time.monotonic() - began >= 0.4  # there and back


def test_proxy_refuses_then_accepts_again_on_the_same_port() -> None:
    with echo_behind_proxy(b"hi") as (_server, proxy):
        port = proxy.port
        proxy.refuse()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(proxy.address, timeout=5).close()
        proxy.heal()
        assert proxy.port == port
        with socket.create_connection(proxy.address, timeout=5) as client:
            assert read_exactly(client, 2) == b"hi"


def test_proxy_stops_cleanly_with_open_and_stalled_connections() -> None:
    with echo_behind_proxy(b"z" * 10) as (_server, proxy):
        proxy.stall(after=5)
        clients = [socket.create_connection(proxy.address, timeout=5)]
        try:
            assert read_exactly(clients[0], 5) == b"zzzzz"
            clients += [socket.create_connection(proxy.address, timeout=5) for _ in range(2)]
            proxy.stop()  # with three open connections, all stalled
            assert proxy.open_connections() == 0
            assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy")]
        finally:
            for client in clients:
                client.close()


# -- IMAP -----------------------------------------------------------------------------------


def test_cut_in_the_middle_of_a_bulk_fetch_resumes_without_loss_or_doubles(
    imap_server: DovecotServer, bulk: BulkMailbox, tmp_path: Path
) -> None:
    path = tmp_path / "watcher.sqlite3"
    with FaultProxy((imap_server.host, imap_server.port)) as proxy:

        def cut_in_batch_three(number: int) -> None:
            if number == 2:  # 100 kB into the third batch's FETCH response (~300 kB)
                proxy.cut(after=100_000)

        with pytest.raises(ImapError) as caught:
            sync_through(proxy, bulk, path, after_batch=cut_in_batch_three)
        assert proxy.cuts == 1
        message = str(caught.value)
        assert "\n" not in message and "Traceback" not in message
        assert message.startswith("account 'test': ")
        assert "closed the connection" in message
        # The two batches stored before the cut are kept; nothing of the third.
        assert len(stored_ids(path)) == 2 * FETCH_BATCH

        proxy.heal()
        new = sync_through(proxy, bulk, path)
    assert new == BULK_MESSAGES - 2 * FETCH_BATCH  # resumed: the first batches not read again
    ids = stored_ids(path)
    assert len(ids) == BULK_MESSAGES  # nothing doubled...
    assert set(ids) == bulk.message_ids  # ...nothing skipped


def test_resuming_after_a_cut_sees_what_changed_meanwhile(
    imap_server: DovecotServer, tmp_path: Path
) -> None:
    """A message expunged while the first sync was cut off is not kept as a ghost."""
    mailbox = BulkMailbox(imap_server, 3 * FETCH_BATCH)
    user, uids = mailbox.user, mailbox.uids
    path = tmp_path / "watcher.sqlite3"
    with FaultProxy((imap_server.host, imap_server.port)) as proxy:

        def cut_in_batch_two(number: int) -> None:
            if number == 1:
                proxy.cut(after=50_000)

        with pytest.raises(ImapError):
            sync_through(proxy, mailbox, path, after_batch=cut_in_batch_two)
        assert len(stored_ids(path)) == FETCH_BATCH
        with imap_server.connect(user) as client:  # the user's mail client, meanwhile
            client.select_folder("INBOX")
            client.delete_messages([uids[10]])  # stored by the cut sync
            client.expunge()
            client.add_flags([uids[20]], ["\\Flagged"])  # stored too
        imap_server.append(user, "INBOX", small_message(9999, "meanwhile")[0])
        proxy.heal()
        sync_through(proxy, mailbox, path)
    server = imap_server.folder_state(user, "INBOX")
    with Store.open(path) as store:
        # (\\Recent is per session: the server state leaves it out, so does the comparison)
        stored = {
            m.uid: tuple(sorted(f for f in m.flags if f != "\\Recent")) for m in store.messages()
        }
    assert stored == server["flags"]  # the expunged one is gone, the flag is seen, new one in
    assert uids[10] not in stored and "\\Flagged" in stored[uids[20]]


@pytest.mark.parametrize("where", ["greeting", "fetch"])
def test_a_stalled_server_times_out_instead_of_hanging(
    imap_server: DovecotServer, bulk: BulkMailbox, tmp_path: Path, where: str
) -> None:
    path = tmp_path / "watcher.sqlite3"
    with FaultProxy((imap_server.host, imap_server.port)) as proxy:

        def stall_in_batch_two(number: int) -> None:
            if number == 1:
                proxy.stall(after=50_000)

        if where == "greeting":
            proxy.stall()
        began = time.monotonic()
        with pytest.raises(ImapError) as caught:
            bounded(
                lambda: sync_through(
                    proxy,
                    bulk,
                    path,
                    after_batch=stall_in_batch_two if where == "fetch" else None,
                    timeout_seconds=TIMEOUT,
                ),
                seconds=30,
            )
        elapsed = time.monotonic() - began
        assert proxy.stalled
    message = str(caught.value)
    assert "\n" not in message
    assert f"did not answer within {TIMEOUT:g} s" in message
    # One timeout for the stalled command, at most one more for the LOGOUT after it.
    assert TIMEOUT <= elapsed < 2 * TIMEOUT + 3
    assert len(stored_ids(path)) == (FETCH_BATCH if where == "fetch" else 0)


def test_refused_connection_is_one_clear_error_and_heals(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    imap_server.append(mail_user, "INBOX", small_message(1, "refused")[0])
    path = tmp_path / "watcher.sqlite3"
    with FaultProxy((imap_server.host, imap_server.port)) as proxy:
        proxy.refuse()
        with Store.open(path) as store, pytest.raises(ImapError) as caught:
            sync_imap_account(
                account_for(imap_server, mail_user, port=proxy.port),
                Secret(mail_user.password, "test"),
                store,
                lookback_days=0,
                now=SYNC_NOW,
            )
        assert "refused the connection; check host, port and security" in str(caught.value)
        proxy.heal()
        proxy.delay(0.01)  # a slow link is no fault
        with Store.open(path) as store:
            sync_imap_account(
                account_for(imap_server, mail_user, port=proxy.port),
                Secret(mail_user.password, "test"),
                store,
                lookback_days=0,
                now=SYNC_NOW,
            )
            assert store.count_messages() == 1


# -- SMTP -----------------------------------------------------------------------------------


def test_smtp_cut_during_data_fails_once_then_exactly_one_digest_arrives(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> None:
    controller, handler = smtp_inbox
    seed_demo(imap_server, mail_user)
    with FaultProxy(("127.0.0.1", controller.port)) as proxy:
        armed: list[bool] = []
        rcpt_seen = threading.Event()

        async def cut_during_data(
            _server: Any, _session: Any, envelope: Any, address: str, options: list[str]
        ) -> str:
            # The recipient is accepted: arm the cut 600 bytes into what the client sends
            # next (the DATA command, then the message), once.
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
            if not armed:
                armed.append(True)
                proxy.cut(after=600, direction="client")
            rcpt_seen.set()
            return "250 OK"

        handler.handle_RCPT = cut_during_data  # type: ignore[attr-defined]  # aiosmtpd hook
        config = write_digest_config(
            tmp_path / "c.toml", imap_server, mail_user, proxy.port, tmp_path / "s"
        )
        assert finish(watcher(config, mail_user, "sync"))[0] == 0

        code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
        assert rcpt_seen.is_set() and proxy.cuts == 1
        assert code == 1, out
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "closed the connection" in err and "it will be retried" in err
        assert handler.received == []  # cut before the end of DATA: nothing delivered
        assert digests_in_inbox(imap_server, mail_user) == 0

        proxy.heal()
        code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
        assert code == 0, err
        assert "digest sent to maya@lindqvist-studio.example" in out
        code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
        assert code == 0 and "was sent already" in out, err
    assert len(handler.received) == 1
    assert digests_in_inbox(imap_server, mail_user) == 1


# -- crash consistency (short version of bench/crash.py) -------------------------------------


@pytest.mark.slow
def test_kill_9_during_sync_and_digest_send_converges(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> None:
    bench = str(Path(__file__).resolve().parent.parent / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    import crash

    controller, handler = smtp_inbox
    rng = random.Random(20261123)
    mailbox = crash.seed_bulk(imap_server, 2000)
    syncs = crash.crash_syncs(imap_server, mailbox, tmp_path / "sync", runs=5, rng=rng)
    assert len(syncs.runs) == 5
    assert syncs.all_good, syncs.describe()
    digests = crash.crash_digests(
        imap_server, controller, handler, tmp_path / "digest", runs=5, rng=rng
    )
    assert len(digests.runs) == 5
    assert digests.all_good, digests.describe()
