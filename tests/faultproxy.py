"""A fault-injection TCP proxy for tests: put it between the watcher and a server, then break it.

It listens on 127.0.0.1 (a free port) and forwards every connection to one upstream address,
byte for byte (TLS passes through untouched: the certificate is the server's). On command it:

- `delay(seconds)`: holds every chunk that long before passing it on (both directions);
- `stall(after=N, direction=...)`: stops forwarding (after N more bytes) but keeps both
  sockets open, so the client sees a server that says nothing;
- `cut(after=N, direction=...)`: passes exactly N more bytes, then closes that connection
  (FIN both ways; `reset=True` for an RST);
- `refuse()`: closes the listening socket, so new connections are refused (ECONNREFUSED);
- `disconnect()`: closes every open connection now;
- `heal()`: back to plain forwarding (a stall is released, a pending cut disarmed, the port
  reopened).

Bytes are counted from the moment a rule is set, over all connections, per direction:
"server" is what the upstream sends to the client, "client" what the client sends upstream.
A cut fires once and is then disarmed; a stall lasts until `heal()`. Counters
(`bytes_from_server`, `bytes_from_client`, `connections`, `cuts`) are totals since start.

Thread-safe: one acceptor thread, two pump threads per connection, all state under one lock.
`stop()` (or leaving the `with` block) closes every socket and joins every thread.

    with FaultProxy(("127.0.0.1", server_port)) as proxy:
        proxy.cut(after=200_000)          # the next 200 kB from the server, then cut
        ...connect to proxy.port...
"""

from __future__ import annotations

import contextlib
import dataclasses
import select
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Literal, Self

__all__ = ["Direction", "FaultProxy"]

Direction = Literal["server", "client"]
HOST = "127.0.0.1"
CHUNK = 65536
POLL = 0.05  # seconds: how often the acceptor looks at its orders


@dataclasses.dataclass
class _Rule:
    """Stall or cut once `budget` more bytes have gone in `direction`."""

    action: Literal["stall", "cut"]
    direction: Direction
    budget: int
    reset: bool = False
    tripped: bool = False


class _Connection:
    """One proxied connection: the client's socket, the upstream socket, two pumps."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.threads: list[threading.Thread] = []
        self.pumps_done = 0
        self.resetting = False
        self.closed = False

    def shutdown(self, *, reset: bool = False) -> None:
        """Wake both pumps (a blocked recv returns) and end the connection for both peers.

        Plain: FIN both ways. `reset`: no FIN, and the close that follows sends an RST.
        """
        self.resetting = self.resetting or reset
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                if self.resetting:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RD)
                else:
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.client.close()
        self.upstream.close()


class FaultProxy:
    """See the module docstring. Start with `start()` or `with FaultProxy(...) as proxy`."""

    def __init__(self, upstream: tuple[str, int], *, host: str = HOST) -> None:
        self.upstream = upstream
        self.host = host
        self.port = 0
        self._lock = threading.Condition()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._connections: list[_Connection] = []
        self._pumps: list[threading.Thread] = []  # every pump not yet joined
        self._stopping = threading.Event()
        self._refusing = False
        self._listening = threading.Event()  # the acceptor's answer to refuse()/heal()
        self._delay = 0.0
        self._rule: _Rule | None = None
        self.bytes_from_server = 0
        self.bytes_from_client = 0
        self.connections = 0
        self.cuts = 0

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> Self:
        self._listener = self._listen(0)
        self.port = self._listener.getsockname()[1]
        self._listening.set()
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"faultproxy-accept-{self.port}", daemon=True
        )
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Close every socket and join every thread; safe to call twice."""
        self._stopping.set()
        with self._lock:
            self._lock.notify_all()  # stalled pumps wake up and leave
        if self._acceptor is not None:
            self._acceptor.join(timeout=10)
            self._acceptor = None
        with self._lock:
            connections = list(self._connections)
            pumps = list(self._pumps)
        for connection in connections:
            connection.shutdown()
        for thread in pumps:  # those of closed connections too: they may still be ending
            thread.join(timeout=10)
        with self._lock:
            leftover = [c for c in self._connections if not c.closed]
            for connection in leftover:
                connection.closed = True
            self._connections.clear()
            self._pumps.clear()
        for connection in leftover:  # pumps that did not end in time: close anyway
            connection.close()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    # -- orders --------------------------------------------------------------------------

    def heal(self) -> None:
        """Plain forwarding again: no delay, no stall, no pending cut, accepting."""
        with self._lock:
            self._delay = 0.0
            self._rule = None
            self._refusing = False
            self._lock.notify_all()
        self._wait_listening(True)

    def delay(self, seconds: float) -> None:
        """Hold every chunk `seconds` before passing it on (0 to stop delaying)."""
        with self._lock:
            self._delay = max(0.0, seconds)

    def stall(self, *, after: int = 0, direction: Direction = "server") -> None:
        """Stop forwarding once `after` more bytes went in `direction`; sockets stay open."""
        with self._lock:
            self._rule = _Rule("stall", direction, max(0, after))

    def cut(self, *, after: int = 0, direction: Direction = "server", reset: bool = False) -> None:
        """Pass `after` more bytes in `direction`, then close that connection (once)."""
        with self._lock:
            self._rule = _Rule("cut", direction, max(0, after), reset=reset)

    def refuse(self) -> None:
        """Close the listening socket: new connections get ECONNREFUSED until `heal()`."""
        with self._lock:
            self._refusing = True
        self._wait_listening(False)

    def disconnect(self, *, reset: bool = False) -> int:
        """Close every open connection now; returns how many there were."""
        with self._lock:
            open_ones = [c for c in self._connections if not c.closed]
        for connection in open_ones:
            connection.shutdown(reset=reset)
        return len(open_ones)

    @property
    def stalled(self) -> bool:
        """Whether a stall is in force (set, and its byte budget used up)."""
        with self._lock:
            rule = self._rule
            return rule is not None and rule.action == "stall" and rule.tripped

    def open_connections(self) -> int:
        with self._lock:
            return sum(not c.closed for c in self._connections)

    # -- internals -----------------------------------------------------------------------

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, port))
            listener.listen(64)
        except BaseException:
            listener.close()
            raise
        return listener

    def _wait_listening(self, wanted: bool) -> None:
        deadline = time.monotonic() + 5
        while self._listening.is_set() != wanted and self._acceptor is not None:
            if time.monotonic() > deadline:
                raise RuntimeError("the proxy's acceptor did not answer")
            time.sleep(POLL / 5)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                refusing = self._refusing
            if refusing and self._listener is not None:
                self._listener.close()
                self._listener = None
                self._listening.clear()
            elif not refusing and self._listener is None:
                try:
                    self._listener = self._listen(self.port)
                except OSError:
                    time.sleep(POLL)
                    continue
                self._listening.set()
            if self._listener is None:
                time.sleep(POLL)
                continue
            ready, _, _ = select.select([self._listener], [], [], POLL)
            if not ready:
                continue
            try:
                client, _peer = self._listener.accept()
            except OSError:
                continue
            self._open(client)

    def _open(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()  # the upstream is down: so is the proxy, for this client
            return
        connection = _Connection(client, upstream)
        with self._lock:
            if self._stopping.is_set():
                connection.closed = True
                connection.close()
                return
            self.connections += 1
            number = self.connections
            self._connections.append(connection)
            for source, target, direction in (
                (client, upstream, "client"),
                (upstream, client, "server"),
            ):
                thread = threading.Thread(
                    target=self._pump,
                    args=(connection, source, target, direction),
                    name=f"faultproxy-{self.port}-{number}-{direction}",
                    daemon=True,
                )
                connection.threads.append(thread)
            self._pumps = [t for t in self._pumps if t.is_alive()]
            self._pumps.extend(connection.threads)
            for thread in connection.threads:
                thread.start()

    def _pump(
        self,
        connection: _Connection,
        source: socket.socket,
        target: socket.socket,
        direction: Direction,
    ) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    data = source.recv(CHUNK)
                except OSError:
                    break
                if not data:
                    if not connection.resetting:
                        # Half-close, as the peer did: the other direction may still carry data.
                        with contextlib.suppress(OSError):
                            target.shutdown(socket.SHUT_WR)
                    return
                if not self._forward(connection, target, direction, data):
                    break
            connection.shutdown()
        finally:
            self._finish(connection)

    def _forward(
        self, connection: _Connection, target: socket.socket, direction: Direction, data: bytes
    ) -> bool:
        """Pass `data` on as the orders say; False when this connection is to end."""
        with self._lock:
            delay = self._delay
        if delay and self._stopping.wait(delay):
            return False
        while data:
            with self._lock:
                rule = self._rule
                if rule is None or rule.direction != direction:
                    allowed = len(data)
                elif rule.tripped:
                    allowed = 0  # a stall in force holds every connection
                else:
                    allowed = min(len(data), rule.budget)
                    rule.budget -= allowed
                    rule.tripped = rule.budget == 0
                if direction == "server":
                    self.bytes_from_server += allowed
                else:
                    self.bytes_from_client += allowed
            if allowed:
                try:
                    target.sendall(data[:allowed])
                except OSError:
                    return False
                data = data[allowed:]
            if rule is not None and rule.tripped and rule.direction == direction:
                if rule.action == "cut":
                    with self._lock:
                        self._rule = None  # fires once
                        self.cuts += 1
                    connection.shutdown(reset=rule.reset)
                    return False
                if not self._wait_while_stalled(rule):
                    return False
        return True

    def _wait_while_stalled(self, rule: _Rule) -> bool:
        """Hold the pump while `rule` is the stall in force; False when stopping."""
        with self._lock:
            while self._rule is rule and not self._stopping.is_set():
                self._lock.wait(POLL)
        return not self._stopping.is_set()

    def _finish(self, connection: _Connection) -> None:
        """The last of the two pumps of `connection` to end closes its sockets."""
        with self._lock:
            connection.pumps_done += 1
            last = connection.pumps_done == len(connection.threads) and not connection.closed
            if last:
                connection.closed = True
                self._connections.remove(connection)
        if last:
            connection.close()
