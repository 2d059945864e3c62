"""A setting written once, and the checked reading of parsed TOML.

A settings class declares each setting as one field: `setting()` names its TOML key, its kind,
its check and its default. From the fields follow the keys a table may hold (`toml_keys`),
how the loader reads each value (`TableReader.read_values`), and the checks every instance
passes when it is built, from the file or in code (`validate`, called by `__post_init__`).
Built in code, a bad value is `accounts.port must be ...`; read from a file, the loader adds
the file, the line and the table's index: `config.toml line 6: accounts[1].port must be ...`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import stat
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watcher.errors import ConfigError

T = TypeVar("T")

# How a value is written in TOML: text, whole, number and flag are one scalar; texts a list
# of strings (one string is a list of one); days a list of day counts; path and pattern a
# string made a Path or a compiled regular expression; table a table (or an array of tables)
# the loader reads itself; inline a settings class whose keys sit in this table.
Kind = Literal[
    "text", "whole", "number", "flag", "texts", "days", "path", "pattern", "table", "inline"
]  # fmt: skip
_SCALARS: dict[str, type] = {"text": str, "whole": int, "number": float, "flag": bool}
_KIND_OF_DEFAULT: dict[type, Kind] = {str: "text", int: "whole", float: "number", bool: "flag"}
_META = "watcher.setting"


@dataclasses.dataclass(frozen=True, slots=True)
class Setting:
    """What a field's metadata says about it as a setting."""

    key: str  # its key in the TOML table ("" until `settings_of` fills in the field's name)
    kind: Kind
    check: Callable[[Any], str | None] | None  # why a value is wrong, or None
    clean: Callable[[Any], Any] | None  # the value as stored (lower-case addresses, ...)
    free_text: bool  # may hold any character: a shell command the user wrote
    nested: type | None  # the settings class of an "inline" table


def setting(
    default: Any = dataclasses.MISSING,
    *,
    key: str = "",
    kind: Kind | None = None,
    check: Callable[[Any], str | None] | None = None,
    clean: Callable[[Any], Any] | None = None,
    free_text: bool = False,
    default_factory: Any = dataclasses.MISSING,
    nested: type | None = None,
) -> Any:
    """A dataclass field that is a setting; `key` defaults to the field's name, `kind` to the
    type of `default`. `check` and `clean` never see None (a setting left unset)."""
    found = kind or _KIND_OF_DEFAULT[type(default)]
    meta = {_META: Setting(key, found, check, clean, free_text, nested)}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


@cache
def settings_of(cls: type) -> tuple[tuple[str, Setting], ...]:
    """The settings of a settings class, in field order: (field name, setting)."""
    found = []
    for item in dataclasses.fields(cls):
        meta: Setting | None = item.metadata.get(_META)
        if meta is not None:
            found.append((item.name, dataclasses.replace(meta, key=meta.key or item.name)))
    return tuple(found)


@cache
def toml_keys(cls: type) -> frozenset[str]:
    """The keys a TOML table of `cls` may hold: one per setting, and those of inline tables."""
    keys: set[str] = set()
    for _name, meta in settings_of(cls):
        if meta.kind == "inline" and meta.nested is not None:
            keys |= toml_keys(meta.nested)
        else:
            keys.add(meta.key)
    return frozenset(keys)


class SettingError(ConfigError):
    """A value a settings class refuses: `path` (from the table, "" for the table itself)
    and `problem`; the loader turns it into a message with the file, line and index."""

    def __init__(self, table: str, path: str, problem: str) -> None:
        super().__init__(one_line(f"{join_path(table, path)} {problem}"))
        self.path = path
        self.problem = problem


def join_path(where: str, key: str) -> str:
    return f"{where}.{key}" if where and key else where or key


def validate(instance: Any, table: str) -> None:
    """Clean and check each setting of `instance` (a frozen dataclass, from `__post_init__`);
    `SettingError` names the first wrong one, under `table` (e.g. "accounts")."""
    cls: type = type(instance)
    for name, meta in settings_of(cls):
        value = getattr(instance, name)
        if value is None:
            continue
        value, problem = checked(meta, value)
        if problem:
            raise SettingError(table, meta.key, problem)
        object.__setattr__(instance, name, value)  # frozen: set once, while being built


def checked(meta: Setting, value: Any) -> tuple[Any, str | None]:
    """`value` cleaned, and why it is wrong for this setting (None: it is right)."""
    if meta.clean is not None:
        value = meta.clean(value)
    problem = None if meta.free_text else _texts_problem(value)
    if problem is None and meta.check is not None:
        problem = meta.check(value)
    return value, problem


def _texts_problem(value: object) -> str | None:
    """Every string setting is one line of text: a line break in an address would become a
    header of its own, an escape sequence would reach the terminal."""
    texts = (value,) if isinstance(value, str) else value if isinstance(value, tuple) else ()
    for text in texts:
        if isinstance(text, str):
            problem = control_character_problem(text)
            if problem:
                return problem
    return None


def control_character_problem(text: str) -> str | None:
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (
        "contains a line break or other control character "
        f"({found.group()!r}); write it as one line of text"
    )


def unknown_key_problem(allowed: frozenset[str] | set[str]) -> str:
    return f"is not a known setting (known here: {', '.join(sorted(allowed))})"


class TableReader:
    """Takes values out of the parsed TOML, checking each and naming it in every error."""

    def __init__(self, data: dict[str, Any], lines: LineFinder, label: str) -> None:
        self.data = data
        self.lines = lines
        self.label = label

    def fail(self, where: str, message: str) -> ConfigError:
        line = self.lines.find(where)
        prefix = f"{self.label} line {line}" if line else self.label
        return ConfigError(one_line(f"{prefix}: {where} {message}"))

    def check_keys(self, table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(join_path(where, key), unknown_key_problem(allowed))

    def read_values(self, table: Mapping[str, Any], cls: type, where: str) -> dict[str, Any]:
        """The settings of `cls` that `table` sets, by field name, read as their kind and
        checked, in the order of the fields (as `cls` checks them again when built); tables
        are left to the caller, and a setting left out keeps the field's default."""
        values: dict[str, Any] = {}
        for name, meta in settings_of(cls):
            if meta.key in table and meta.kind not in ("table", "inline"):
                value = self.read_value(table, meta, where)
                if value is not None:
                    value, problem = checked(meta, value)
                    if problem:
                        raise self.fail(join_path(where, meta.key), problem)
                    values[name] = value
        return values

    def build(self, cls: type[T], where: str, values: Mapping[str, Any]) -> T:
        """`cls(**values)`; what its checks refuse is named with its line under `where`."""
        try:
            return cls(**values)
        except SettingError as exc:
            raise self.fail(join_path(where, exc.path), exc.problem) from None

    def read_value(self, table: Mapping[str, Any], meta: Setting, where: str) -> Any:
        key = meta.key
        if meta.kind == "texts":
            return self.strings(table, key, where)
        if meta.kind == "days":
            return self.days(table, key, where)
        if meta.kind in _SCALARS:
            return self.scalar(table, key, where, _SCALARS[meta.kind], meta.free_text)
        text = self.scalar(table, key, where, str, meta.free_text)
        if not text:
            return None  # an empty path or pattern is one left unset
        if meta.kind == "path":
            return Path(text).expanduser()
        try:
            return re.compile(text, re.IGNORECASE)
        except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999}, ((((...
            raise self.fail(
                join_path(where, key), f"is not a valid regular expression ({exc})"
            ) from None

    def scalar(
        self, table: Mapping[str, Any], key: str, where: str, kind: type, free_text: bool
    ) -> Any:
        path = join_path(where, key)
        value = table[key]
        # bool is an int in Python, but `port = true` is a mistake, not port 1.
        wrong_bool = isinstance(value, bool) and kind is not bool
        if wrong_bool or not isinstance(value, kind):
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(min(value, 2**1000))  # beyond a float: out of range all the same
            else:
                raise self.fail(path, f"must be {_KIND_NAMES.get(kind, kind.__name__)}")
        if isinstance(value, str) and not free_text:
            self.check_one_line(path, value)
        return value

    def strings(self, table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        path = join_path(where, key)
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, 'must be a list of strings, e.g. ["a", "b"]')
        for text in value:
            self.check_one_line(path, text)
        return tuple(value)

    def days(self, table: Mapping[str, Any], key: str, where: str) -> tuple[int, ...]:
        value = table[key]
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(join_path(where, key), DAYS_LIST)
        return tuple(value)

    def check_one_line(self, path: str, value: str) -> None:
        problem = control_character_problem(value)
        if problem:
            raise self.fail(path, problem)


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

_KIND_NAMES: dict[type, str] = {
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


DAYS_LIST = (
    f"must be a list of positive whole numbers of days (at most {MAX_DAYS}), e.g. [3, 7, 14]"
)


def check_days_list(value: tuple[int, ...]) -> str | None:
    return None if value and all(0 < v <= MAX_DAYS for v in value) else DAYS_LIST


def check_port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a whole number from 1 to 65535"


def check_timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f'is {value!r}, not an IANA time zone name such as "Europe/Berlin"'
    return None


def check_clock(value: str) -> str | None:
    hours, colon, minutes = value.partition(":")
    ok = colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
    if ok and int(hours) < 24 and int(minutes) < 60:
        return None
    return f'is {value!r}; give a local time as "HH:MM", e.g. "07:30"'


def check_ca_file(path: Path) -> str | None:
    """Why `path` cannot be trusted as a certificate: not a readable file, or a file another
    user could replace (and so pose as the server and read the password)."""
    text = str(path)
    try:
        readable = path.is_file()
    except OSError as exc:  # a name too long for the file system, a loop of links
        readable = False
        text = f"{text[:100]}{'…' if len(text) > 100 else ''} ({exc.strerror})"
    if not readable:
        return f"names {text!r}, which is not a readable file"
    return unsafe_path_problem(path)


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
