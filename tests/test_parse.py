from __future__ import annotations

import base64
from email.message import EmailMessage

from watcher.identity import Identity
from watcher.mail.parse import (
    decode_text_part,
    facts_from_headers,
    facts_from_raw,
    html_to_text,
    reported_message_id,
    wants_body_text,
)

ME = Identity(["maya@studio.example"])

HEADERS = (
    b"Message-ID: <p1@studio.example>\r\n"
    b"In-Reply-To: <q0@client.example>\r\n"
    b"References: <q-1@client.example>\r\n <q0@client.example>\r\n"
    b"From: Maya <maya+quotes@studio.example>\r\n"
    b"To: =?utf-8?q?Jos=C3=A9?= <jose@client.example>\r\n"
    b"Date: Tue, 10 Nov 2026 09:00:00 +0100\r\n"
    b"Subject: =?utf-8?q?Presupuesto_dise=C3=B1o?=\r\n"
    b"Auto-Submitted: No\r\n"
    b"Thread-Index: AdbC1234\r\n\r\n"
)


def test_facts_from_headers() -> None:
    facts = facts_from_headers(HEADERS, key="7:42", identity=ME, uid=42, flags=("\\Seen",))
    assert facts.message_id == "<p1@studio.example>"
    assert facts.in_reply_to == "<q0@client.example>"
    assert facts.references == ("<q-1@client.example>", "<q0@client.example>")
    assert facts.to == (("José", "jose@client.example"),)
    assert facts.subject == "Presupuesto diseño"
    assert facts.date == 1794297600  # 2026-11-10 08:00 UTC
    assert facts.auto_submitted == "no"
    assert facts.thread_index == "AdbC1234"
    assert facts.is_from_me  # a plus-address of mine
    assert facts.parse_problems == ()


def test_sent_folder_makes_it_mine_and_bad_dates_are_named() -> None:
    facts = facts_from_headers(
        b"From: someone@else.example\r\nDate: yesterday-ish\r\n",
        key="k",
        identity=ME,
        in_sent_folder=True,
    )
    assert facts.is_from_me
    assert facts.date is None
    assert any("Date header" in p for p in facts.parse_problems)


def test_report_type_from_header_when_no_structure() -> None:
    facts = facts_from_headers(
        b'Content-Type: multipart/report; report-type="delivery-status"; boundary=x\r\n'
        b"From: MAILER-DAEMON@mx.example\r\n",
        key="k",
        identity=ME,
    )
    assert facts.content_type == "multipart/report"
    assert facts.report_type == "delivery-status"
    assert wants_body_text(facts)


def test_decode_text_part_encodings() -> None:
    text = "Hallo Jörg, anbei das Angebot." * 10
    encoded = base64.encodebytes(text.encode("utf-8"))
    assert decode_text_part(encoded[:101], encoding="base64", charset="utf-8").startswith(
        "Hallo Jörg"
    )  # a partial fetch cut mid-quantum still decodes
    assert decode_text_part(b"caf=E9 =\r\nok", encoding="quoted-printable", charset="latin-1") == (
        "café ok"
    )
    assert decode_text_part(b"x", encoding="8bit", charset="no-such-charset") == "x"


def test_html_to_text() -> None:
    markup = "<style>p{}</style><p>Hi&nbsp;Ana,</p><p>see <b>the</b> quote</p><script>x()</script>"
    assert html_to_text(markup) == "Hi Ana,\nsee the quote"


def test_reported_message_id() -> None:
    assert reported_message_id(b"Received: x\r\nMessage-ID: <orig@studio.example>\r\n") == (
        "<orig@studio.example>"
    )
    assert reported_message_id("nothing here") == ""


def test_facts_from_raw_with_attachment() -> None:
    message = EmailMessage()
    message["From"] = "Maya <maya@studio.example>"
    message["To"] = "client@acme.example"
    message["Subject"] = "Proposal"
    message["Message-ID"] = "<raw1@studio.example>"
    message.set_content("Hi, the proposal is attached.")
    message.add_attachment(
        b"%PDF-1.4 stub", maintype="application", subtype="pdf", filename="Proposal_Acme_v2.pdf"
    )
    facts = facts_from_raw(message.as_bytes(), key="file1", identity=ME, flags=("\\Seen",))
    assert facts.is_from_me
    assert facts.body_text.startswith("Hi, the proposal is attached.")
    assert [(a.filename, a.content_type) for a in facts.attachments] == [
        ("Proposal_Acme_v2.pdf", "application/pdf")
    ]
    assert facts.content_type == "multipart/mixed"


def test_facts_from_raw_never_raises_on_garbage() -> None:
    facts = facts_from_raw(b"\x00\xff garbage\n\n--", key="g", identity=ME)
    assert facts.key == "g"
