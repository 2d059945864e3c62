"""Fast, forgiving parsing of the header fields the watcher reads.

A first sync parses tens of thousands of header blocks, so the common shapes take a fast path
(a split and a regex), and only the unusual ones go to the standard library. Nothing here
raises on bad input: a header that cannot be understood yields an empty value, and callers
record the problem.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from email.utils import getaddresses, mktime_tz, parsedate_tz

from watcher.mail.facts import Address

# The header fields fetched for every message (BODY.PEEK[HEADER.FIELDS (...)]).
HEADER_FIELDS: tuple[str, ...] = (
    "MESSAGE-ID",
    "IN-REPLY-TO",
    "REFERENCES",
    "FROM",
    "SENDER",
    "REPLY-TO",
    "TO",
    "CC",
    "BCC",
    "DATE",
    "SUBJECT",
    "AUTO-SUBMITTED",
    "X-AUTOREPLY",
    "X-AUTORESPOND",
    "PRECEDENCE",
    "LIST-ID",
    "THREAD-INDEX",
    "CONTENT-TYPE",
    "X-FOLLOWUP-WATCHER",
)

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_ENCODED_WORD_STR = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_WHITESPACE = re.compile(r"\s+")


def split_header_block(raw: bytes) -> dict[str, str]:
    """Header name (lower-case) -> first value, unfolded and decoded to text.

    8-bit bytes in headers are common in real mail although forbidden: try UTF-8 first, then
    Latin-1, which never fails.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    fields: dict[str, str] = {}
    name = ""
    value_lines: list[str] = []
    for line in text.splitlines():
        if not line:
            if name:
                break  # end of the header block; the body never matters here
            continue
        if line[0] in " \t":
            if name:
                value_lines.append(line.strip())
            continue
        if name and name not in fields:
            fields[name] = " ".join(value_lines)
        head, colon, rest = line.partition(":")
        if not colon:
            name = ""  # not a header line (e.g. an mbox "From " line): skip it
            continue
        name = head.strip().lower()
        value_lines = [rest.strip()]
    if name and name not in fields:
        fields[name] = " ".join(value_lines)
    return fields


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words (`=?utf-8?q?...?=`); unknown charsets fall back to UTF-8."""
    if "=?" not in value:
        return value
    value = _BETWEEN_WORDS.sub(r"\1\2", value)  # whitespace between encoded-words is dropped
    return _ENCODED_WORD_STR.sub(_decode_one_word, value)


def _decode_one_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match.group(1), match.group(2).lower(), match.group(3)
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    try:
        if encoding == "b":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            data = binascii.a2b_qp(payload.replace("_", " ").encode("ascii", "replace"))
    except (binascii.Error, ValueError):
        return match.group(0)
    return decode_bytes(data, charset)


def decode_bytes(data: bytes, charset: str) -> str:
    """Decode with the named charset; an unknown or lying charset degrades, never fails."""
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode(charset, errors="replace")
    except Exception:
        return data.decode("utf-8", errors="replace")


# One address item: `"Name" <a@b>`, `Name <a@b>`, `<a@b>` or a bare `a@b`, then a comma or end.
_ADDRESS_ITEM = re.compile(
    r'\s*(?:"((?:[^"\\]|\\.)*)"\s*|([^",<>;:()]*?)\s*)<([^<>\s]*)>\s*(?:,|$)'
    r'|\s*([^\s",<>;:()]+@[^\s",<>;:()]+)\s*(?:,|$)'
)


def parse_addresses(value: str) -> tuple[Address, ...]:
    """Parse an address-list header into (display name, lower-case address) pairs."""
    if not value:
        return ()
    found: list[Address] = []
    position = 0
    end = len(value)
    while position < end:
        match = _ADDRESS_ITEM.match(value, position)
        if match is None or match.end() == position:
            return _parse_addresses_slowly(value)
        quoted, plain, bracketed, bare = match.groups()
        if bare is not None:
            found.append(("", bare.lower()))
        else:
            name = quoted.replace('\\"', '"') if quoted is not None else (plain or "")
            found.append((decode_words(name.strip()), bracketed.lower()))
        position = match.end()
    return tuple(pair for pair in found if pair[1])


def _parse_addresses_slowly(value: str) -> tuple[Address, ...]:
    # Groups, comments and other rarities: the standard library knows RFC 5322 better.
    try:
        pairs = getaddresses([value])
    except Exception:
        return ()
    return tuple((decode_words(name), address.lower()) for name, address in pairs if address)


def parse_message_ids(value: str) -> tuple[str, ...]:
    """All `<id>` tokens of a Message-ID, In-Reply-To or References header, in order."""
    if not value:
        return ()
    ids = _MESSAGE_ID.findall(value)
    if ids:
        return tuple(f"<{i}>" for i in ids)
    bare = value.strip().split()
    return (bare[0],) if bare else ()


def parse_date(value: str) -> int | None:
    """POSIX seconds for a Date header, or None when it is missing or nonsense."""
    if not value:
        return None
    try:
        parts = parsedate_tz(value)
        if parts is None:
            return None
        seconds = mktime_tz(parts)
    except (ValueError, OverflowError, TypeError, IndexError):
        return None
    # Dates before 1970 or after 2200 are corrupt headers, not real mail.
    return seconds if 0 <= seconds < 7_258_118_400 else None


def normalize_space(value: str) -> str:
    return _WHITESPACE.sub(" ", value).strip()


def content_type_of(value: str) -> tuple[str, dict[str, str]]:
    """A Content-Type header as ("type/subtype" lower-case, {param: value})."""
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for item in rest.split(";"):
        key, eq, raw = item.partition("=")
        if eq:
            params[key.strip().lower()] = raw.strip().strip('"')
    return main.strip().lower(), params
