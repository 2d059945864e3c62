"""One message's facts as a row of the `messages` table, and back.

Address lists, attachments and problems are JSON text in their columns; the same few thousand
address lists recur on every load and every sync, so each distinct one is encoded and decoded
once (bounded caches keep memory flat).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from watcher.model import Address, Attachment, MessageFacts

# The columns of the `messages` table, in the order `to_row` fills them.
MESSAGE_COLUMNS = (
    "account",
    "folder",
    "key",
    "uid",
    "message_id",
    "in_reply_to",
    "refs",
    "gm_thread_id",
    "thread_index",
    "from_addrs",
    "sender_addrs",
    "reply_to_addrs",
    "to_addrs",
    "cc_addrs",
    "bcc_addrs",
    "date",
    "internal_date",
    "subject",
    "flags",
    "modseq",
    "size",
    "auto_submitted",
    "x_autoreply",
    "x_autorespond",
    "precedence",
    "list_id",
    "content_type",
    "report_type",
    "reported_message_id",
    "attachments",
    "is_from_me",
    "body_text",
    "parse_problems",
)

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


def to_row(account: str, folder: str, f: MessageFacts) -> tuple[object, ...]:
    return (
        account,
        folder,
        f.key,
        f.uid,
        f.message_id,
        f.in_reply_to,
        " ".join(f.references),
        f.gm_thread_id,
        f.thread_index,
        _addresses_json(f.from_),
        _addresses_json(f.sender),
        _addresses_json(f.reply_to),
        _addresses_json(f.to),
        _addresses_json(f.cc),
        _addresses_json(f.bcc),
        f.date,
        f.internal_date,
        f.subject,
        " ".join(f.flags),
        f.modseq,
        f.size,
        f.auto_submitted,
        f.x_autoreply,
        f.x_autorespond,
        f.precedence,
        f.list_id,
        f.content_type,
        f.report_type,
        f.reported_message_id,
        json.dumps(
            [[a.filename, a.content_type, a.size] for a in f.attachments], ensure_ascii=False
        )
        if f.attachments
        else "[]",
        int(f.is_from_me),
        f.body_text,
        json.dumps(f.parse_problems, ensure_ascii=False) if f.parse_problems else "[]",
    )


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


def from_row(row: Sequence[object]) -> MessageFacts:
    (
        _account,
        _folder,
        key,
        uid,
        message_id,
        in_reply_to,
        refs,
        gm_thread_id,
        thread_index,
        from_addrs,
        sender_addrs,
        reply_to_addrs,
        to_addrs,
        cc_addrs,
        bcc_addrs,
        date,
        internal_date,
        subject,
        flags,
        modseq,
        size,
        auto_submitted,
        x_autoreply,
        x_autorespond,
        precedence,
        list_id,
        content_type,
        report_type,
        reported_message_id,
        attachments,
        is_from_me,
        body_text,
        parse_problems,
    ) = row
    return MessageFacts(
        key=str(key),
        uid=uid,  # type: ignore[arg-type]
        message_id=str(message_id),
        in_reply_to=str(in_reply_to),
        references=tuple(str(refs).split()),
        gm_thread_id=gm_thread_id,  # type: ignore[arg-type]
        thread_index=str(thread_index),
        from_=_addresses(str(from_addrs)),
        sender=_addresses(str(sender_addrs)),
        reply_to=_addresses(str(reply_to_addrs)),
        to=_addresses(str(to_addrs)),
        cc=_addresses(str(cc_addrs)),
        bcc=_addresses(str(bcc_addrs)),
        date=date,  # type: ignore[arg-type]
        internal_date=internal_date,  # type: ignore[arg-type]
        subject=str(subject),
        flags=tuple(str(flags).split()),
        modseq=modseq,  # type: ignore[arg-type]
        size=size,  # type: ignore[arg-type]
        auto_submitted=str(auto_submitted),
        x_autoreply=str(x_autoreply),
        x_autorespond=str(x_autorespond),
        precedence=str(precedence),
        list_id=str(list_id),
        content_type=str(content_type),
        report_type=str(report_type),
        reported_message_id=str(reported_message_id),
        attachments=()
        if attachments == "[]"
        else tuple(
            Attachment(filename=n, content_type=t, size=s)
            for n, t, s in json.loads(str(attachments))
        ),
        is_from_me=bool(is_from_me),
        body_text=str(body_text),
        parse_problems=() if parse_problems == "[]" else tuple(json.loads(str(parse_problems))),
    )
