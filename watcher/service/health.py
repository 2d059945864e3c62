"""The daemon's health file: is `watcher run` running, and did the last digest fail?

`service.json` next to the store holds the running daemon's pid (none after a clean stop) and
the last digest failure (when, and one scrubbed line saying why; cleared when a digest goes
out). `watcher status` reads it: it works with or without systemd, and survives a restart,
so "the digest stopped and nobody knows" cannot happen silently. The file is rewritten
whole (write to a temporary file, then rename), so a reader never sees half of it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from watcher.logsetup import redact

logger = logging.getLogger(__name__)

HEALTH_NAME = "service.json"


@dataclass(frozen=True, slots=True)
class Health:
    pid: int | None = None  # the running daemon; None: stopped cleanly (or never started)
    started_at: int | None = None  # Unix seconds
    digest_failed_at: int | None = None  # the last failed digest attempt, Unix seconds
    digest_error: str = ""  # why, one line, secrets scrubbed


def health_path(store_path: Path) -> Path:
    return store_path.parent / HEALTH_NAME


def read_health(path: Path) -> Health:
    """What the file says; an empty `Health` when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Health(
            pid=_int_or_none(data.get("pid")),
            started_at=_int_or_none(data.get("started_at")),
            digest_failed_at=_int_or_none(data.get("digest_failed_at")),
            digest_error=str(data.get("digest_error") or ""),
        )
    except (OSError, ValueError, AttributeError):
        return Health()


def write_health(path: Path, health: Health) -> None:
    """Replace the file (0600); a failure is logged, never raised: health is a side note."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(asdict(health), file)
        temporary.replace(path)
    except OSError as exc:
        logger.warning("could not write %s: %s", path, exc)
        with contextlib.suppress(OSError):
            temporary.unlink()


def update_health(path: Path, **changes: object) -> Health:
    """Read, change the named fields, write back; the new health."""
    health = replace(read_health(path), **changes)  # type: ignore[arg-type]
    write_health(path, health)
    return health


def one_line(error: object) -> str:
    """`error` as one line with every registered secret scrubbed (status, STATUS=)."""
    return " ".join(redact(str(error)).split())


def daemon_running(health: Health) -> bool:
    """Whether the pid in the file is a live `watcher` process (a pid reused by another
    program after a crash does not count, where /proc can tell)."""
    if health.pid is None or health.pid <= 0:
        return False
    try:
        os.kill(health.pid, 0)
    except PermissionError:  # alive, another user's (a system unit read by root)
        pass
    except OSError:
        return False
    try:
        command = Path(f"/proc/{health.pid}/cmdline").read_bytes()
    except OSError:  # no /proc (not Linux), or gone since
        return True
    return b"watcher" in command


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
