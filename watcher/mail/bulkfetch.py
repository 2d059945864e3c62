"""Send one `UID FETCH` and read its responses straight off the connection.

Why: imaplib reads every response line through several regular expressions and, because
imapclient turns its debug output on, formats a debug message for each line and for the whole
result. On a bulk fetch that costs more than the transfer itself. This reader does the same
job with the connection's buffered `readline`/`read` and one check per line, and hands back
the data in exactly the shape imaplib would (`imapwire.parse_fetch_response` reads it).

Only used for FETCH, while a folder is selected read-only and no other command is in flight,
so no other response can be lost: untagged responses other than FETCH (EXISTS, EXPUNGE,
VANISHED, OK [HIGHESTMODSEQ]) are read and dropped, as the sync does not act on them.
"""

from __future__ import annotations

import imaplib
import re
from typing import BinaryIO, cast

FetchData = list[bytes | tuple[bytes, bytes]]

_FETCH_LINE = re.compile(rb"^\* (\d+) FETCH ", re.IGNORECASE)


def uid_fetch(imap: imaplib.IMAP4, uid_set: str, items: str, modifiers: str = "") -> FetchData:
    """Run `UID FETCH uid_set items [modifiers]` and return imaplib-shaped FETCH data.

    Raises `imaplib.IMAP4.error` when the server answers NO/BAD and `imaplib.IMAP4.abort`
    when the connection ends mid-response (both translated by the caller).
    """
    tag = imap._new_tag()
    command = f"UID FETCH {uid_set} {items}" + (f" {modifiers}" if modifiers else "")
    imap.send(tag + b" " + command.encode("ascii") + b"\r\n")
    return _read_responses(imap, tag)


def _read_responses(imap: imaplib.IMAP4, tag: bytes) -> FetchData:
    stream = cast(BinaryIO, imap.file)  # typeshed allows a text file; imaplib's is binary
    readline = stream.readline
    read = stream.read
    tagged = tag + b" "
    data: FetchData = []
    while True:
        line = readline()
        if not line:
            raise imaplib.IMAP4.abort("the server closed the connection during FETCH")
        if line.startswith(tagged):
            status, _, text = line[len(tagged) :].partition(b" ")
            if status.upper() != b"OK":
                raise imaplib.IMAP4.error(
                    f"UID FETCH {status.decode('ascii', 'replace')}: "
                    f"{text.strip().decode('utf-8', 'replace')}"
                )
            return data
        fetch = _FETCH_LINE.match(line)
        # imaplib's shape: "* 12 FETCH (UID ..." is kept as "12 (UID ...".
        current = fetch.group(1) + b" " + line[fetch.end() :] if fetch else line
        while True:
            size = _literal_size(line)
            if size is None:
                break
            body = read(size)
            if len(body) < size:
                raise imaplib.IMAP4.abort("the server closed the connection during FETCH")
            if fetch:
                data.append((current.rstrip(b"\r\n"), body))
            line = readline()
            if not line:
                raise imaplib.IMAP4.abort("the server closed the connection during FETCH")
            current = line
        if fetch:
            data.append(current.rstrip(b"\r\n"))


def _literal_size(line: bytes) -> int | None:
    """N when the line ends with a literal announcement `{N}`, else None."""
    if not line.endswith(b"}\r\n"):
        return None
    start = line.rfind(b"{")
    size = line[start + 1 : -3].rstrip(b"+")
    return int(size) if start >= 0 and size.isdigit() else None
