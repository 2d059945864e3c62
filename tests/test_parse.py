from __future__ import annotations

import base64
from email.message import EmailMessage

from watcher.identity import Identity
from watcher.mail.parse import (
    ATTACHMENT_LIMIT,
    REFERENCES_FIRST,
    REFERENCES_LAST,
    SUBJECT_LIMIT,
    decode_text_part,
    facts_from_headers,
    facts_from_raw,
    html_to_text,
    reported_message_id,
    wants_body_text,
)
from watcher.model import Attachment, MessageFacts

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


# -- caps on what is kept of one message ---------------------------------------------------


def _huge_headers() -> bytes:
    references = " ".join(f"<ref-{n}@lists.example>" for n in range(5000))
    recipients = ", ".join(f"Person {n} <p{n}@many.example>" for n in range(10_000))
    return (
        b"Message-ID: <" + b"m" * 5000 + b"@huge.example>\r\n"
        b"In-Reply-To: <ref-4999@lists.example>\r\n"
        b"References: " + references.encode() + b"\r\n"
        b"From: " + b"N" * 100_000 + b" <ana@acme.example>\r\n"
        b"To: " + recipients.encode() + b"\r\n"
        b"Subject: " + b"big " * 250_000 + b"\r\n"
        b"List-Id: " + b"l" * 100_000 + b"\r\n"
        b"Precedence: " + b"bulk" * 10_000 + b"\r\n"
        b"Date: Tue, 10 Nov 2026 09:00:00 +0100\r\n\r\n"
    )


def _check_capped(facts: MessageFacts) -> None:
    assert len(facts.subject) <= SUBJECT_LIMIT and facts.subject.startswith("big big")
    assert len(facts.message_id) <= 998 and facts.message_id.endswith("@huge.example>") is False
    assert facts.message_id.startswith("<mmm") and facts.message_id.endswith(">")
    assert facts.references[0] == "<ref-0@lists.example>"  # the root of the thread
    assert facts.references[-1] == "<ref-4999@lists.example>"  # the parent
    assert len(facts.references) == REFERENCES_FIRST + REFERENCES_LAST
    assert facts.in_reply_to == "<ref-4999@lists.example>"
    assert len(facts.to) == 100 and facts.to[0] == ("Person 0", "p0@many.example")
    assert facts.from_ and len(facts.from_[0][0]) <= 200
    assert facts.from_[0][1] == "ana@acme.example"
    assert len(facts.list_id) <= 500 and len(facts.precedence) <= 100
    assert facts.date == 1794297600
    assert len(repr(facts)) < 16_000  # a few KB, whatever the headers held


def test_huge_header_fields_are_capped_for_imap() -> None:
    _check_capped(facts_from_headers(_huge_headers(), key="7:1", identity=ME))


def test_huge_header_fields_are_capped_for_maildir() -> None:
    raw = _huge_headers() + b"Hello.\r\n"
    _check_capped(facts_from_raw(raw, key="m1", identity=ME))


def test_an_overlong_message_id_is_cut_the_same_way_where_it_is_cited() -> None:
    long_id = b"<" + b"x" * 3000 + b"@huge.example>"
    original = facts_from_headers(b"Message-ID: " + long_id + b"\r\n\r\n", key="1", identity=ME)
    reply = facts_from_headers(
        b"In-Reply-To: " + long_id + b"\r\nReferences: " + long_id + b"\r\n\r\n",
        key="2",
        identity=ME,
    )
    assert original.message_id == reply.in_reply_to == reply.references[0]


def test_many_attachments_and_long_names_are_capped() -> None:
    attachments = tuple(
        Attachment(f"{n}-" + "a" * 10_000 + ".pdf", "application/pdf", 10) for n in range(1000)
    )
    facts = facts_from_headers(b"", key="1", identity=ME, attachments=attachments)
    assert len(facts.attachments) == ATTACHMENT_LIMIT
    assert all(len(a.filename) <= 255 for a in facts.attachments)


def test_a_header_block_cut_inside_a_utf8_character_keeps_its_utf8() -> None:
    block = "Subject: Grüße aus Köln €".encode()
    facts = facts_from_headers(block[:-1], key="1", identity=ME)  # the € cut in half
    assert facts.subject == "Grüße aus Köln"
