"""Build RFC 5322 messages for tests (CRLF line endings, as IMAP APPEND wants)."""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from collections.abc import Mapping, Sequence
from email.message import EmailMessage

__all__ = ["make_message", "new_message_id"]

DOMAIN = "example.test"


def new_message_id(domain: str = DOMAIN) -> str:
    """A fresh ``<...@domain>`` Message-ID."""
    return email.utils.make_msgid(domain=domain)


def _addresses(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ", ".join(value)


def make_message(
    *,
    from_: str,
    to: str | Sequence[str],
    subject: str,
    date: dt.datetime,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    body: str = "Hello,\n\nplease see below.\n",
    html: str | None = None,
    cc: str | Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """A message as bytes with CRLF line endings.

    *date* should be timezone-aware (a naive one is written with ``-0000``). Without
    *message_id* a fresh one is made; pass your own to build threads (*in_reply_to*,
    *references*). *html* adds a text/html alternative; *attachments* are
    ``(filename, "type/subtype", content)``. *headers* are added as given (a header already
    set above is replaced).
    """
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = from_
    msg["To"] = _addresses(to)
    if cc:
        msg["Cc"] = _addresses(cc)
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = message_id or new_message_id()
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        del msg[name]
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, content in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(
            content, maintype=maintype, subtype=subtype or "octet-stream", filename=filename
        )
    return msg.as_bytes(policy=email.policy.SMTP)
