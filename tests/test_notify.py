"""sd_notify over a real AF_UNIX datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher.service import notify


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound to a path, and the NOTIFY_SOCKET value naming it."""
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        yield sock, str(path)


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def nothing_waiting(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        sock.recv(4096)
    except TimeoutError:
        return True
    return False


def test_ready_status_watchdog_stopping(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, address = listener
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert notify.ready()
    assert received(sock) == "READY=1"
    assert notify.ready(status="first sync running")
    assert received(sock) == "READY=1\nSTATUS=first sync running"
    assert notify.status("last sync 07:10,\n3 threads due")
    assert received(sock) == "STATUS=last sync 07:10, 3 threads due"  # one line
    assert notify.watchdog_interval() == 15.0
    assert notify.watchdog()
    assert received(sock) == "WATCHDOG=1"
    assert notify.stopping()
    assert received(sock) == "STOPPING=1"


def test_abstract_socket_name(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"watcher-test-{secrets.token_hex(6)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify.status("hello")
        assert received(sock) == "STATUS=hello"


def test_environ_can_be_passed_instead_of_read(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    assert notify.notify("READY=1", environ={"NOTIFY_SOCKET": address})
    assert received(sock) == "READY=1"


def test_no_socket_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert not notify.ready()
    assert not notify.status("x")
    assert not notify.watchdog()
    assert not notify.stopping()
    assert notify.watchdog_interval() is None


def test_a_dead_socket_or_odd_value_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    assert not notify.ready()
    monkeypatch.setenv("NOTIFY_SOCKET", "relative/path")
    assert not notify.ready()


def test_watchdog_only_for_our_pid(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, address = listener
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert notify.watchdog_interval() is None
    assert not notify.watchdog()
    assert nothing_waiting(sock)
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert notify.watchdog_interval() == 1.0
    assert notify.watchdog()
    sock.settimeout(2)
    assert received(sock) == "WATCHDOG=1"
    for bad in ("0", "-5", "soon"):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert notify.watchdog_interval() is None
