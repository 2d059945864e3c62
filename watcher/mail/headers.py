"""Fast, forgiving parsing of the header fields the watcher reads.

A first sync parses tens of thousands of header blocks, so the common shapes take a fast path
(a split and a regex), and only the unusual ones go to the standard library. Nothing here
raises on bad input: a header that cannot be understood yields an empty value, and callers
record the problem.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import codecs
import re
from email.utils import getaddresses, mktime_tz, parsedate_tz

from watcher.model import Address

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

# What is kept of one header field: other people's mail can make any of them megabytes long.
# The IMAP fetch asks for at most HEADER_FETCH_BYTES of the fields above; each field is then
# capped again when facts are built (the Maildir path reads whole files).
HEADER_FETCH_BYTES = 65536
MESSAGE_ID_LIMIT = 998  # RFC 5322's line length: no real id is longer
ADDRESS_LIMIT = 100  # addresses kept per field (To, Cc, ...)
ADDRESS_TEXT_LIMIT = 32768  # characters of an address field that are parsed
NAME_LIMIT = 200  # characters of a display name
ADDRESS_LENGTH_LIMIT = 320  # characters of an address (64 + @ + 255)

# An RFC 2047 encoded word, looser than the RFC where real senders are: the charset may be
# empty (read as UTF-8), and the text may hold spaces and a `?` (unencoded by some mailers),
# but never `?=` (the end of this word) nor `=?` (the start of the next one). The text is an
# atomic group: it can end only where it stops, so the regex never backtracks into it, and a
# huge header without `?=` is scanned in linear time. Not a possessive `*+` around the
# alternation: Debian 12's Python 3.11.2 matches nothing with it (fixed in later 3.11s), and
# every encoded subject and name came through undecoded.
_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([qQbB])\?((?>(?:[^?=]+|\?(?!=)|=(?!\?(?!=)))*))\?=")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_WHITESPACE = re.compile(r"\s+")


# A header field: its name, then its value with any folded continuation lines.
_FIELD = re.compile(r"^([!-9;-~]+)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.MULTILINE)
_FOLD = re.compile(r"\r?\n[ \t]+")


def split_header_block(raw: bytes) -> dict[str, str]:
    """Header name (lower-case) -> first value, unfolded and decoded to text.

    8-bit bytes in headers are common in real mail although forbidden: try UTF-8 first, then
    Latin-1, which never fails. Lines that are not header fields (an mbox "From " line) are
    skipped; the block ends at the first empty line.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = _cut_utf8(raw, exc)
    end = text.find("\n\r\n") if "\n\r\n" in text else text.find("\n\n")
    if end >= 0:
        text = text[: end + 1]
    fields: dict[str, str] = {}
    for name, value in _FIELD.findall(text):
        key = name.lower()
        if key not in fields:
            if "\n" in value:
                value = _FOLD.sub(" ", value)
            fields[key] = value.strip()
    return fields


def _cut_utf8(raw: bytes, error: UnicodeDecodeError) -> str:
    # A partial fetch (HEADER_FETCH_BYTES) may end inside a UTF-8 sequence: that alone is no
    # reason to read the whole block as Latin-1.
    if error.end == len(raw) and len(raw) - error.start < 4:
        try:
            return raw[: error.start].decode("utf-8")
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words (`=?utf-8?q?...?=`) into text; never raises.

    The one decoder for header values and MIME file names, whether read over IMAP or from a
    file. Free when there is no `=?` in the value. Whitespace between two encoded words is
    dropped, and adjacent words in the same charset are decoded together, because senders
    split one character's bytes across two words. Charsets degrade as `decode_bytes` says
    (unknown: UTF-8; lying: UTF-8, else U+FFFD). A word that cannot be decoded (bad base64)
    stays as sent, and the words around it are decoded all the same.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    run: list[bytes] = []  # the bytes of adjacent decoded words in one charset, not yet text
    run_charset = ""
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        position = match.end()
        data = _word_bytes(match.group(2), match.group(3))
        charset = match.group(1).split("*", 1)[0].lower()  # RFC 2231 language: utf-8*en
        follows_word = bool(run) and (not gap or gap.isspace())
        if data is not None and follows_word and charset == run_charset:
            run.append(data)
            continue
        if run:
            out.append(decode_bytes(b"".join(run), run_charset))
            run = []
        if data is None:  # kept as sent: text, so the whitespace before it stays
            out.append(gap + match.group(0))
            continue
        if not follows_word:
            out.append(gap)
        run = [data]
        run_charset = charset
    if run:
        out.append(decode_bytes(b"".join(run), run_charset))
    out.append(value[position:])
    return "".join(out)


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    """The bytes an encoded word carries, or None when its base64 is broken."""
    if encoding in "bB":
        payload = "".join(payload.split())
        try:
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):  # ValueError: non-ASCII text
            return None
    # Raw 8-bit text inside a Q word is the sender's charset, most often UTF-8: keep it.
    return binascii.a2b_qp(payload.replace("_", " ").encode("utf-8", "replace"))


def decode_bytes(data: bytes, charset: str) -> str:
    """Decode with the named charset; an unknown or lying charset degrades, never fails."""
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):  # unknown, or a name with a NUL in it
        charset = "utf-8"
    try:
        text = data.decode(charset)
    except UnicodeDecodeError:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode(charset, errors="replace")
            except Exception:  # a codec without "replace" (idna)
                return data.decode("utf-8", errors="replace")
    except Exception:
        return data.decode("utf-8", errors="replace")
    return valid_text(text)


def valid_text(text: str) -> str:
    """`text` without lone surrogates (as U+FFFD), which utf-7 or unicode-escape can decode to
    and which no UTF-8 file, SQLite store or email message can hold."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


# One address item: `"Name" <a@b>`, `Name <a@b>`, `<a@b>` or a bare `a@b`, then a comma or end.
_ADDRESS_ITEM = re.compile(
    r'\s*(?:"((?:[^"\\]|\\.)*)"\s*|([^",<>;:()]*?)\s*)<([^<>\s]*)>\s*(?:,|$)'
    r'|\s*([^\s",<>;:()]+@[^\s",<>;:()]+)\s*(?:,|$)'
)


_address_cache: dict[str, tuple[Address, ...]] = {}
_CACHE_LIMIT = 50_000
_CACHED_TEXT_LIMIT = 2048
_NEEDS_GRAMMAR = re.compile(r'["()\\:;]')
_GRAMMAR_CHARACTERS = re.compile(r'["()\\:;<>,@]')


def parse_addresses(value: str) -> tuple[Address, ...]:
    """Parse an address-list header into (display name, lower-case address) pairs.

    The same header values recur all the time (your own address, a client's From line), so
    results are remembered; a bounded cache keeps memory flat on any mailbox.
    """
    if not value:
        return ()
    cached = _address_cache.get(value)
    if cached is not None:
        return cached
    text = _shortened(value) if len(value) > ADDRESS_TEXT_LIMIT else value
    result = _parse_plain_list(text) if _NEEDS_GRAMMAR.search(text) is None else None
    if result is None:
        result = _parse_with_regex(text)
    result = _capped_addresses(result)
    if len(value) <= _CACHED_TEXT_LIMIT:  # a huge value would pin its memory in the cache
        if len(_address_cache) >= _CACHE_LIMIT:
            _address_cache.clear()
        _address_cache[value] = result
    return result


def _shortened(value: str) -> str:
    """A huge address field as its first `ADDRESS_LIMIT` items, each long one reduced to the
    start of its name and its `<address>`: parsing the rest would cost, and it is not kept."""
    items = value.split(",", ADDRESS_LIMIT)[:ADDRESS_LIMIT]
    for number, item in enumerate(items):
        if len(item) > NAME_LIMIT + ADDRESS_LENGTH_LIMIT:
            less = item.rfind("<")
            tail = item[less:].strip() if less >= 0 else ""
            if len(tail) > ADDRESS_LENGTH_LIMIT + 2:
                tail = ""
            name = _GRAMMAR_CHARACTERS.sub(" ", item[: min(NAME_LIMIT, max(less, 0))])
            items[number] = f"{name} {tail}" if tail else name
    return ",".join(items)


def _capped_addresses(found: tuple[Address, ...]) -> tuple[Address, ...]:
    if len(found) <= ADDRESS_LIMIT and all(
        len(name) <= NAME_LIMIT and len(address) <= ADDRESS_LENGTH_LIMIT for name, address in found
    ):
        return found
    return tuple(
        (name[:NAME_LIMIT], address)
        for name, address in found[:ADDRESS_LIMIT]
        if len(address) <= ADDRESS_LENGTH_LIMIT  # longer is no deliverable address
    )


def _parse_plain_list(value: str) -> tuple[Address, ...] | None:
    """The common shapes without quotes or comments: `a@b`, `Name <a@b>`, comma-separated."""
    found: list[Address] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        less = item.find("<")
        if less < 0:
            if "@" not in item or " " in item or ">" in item:
                return None
            found.append(("", item.lower()))
            continue
        greater = item.find(">", less)
        if greater < 0 or item[greater + 1 :].strip():
            return None
        address = item[less + 1 : greater].strip().lower()
        name = item[:less].strip()
        if address:
            found.append((decode_words(name) if "=?" in name else name, address))
    return tuple(found)


def _parse_with_regex(value: str) -> tuple[Address, ...]:
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
        return tuple(_capped_id(f"<{i}>") for i in ids)
    bare = value.strip().split()
    return (_capped_id(bare[0]),) if bare else ()


def _capped_id(message_id: str) -> str:
    # Cut the same way wherever it is cited, an overlong id still matches its replies.
    if len(message_id) <= MESSAGE_ID_LIMIT:
        return message_id
    return message_id[: MESSAGE_ID_LIMIT - 1] + (">" if message_id.endswith(">") else "")


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# The RFC 5322 shape nearly all mail uses: "[Mon, ]14 May 2001 16:39:00 -0700 [(PDT)]".
_COMMON_DATE = re.compile(
    r"^\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s+([+-])(\d{2})(\d{2})\b"
)


def parse_date(value: str) -> int | None:
    """POSIX seconds for a Date header, or None when it is missing or nonsense."""
    if not value:
        return None
    match = _COMMON_DATE.match(value)
    if match is not None:
        day, month_name, year, hour, minute, second, sign, off_h, off_m = match.groups()
        month = _MONTHS.get(month_name.lower())
        if month is not None:
            number = int(year)
            if number < 100:  # "0001": an obsolete two-digit year, read as RFC 5322 4.3 says
                number += 2000 if number < 50 else 1900
            try:
                local = calendar.timegm(
                    (number, month, int(day), int(hour), int(minute), int(second or 0))
                )
            except (ValueError, OverflowError):
                return None
            offset = (int(off_h) * 3600 + int(off_m) * 60) * (1 if sign == "+" else -1)
            return _plausible(local - offset)
    try:
        parts = parsedate_tz(value)
        if parts is None:
            return None
        return _plausible(mktime_tz(parts))
    except (ValueError, OverflowError, TypeError, IndexError):
        return None


def _plausible(seconds: int) -> int | None:
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
