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


COMMAND_KEY_NAME = "command.key"
_KEY_BYTES = 32


def command_key(directory: Path) -> bytes:
    """The secret that signs the digest's command links, created on first use (0600, next to
    the store; never in the config, never logged). A `StoreError` when it cannot be made or
    read, or when others can read it (then it is no secret: a new one is the fix)."""
    path = directory / COMMAND_KEY_NAME
    if not path.exists():
        _create_key(path)
    try:
        status = path.stat()
        if status.st_mode & 0o077:
            raise StoreError(
                f"{path} can be read by others, so links signed with it prove nothing; "
                f"remove it (a new one is made, and older digest links stop working)"
            )
        key = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
    if len(key) < 16:
        raise StoreError(f"{path} is cut short; remove it (a new one is made)")
    return key


def _create_key(path: Path) -> None:
    # Written whole under a private name, then linked into place: a process starting at the
    # same moment sees no key or the whole key, never half of one, and the first link wins.
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(descriptor, os.urandom(_KEY_BYTES))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    except OSError as exc:
        raise StoreError(
            f"cannot create {path}: {exc.strerror}; make {path.parent} writable"
        ) from exc
