"""A scripted IMAP server for tests: replies Dovecot never sends, on 127.0.0.1.

    with ScriptedImapServer({"EXAMINE": ok("* 1 EXISTS", "* OK [UIDVALIDITY abc] UIDs")}) as server:
        ... connect a client to 127.0.0.1:server.port (security = "none": plain text) ...
    assert server.counts["UID FETCH"] == 2

The server reads one command a line (no literals) and answers it from `replies`, keyed by the
upper-case command name ("LOGIN", "EXAMINE"; "UID FETCH", "UID SEARCH" for UID commands),
laid over `INBOX`: enough for a login and one folder, INBOX, holding one message. A command
with no reply gets `unscripted` (`BAD not scripted` unless told); the connection ends after
LOGOUT. A reply is a callable `(tag, arguments) -> Iterable[bytes]`: each chunk is sent as
soon as it is produced, so a generator can stream hundreds of MB without holding them.
`ok`, `answer` and `once` build the usual ones.

`received` keeps every command line (decoded, without CRLF) and `counts` how many times each
command came. One thread accepts, one thread serves each connection (socketserver);
`close()` (or leaving the `with` block) stops accepting, cuts open connections, joins every
thread and raises the first exception a reply raised, if any.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Self

from watcher.config.settings import Account

__all__ = ["GREETING", "INBOX", "Reply", "ScriptedImapServer", "answer", "ok", "once"]

Reply = Callable[[bytes, bytes], Iterable[bytes]]  # (tag, arguments) -> chunks to send

GREETING = b"* OK [CAPABILITY IMAP4rev1 LITERAL+] scripted server ready\r\n"


def _line(text: str | bytes) -> bytes:
    return (text.encode() if isinstance(text, str) else text) + b"\r\n"


def answer(status: str | bytes, *untagged: str | bytes) -> Reply:
    """A reply of these untagged lines, then `<tag> <status>` (a CRLF after each line)."""
    before = b"".join(_line(line) for line in untagged)
    after = b" " + _line(status)
    return lambda tag, _arguments: [before + tag + after]


def ok(*untagged: str | bytes) -> Reply:
    """A reply of these untagged lines, then `<tag> OK done`."""
    return answer("OK done", *untagged)


def once(first: Reply, *, then: Reply) -> Reply:
    """`first` for the first command it answers (on any connection), `then` for the others."""
    calls = itertools.count()
    return lambda tag, arguments: (first if next(calls) == 0 else then)(tag, arguments)


INBOX: dict[str, Reply] = {
    "CAPABILITY": ok("* CAPABILITY IMAP4rev1 LITERAL+"),
    "LOGIN": ok(),
    "NOOP": ok(),
    "LOGOUT": ok("* BYE see you"),
    "LIST": ok('* LIST () "/" INBOX'),
    "STATUS": ok("* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 7)"),
    "EXAMINE": ok("* 1 EXISTS", "* OK [UIDVALIDITY 7] UIDs", "* OK [UIDNEXT 2] next"),
    "UID SEARCH": ok("* SEARCH"),
}


def _parse(line: bytes) -> tuple[bytes, str, bytes]:
    """`TAG NAME ARGS` -> (tag, upper-case name, arguments); `TAG UID NAME ARGS` -> `UID NAME`."""
    tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
    command, _, arguments = rest.partition(b" ")
    if command.upper() == b"UID":
        sub, _, arguments = arguments.partition(b" ")
        command += b" " + sub
    return tag, command.decode("ascii", "replace").upper(), arguments


class _Listener(socketserver.ThreadingTCPServer):
    """Calls `serve(connection)` in a thread of its own for every connection."""

    block_on_close = True  # server_close() joins the connection threads
    daemon_threads = False

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        self.serve = serve
        self.errors: list[BaseException] = []
        super().__init__(("127.0.0.1", 0), socketserver.BaseRequestHandler)

    def finish_request(self, request: socket.socket, client_address: object) -> None:
        self.serve(request)

    def handle_error(self, request: object, client_address: object) -> None:
        if (error := sys.exc_info()[1]) is not None:  # a reply raised: close() raises it
            self.errors.append(error)


class ScriptedImapServer:
    """A plain-text IMAP server on 127.0.0.1 (a free port) answering from `replies`."""

    def __init__(
        self,
        replies: Mapping[str, Reply] | None = None,
        *,
        greeting: bytes = GREETING,
        unscripted: Reply | None = None,
    ) -> None:
        self.replies = {**INBOX, **(replies or {})}
        self.greeting = greeting
        self.unscripted = unscripted or answer("BAD not scripted")
        self.received: list[str] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closing = False
        self._listener = _Listener(self._serve)
        self.port: int = self._listener.server_address[1]
        self._acceptor = threading.Thread(
            target=self._listener.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._acceptor.start()

    def account(self, name: str, *, user: str = "me") -> Account:
        """A config account that logs in here: plain text on loopback, a short timeout."""
        return Account(
            name=name,
            addresses=(f"{user}@example.test",),
            host="127.0.0.1",
            port=self.port,
            security="none",
            username=user,
            timeout_seconds=5.0,
        )

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            if self._closing:  # accepted just before close(): close() cannot wake it
                return
            self._open.add(conn)
        try:
            with contextlib.suppress(OSError), conn.makefile("rb") as stream:
                conn.sendall(self.greeting)
                for line in stream:
                    tag, command, arguments = _parse(line)
                    with self._lock:
                        self.received.append(line.decode("utf-8", "replace").rstrip("\r\n"))
                        self.counts[command] += 1
                    for chunk in self.replies.get(command, self.unscripted)(tag, arguments):
                        conn.sendall(chunk)
                    if command == "LOGOUT":
                        return
        finally:
            with self._lock:
                self._open.discard(conn)

    def close(self) -> None:
        self._listener.shutdown()  # no more accept(); returns once serve_forever has
        with self._lock:
            self._closing = True
            for conn in self._open:  # wakes a thread blocked in recv() or sendall()
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._listener.server_close()  # closes the port, joins the connection threads
        self._acceptor.join(timeout=5)
        if self._listener.errors:
            raise self._listener.errors[0]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()
