"""A recording TCP proxy for IMAP, and a parser for the commands a client sent through it.

    with RecordingProxy(("127.0.0.1", server.port)) as proxy:
        ... connect a client to proxy.host:proxy.port (security = "none": plain text) ...
    names = [c.name for c in proxy.commands()]

Every byte the client sends is recorded per connection; `parse_commands` cuts that stream into
tagged commands (`TAG NAME ARGS`, `TAG UID FETCH ...`), skipping literal payloads (`{N}`,
`{N+}`, `~{N}`) so that mail inside an APPEND can never be mistaken for a command. After
STARTTLS the stream is encrypted: parsing stops there and the recording says so
(`Recording.encrypted`), so a test can insist on a complete, plain-text record.

Also usable to put a server behind another address (e.g. 127.0.0.2): a client then checks the
server's certificate against a name the certificate does not cover.

`collecting_smtp` is the SMTP side of such tests: a STARTTLS + AUTH server on 127.0.0.1 that
keeps what it receives (and every login tried) instead of delivering it anywhere, so the
mailbox under test stays untouched.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = [
    "Command",
    "Recording",
    "RecordingProxy",
    "SmtpCollector",
    "collecting_smtp",
    "parse_commands",
]

_LITERAL = re.compile(rb"~?\{(\d+)\+?\}\Z")
_TAG = re.compile(rb"[A-Za-z0-9.+_-]+\Z")
_TLS_RECORD = (b"\x16\x03",)  # a TLS handshake record: the client started TLS


@dataclass(frozen=True)
class Command:
    """One command line as sent (literal payloads replaced by `{N}`), with its name."""

    tag: str
    name: str  # upper-case: "FETCH", "UID FETCH", "DONE", "+" (a continuation line)
    line: str


@dataclass
class Recording:
    """The commands of one connection, and whether the rest of it was encrypted."""

    commands: list[Command] = field(default_factory=list)
    encrypted: bool = False


def parse_commands(stream: bytes) -> Recording:
    """The client's side of one IMAP connection, as commands."""
    recording = Recording()
    position = 0
    previous = ""
    while position < len(stream):
        if stream.startswith(_TLS_RECORD, position):
            recording.encrypted = True
            break
        parts: list[bytes] = []
        while True:
            end = stream.find(b"\r\n", position)
            if end < 0:  # an unterminated last line (the connection was cut)
                parts.append(stream[position:])
                position = len(stream)
                break
            piece = stream[position:end]
            position = end + 2
            literal = _LITERAL.search(piece)
            if literal is None:
                parts.append(piece)
                break
            size = int(literal.group(1))
            parts.append(piece + b"<literal %d bytes>" % size)
            position += size  # the payload: data, never a command
        line = b"".join(parts)
        if not line:
            continue
        command = _command(line, previous)
        recording.commands.append(command)
        if command.name != "+":
            previous = command.name
    return recording


def _command(line: bytes, previous: str) -> Command:
    text = line.decode("utf-8", "replace")
    if line.upper() == b"DONE":  # ends IDLE: the one untagged command
        return Command("", "DONE", text)
    words = line.split(b" ")
    if previous == "AUTHENTICATE" and (len(words) == 1 or line == b"*"):
        return Command("", "+", text)  # a SASL response line (base64), or "*" to cancel
    if len(words) < 2 or not _TAG.match(words[0]) or not words[1].isalpha():
        return Command("", "?", text)  # not a command: the tests flag it
    name = words[1].decode().upper()
    if name == "UID" and len(words) > 2:
        name = f"UID {words[2].decode('utf-8', 'replace').upper()}"
    return Command(words[0].decode(), name, text)


class RecordingProxy:
    """Forwards TCP connections from (listen_host, a free port) to `target`, recording the
    client's bytes of each connection."""

    def __init__(self, target: tuple[str, int], listen_host: str = "127.0.0.1") -> None:
        self.target = target
        self.host = listen_host
        self._listener = socket.create_server((listen_host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._streams: list[bytearray] = []
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            stream = bytearray()
            with self._lock:
                if self._closed:
                    client.close()
                    server.close()
                    return
                self._streams.append(stream)
                self._sockets += [client, server]
                pumps = [
                    threading.Thread(target=self._pump, args=(client, server, stream), daemon=True),
                    threading.Thread(target=self._pump, args=(server, client, None), daemon=True),
                ]
                self._threads += pumps
            for pump in pumps:
                pump.start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bytearray | None) -> None:
        try:
            while data := source.recv(65536):
                if record is not None:
                    with self._lock:
                        record.extend(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def streams(self) -> list[bytes]:
        """What each client sent so far, one bytes per connection, in connection order."""
        with self._lock:
            return [bytes(s) for s in self._streams]

    def recordings(self) -> list[Recording]:
        return [parse_commands(stream) for stream in self.streams()]

    def commands(self) -> list[Command]:
        return [c for recording in self.recordings() for c in recording.commands]

    def clear(self) -> None:
        with self._lock:
            self._streams.clear()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets = list(self._sockets)
        # shutdown() first: on Linux, close() alone does not wake a thread blocked in
        # accept() or recv() on that socket.
        for sock in (self._listener, *sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._acceptor.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class SmtpCollector:
    """What a `collecting_smtp` server saw."""

    port: int = 0
    messages: list[bytes] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(bytes(envelope.original_content or envelope.content))
        return "250 OK"


@contextlib.contextmanager
def collecting_smtp(
    cert_file: Path, key_file: Path, username: str, password: str
) -> Iterator[SmtpCollector]:
    """An SMTP server on 127.0.0.1 (STARTTLS required, AUTH required) that keeps messages."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_file), str(key_file))
    collector = SmtpCollector()

    def authenticate(
        _server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        collector.logins.append((data.login, data.password))
        ok = data.login == username.encode() and data.password == password.encode()
        return AuthResult(success=ok and mechanism in ("LOGIN", "PLAIN"), handled=False)

    with socket.socket() as probe:  # aiosmtpd 1.4 cannot start on port 0: pick a free one
        probe.bind(("127.0.0.1", 0))
        collector.port = probe.getsockname()[1]
    controller = Controller(
        collector,
        hostname="127.0.0.1",
        port=collector.port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticate,
    )
    controller.start()
    try:
        yield collector
    finally:
        controller.stop()
