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

What a parsed BODYSTRUCTURE means is `bodystructure.py`'s job; INTERNALDATE is read by
`internaldate.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from watcher.mail.internaldate import parse_internaldate

__all__ = ["FetchedMessage", "Sexp", "parse_fetch_response"]

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
