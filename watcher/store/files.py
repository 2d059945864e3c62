"""The store's file and directory: created private (0700), and when they cannot be used, a
`StoreError` naming the path and the fix rather than SQLite's "unable to open database file"."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from watcher.errors import StoreError


def make_state_dir(directory: Path) -> None:
    """Create the state directory if need be (0700); a `StoreError` naming it and the fix when
    it cannot be used, rather than SQLite's "unable to open database file"."""
    if directory.exists() and not directory.is_dir():
        raise StoreError(
            f"state_dir {directory} is a file, not a directory; "
            "set state_dir to a directory (or move the file away)"
        )
    if not directory.exists():
        ancestor = next((p for p in directory.parents if p.exists()), Path("/"))
        cannot = f"state_dir {directory} cannot be created:"
        if not ancestor.is_dir():
            raise StoreError(f"{cannot} {ancestor} is a file, not a directory; {_SET_DIR}")
        problem = access_problem(ancestor, directory=True)
        if problem:
            raise StoreError(f"{cannot} {ancestor} {problem} or set state_dir")
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(f"{cannot} {exc.strerror}; {_SET_DIR}") from exc
    problem = access_problem(directory, directory=True)
    if problem:
        raise StoreError(f"state_dir {directory} {problem} or set state_dir")


_SET_DIR = "set state_dir to a directory"


def access_problem(path: Path, *, directory: bool) -> str | None:
    """Why this process cannot use `path` ("is not writable by you; <fix>"), or None."""
    wanted = os.R_OK | os.W_OK | (os.X_OK if directory else 0)
    if os.access(path, wanted, effective_ids=os.access in os.supports_effective_ids):
        return None
    quoted = shlex.quote(str(path))
    me = os.geteuid()
    status = path.stat()
    if status.st_uid != me:
        return f"is not writable by you (its owner is uid {status.st_uid}); chown {me} {quoted}"
    bits = ((stat.S_IRUSR, "r"), (stat.S_IWUSR, "w"), (stat.S_IXUSR, "x"))
    missing = "".join(c for bit, c in bits[: 3 if directory else 2] if not status.st_mode & bit)
    if missing:
        return f"is not writable by you; chmod u+{missing} {quoted}"
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        return "is on a read-only file system; remount it read-write"
    return f"is not writable by you (an ACL?); check getfacl {quoted}"
