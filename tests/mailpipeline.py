"""Mail through every path the watcher reads it by, then all the way to the digest and the
follow-up drafts (`through_everything`), with the checks that the output stays safe.

One message goes through `facts_from_raw` (a Maildir file), `facts_from_headers`, and a FETCH
response synthesized for the same bytes (`fetch_response`) parsed as the sync does; all of them
then through conversations, the classifiers, `track`, `select_digest`, the renderers and
`build_draft`, and each fact through the store. test_hostile_input.py describes the inputs.
"""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.policy
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

from hostilemail import ME

from watcher.analysis.conversations import build_conversations
from watcher.analysis.proposals import classify_sent
from watcher.analysis.signals import automatic_reason, bounce_of
from watcher.analysis.tracker import track
from watcher.config.digest import DigestSettings
from watcher.config.tracking import Rule, Tracking
from watcher.digest.deliver import _wire_bytes, build_draft, is_plain_address
from watcher.digest.model import Digest
from watcher.digest.render import build_message, render_html, render_text, safe_link
from watcher.digest.select import select_digest
from watcher.identity import Identity
from watcher.mail.fetch import parse_fetch_response
from watcher.mail.headers import HEADER_FIELDS
from watcher.mail.imap import ImapSync
from watcher.mail.parse import (
    BODY_FETCH_BYTES,
    facts_from_headers,
    facts_from_raw,
    header_end,
    is_watcher_mail,
    wants_body_text,
)
from watcher.model import MessageFacts, StoredMessage
from watcher.store.store import FolderState, Store
from watcher.terminal import printable

IDENTITY = Identity((ME,))
ZONE = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 23, 7, 30, tzinfo=ZONE)
ARRIVED = int((NOW - dt.timedelta(days=20)).timestamp())
WEBMAIL = "https://app.fastmail.com/mail/search:msgid%3A"
DIGEST = DigestSettings(recipient=ME, sender=ME, account="acct", webmail="fastmail")
TRACKING = Tracking(
    track="all",
    keywords=("angebot",),
    rules=(Rule(number=1, subject=re.compile(r"proposal|offer", re.IGNORECASE), quiet_days=2),),
)
# Every tag the digest template itself uses: mail must add none.
TEMPLATE_TAGS = frozenset(
    [
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "div",
        "table",
        "tr",
        "td",
        "h1",
        "h2",
        "p",
        "span",
        "a",
        "code",
        "br",
    ]
)
DIGEST_HEADERS = frozenset(
    [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "auto-submitted",
        "x-followup-watcher",
        "mime-version",
        "content-type",
    ]
)
DRAFT_HEADERS = frozenset(
    [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "x-followup-watcher",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    ]
)

# -- the synthesized FETCH response ---------------------------------------------------------


class _Fetch:
    """Builds imaplib's shape of one FETCH response: (line ending in {N}, literal)..., bytes."""

    def __init__(self) -> None:
        self.items: list[bytes | tuple[bytes, bytes]] = []
        self.line = bytearray()

    def raw(self, data: bytes) -> None:
        self.line += data

    def string(self, value: object) -> None:
        if value is None:
            self.raw(b"NIL")
            return
        data = value if isinstance(value, bytes) else _text(value).encode("utf-8", "replace")
        if len(data) < 200 and all(32 <= b < 127 for b in data):
            self.raw(b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')
        else:  # what a server does with CR, LF, 8-bit or long strings
            self.literal(data)

    def literal(self, data: bytes) -> None:
        self.line += b"{%d}" % len(data)
        self.items.append((bytes(self.line), data))
        self.line = bytearray()

    def finish(self) -> list[bytes | tuple[bytes, bytes]]:
        self.items.append(bytes(self.line))
        return self.items


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return ""


def _params(out: _Fetch, part: email.message.Message, header: str = "content-type") -> None:
    try:
        params = part.get_params(header=header)[1:] if part.get(header) else []
    except Exception:
        params = []
    if not params:
        out.raw(b"NIL")
        return
    out.raw(b"(")
    for number, (key, value) in enumerate(params):
        out.raw(b" " if number else b"")
        out.string(key)
        out.raw(b" ")
        out.string(value[2] if isinstance(value, tuple) else value)
    out.raw(b")")


def _structure(out: _Fetch, part: email.message.Message) -> None:
    """RFC 3501 BODYSTRUCTURE of a parsed message, as a server would describe it."""
    payload = part.get_payload()
    if part.is_multipart() and isinstance(payload, list) and payload:
        out.raw(b"(")
        for child in payload:
            _structure(out, child)
        out.raw(b" ")
        out.string(part.get_content_subtype())
        out.raw(b" ")
        _params(out, part)
        out.raw(b" NIL NIL)")
        return
    text = payload if isinstance(payload, str) else ""
    maintype, subtype = part.get_content_maintype(), part.get_content_subtype()
    out.raw(b"(")
    out.string(maintype)
    out.raw(b" ")
    out.string(subtype)
    out.raw(b" ")
    _params(out, part)
    out.raw(b" ")
    out.string(part.get("content-id"))
    out.raw(b" ")
    out.string(part.get("content-description"))
    out.raw(b" ")
    out.string(part.get("content-transfer-encoding", "7bit"))
    out.raw(b" %d" % len(text.encode("utf-8", "surrogateescape")))
    inner = payload[0] if isinstance(payload, list) and payload else None
    if maintype == "message" and subtype == "rfc822" and inner is not None:
        out.raw(b" (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ")
        _structure(out, inner)
        out.raw(b" %d" % text.count("\n"))
    elif maintype == "text":
        out.raw(b" %d" % text.count("\n"))
    out.raw(b" NIL ")
    disposition = part.get("content-disposition")
    if disposition:
        out.raw(b"(")
        out.string(_text(disposition).split(";")[0].strip() or "attachment")
        out.raw(b" ")
        _params(out, part, "content-disposition")
        out.raw(b")")
    else:
        out.raw(b"NIL")
    out.raw(b" NIL NIL)")


def _first_part(message: email.message.Message, raw: bytes) -> bytes:
    if not message.is_multipart():
        return raw[header_end(raw) :]
    payload = message.get_payload()
    first = payload[0] if isinstance(payload, list) and payload else None
    if first is None or first.is_multipart():
        return b""
    text = first.get_payload()
    return text.encode("utf-8", "surrogateescape") if isinstance(text, str) else b""


def _header_fields(header_block: bytes) -> bytes:
    """What `BODY.PEEK[HEADER.FIELDS (...)]` returns: only those fields, then a blank line."""
    wanted = {name.encode().lower() for name in HEADER_FIELDS}
    kept: list[bytes] = []
    keep = False
    for line in re.split(rb"(?<=\n)", header_block):  # lines end at LF only, as on the wire
        if line[:1] in (b" ", b"\t"):
            if keep:
                kept.append(line)
            continue
        keep = line.split(b":", 1)[0].strip().lower() in wanted
        if keep:
            kept.append(line)
    return b"".join(kept).rstrip(b"\r\n") + b"\r\n\r\n"


def fetch_response(raw: bytes, uid: int) -> list[bytes | tuple[bytes, bytes]]:
    """The untagged FETCH data a server would send for `raw`, in imaplib's shape."""
    try:
        parsed = BytesParser(policy=email.policy.compat32).parsebytes(raw)
    except Exception:  # the synthesis must not be the thing that fails
        parsed = email.message.Message()
    out = _Fetch()
    out.raw(
        b'%d (UID %d FLAGS (\\Seen $Forwarded followup-10d) INTERNALDATE "23-Nov-2026 07:00:00'
        b' +0000" RFC822.SIZE %d MODSEQ (%d) BODYSTRUCTURE ' % (uid, uid, len(raw), uid + 7)
    )
    try:
        structure = _Fetch()
        _structure(structure, parsed)
        items = structure.finish()
    except Exception:
        items = [b'("text" "plain" NIL NIL NIL "7bit" 0 0)']
    for item in items[:-1]:  # splice the structure's own literals into this response
        assert isinstance(item, tuple)
        out.raw(item[0][: item[0].rfind(b"{")])
        out.literal(item[1])
    last = items[-1]
    assert isinstance(last, bytes)
    out.raw(last)
    out.raw(b" BODY[HEADER.FIELDS (%s)] " % " ".join(HEADER_FIELDS).encode())
    out.literal(_header_fields(raw[: header_end(raw)]))
    out.raw(b" BODY[1]<0> ")
    out.literal(_first_part(parsed, raw)[:BODY_FETCH_BYTES])
    out.raw(b")")
    return out.finish()


# -- the pipeline ---------------------------------------------------------------------------


def imap_sync() -> ImapSync:
    sync = object.__new__(ImapSync)  # `_facts_of` needs only the identity
    sync.identity = IDENTITY
    return sync


def facts_of(raw: bytes, number: int, in_sent: bool) -> tuple[MessageFacts, ...]:
    """The facts of one message by every path: Maildir, header block, IMAP FETCH."""
    key = f"m{number}"
    whole = facts_from_raw(
        raw, key=key, identity=IDENTITY, in_sent_folder=in_sent, internal_date=ARRIVED
    )
    headers = facts_from_headers(
        raw[: header_end(raw)], key=f"{key}h", identity=IDENTITY, in_sent_folder=in_sent
    )
    is_watcher_mail(raw[: header_end(raw)])
    (message,) = parse_fetch_response(fetch_response(raw, number + 1))
    assert "ERROR" not in message, message["ERROR"]
    assert message["UID"] == number + 1
    assert message["BODY[HEADER.FIELDS]"] == _header_fields(raw[: header_end(raw)])
    fetched, _outline = imap_sync()._facts_of(message, number + 1, 77, in_sent)
    if wants_body_text(fetched) and not fetched.reported_message_id:
        # What the sync's second FETCH adds (`_add_bodies`): the text, the bounced headers.
        fetched = replace(
            fetched,
            body_text=fetched.body_text or whole.body_text,
            reported_message_id=whole.reported_message_id,
        )
    return whole, headers, fetched


_FOLDERS = (("Sent", "\\Sent"), ("INBOX", ""), ("Junk", "\\Junk"), ("Archive", "\\Archive"))


def through_everything(raws: Sequence[bytes], tmp_path: Path | None = None) -> Digest:
    """Every message by every path, then conversations, tracking, the digest and drafts."""
    stored: list[StoredMessage] = []
    for number, raw in enumerate(raws):
        # Most are mine (those are what a digest shows); a bounce never sits in Sent.
        bounce = b"mailer-daemon@" in raw[: header_end(raw)].lower()
        in_sent = number % 3 != 1 and not bounce
        whole, headers, fetched = facts_of(raw, number, in_sent)
        for facts in (whole, headers, fetched):
            automatic_reason(facts)
            bounce_of(facts)
            classify_sent(facts, extra_keywords=TRACKING.keywords)
            classify_sent(facts, ignore_subject=True)
        # Two copies, as if it sat in a Maildir folder and on the server: they are deduped.
        for copy_number, facts in enumerate((whole, fetched)):
            folder, use = _FOLDERS[0] if in_sent else _FOLDERS[1 + (number + copy_number) % 3]
            stored.append(StoredMessage("acct", folder, use, facts))
    if tmp_path is not None:
        store_and_read_back(stored, tmp_path)
    conversations = build_conversations(stored)
    assert sum(len(c.messages) for c in conversations) <= len(stored)
    tracked = track(
        conversations, identity=IDENTITY, tracking=TRACKING, overrides={}, now=NOW, zone=ZONE
    )
    selection = select_digest(tracked, carried={}, settings=DIGEST, now=NOW, zone=ZONE)
    digest = selection.digest
    check_html(render_html(digest), digest)
    render_text(digest)
    check_message(digest)
    check_drafts(digest)
    return digest


def store_and_read_back(stored: Iterable[StoredMessage], tmp_path: Path) -> None:
    """SQLite must take every string the parser produced (no lone surrogates, no NUL trouble)."""
    path = tmp_path / f"s{len(list(tmp_path.iterdir()))}.sqlite3"
    with Store.open(path) as store, store.transaction():
        for folder, use in _FOLDERS:
            store.save_folder_state(FolderState("acct", folder, use, uidvalidity=1))
        by_folder: dict[str, list[MessageFacts]] = {}
        for message in stored:
            by_folder.setdefault(message.folder, []).append(message.facts)
        for folder, facts in by_folder.items():
            store.put_messages("acct", folder, facts)
    with Store.open(path) as store:
        assert len(list(store.stored_messages())) == len({(m.folder, m.facts.key) for m in stored})


class Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.links: list[str] = []
        self.bad: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on") or name in ("src", "srcset", "action", "formaction"):
                self.bad.append((tag, name, value))
            if name == "style" and value and re.search(r"url\(|expression|@import", value, re.I):
                self.bad.append((tag, name, value))
            if name == "href":
                self.links.append(value or "")

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


MAILTO_LINK = re.compile(r"mailto:[A-Za-z0-9@%._~-]*(?:\?[A-Za-z0-9%=&._~-]*)?")
WEBMAIL_LINK = re.compile(re.escape(WEBMAIL) + r"[A-Za-z0-9@%._~-]+")


def check_html(html: str, digest: Digest) -> None:
    """Only the template's markup; mail shows up as text; only links the digest built."""
    markup = Markup()
    markup.feed(html)
    markup.close()
    assert set(markup.tags) <= TEMPLATE_TAGS, set(markup.tags) - TEMPLATE_TAGS
    assert markup.tags.count("style") == 1 and "script" not in markup.tags
    assert not markup.bad, markup.bad[:3]
    for link in markup.links:
        assert MAILTO_LINK.fullmatch(link) or WEBMAIL_LINK.fullmatch(link), link[:200]
    expected = sum(1 for item in digest.items if not item.alarm) + sum(
        1 for item in digest.items if safe_link(item.open_link)
    )
    assert len(markup.links) == expected
    text = "".join(markup.text)
    for item in digest.items:
        # Shown as one line, its control and bidi characters as U+FFFD (terminal mail clients).
        shown = printable(item.subject) or "(no subject)"
        assert shown in text, shown[:200]


def check_message(digest: Digest) -> None:
    """The digest message: exactly its own headers, and its HTML part as safe as rendered."""
    wire = build_message(digest, sender=ME).as_bytes()
    parsed = BytesParser(policy=email.policy.default).parsebytes(wire)
    assert {name.lower() for name in parsed} == DIGEST_HEADERS
    assert len(parsed.get_all("To", [])) == 1 and parsed["To"] == ME
    html_part = parsed.get_body(("html",))
    assert html_part is not None
    check_html(html_part.get_content(), digest)


def check_drafts(digest: Digest) -> None:
    """The follow-up drafts (`drafts = true`), as `save_drafts` makes them: no header of mail's
    making, exactly the one contact as recipient, or no draft (skipped with a warning)."""
    for item in digest.items:
        if item.alarm or not item.message_id:
            continue  # as save_drafts
        if not is_plain_address(item.contact_address):  # save_drafts skips the thread
            assert not re.fullmatch(r"[\w.+-]+@[\w.-]+", item.contact_address)
            continue
        draft = build_draft(
            sender=ME,
            to=item.contact_address,
            subject=item.reply_subject,
            body=item.suggestion,
            in_reply_to=item.message_id,
            references=item.references,
            message_id="<draft-0@followup-watcher.invalid>",
            date=digest.generated_at,
        )
        draft["X-Followup-Watcher"] = "draft"
        parsed = BytesParser(policy=email.policy.default).parsebytes(_wire_bytes(draft))
        assert {name.lower() for name in parsed} <= DRAFT_HEADERS, parsed.keys()
        assert len(parsed.get_all("Subject", [])) == 1
        (to,) = parsed.get_all("To", [])
        assert [a.addr_spec for a in to.addresses] == [item.contact_address]
