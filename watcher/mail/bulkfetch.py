"""Send one `UID FETCH` and read its responses straight off the connection.

Why: imaplib reads every response line through several regular expressions and, because
imapclient turns its debug output on, formats a debug message for each line and for the whole
result. On a bulk fetch that costs more than the transfer itself. This reader does the same
job with the connection's buffered `readline`/`read` and one check per line, and hands back
the data in exactly the shape imaplib would (`fetch.parse_fetch_response` reads it).

Only used for FETCH, while a folder is selected read-only and no other command is in flight,
so no other response can be lost: untagged responses other than FETCH (EXISTS, EXPUNGE,
VANISHED, OK [HIGHESTMODSEQ]) are read and dropped, as the sync does not act on them. So is
every FETCH response about a UID that was not asked for, and every one without a UID (another
client's flag change): the sync ignores them, and a server could send millions.

Limits, so that no server can make the watcher use unbounded memory (a hostile server, or a
broken one, gets a `ReplyLimitError`, and the connection is closed):
- a line (the text between literals) of at most `MAX_LINE` bytes, and as much for all the
  lines of one FETCH response together. Dovecot sends every large value as a literal; the
  longest real lines are BODYSTRUCTUREs of messages with hundreds of attachments, about
  100 KB. imaplib has the same 1 MB limit on a line for the same reason.
- a literal of at most `MAX_LITERAL` bytes. The sync never asks for a whole message: only a
  list of header fields, at most `BODY_FETCH_BYTES` (12 KB) of one part, and BODYSTRUCTURE
  (whose literals are file names). Mail servers cap a header at a few hundred KB (Postfix:
  100 KB), so 32 MB is far above anything an honest server sends.
- a reply of at most `MAX_REPLY_COST` of estimated memory once parsed. Parsing multiplies:
  every token of a line becomes a Python object (an empty list `()` is 56 bytes for 2 bytes
  on the wire), so a line is charged 64 bytes per space and per `(` on top of its length,
  and a literal twice its size (a nested one is also decoded to a str). The worst reply
  found, just under the limit, took a sync to 185 MB of RSS (49 MB without it); see
  tests/test_bulkfetch.py. The largest honest reply is the flag list of a whole folder
  (`(UID MODSEQ FLAGS)` of every changed message: about 700 bytes charged, 540 used, per
  message), which fits for up to about 190,000 messages at once.
"""

from __future__ import annotations

import bisect
import imaplib
import re
from collections.abc import Iterable
from contextlib import suppress
from typing import BinaryIO, NoReturn, cast

__all__ = [
    "MAX_LINE",
    "MAX_LITERAL",
    "MAX_REPLY_COST",
    "FetchData",
    "ReplyLimitError",
    "compact_uid_set",
    "uid_fetch",
]

FetchData = list[bytes | tuple[bytes, bytes]]

MAX_LINE = 1 << 20  # 1 MiB
MAX_LITERAL = 32 << 20  # 32 MiB
MAX_REPLY_COST = 128 << 20  # 128 MiB of estimated memory once parsed: RSS stays < 200 MB

# What one token and one literal cost once parsed, beyond their bytes (see the docstring).
_TOKEN_COST = 64
_LITERAL_COST = 128

# The start of a FETCH response, and its UID: `UID n` among the items of its first line,
# walking item by item (a name, then an atom or a flat list) from the opening `(`, so that a
# keyword or a string never passes for it. Servers put UID first or near the start; where it
# comes later, the response is kept (and charged) and the caller filters it. One match per
# line: a flood of unsolicited responses costs about a microsecond each.
_FETCH_LINE = re.compile(
    rb"\* (\d+) FETCH (?=\()"
    rb'(?:\((?:[^\s"{()]+ (?:\([^"{()]*\)|[^\s"{()]+) )*?UID (\d{1,10})[ )])?',
    re.IGNORECASE,
)
_ANY_UID = re.compile(rb"UID", re.IGNORECASE)
_LAST_UID = 2**32 - 1


class ReplyLimitError(ValueError):
    """The server's reply broke one of the size limits; the connection has been closed.

    A ValueError, like every other reply that cannot be read: `connection.translate_errors`
    turns it into one line in an `ImapError` for the account, whose cycle is skipped while
    the other accounts sync. Not an `imaplib.IMAP4.abort`, which would read as if the
    server had hung up.
    """


def uid_fetch(imap: imaplib.IMAP4, uid_set: str, items: str, modifiers: str = "") -> FetchData:
    """Run `UID FETCH uid_set items [modifiers]` and return imaplib-shaped FETCH data.

    Only the responses about UIDs in `uid_set` are returned. Raises `imaplib.IMAP4.error`
    when the server answers NO/BAD, `imaplib.IMAP4.abort` when the connection ends
    mid-response, and `ReplyLimitError` (after closing the connection, whose state is then
    unknown) when the reply breaks a size limit; `connection.translate_errors` turns each
    into an `ImapError`.
    """
    tag = imap._new_tag()
    command = f"UID FETCH {uid_set} {items}" + (f" {modifiers}" if modifiers else "")
    imap.send(tag + b" " + command.encode("ascii") + b"\r\n")
    try:
        return _read_responses(imap, tag, _UidSet(uid_set))
    except ReplyLimitError:
        with suppress(OSError):
            imap.shutdown()
        raise


def compact_uid_set(uids: Iterable[int]) -> str:
    """`[1, 2, 3, 5, 7, 8]` -> `"1:3,5,7:8"`: sorted, de-duplicated, runs as ranges.

    Servers reject very long UID lists (Dovecot: `BAD Too long argument` at ~20k UIDs), and
    imapclient does not compress them.

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


class _UidSet:
    """Membership in an IMAP UID set such as `1:3,5,8:9`.

    A set with `*` in it admits every UID: `*` is the folder's highest UID, which only the
    server knows (`5:*` is `3:5` when that is 3). So does a set that cannot be read.
    """

    def __init__(self, uid_set: str) -> None:
        ranges: list[tuple[int, int]] = []
        for part in uid_set.split(","):
            first, _, last = part.partition(":")
            low, high = _uid_value(first), _uid_value(last or first)
            if low is None or high is None:
                ranges = [(1, _LAST_UID)]
                break
            ranges.append((min(low, high), max(low, high)))
        ranges.sort()
        self.starts = [low for low, _high in ranges]
        self.ends = [high for _low, high in ranges]
        # Overlapping ranges: the running maximum keeps the bisection below exact.
        for i in range(1, len(self.ends)):
            self.ends[i] = max(self.ends[i], self.ends[i - 1])

    def __contains__(self, uid: int) -> bool:
        i = bisect.bisect_right(self.starts, uid) - 1
        return i >= 0 and uid <= self.ends[i]


def _uid_value(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 10 else None


def _line_cost(line: bytes) -> int:
    """What a line of a kept response is charged: its bytes and a Python object per token."""
    return len(line) + _TOKEN_COST * (line.count(b" ") + line.count(b"("))


def _over_budget() -> NoReturn:
    raise ReplyLimitError(
        f"a UID FETCH reply over the {MAX_REPLY_COST >> 20} MiB limit (estimated once parsed) "
        "for the messages asked for; the connection was closed"
    )


def _read_responses(imap: imaplib.IMAP4, tag: bytes, wanted: _UidSet) -> FetchData:
    stream = cast(BinaryIO, imap.file)  # typeshed allows a text file; imaplib's is binary
    tagged = tag + b" "
    used = 0  # the estimated memory of the responses kept so far
    data: FetchData = []
    match_fetch = _FETCH_LINE.match
    readline = stream.readline
    while True:
        line = readline(MAX_LINE + 1)
        if not line or len(line) > MAX_LINE:
            _line_error(line)
        fetch = match_fetch(line)
        if fetch is None:
            if line.startswith(tagged):
                _check_status(line[len(tagged) :])
                return data
            _skip_literals(stream, line)  # EXISTS, EXPUNGE, OK [HIGHESTMODSEQ], ...
            continue
        uid = fetch.group(2)
        if uid is None:
            if line[-3:] != b"}\r\n" and _ANY_UID.search(line) is None:
                continue  # unsolicited, one line: another client's flag change, say
        elif int(uid) not in wanted:
            if line[-3:] == b"}\r\n":
                _skip_literals(stream, line)  # about a message not asked for
            continue
        response, cost = _read_fetch(stream, fetch, line, MAX_REPLY_COST - used)
        if uid is None and not any(
            _ANY_UID.search(part[0] if isinstance(part, tuple) else part) for part in response
        ):
            continue  # unsolicited, with literals
        used += cost
        data.extend(response)


def _check_status(status_line: bytes) -> None:
    status, _, text = status_line.partition(b" ")
    if status.upper() != b"OK":
        raise imaplib.IMAP4.error(
            f"UID FETCH {status.decode('ascii', 'replace')}: "
            f"{text.strip().decode('utf-8', 'replace')[:300]}"
        )


def _read_fetch(
    stream: BinaryIO, fetch: re.Match[bytes], line: bytes, budget: int
) -> tuple[FetchData, int]:
    """One FETCH response in imaplib's shape, and what it is charged (at most `budget`)."""
    # imaplib's shape: "* 12 FETCH (UID ..." is kept as "12 (UID ...".
    current = fetch.group(1) + b" " + line[fetch.end(1) + 7 :]  # after "n FETCH "
    response: FetchData = []
    cost = 0
    # The parser joins a response's lines (a literal stands in as 3 characters) and splits
    # them into tokens: that transient work is bounded by the length of this text.
    text = len(current)
    while (size := _literal_size(line)) is not None:
        # A literal costs twice its size: a nested one is also decoded to a str.
        cost += _line_cost(current) + 2 * size + _LITERAL_COST
        if cost > budget:
            _over_budget()
        response.append((current.rstrip(b"\r\n"), _read_literal(stream, size)))
        line = current = _read_line(stream)
        text += 3 + len(current)
        if text > MAX_LINE:
            raise ReplyLimitError(
                f"a FETCH response with over {MAX_LINE >> 20} MiB of text outside its "
                "literals, over the limit; the connection was closed"
            )
    cost += _line_cost(current)
    if cost > budget:
        _over_budget()
    response.append(current.rstrip(b"\r\n"))
    return response, cost


def _skip_literals(stream: BinaryIO, line: bytes) -> None:
    """Read past the literals of a response that is dropped; one at a time in memory."""
    while (size := _literal_size(line)) is not None:
        _read_literal(stream, size)
        line = _read_line(stream)


def _read_line(stream: BinaryIO) -> bytes:
    line = stream.readline(MAX_LINE + 1)
    if not line or len(line) > MAX_LINE:
        _line_error(line)
    return line


def _line_error(line: bytes) -> NoReturn:
    if not line:
        raise imaplib.IMAP4.abort("the server closed the connection during FETCH")
    raise ReplyLimitError(
        f"a line of over {MAX_LINE >> 20} MiB without an end, over the limit; "
        "the connection was closed"
    )


def _read_literal(stream: BinaryIO, size: int) -> bytes:
    body = stream.read(size)
    if len(body) < size:
        raise imaplib.IMAP4.abort("the server closed the connection during FETCH")
    return body


def _literal_size(line: bytes) -> int | None:
    """N when the line ends with a literal announcement `{N}`, else None; checks the limit."""
    if not line.endswith(b"}\r\n"):
        return None
    start = line.rfind(b"{")
    digits = line[start + 1 : -3].rstrip(b"+")
    if start < 0 or not digits.isdigit():
        return None
    # Compared as text first: int() refuses 4,300 digits and more.
    if len(digits) > 10 or int(digits) > MAX_LITERAL:
        raise ReplyLimitError(
            f"a literal of {digits[:20].decode()}{'...' if len(digits) > 20 else ''} bytes, "
            f"over the {MAX_LITERAL >> 20} MiB limit; the connection was closed"
        )
    return int(digits)
