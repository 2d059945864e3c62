"""Tell systemd how the daemon is doing (`Type=notify`), without python-systemd.

The protocol (sd_notify(3)): newline-separated `KEY=VALUE` lines in one datagram to the
AF_UNIX socket named by `$NOTIFY_SOCKET`, a path or, when it starts with "@", an abstract
name. Nothing is sent when the variable is unset (not under systemd, or `Type=simple`), and a
failure to send is logged at DEBUG and otherwise ignored: the daemon never stops over it.

`$WATCHDOG_USEC` asks for `WATCHDOG=1` at least that often; it applies to us when
`$WATCHDOG_PID` is unset or is our pid. The environment is read at each call.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

logger = logging.getLogger(__name__)


def notify(*fields: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `fields` (e.g. "READY=1") to systemd; False when not under systemd or it failed."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address or not fields:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket name
    elif not address.startswith("/"):
        logger.debug("NOTIFY_SOCKET=%r is neither a path nor @name; not notifying", address)
        return False
    payload = "\n".join(fields).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(payload)
    except OSError as exc:
        logger.debug("could not notify systemd (%s): %s", env.get("NOTIFY_SOCKET"), exc)
        return False
    return True


def ready(status: str = "", environ: Mapping[str, str] | None = None) -> bool:
    """`READY=1`: start-up is done (systemd reports the unit as started)."""
    fields = ["READY=1"] + ([_status_field(status)] if status else [])
    return notify(*fields, environ=environ)


def status(text: str, environ: Mapping[str, str] | None = None) -> bool:
    """`STATUS=...`: one line shown by `systemctl status`."""
    return notify(_status_field(text), environ=environ)


def stopping(environ: Mapping[str, str] | None = None) -> bool:
    """`STOPPING=1`: shutting down on purpose."""
    return notify("STOPPING=1", environ=environ)


def watchdog(environ: Mapping[str, str] | None = None) -> bool:
    """`WATCHDOG=1`: still alive (only when the watchdog applies to this process)."""
    if watchdog_interval(environ) is None:
        return False
    return notify("WATCHDOG=1", environ=environ)


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between `WATCHDOG=1` pings (half of `$WATCHDOG_USEC`), or None if not asked."""
    env = os.environ if environ is None else environ
    usec_text = env.get("WATCHDOG_USEC", "")
    pid_text = env.get("WATCHDOG_PID", "")
    if not usec_text or not env.get("NOTIFY_SOCKET"):
        return None
    if pid_text and pid_text.strip() != str(os.getpid()):
        return None  # the watchdog is meant for another process (e.g. our parent)
    try:
        usec = int(usec_text)
    except ValueError:
        logger.debug("WATCHDOG_USEC=%r is not a whole number; no watchdog pings", usec_text)
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


def _status_field(text: str) -> str:
    return "STATUS=" + " ".join(text.split())  # one line: a newline would end the field
