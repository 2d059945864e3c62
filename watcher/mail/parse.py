"""Turn what a mail source read (a header block, a MIME outline, a text part) into `MessageFacts`.

Two entry points: `facts_from_headers` for IMAP, where the server already did the MIME work
(BODYSTRUCTURE), and `facts_from_raw` for a whole message read from disk, where mail-parser
does it. Neither raises on bad mail: what cannot be read is left empty and named in
`parse_problems`, so one broken message never stops a sync.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import replace
from email.message import Message

import mailparser
from mailparser.utils import decode_header_part

from watcher.identity import Identity
from watcher.mail.headers import (
    content_type_of,
    decode_bytes,
    decode_words,
    normalize_space,
    parse_addresses,
    parse_date,
    parse_message_ids,
    split_header_block,
)
from watcher.model import Attachment, MessageFacts, from_delivery_system

# How much of the text part is kept: enough to classify and to quote the opening lines.
BODY_TEXT_LIMIT = 4096
# Bytes of the text part fetched from the server: encodings and HTML inflate the text.
BODY_FETCH_BYTES = 12288

# Caps on what is kept of one message: a stranger's mail can make any header megabytes long
# (see also the per-field caps in headers.py). A 1 MB subject is kept as its first 1,000
# characters; of a References list, the first few ids (the root of the thread) and the last
# twenty (its nearest ancestors), which is what joining a conversation needs.
SUBJECT_LIMIT = 1000
REFERENCES_FIRST = 5
REFERENCES_LAST = 20
TEXT_FIELD_LIMIT = 500  # List-Id, Thread-Index
KEYWORD_LIMIT = 100  # Auto-Submitted, Precedence, ...: single words in real mail
ATTACHMENT_LIMIT = 100
FILENAME_LIMIT = 255

_TAG = re.compile(r"<[^>]*>")
_SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLOCK_END = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")
# The digest's header, at the start of a line, its value possibly folded onto the next.
_DIGEST_MARK = re.compile(rb"(?:^|\n)x-followup-watcher:\s*digest\b", re.IGNORECASE)
# Two spaces, a tab, or anything Python reads as a line break (CR, LF, VT, FF, \x1c-\x1e, NEL,
# U+2028/9): a subject is one line, or it could not even be the Subject of a follow-up draft.
_ODD_SPACE = re.compile("  |[\t\n\x0b\x0c\r\x1c-\x1e\x85\u2028\u2029]")


def facts_from_headers(
    header_block: bytes,
    *,
    key: str,
    identity: Identity,
    in_sent_folder: bool = False,
    uid: int | None = None,
    flags: Iterable[str] = (),
    internal_date: int | None = None,
    size: int | None = None,
    modseq: int | None = None,
    gm_thread_id: int | None = None,
    content_type: str | None = None,
    report_type: str = "",
    attachments: tuple[Attachment, ...] = (),
) -> MessageFacts:
    """Facts from the fetched header fields plus what the source knows from elsewhere.

    `content_type` given (from BODYSTRUCTURE) wins over the Content-Type header, which the
    server has already interpreted. A message counts as mine when its From is one of my
    addresses, or when it sits in a Sent folder (where clients file what the user sent).
    """
    problems: list[str] = []
    headers = split_header_block(header_block)
    get = headers.get
    # Values come unfolded and stripped; an absent field is "" (most are absent).
    from_text = get("from", "")
    from_ = parse_addresses(from_text)
    if from_text and not from_:
        problems.append("From header could not be read")
    date_text = get("date", "")
    date = parse_date(date_text)
    if date_text and date is None:
        problems.append(f"Date header {date_text[:60]!r} is not a date")
    if content_type is None:
        content_type, params = content_type_of(get("content-type", "text/plain"))
        if content_type == "multipart/report":
            report_type = params.get("report-type", "").lower()
    message_ids = parse_message_ids(get("message-id", ""))
    in_reply_to = parse_message_ids(get("in-reply-to", ""))
    return MessageFacts(
        key=key,
        uid=uid,
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=capped_references(parse_message_ids(get("references", ""))),
        gm_thread_id=gm_thread_id,
        thread_index=get("thread-index", "")[:TEXT_FIELD_LIMIT],
        from_=from_,
        sender=parse_addresses(get("sender", "")),
        reply_to=parse_addresses(get("reply-to", "")),
        to=parse_addresses(get("to", "")),
        cc=parse_addresses(get("cc", "")),
        bcc=parse_addresses(get("bcc", "")),
        date=date,
        internal_date=internal_date,
        subject=subject_of(get("subject", "")),
        flags=flags if isinstance(flags, tuple) else tuple(flags),
        modseq=modseq,
        size=size,
        auto_submitted=get("auto-submitted", "")[:KEYWORD_LIMIT].lower(),
        x_autoreply=get("x-autoreply", "")[:KEYWORD_LIMIT].lower(),
        x_autorespond=get("x-autorespond", "")[:KEYWORD_LIMIT].lower(),
        precedence=get("precedence", "")[:KEYWORD_LIMIT].lower(),
        list_id=get("list-id", "")[:TEXT_FIELD_LIMIT],
        content_type=content_type[:KEYWORD_LIMIT],
        report_type=report_type[:KEYWORD_LIMIT],
        attachments=capped_attachments(attachments),
        is_from_me=in_sent_folder or any(identity.is_me(address) for _, address in from_),
        parse_problems=tuple(problems),
    )


def subject_of(raw: str) -> str:
    """The Subject as one line of text, at most `SUBJECT_LIMIT` characters."""
    # Encoded words take up to about five times the text they carry: cut before decoding,
    # so a megabyte of subject is never decoded, with room left for the cap after it.
    subject = raw[: SUBJECT_LIMIT * 8]
    if "=?" in subject:
        subject = decode_words(subject)
    if _ODD_SPACE.search(subject):
        subject = normalize_space(subject)
    return subject[:SUBJECT_LIMIT].rstrip() if len(subject) > SUBJECT_LIMIT else subject


def capped_references(ids: tuple[str, ...]) -> tuple[str, ...]:
    """The root end and the parent end of a References list, which threading relies on."""
    if len(ids) <= REFERENCES_FIRST + REFERENCES_LAST:
        return ids
    return ids[:REFERENCES_FIRST] + ids[-REFERENCES_LAST:]


def capped_attachments(attachments: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
    """At most `ATTACHMENT_LIMIT` attachments, each name at most `FILENAME_LIMIT` long."""
    if len(attachments) <= ATTACHMENT_LIMIT and all(
        len(a.filename) <= FILENAME_LIMIT and len(a.content_type) <= KEYWORD_LIMIT
        for a in attachments
    ):
        return attachments
    return tuple(
        replace(
            a, filename=a.filename[:FILENAME_LIMIT], content_type=a.content_type[:KEYWORD_LIMIT]
        )
        for a in attachments[:ATTACHMENT_LIMIT]
    )


def is_watcher_mail(header_block: bytes) -> bool:
    """The watcher's own digest (`X-Followup-Watcher: digest`): never stored, never a reply.

    Not its drafts (`X-Followup-Watcher: draft`): the Drafts folder is never read anyway, and
    the follow-up the user sends from one keeps the header in many clients; that sent copy is
    mine and must count as a reminder.
    """
    return _DIGEST_MARK.search(header_block) is not None


def wants_body_text(facts: MessageFacts) -> bool:
    """Whether the text part is worth fetching: my own mail, and reports and bounces."""
    if facts.is_from_me or facts.content_type == "multipart/report":
        return True
    return from_delivery_system(facts.from_)


def decode_text_part(data: bytes, *, encoding: str, charset: str, subtype: str = "plain") -> str:
    """A (possibly truncated) text part as readable text, at most `BODY_TEXT_LIMIT` characters."""
    encoding = encoding.lower()
    if encoding == "base64":
        compact = b"".join(data.split())
        compact = compact[: len(compact) - len(compact) % 4]  # a partial fetch cuts mid-quantum
        try:
            data = base64.b64decode(compact)
        except (binascii.Error, ValueError):
            data = b""
    elif encoding == "quoted-printable":
        data = binascii.a2b_qp(data)
    text = decode_bytes(data, charset or "us-ascii")
    if subtype == "html":
        text = html_to_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[:BODY_TEXT_LIMIT]


def html_to_text(markup: str) -> str:
    """Rough text of an HTML part: good enough to classify and quote, never rendered."""
    markup = _SCRIPT_STYLE.sub(" ", markup)
    markup = _BLOCK_END.sub("\n", markup)
    text = html.unescape(_TAG.sub("", markup))
    lines = (normalize_space(line) for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def reported_message_id(headers_or_text: bytes | str) -> str:
    """The Message-ID of the original message inside a bounce or receipt, if one is named."""
    if isinstance(headers_or_text, bytes):
        headers_or_text = headers_or_text.decode("latin-1")
    for line in headers_or_text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() in ("message-id", "original-message-id"):
            ids = parse_message_ids(value)
            if ids:
                return ids[0]
    return ""


def facts_from_raw(
    raw: bytes,
    *,
    key: str,
    identity: Identity,
    in_sent_folder: bool = False,
    flags: Iterable[str] = (),
    internal_date: int | None = None,
) -> MessageFacts:
    """Facts from a whole message (a Maildir file): headers as for IMAP, MIME by mail-parser."""
    body_start = header_end(raw)
    facts = facts_from_headers(
        raw[:body_start],
        key=key,
        identity=identity,
        in_sent_folder=in_sent_folder,
        flags=flags,
        internal_date=internal_date,
        size=len(raw),
    )
    try:
        parsed = mailparser.parse_from_bytes(raw)
        as_sent = _names_as_sent(parsed.message)
        attachments = capped_attachments(
            tuple(
                Attachment(
                    filename=_filename(str(item.get("filename") or ""), as_sent),
                    content_type=str(
                        item.get("mail_content_type") or "application/octet-stream"
                    ).lower(),
                    size=len(item.get("payload") or ""),
                )
                for item in parsed.attachments
            )
        )
        text = "\n".join(parsed.text_plain) if parsed.text_plain else ""
        if not text and parsed.text_html:
            text = html_to_text("\n".join(parsed.text_html))
    except Exception as exc:
        return replace(facts, parse_problems=(*facts.parse_problems, f"MIME not readable: {exc}"))
    reported = ""
    if facts.content_type == "multipart/report" or wants_body_text(facts):
        reported = reported_message_id(_embedded_headers(raw, body_start))
    keep_text = wants_body_text(facts)
    return replace(
        facts,
        attachments=attachments,
        body_text=text.replace("\r\n", "\n")[:BODY_TEXT_LIMIT] if keep_text else "",
        reported_message_id=reported,
    )


def _names_as_sent(message: Message) -> dict[str, str]:
    """mail-parser's name for each named part -> the name as sent (RFC 2231 undone).

    mail-parser decodes RFC 2047 in file names with a decoder of its own; going back to the
    name as sent lets a Maildir file's names take the IMAP path's decoder, `decode_words`.
    Keyed by mail-parser's own decoding, so each of its names finds its part again.
    """
    names: dict[str, str] = {}
    for part in message.walk():
        # A hostile name that fails here keeps mail-parser's reading; it never costs the rest.
        with suppress(Exception):
            sent = part.get_filename()
            if sent and "=?" in sent:
                names.setdefault(decode_header_part(sent), sent)
    return names


def _filename(parsed: str, as_sent: dict[str, str]) -> str:
    return decode_words(as_sent.get(parsed, parsed))


def header_end(raw: bytes) -> int:
    """Where the header block of a whole message ends (the body starts)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        position = raw.find(separator)
        if position >= 0:
            return position + len(separator)
    return len(raw)


def _embedded_headers(raw: bytes, header_end: int) -> bytes:
    # A bounce names the original message in an attached header block: the first Message-ID
    # after the bounce's own headers is the one it reports on.
    return raw[header_end:]
