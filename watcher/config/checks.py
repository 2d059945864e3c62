"""Checked reading of parsed TOML: every error names the line, the key path and the fix.

The pieces `config.py` builds its settings with, kept apart so that the settings code reads as
a list of keys and their rules.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from watcher.errors import ConfigError

T = TypeVar("T")


class TableReader:
    """Takes values out of the parsed TOML, checking each and naming it in every error.

    Every string is one line of text: a line break in an address would become a header of
    its own, an escape sequence would reach the terminal. Keys in `free_text` are exempt.
    """

    free_text: frozenset[str] = frozenset()

    def __init__(self, data: dict[str, Any], lines: LineFinder, label: str) -> None:
        self.data = data
        self.lines = lines
        self.label = label

    def fail(self, where: str, message: str) -> ConfigError:
        line = self.lines.find(where)
        prefix = f"{self.label} line {line}" if line else self.label
        return ConfigError(one_line(f"{prefix}: {where} {message}"))

    def check_keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                path = f"{where}.{key}" if where else key
                known = ", ".join(sorted(allowed))
                raise self.fail(path, f"is not a known setting (known here: {known})")

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        kind: type[T],
        default: T,
        check: Callable[[T], str | None] | None = None,
    ) -> T:
        path = f"{where}.{key}" if where else key
        if key not in table:
            return default
        value = table[key]
        # bool is an int in Python, but `port = true` is a mistake, not port 1.
        wrong_bool = isinstance(value, bool) and kind is not bool
        if wrong_bool or not isinstance(value, kind):
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(min(value, 2**1000))  # beyond a float: out of range all the same
            else:
                raise self.fail(path, f"must be {_KIND_NAMES.get(kind, kind.__name__)}")
        if isinstance(value, str) and key not in self.free_text:
            self.check_one_line(path, value)
        if check is not None:
            problem = check(value)
            if problem:
                raise self.fail(path, problem)
        return value  # type: ignore[no-any-return]

    def optional(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        kind: type[T],
        check: Callable[[T], str | None] | None = None,
    ) -> T | None:
        """Like `get`, but None when the key is absent (a rule that does not set it)."""
        if key not in table:
            return None
        return self.get(table, key, where, kind, kind(), check)

    def strings(self, table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        path = f"{where}.{key}" if where else key
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, 'must be a list of strings, e.g. ["a", "b"]')
        for text in value:
            self.check_one_line(path, text)
        return tuple(value)

    def check_one_line(self, path: str, value: str) -> None:
        found = _CONTROL.search(value)
        if found:
            raise self.fail(
                path,
                "contains a line break or other control character "
                f"({found.group()!r}); write it as one line of text",
            )


def one_line(text: str) -> str:
    """`text` with control characters escaped (a quoted key can hold a line break): an error
    message is one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# Beyond these the dates and timers computed from a setting overflow (or a loop over working
# days runs for minutes): nobody means them.
MAX_DAYS = 3650
MAX_LOOKBACK_DAYS = 36500
MAX_SECONDS = 3600.0

_KIND_NAMES = {
    str: 'a string in quotes, e.g. "value"',
    int: "a whole number",
    float: "a number",
    bool: "true or false",
}


def check_non_negative(value: int) -> str | None:
    if 0 <= value <= MAX_LOOKBACK_DAYS:
        return None
    return f"must be 0 (read everything) or a positive number of days, at most {MAX_LOOKBACK_DAYS}"


def check_days(value: int) -> str | None:
    if 1 <= value <= MAX_DAYS:
        return None
    return f"must be a whole number of days, 1 or more (at most {MAX_DAYS})"


def check_positive(value: float) -> str | None:
    if 0 < value <= MAX_SECONDS:
        return None
    return f"must be a positive number of seconds, at most {MAX_SECONDS:g}"


class LineFinder:
    """Finds the line a dotted key path like `accounts[2].port` was written on.

    tomllib keeps no positions, so this re-reads the text: enough to point a person at the
    right line, which is all an error message needs.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"']+)\s*=")

    def __init__(self, text: str) -> None:
        self.entries: list[tuple[str, int]] = []
        table = ""
        counts: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                name = header.group(2).replace('"', "").replace("'", "")
                if header.group(1) == "[[":
                    counts[name] = counts.get(name, 0) + 1
                    table = f"{name}[{counts[name]}]"
                else:
                    table = name
                self.entries.append((table, number))
                continue
            key = self._KEY.match(line)
            if key:
                name = key.group(1).replace('"', "").replace("'", "")
                self.entries.append((f"{table}.{name}" if table else name, number))

    def find(self, path: str) -> int | None:
        for candidate in (path, path.rsplit(".", 1)[0]):
            for entry, number in self.entries:
                if entry == candidate:
                    return number
        return None


# -- files other users could change -------------------------------------------------------


def unsafe_path_problem(path: Path) -> str | None:
    """Why someone other than you or root could change `path`, as "<what>; <fix>", or None.

    The checks of ssh's StrictModes and sudo: the file is owned by you or root and not writable
    by its group or others, and so is every directory on the way to it (as written and after
    following links), unless the directory is sticky like /tmp (others may add files to it,
    but not rename or replace yours). Whoever could change the config could point
    password_command at a program of their own, which would then run with your rights.
    """
    uid = os.geteuid()
    try:
        problem = _owner_or_mode_problem(path.stat(), uid, str(path), directory=False)
        if problem:
            return problem
        for directory in _directories_to(path):
            problem = _owner_or_mode_problem(directory.stat(), uid, str(directory), directory=True)
            if problem:
                return f"is in {directory}, which {problem}"
    except OSError as exc:
        where = exc.filename or path
        return f"cannot be checked for safe permissions ({exc.strerror}: {where})"
    return None


def _directories_to(path: Path) -> list[Path]:
    """Each directory a lookup of `path` passes through: as written, then after links."""
    written = path.absolute().parents
    real = Path(os.path.realpath(path)).parents
    return list(dict.fromkeys([*written, *real]))


def _owner_or_mode_problem(
    status: os.stat_result, uid: int, name: str, *, directory: bool
) -> str | None:
    if status.st_uid not in (uid, 0):
        whom = f"you (uid {uid})" if uid == 0 else f"you (uid {uid}) or root"
        return f"is owned by uid {status.st_uid}, not by {whom}; chown {uid} {shlex.quote(name)}"
    if directory and status.st_mode & stat.S_ISVTX:
        return None
    group = status.st_mode & stat.S_IWGRP
    others = status.st_mode & stat.S_IWOTH
    if not (group or others):
        return None
    who, fix = (
        ("its group and others", "go-w") if group and others
        else ("its group", "g-w") if group
        else ("others", "o-w")
    )  # fmt: skip
    return f"is writable by {who}; chmod {fix} {shlex.quote(name)}"
