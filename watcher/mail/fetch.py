"""A lean parser for the raw data imaplib hands back for a `UID FETCH`.

Why this exists: imapclient's own FETCH parser is the bottleneck of a bulk sync. On the Enron
sample, the same FETCH took ~0.95 s through bare imaplib and ~6.9 s through imapclient's
`fetch()`; the difference is Python work in `imapclient.response_parser`, not the server. The
sync therefore sends the FETCH through `client._imap` and feeds the untagged data to
`parse_fetch_response` here. It cuts each response into tokens with C string methods only
(`split`, `replace`, `join`: no per-character Python, and no regex, which costs ~25 ns per
character scanned on our machines) and builds the nested lists in one flat loop. Anything
unusual (escaped quotes, stray control characters, quoted header names in a section) goes
through a slower regex tokenizer that gives the same result for everything it accepts.

The shape of `data` is the one `imaplib.IMAP4._get_response` builds: per FETCH response,
either one `bytes` line, or a run of `(line_ending_in_{N}, literal)` tuples followed by one
`bytes` line carrying the rest of the response (which may itself be only `b")"`). A literal
can appear wherever the server chooses: a body section, or a string inside BODYSTRUCTURE.
imaplib returns `[None]` when there was no FETCH response at all; that is accepted.

Also here: `describe_bodystructure`, which turns a parsed BODYSTRUCTURE into what the rest of
the watcher wants to know (attachments, which part holds the text, bounce report parts), and
`compact_uid_set`, because servers reject very long UID lists (Dovecot: `BAD Too long
argument` at ~20k UIDs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.header import decode_header
from typing import Any
from urllib.parse import unquote_to_bytes

from watcher.mail.headers import valid_text
from watcher.model import Attachment

__all__ = [
    "BodyOutline",
    "FetchedMessage",
    "Sexp",
    "TextPart",
    "compact_uid_set",
    "decode_header_words",
    "describe_bodystructure",
    "parse_fetch_response",
    "parse_internaldate",
]

# A parsed IMAP value: nested lists of atoms. Atoms are str (quoted strings and non-numeric
# atoms such as flags), int (all-digit atoms of up to 19 digits), None (NIL), or bytes (a
# literal that is the direct value of a FETCH item, e.g. a body section). Literals nested
# inside lists (e.g. a filename in BODYSTRUCTURE) are decoded to str, so BODYSTRUCTURE never
# contains bytes. Servers pass 8-bit names through raw (Dovecot sends a Latin-1 filename as a
# literal), so text is read as UTF-8 and, where that fails, as Windows-1252, then Latin-1.
# In a FLAGS list every keyword is an atom and stays a str: `0123` and `NIL` are keywords.
Sexp = list["Sexp"] | str | int | bytes | None

# One FETCH response. Keys are upper-case item names; see `parse_fetch_response` for the
# value types. A plain dict: the body-section keys are dynamic, which a TypedDict cannot say.
FetchedMessage = dict[str, object]

# Fast path: quoted strings are cut out first (`line.split('"')`), each replaced by the token
# STRING; a literal becomes the token LITERAL. Both are control characters, which valid IMAP
# never has outside strings; a response that has them anyway goes the slow path.
_STRING = "\x00"
_LITERAL = "\x01"
_STRING_SEP = " \x00 "
_LITERAL_SEP = " \x01 "

# The slow path: one regex tokenizer, exact for anything the fast path refuses (escaped
# quotes, unterminated strings, quoted header names in a section, stray control characters,
# a `[` that does not open a section). A section spec (`BODY[HEADER.FIELDS (A B)]<0>`) is one
# token even though it contains spaces and parentheses; its grammar is strict (a name, then
# at most one parenthesised header list, then `]`), because `[` is also an ordinary atom
# character: RFC 3501 allows the keyword `foo[bar`, and a loose `\[[^\]]*\]` read from there to
# the next `]` and swallowed the items in between. The last alternative catches stray
# characters (a lone `"` or `{`) so they surface as tokens instead of being skipped silently.
_QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_SECTION_SPEC = rf'\[[^\s\[\]()"{{]*(?: ?\((?:[^()"\[\]{{]|{_QUOTED})*\))?\]'
_TOKEN_RE = re.compile(rf'{_QUOTED}|[()]|(?:[^\s()"\[{{]|{_SECTION_SPEC}|\[)+|\S')
_tokenize = _TOKEN_RE.findall
_SECTION_RE = re.compile(_SECTION_SPEC)
# RFC 3501 quoted strings escape only `\\` and `\"`; any other backslash is kept as sent.
_UNESCAPE_RE = re.compile(r'\\([\\"])')
_LITERAL_TAIL_RE = re.compile(r"~?\{(\d+)\+?\}\s*\Z")
_UID_HINT_RE = re.compile(rb"\bUID (\d{1,19})\b", re.IGNORECASE)
# RFC 3501 numbers are below 2**32 and mod-sequences below 2**63 (RFC 7162); anything larger
# is garbage, and would not fit an SQLite integer either.
_MAX_NUMBER = 2**63 - 1
# Names whose `[...]` is a section spec that may hold a header list to drop.
_SECTION_STEMS = frozenset({"BODY", "PEEK", "NARY", "SIZE"})

# Item kinds, decided once per distinct item name (names repeat across messages).
_K_INT = 0
_K_FLAGS = 1
_K_DATE = 2
_K_MODSEQ = 3
_K_SECTION = 4
_K_OTHER = 5

_INT_ITEMS = frozenset({"UID", "RFC822.SIZE", "X-GM-THRID", "X-GM-MSGID"})
_SECTION_BASES = frozenset({"RFC822", "RFC822.HEADER", "RFC822.TEXT"})
_KEY_CACHE: dict[str, tuple[str, int]] = {}
_KEY_CACHE_MAX = 1024


class _MalformedError(Exception):
    """Server data that cannot be parsed; carries the short reason reported to the caller."""


def _item_key(name: str) -> tuple[str, int]:
    """Normalise a FETCH item name: upper-case, `.PEEK` and header lists and origins dropped."""
    key = name.upper()
    bracket = key.find("[")
    if bracket >= 0:
        base = key[:bracket].replace(".PEEK", "")
        close = key.find("]", bracket)
        section = key[bracket + 1 : close if close >= 0 else len(key)]
        # `HEADER.FIELDS (A B)` -> `HEADER.FIELDS`: the caller knows which fields it asked for.
        section = section.split(" ", 1)[0].split("(", 1)[0]
        key = f"{base}[{section}]"
        # BINARY.SIZE[1] is a number, not a section.
        kind = _K_INT if base == "BINARY.SIZE" else _K_SECTION
    elif key in _INT_ITEMS:
        kind = _K_INT
    elif key == "FLAGS":
        kind = _K_FLAGS
    elif key == "INTERNALDATE":
        kind = _K_DATE
    elif key == "MODSEQ":
        kind = _K_MODSEQ
    elif key in _SECTION_BASES:
        kind = _K_SECTION
    else:
        kind = _K_OTHER
    result = (key, kind)
    if len(_KEY_CACHE) < _KEY_CACHE_MAX:
        _KEY_CACHE[name] = result
    return result


_Tokens = tuple[list[str], list[str], list[bytes]]


def _fast_tokens(group: list[bytes | tuple[bytes, bytes]]) -> _Tokens | None:
    """Tokens, strings and literals of one response, or None when only the slow path is exact."""
    literals: list[bytes] = []
    raw: bytes
    if len(group) == 1:
        raw = group[0]  # type: ignore[assignment]
    else:
        pieces: list[bytes] = []
        for part in group:
            if isinstance(part, tuple):
                head, literal = part
                brace = head.rfind(b"{")
                if brace < 0 or not head.endswith(b"}") or not head[brace + 1 : -1].isdigit():
                    return None
                if head[brace - 1 : brace] == b"~":  # literal8, from BINARY[...]
                    brace -= 1
                pieces.append(head[:brace])
                pieces.append(b" \x01 ")  # _LITERAL_SEP
                literals.append(literal)
            else:
                pieces.append(part)
        raw = b"".join(pieces)
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None  # 8-bit text: the slow path decodes it string by string
    if '\\"' in line:
        return None
    parts = line.split('"')
    if not len(parts) & 1:
        return None
    strings = parts[1::2]
    skeleton = _STRING_SEP.join(parts[0::2])
    if skeleton.count(_STRING) != len(strings) or skeleton.count(_LITERAL) != len(literals):
        return None
    if "{" in skeleton:  # an atom-special the slow path splits at
        return None
    if "\\\\" in line:
        strings = [_UNESCAPE_RE.sub(r"\1", s) if "\\" in s else s for s in strings]
    start = skeleton.find("[")
    while start >= 0:
        # `[` opens a section only after BODY or BINARY; anywhere else it is an atom character
        # (the keyword `foo[bar`), and only the slow path's grammar tells the two apart.
        if skeleton[start - 4 : start] not in _SECTION_STEMS:
            return None
        end = skeleton.find("]", start)
        if end < 0:
            return None
        inner = skeleton[start + 1 : end]
        if " " in inner or "(" in inner or ")" in inner or "[" in inner:
            if not _SECTION_RE.fullmatch(skeleton, start, end + 1):
                return None
            if _STRING in inner or _LITERAL in inner:
                return None
            # Drop the header list, so that `BODY[HEADER.FIELDS (A B)]` stays one token when
            # the skeleton is split at spaces and parentheses.
            inner = inner.split(" ", 1)[0].split("(", 1)[0]
            skeleton = skeleton[: start + 1] + inner + skeleton[end:]
            end = start + 1 + len(inner)
        start = skeleton.find("[", end)
    return skeleton.replace("(", " ( ").replace(")", " ) ").split(), strings, literals


def _slow_tokens(group: list[bytes | tuple[bytes, bytes]]) -> _Tokens:
    """Same result as `_fast_tokens`, for any input, one regex match per token."""
    tokens: list[str] = []
    strings: list[str] = []
    literals: list[bytes] = []
    for part in group:
        line = part[0] if isinstance(part, tuple) else part
        try:
            text = line.decode("utf-8")
            clean = True
        except UnicodeDecodeError:
            # Keep the 8-bit bytes as lone surrogates for now, so that one Latin-1 filename
            # does not cost the rest of the line; each token is then decoded on its own.
            text = line.decode("utf-8", "surrogateescape")
            clean = False
        if isinstance(part, tuple):
            tail = _LITERAL_TAIL_RE.search(text)
            if tail is None:
                raise _MalformedError("literal without {N} marker")
            raw = _tokenize(text, 0, tail.start())
        else:
            raw = _tokenize(text)
        for tok in raw:
            if tok[0] == '"':
                if len(tok) < 2:
                    raise _MalformedError("unterminated quoted string")
                text = tok[1:-1]
                text = _UNESCAPE_RE.sub(r"\1", text) if "\\" in text else text
                strings.append(text if clean else _best_text(text))
                tokens.append(_STRING)
            elif tok in (_STRING, _LITERAL):
                raise _MalformedError("control character outside a string")
            else:
                tokens.append(tok if clean else _best_text(tok))
        if isinstance(part, tuple):
            tokens.append(_LITERAL)
            literals.append(part[1])
    return tokens, strings, literals


def _best_text(text: str) -> str:
    """A token whose non-UTF-8 bytes were kept as surrogates, decoded as well as we can."""
    return _decode_8bit(text.encode("utf-8", "surrogateescape"))


def _decode_8bit(raw: bytes) -> str:
    """UTF-8 if it is valid, else Windows-1252 (what "Latin-1" mail mostly is), else Latin-1,
    which never fails: the Latin-1 name `Gr<FC><DF>e.pdf` is read as `Grüße.pdf`, not as
    `Gr<U+FFFD><U+FFFD>e.pdf`."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return raw.decode("latin-1")


def _no_literal() -> bytes:
    raise _MalformedError("literal marker without a literal")


def _build(tokens: list[str], strings: list[str], literals: list[bytes]) -> list[Any]:
    """Turn the flat token list into nested lists; one pass, no recursion.

    This is the hot loop: branches are ordered by how often each token occurs in a typical
    BODYSTRUCTURE, and values are typed loosely (`Any`) so that no casts are needed.
    """
    next_string = iter(strings).__next__
    next_literal = iter(literals).__next__ if literals else _no_literal
    root: list[Any] = []
    cur = root
    stack: list[list[Any]] = []
    push = stack.append
    pop = stack.pop
    it = iter(tokens)
    # Literal constants, not the module globals: LOAD_CONST is the cheapest load there is.
    for tok in it:
        if tok == "\x00":  # _STRING
            cur.append(next_string())
        elif tok == "NIL":
            cur.append(None)
        elif tok == "(":
            if len(stack) == 1 and cur and str(cur[-1]).upper() == "FLAGS":
                # Keywords are atoms: `0123` and `NIL` are keywords, not a number and NIL.
                cur.append(_atom_list(it, next_string, next_literal))
                continue
            push(cur)
            cur = []
        elif tok == ")":
            if not stack:
                raise _MalformedError("unbalanced ')'")
            parent = pop()
            parent.append(cur)
            cur = parent
        elif tok.isdecimal():
            # int() refuses 4,300 digits and more; no real number has over 19.
            cur.append(int(tok) if len(tok) <= 19 else tok)
        elif tok == "\x01":  # _LITERAL
            literal = next_literal()
            # Directly in the item list (stack == [root]) a literal is an item's value, e.g. a
            # body section: keep the bytes. Deeper it is a string inside a structure.
            cur.append(literal if len(stack) <= 1 else _decode_8bit(literal))
        else:
            cur.append(tok)
    if stack:
        raise _MalformedError("unbalanced '('")
    return root


def _atom_list(
    it: Iterator[str], next_string: Callable[[], str], next_literal: Callable[[], bytes]
) -> list[str]:
    """The rest of a flag list, up to its `)`, each element as the text it was sent as.

    A nested list is no flag list at all; its parentheses are skipped rather than fail the
    whole response, so that a message never loses its facts over one odd flag.
    """
    atoms: list[str] = []
    depth = 0
    for tok in it:
        if tok == ")":
            if not depth:
                return atoms
            depth -= 1
        elif tok == "(":
            depth += 1
        elif tok == "\x00":  # _STRING
            atoms.append(next_string())
        elif tok == "\x01":  # _LITERAL
            atoms.append(_decode_8bit(next_literal()))
        else:
            atoms.append(tok)
    raise _MalformedError("unbalanced '('")


def _parse_group(group: list[bytes | tuple[bytes, bytes]]) -> FetchedMessage:
    toks = _fast_tokens(group)
    root = _build(*(toks if toks is not None else _slow_tokens(group)))
    if len(root) < 2 or root[0].__class__ is not int or root[1].__class__ is not list:
        raise _MalformedError("not a '<seq> (<items>)' FETCH response")
    msg: FetchedMessage = {"SEQ": root[0]}
    items: list[Any] = root[1]
    problem = ""
    if len(root) > 2:
        problem = "data after the item list"
    if len(items) & 1:
        problem = "odd number of items"
    key_cache = _KEY_CACHE
    for i in range(0, len(items) - 1, 2):
        name = items[i]
        value = items[i + 1]
        if name.__class__ is not str:
            problem = problem or f"item name is not an atom: {name!r:.40}"
            continue
        key, kind = key_cache.get(name) or _item_key(name)
        if kind == _K_OTHER:
            msg[key] = value
        elif kind == _K_INT:
            if value.__class__ is int and value <= _MAX_NUMBER:
                msg[key] = value
            else:
                problem = problem or f"bad {key}"
        elif kind == _K_SECTION:
            if value is None or value.__class__ is bytes:
                msg[key] = value
            elif value.__class__ is str:
                msg[key] = value.encode("utf-8")
            else:
                problem = problem or f"bad {key}"
        elif kind == _K_FLAGS:
            if value.__class__ is list:
                msg[key] = tuple(value)  # all str: `_build` reads a flag list as atoms
            else:
                problem = problem or "bad FLAGS"
        elif kind == _K_DATE:
            stamp = parse_internaldate(value) if value.__class__ is str else None
            if stamp is None:
                problem = problem or "bad INTERNALDATE"
            else:
                msg[key] = stamp
        elif (
            value.__class__ is list
            and len(value) == 1
            and value[0].__class__ is int
            and value[0] <= _MAX_NUMBER
        ):
            msg[key] = value[0]  # MODSEQ
        else:
            problem = problem or f"bad {key}"
    if problem:
        msg["ERROR"] = problem
    return msg


def _failed(group: list[bytes | tuple[bytes, bytes]], reason: str) -> FetchedMessage:
    """Best-effort identity of a response we could not parse, so the caller can report it."""
    msg: FetchedMessage = {"ERROR": reason}
    first = group[0] if group else b""
    line = first[0] if isinstance(first, tuple) else first
    if isinstance(line, bytes | bytearray):
        seq = line.split(b" ", 1)[0]
        if seq.isdigit() and len(seq) <= 19:
            msg["SEQ"] = int(seq)
        hint = _UID_HINT_RE.search(line)
        if hint is not None:
            msg["UID"] = int(hint.group(1))
    return msg


def parse_fetch_response(
    data: Iterable[bytes | tuple[bytes, bytes] | None],
) -> list[FetchedMessage]:
    """Parse imaplib's untagged FETCH data into one dict per FETCH response, in order.

    Keys are upper-case item names. Values:
      - "SEQ": int, the message sequence number.
      - "UID", "RFC822.SIZE", "X-GM-THRID", "X-GM-MSGID", "BINARY.SIZE[n]": int.
      - "FLAGS": tuple[str, ...], as sent (`\\Seen`, `$Forwarded`, `followup-10d`).
      - "INTERNALDATE": int, POSIX seconds (UTC).
      - "MODSEQ": int (from `MODSEQ (123)`).
      - body sections (`BODY[...]`, `BINARY[...]`, `RFC822`, `RFC822.HEADER`, `RFC822.TEXT`):
        bytes, or None for NIL. The key has `.PEEK`, the header-field list and the partial
        origin removed: `BODY[HEADER.FIELDS (MESSAGE-ID FROM)]` -> "BODY[HEADER.FIELDS]",
        `BODY[1]<0>` -> "BODY[1]". Two sections that normalise to the same key overwrite
        each other, so do not fetch both `HEADER.FIELDS (A)` and `HEADER.FIELDS (B)`.
      - "BODYSTRUCTURE" / "BODY" (no section) / "ENVELOPE" / anything else: the parsed `Sexp`.
      - "ERROR": str, present when the response was malformed. A response that could not be
        parsed at all carries only "ERROR" and, if recognisable, "SEQ" and "UID"; one with a
        malformed item keeps its well-formed items. Check for "ERROR" before trusting a dict.

    Unsolicited FETCH responses (e.g. `2 (MODSEQ (15) FLAGS (\\Seen))` after another client's
    STORE) come back too, without "UID": the caller filters. Never raises for server data.
    """
    messages: list[FetchedMessage] = []
    group: list[bytes | tuple[bytes, bytes]] = []
    for part in data:
        # Exact-class checks first: this loop runs once per line of a bulk fetch.
        if part.__class__ is tuple:
            if len(part) == 2 and part[0].__class__ is bytes:
                group.append(part)
                continue
            messages.append(_failed(group, "unexpected element in FETCH data"))
            group = []
            continue
        if part.__class__ is not bytes:
            if part is None:
                continue
            if not isinstance(part, bytearray):
                messages.append(_failed(group, "unexpected element in FETCH data"))
                group = []
                continue
        # A bytes element always ends one FETCH response: either the whole response or the
        # trailer after its last literal.
        group.append(part)
        try:
            messages.append(_parse_group(group))
        except _MalformedError as exc:
            messages.append(_failed(group, str(exc)))
        except Exception as exc:  # server data must never take down the sync
            messages.append(_failed(group, f"parse error: {type(exc).__name__}"))
        group = []
    if group:
        messages.append(_failed(group, "response ends inside a literal"))
    return messages


# --- INTERNALDATE -------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# A folder's messages share few distinct dates and zones: cache both parts of the arithmetic.
_DAY_CACHE: dict[str, int] = {}
_ZONE_CACHE: dict[str, int] = {}
_CACHE_MAX = 50_000


def _days_from_civil(year: int, month: int, day: int) -> int:
    # Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar, and a good
    # deal faster than calendar.timegm, which builds date objects.
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _epoch_day(date: str) -> int | None:
    """`"17-Jul-1996"` (day possibly space-padded) -> days since 1970-01-01, or None."""
    day_s, mon_s, year_s = date[0:2].lstrip(), date[3:6], date[7:11]
    if not day_s or date[2] != "-" or date[6] != "-" or not (day_s + year_s).isdigit():
        return None
    month = _MONTHS.get(mon_s.lower())
    day, year = int(day_s), int(year_s)
    if month is None or not 1 <= day <= _MONTH_DAYS[month]:
        return None
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return None
    return _days_from_civil(year, month, day)


def _zone_offset(zone: str) -> int | None:
    """`"-0700"` -> -25200, or None."""
    digits = zone[1:]
    if len(zone) != 5 or zone[0] not in "+-" or not digits.isdigit() or not digits.isascii():
        return None
    minutes = int(digits[2:])
    if minutes > 59:
        return None
    offset = int(digits[:2]) * 3600 + minutes * 60
    return -offset if zone[0] == "-" else offset


def parse_internaldate(raw: bytes | str) -> int | None:
    """`"17-Jul-1996 02:44:25 -0700"` -> POSIX seconds (UTC); None if it is not that shape.

    Surrounding quotes or blanks and a space-padded or one-digit day (`" 7-Jul-1996 ..."`,
    `"7-Jul-1996 ..."`) are accepted. No strptime: fixed positions and two small caches.
    """
    if isinstance(raw, bytes | bytearray):
        raw = raw.decode("ascii", "replace")
    elif not isinstance(raw, str):
        return None
    if not raw.isascii():  # then isdigit() means 0-9 only
        return None
    if len(raw) != 26:
        raw = raw.strip().strip('"')
        if len(raw) == 25:
            raw = " " + raw
        if len(raw) != 26:
            return None
    date = raw[:11]
    days = _DAY_CACHE.get(date)
    if days is None:
        days = _epoch_day(date)
        if days is None:
            return None
        if len(_DAY_CACHE) < _CACHE_MAX:
            _DAY_CACHE[date] = days
    zone = raw[21:]
    offset = _ZONE_CACHE.get(zone)
    if offset is None:
        offset = _zone_offset(zone)
        if offset is None:
            return None
        if len(_ZONE_CACHE) < _CACHE_MAX:
            _ZONE_CACHE[zone] = offset
    hh, mm, ss = raw[12:14], raw[15:17], raw[18:20]
    if (
        raw[11] != " "
        or raw[14] != ":"
        or raw[17] != ":"
        or raw[20] != " "
        or not (hh + mm + ss).isdigit()
    ):
        return None
    hour, minute, second = int(hh), int(mm), int(ss)
    # 60 allows a leap second, as RFC 3501's grammar does.
    if hour > 23 or minute > 59 or second > 60:
        return None
    return days * 86400 + hour * 3600 + minute * 60 + second - offset


# --- UID sets ------------------------------------------------------------------------------


def compact_uid_set(uids: Iterable[int]) -> str:
    """`[1, 2, 3, 5, 7, 8]` -> `"1:3,5,7:8"`: sorted, de-duplicated, runs as ranges.

    Returns "" for no UIDs (not a valid set: the caller must not send a FETCH then). Raises
    ValueError for a UID below 1, which no server would accept either.
    """
    ordered = sorted(set(uids))
    if not ordered:
        return ""
    if ordered[0] < 1:
        raise ValueError(f"not a UID: {ordered[0]}")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid != prev + 1:
            parts.append(f"{start}:{prev}" if prev != start else str(start))
            start = uid
        prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


# --- header words and MIME parameters ------------------------------------------------------


def _decode_bytes(raw: bytes, charset: str | None) -> str:
    try:
        return valid_text(raw.decode(charset or "utf-8", "replace"))
    except Exception:  # an unknown charset name, or a codec without "replace" (idna)
        return raw.decode("utf-8", "replace")


def decode_header_words(value: str) -> str:
    """Decode RFC 2047 encoded words (`=?UTF-8?B?w5xiZXI=?=`) into text; never raises.

    Free when there is no `=?` in the value. Undecodable bytes become U+FFFD and an unknown
    charset is read as UTF-8: a filename is better slightly wrong than missing.
    """
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except Exception:  # email.errors.HeaderParseError and friends: keep the raw text
        return value
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            # decode_header returns the plain stretches between encoded words this way.
            out.append(chunk.decode("raw-unicode-escape", "replace"))
        else:
            out.append(_decode_bytes(chunk, charset))
    return valid_text("".join(out))  # raw-unicode-escape reads "\\ud800" as a lone surrogate


def _decode_rfc2231(value: str, *, with_charset: bool = True) -> tuple[bytes, str]:
    """Percent-decode an RFC 2231 extended value; returns (bytes, charset)."""
    charset = ""
    if with_charset and value.count("'") >= 2:
        charset, _lang, value = value.split("'", 2)
    return unquote_to_bytes(value), charset.strip().lower()


def _mime_param(params: dict[str, str], name: str) -> str:
    """The value of MIME parameter `name`, with RFC 2231 and RFC 2047 undone; "" if absent."""
    extended = params.get(name + "*")
    if extended is not None:
        raw, charset = _decode_rfc2231(extended)
        return _decode_bytes(raw, charset)
    if name + "*0" in params or name + "*0*" in params:
        # Continuations, when the server passed them through undecoded (Dovecot joins them).
        pieces: list[tuple[int, bytes]] = []
        charset = ""
        prefix = name + "*"
        for key, val in params.items():
            if not key.startswith(prefix):
                continue
            index_s = key[len(prefix) :]
            encoded = index_s.endswith("*")
            index_s = index_s.rstrip("*")
            if not index_s.isdecimal():
                continue
            index = int(index_s)
            if encoded:
                piece, piece_charset = _decode_rfc2231(val, with_charset=index == 0)
                if index == 0:
                    charset = piece_charset
            else:
                piece = val.encode("utf-8")
            pieces.append((index, piece))
        pieces.sort()
        joined = b"".join(piece for _, piece in pieces)
        return decode_header_words(_decode_bytes(joined, charset))
    plain = params.get(name)
    if plain is None:
        return ""
    return decode_header_words(plain)


def _param_dict(raw: object) -> dict[str, str]:
    """`("NAME" "x.pdf" "charset" "utf-8")` -> {"name": "x.pdf", "charset": "utf-8"}."""
    if not isinstance(raw, list):
        return {}
    out: dict[str, str] = {}
    for i in range(0, len(raw) - 1, 2):
        key, val = raw[i], raw[i + 1]
        if isinstance(key, str) and isinstance(val, str | int):
            out.setdefault(key.lower(), str(val))
    return out


# --- BODYSTRUCTURE ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextPart:
    """The part holding the message text: fetch it with `BODY.PEEK[<section>]`."""

    section: str  # "1" for a single-part message, "1.2" etc. inside multiparts
    subtype: str  # "plain" or "html"
    encoding: str  # lower-case Content-Transfer-Encoding, e.g. "quoted-printable"
    charset: str  # lower-case, "us-ascii" when none was given
    size: int  # encoded size in bytes as the server reports it


@dataclass(frozen=True, slots=True)
class BodyOutline:
    """What the watcher needs from a BODYSTRUCTURE; all fields empty when it was garbage."""

    content_type: str = ""  # top-level lower-case "type/subtype"
    report_type: str = ""  # report-type of the first multipart/report, lower-case
    attachments: tuple[Attachment, ...] = ()
    text_part: TextPart | None = None
    # The first message/rfc822 (or message/global) or text/rfc822-headers (or
    # message/global-headers) part inside a multipart/report: the bounced message's headers.
    rfc822_headers_section: str = ""
    rfc822_headers_type: str = ""  # lower-case content type of that part, "" if none

    @property
    def rfc822_headers_fetch(self) -> str:
        """The section to put in `BODY.PEEK[...]` to get the bounced headers; "" if none.

        For an encapsulated message that is its `.HEADER`; a headers-only part is itself.
        """
        if not self.rfc822_headers_section:
            return ""
        if self.rfc822_headers_type in _MESSAGE_TYPES:
            return self.rfc822_headers_section + ".HEADER"
        return self.rfc822_headers_section


_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
_REPORT_PARTS = _MESSAGE_TYPES | _HEADER_TYPES
_DISPOSITION_TYPES = frozenset({"attachment", "inline"})
# Real messages nest a handful of levels; the cap only protects the recursion from garbage.
_MAX_DEPTH = 40
_EMPTY_OUTLINE = BodyOutline()

# One non-multipart part, in MIME order: (section, content_type, node, disposition, filename).
_Leaf = tuple[str, str, list[Any], str, str]


def _lower_str(value: object, default: str = "") -> str:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").lower()
    return default


def _as_int(value: object) -> int:
    if value.__class__ is int:
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    return 0


def _looks_like_disposition(value: object) -> bool:
    if isinstance(value, str):
        # Some servers send a bare disposition type instead of `("attachment" (...))`.
        return value.lower() in _DISPOSITION_TYPES
    return (
        isinstance(value, list)
        and len(value) in (1, 2)
        and isinstance(value[0], str)
        and (len(value) == 1 or value[1] is None or isinstance(value[1], list))
    )


def _disposition_of(node: list[Any], expected: int) -> tuple[str, dict[str, str]]:
    """The body-fld-dsp of a single part: where RFC 3501 puts it or, failing that, the first
    thing in the extension data shaped like one (servers differ on `lines` and `md5`)."""
    candidate: object = node[expected] if expected < len(node) else None
    if candidate is None:
        # NIL where RFC 3501 puts it; a list just before is a disposition shifted by a missing
        # `lines` (md5, which would be there otherwise, is a string).
        before = node[expected - 1] if expected - 1 < len(node) else None
        if before.__class__ is list and _looks_like_disposition(before):
            candidate = before
    elif not _looks_like_disposition(candidate):
        candidate = next((v for v in node[7:] if _looks_like_disposition(v)), None)
    if candidate.__class__ is list:
        dsp: list[Any] = candidate
        return _lower_str(dsp[0]), _param_dict(dsp[1]) if len(dsp) > 1 else {}
    if isinstance(candidate, str):
        return candidate.lower(), {}
    return "", {}


def _named(params: object, name: str) -> str:
    """`_mime_param` for a raw parameter list, skipping the dict when no key could match."""
    if params.__class__ is not list:
        return ""
    raw: list[Any] = params
    width = len(name)
    for i in range(0, len(raw) - 1, 2):
        key = raw[i]
        if key.__class__ is str and key[:width].lower() == name:
            return _mime_param(_param_dict(raw), name)
    return ""


def _walk(
    node: list[Any],
    section: str,
    in_report: bool,
    depth: int,
    leaves: list[_Leaf],
    found: list[str],
) -> str:
    """Record `node`'s leaves in `leaves` and report facts in `found`; returns its content type.

    `found` is [report_type, headers_section, headers_type], filled by the first match.
    """
    if node[0].__class__ is list:
        count = 1
        while count < len(node) and node[count].__class__ is list:
            count += 1
        subtype = _lower_str(node[count], "mixed") if count < len(node) else "mixed"
        if subtype == "report":
            in_report = True
            if not found[0] and count + 1 < len(node):
                found[0] = _param_dict(node[count + 1]).get("report-type", "").strip().lower()
        if depth < _MAX_DEPTH:
            prefix = section + "." if section else ""
            for index in range(count):
                child = node[index]
                if child:
                    _walk(child, f"{prefix}{index + 1}", in_report, depth + 1, leaves, found)
        return "multipart/" + subtype
    section = section or "1"
    size = len(node)
    # Missing or empty ("" from Dovecot for `Content-Type: text`) means RFC 2045's default.
    main = _lower_str(node[0]) or "text"
    subtype = _lower_str(node[1]) if size > 1 else ""
    content_type = f"{main}/{subtype or ('plain' if main == 'text' else 'octet-stream')}"
    if main == "text":
        expected = 9  # lines at 7, md5 at 8
    elif content_type in _MESSAGE_TYPES and size > 8 and node[7].__class__ is list:
        expected = 11  # envelope, body, lines, md5
    else:
        expected = 8  # md5 at 7
    disposition = ""
    filename = ""
    if size > 7:
        disposition, dsp_params = _disposition_of(node, expected)
        if dsp_params:
            filename = _mime_param(dsp_params, "filename")
    if not filename and size > 2:
        filename = _named(node[2], "name")
    leaves.append((section, content_type, node, disposition, filename))
    if in_report and not found[1] and content_type in _REPORT_PARTS:
        found[1] = section
        found[2] = content_type
    # An encapsulated message is one attachment: its insides are not ours to describe.
    return content_type


def _pick_text(leaves: list[_Leaf]) -> _Leaf | None:
    """The first unnamed, not-attached text/plain, else text/html; failing both, the first
    named one that is not `Content-Disposition: attachment` (some clients name the body)."""
    for named in (False, True):
        for wanted in ("text/plain", "text/html"):
            for leaf in leaves:
                if leaf[1] == wanted and leaf[3] != "attachment" and (named or not leaf[4]):
                    return leaf
    return None


def _text_part(leaf: _Leaf) -> TextPart:
    node = leaf[2]
    size = len(node)
    charset = "us-ascii"
    if size > 2 and node[2].__class__ is list:
        charset = _param_dict(node[2]).get("charset", "").strip().lower() or charset
    return TextPart(
        section=leaf[0],
        subtype=leaf[1][5:],
        encoding=(_lower_str(node[5]) if size > 5 else "") or "7bit",
        charset=charset,
        size=_as_int(node[6]) if size > 6 else 0,
    )


def _plain_text_outline(structure: list[Sexp]) -> BodyOutline | None:
    """The commonest message, one unnamed text/plain or text/html part, without the full walk.

    None for anything else (or anything odd): the general walk then decides.
    """
    if len(structure) < 7 or structure[0].__class__ is not str:
        return None
    main, subtype, params, encoding, size = (
        structure[0],
        structure[1],
        structure[2],
        structure[5],
        structure[6],
    )
    if not (isinstance(main, str) and isinstance(subtype, str) and main.lower() == "text"):
        return None
    subtype = subtype.lower()
    if subtype not in ("plain", "html") or (len(structure) > 9 and structure[9] is not None):
        return None  # a Content-Disposition may name it an attachment: walk it properly
    charset = "us-ascii"
    if params is not None:
        if not isinstance(params, list):
            return None
        for index in range(0, len(params) - 1, 2):
            key, value = params[index], params[index + 1]
            if not isinstance(key, str) or not isinstance(value, str):
                return None
            key = key.lower()
            if key.startswith("name"):
                return None
            if key == "charset":
                charset = value.lower()
    part = TextPart(
        section="1",
        subtype=subtype,
        encoding=encoding.lower() if isinstance(encoding, str) else "7bit",
        charset=charset,
        size=size if isinstance(size, int) else 0,
    )
    return BodyOutline(content_type=f"text/{subtype}", text_part=part)


def describe_bodystructure(structure: object) -> BodyOutline:
    """Summarise a BODYSTRUCTURE as parsed by `parse_fetch_response`; never raises.

    Attachments: every part with a filename (Content-Disposition `filename`/`filename*`, else
    Content-Type `name`/`name*`, RFC 2231 and RFC 2047 decoded), plus every non-text,
    non-multipart part without one (filename ""), in MIME order, minus the text part. That
    includes parts such as message/delivery-status. An encapsulated message/rfc822 counts as
    one attachment and is not descended into, neither for attachments nor for the text part.

    The text part: the first text/plain that is neither named nor `attachment`, else such a
    text/html; failing both, the first named text/plain or text/html that is not
    `attachment` (a message whose only text is `inline; filename=msg.txt`).

    Garbage gives a best-effort outline, or an empty one.
    """
    if not isinstance(structure, list) or not structure:
        return _EMPTY_OUTLINE
    simple = _plain_text_outline(structure)
    return simple if simple is not None else _full_outline(structure)


def _full_outline(structure: list[Sexp]) -> BodyOutline:
    try:
        leaves: list[_Leaf] = []
        found = ["", "", ""]
        content_type = _walk(structure, "", False, 0, leaves, found)
        chosen = _pick_text(leaves)
        attachments = tuple(
            Attachment(
                filename=leaf[4],
                content_type=leaf[1],
                size=_as_int(leaf[2][6]) if len(leaf[2]) > 6 else 0,
            )
            for leaf in leaves
            if leaf is not chosen and (leaf[4] or not leaf[1].startswith("text/"))
        )
        return BodyOutline(
            content_type=content_type,
            report_type=found[0],
            attachments=attachments,
            text_part=None if chosen is None else _text_part(chosen),
            rfc822_headers_section=found[1],
            rfc822_headers_type=found[2],
        )
    except Exception:  # garbage from a server must not stop the sync; report nothing instead
        return _EMPTY_OUTLINE
