"""One message's facts as a row of the `messages` table, and back, derived from the fields.

The row is `account, folder`, then one column per field of `MessageFacts`, in field order.
Each field is stored by the codec of its type (`_CODECS`): strings and integers as they are,
a bool as 0/1, tuples as JSON text. Adding a field is one field in `watcher/model.py` plus one
migration adding its column (`tests/test_store.py` fails until both are there, and names the
ALTER TABLE to add). A field whose type has no codec fails at import, naming the field.

Address lists recur on every load and every sync (your own address, a client's From), so
each distinct one is encoded and decoded once (bounded caches keep memory flat).
"""

from __future__ import annotations

import json
import operator
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from watcher.model import Address, Attachment, MessageFacts


@dataclass(frozen=True, slots=True)
class Codec:
    """How one type is stored: its column's SQL type, and the conversions both ways (None
    when the value goes into SQLite as it is and comes back as it went in)."""

    sql_type: str  # as in CREATE TABLE: "TEXT NOT NULL", "INTEGER"
    encode: Callable[[Any], object] | None = None
    decode: Callable[[Any], object] | None = None


def _json(values: tuple[object, ...]) -> str:
    return json.dumps(values, ensure_ascii=False) if values else "[]"


def _strings(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))


_json_cache: dict[tuple[Address, ...], str] = {}


def _addresses_json(addresses: tuple[Address, ...]) -> str:
    # Address lists repeat (your own address, a client's From): encode each distinct one once.
    if not addresses:
        return "[]"
    encoded = _json_cache.get(addresses)
    if encoded is None:
        if len(_json_cache) >= 50_000:
            _json_cache.clear()
        encoded = _json_cache[addresses] = json.dumps(addresses, ensure_ascii=False)
    return encoded


_decoded_cache: dict[str, tuple[Address, ...]] = {}


def _addresses(text: str) -> tuple[Address, ...]:
    # The same few thousand address lists come back on every load: decode each once.
    if text == "[]":
        return ()
    decoded = _decoded_cache.get(text)
    if decoded is None:
        if len(_decoded_cache) >= 50_000:
            _decoded_cache.clear()
        decoded = tuple((name, address) for name, address in json.loads(text))
        _decoded_cache[text] = decoded
    return decoded


def _attachments_json(attachments: tuple[Attachment, ...]) -> str:
    return _json(tuple([a.filename, a.content_type, a.size] for a in attachments))


def _attachments(text: str) -> tuple[Attachment, ...]:
    if text == "[]":
        return ()
    return tuple(Attachment(name, kind, size) for name, kind, size in json.loads(text))


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# The codec of each field type, keyed by the type as `typing.get_type_hints` gives it.
_CODECS: dict[object, Codec] = {
    str: Codec("TEXT NOT NULL"),
    int: Codec("INTEGER NOT NULL"),
    int | None: Codec("INTEGER"),
    bool: Codec("INTEGER NOT NULL", int, bool),
    tuple[str, ...]: Codec("TEXT NOT NULL", _json, _strings),
    tuple[Address, ...]: Codec("TEXT NOT NULL", _addresses_json, _addresses),
    tuple[Attachment, ...]: Codec("TEXT NOT NULL", _attachments_json, _attachments),
}

# Fields stored before the rows were derived from the fields keep their columns: these
# column names, and message IDs and IMAP flags as space-separated words (neither contains a
# space). A new field needs no entry: its column is its name, its codec its type's.
_WORDS = Codec("TEXT NOT NULL", " ".join, _split)
_FIRST_COLUMNS: dict[str, tuple[str, Codec | None]] = {
    "references": ("refs", _WORDS),
    "flags": ("flags", _WORDS),
    "from_": ("from_addrs", None),
    "sender": ("sender_addrs", None),
    "reply_to": ("reply_to_addrs", None),
    "to": ("to_addrs", None),
    "cc": ("cc_addrs", None),
    "bcc": ("bcc_addrs", None),
}


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the `messages` table that holds a field of `MessageFacts`."""

    name: str
    field: str
    codec: Codec


def _column(field_name: str, hint: object) -> Column:
    name, codec = _FIRST_COLUMNS.get(field_name, (field_name, None))
    if codec is None:
        codec = _CODECS.get(hint)
    if codec is None:
        raise TypeError(
            f"MessageFacts.{field_name}: the store has no codec for {hint}; add one to"
            " _CODECS in watcher/store/rows.py"
        )
    return Column(name, field_name, codec)


def _fact_columns() -> tuple[Column, ...]:
    hints = typing.get_type_hints(MessageFacts)
    return tuple(_column(f.name, hints[f.name]) for f in fields(MessageFacts))


# The columns that hold the facts, in field order; derived from the dataclass, a constant of
# the program (never from data), so the SQL built from these names stays constant.
FACT_COLUMNS = _fact_columns()
# The columns of the `messages` table, in the order `to_row` fills them.
MESSAGE_COLUMNS = ("account", "folder", *(c.name for c in FACT_COLUMNS))

# Only the columns whose values need converting are touched per row (by position); the
# others pass through, so loading 100k rows costs a few calls per row, not one per field.
_ALL_FACTS = operator.attrgetter(*(c.field for c in FACT_COLUMNS))
_ENCODERS = tuple((i, c.codec.encode) for i, c in enumerate(FACT_COLUMNS, 2) if c.codec.encode)
_DECODERS = tuple((i, c.codec.decode) for i, c in enumerate(FACT_COLUMNS) if c.codec.decode)
_END = len(MESSAGE_COLUMNS)


def to_row(account: str, folder: str, facts: MessageFacts) -> tuple[object, ...]:
    row: list[object] = [account, folder, *_ALL_FACTS(facts)]
    for i, encode in _ENCODERS:
        row[i] = encode(row[i])
    return tuple(row)


def from_row(row: Sequence[Any]) -> MessageFacts:
    """The facts of a row as `to_row` made it: account and folder first (ignored here), and
    any further columns a query added after the facts (ignored too)."""
    values = list(row[2:_END])
    for i, decode in _DECODERS:
        values[i] = decode(values[i])
    # The codec of each field's type made its value; the round-trip test checks every field.
    return MessageFacts(*values)
