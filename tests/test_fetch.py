"""Tests for `watcher.mail.fetch`: the raw FETCH parser (and the outline of what it parsed).

The Dovecot samples are what imaplib returned from Debian's Dovecot 2.3.19 for
`UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ BODYSTRUCTURE
BODY.PEEK[HEADER.FIELDS (MESSAGE-ID FROM SUBJECT)] BODY.PEEK[1]<0.20>)`; the Gmail and
odd-server samples are hand-written after RFC 3501/9051 and the servers' documented quirks.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dovecot import DovecotServer, MailUser
from hypothesis import given, settings
from hypothesis import strategies as st
from mailfactory import make_message, new_message_id

from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.mail import fetch
from watcher.mail.bodystructure import BodyOutline, TextPart, describe_bodystructure
from watcher.mail.fetch import parse_fetch_response
from watcher.mail.imap import sync_imap_account
from watcher.model import Attachment
from watcher.store.store import Store

Data = list[bytes | tuple[bytes, bytes] | None]

HEADERS_ITEM = b"BODY[HEADER.FIELDS (MESSAGE-ID FROM SUBJECT)]"

# --- Dovecot samples (verbatim from imaplib) ----------------------------------------------

DOVECOT_SINGLE: Data = [
    (
        b'1 (UID 1 FLAGS ($Forwarded) INTERNALDATE "17-Jul-1996 09:44:25 +0000" RFC822.SIZE 245 '
        b'MODSEQ (14) BODYSTRUCTURE ("text" "plain" ("charset" "ISO-8859-1") NIL NIL '
        b'"quoted-printable" 16 1 NIL NIL NIL NIL) ' + HEADERS_ITEM + b" {77}",
        b"From: Bob <bob@example.com>\r\nSubject: plain\r\nMessage-ID: <p1@example.com>\r\n\r\n",
    ),
    (b" BODY[1]<0> {16}", b"Hallo Welt =E4\r\n"),
    b")",
]

DOVECOT_PDF: Data = [
    (
        b'2 (UID 2 FLAGS (\\Seen $Forwarded followup-10d) INTERNALDATE "23-Nov-2026 07:31:59 '
        b'+0000" RFC822.SIZE 494 MODSEQ (14) BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") '
        b'NIL NIL "7bit" 18 0 NIL NIL NIL NIL)("application" "pdf" ("name*" '
        b'"utf-8\'\'Angebot%20Nr.%202026-114.pdf") NIL NIL "base64" 12 NIL ("attachment" '
        b'("filename*" "utf-8\'\'Angebot%20Nr.%202026-114.pdf")) NIL NIL) "mixed" '
        b'("boundary" "XYZ") NIL NIL NIL) ' + HEADERS_ITEM + b" {83}",
        b"From: Alice <alice@example.com>\r\nSubject: Angebot\r\n"
        b"Message-ID: <a1@example.com>\r\n\r\n",
    ),
    (b" BODY[1]<0> {18}", b"Anbei das Angebot."),
    b")",
]

DOVECOT_ALTERNATIVE: Data = [
    (
        b'3 (UID 3 FLAGS () INTERNALDATE "23-Nov-2026 07:31:59 +0000" RFC822.SIZE 664 MODSEQ (14) '
        b'BODYSTRUCTURE ((("text" "plain" ("charset" "UTF-8") NIL NIL "base64" 8 0 NIL NIL NIL '
        b'NIL)("text" "html" ("charset" "UTF-8") NIL NIL "7bit" 12 0 NIL NIL NIL NIL) '
        b'"alternative" ("boundary" "IN") NIL NIL NIL)("application" '
        b'"vnd.openxmlformats-officedocument.wordprocessingml.document" ("name" '
        b'"=?UTF-8?B?w5xiZXJzaWNodC5kb2N4?=") NIL NIL "base64" 8 NIL ("attachment" ("filename" '
        b'"=?UTF-8?B?w5xiZXJzaWNodC5kb2N4?=")) NIL NIL) "mixed" ("boundary" "OUT") NIL NIL NIL) '
        + HEADERS_ITEM
        + b" {79}",
        b"From: Alice <alice@example.com>\r\nSubject: alt\r\nMessage-ID: <a2@example.com>\r\n\r\n",
    ),
    (b" BODY[1]<0> {20}", b"--IN\r\nContent-Type: "),
    b")",
]

DOVECOT_BOUNCE: Data = [
    (
        b'4 (UID 4 FLAGS (\\Seen) INTERNALDATE "23-Nov-2026 07:31:59 +0000" RFC822.SIZE 926 '
        b'MODSEQ (14) BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL "Notification" '
        b'"7bit" 34 0 NIL NIL NIL NIL)("message" "delivery-status" NIL NIL "Delivery report" '
        b'"7bit" 112 NIL NIL NIL NIL)("message" "rfc822" NIL NIL "Undelivered Message" "7bit" '
        b'262 (NIL "Angebot" (("Alice" NIL "alice" "example.com")) (("Alice" NIL "alice" '
        b'"example.com")) (("Alice" NIL "alice" "example.com")) ((NIL NIL "nobody" '
        b'"example.org")) NIL NIL NIL "<a1@example.com>") (("text" "plain" ("charset" '
        b'"us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL)("application" "pdf" ("name" '
        b'"inner.pdf") NIL NIL "7bit" 2 NIL NIL NIL NIL) "mixed" ("boundary" "Q") NIL NIL NIL) '
        b'15 NIL NIL NIL NIL) "report" ("report-type" "delivery-status" "boundary" "R") NIL NIL '
        b"NIL) " + HEADERS_ITEM + b" {111}",
        b"From: MAILER-DAEMON@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <b1@example.com>\r\n\r\n",
    ),
    (b" BODY[1]<0> {20}", b"I'm sorry to have to"),
    b")",
]

# An 8-bit filename: Dovecot sends it as a literal inside BODYSTRUCTURE, twice, and joins the
# RFC 2231 continuations of the second attachment into one `filename*`.
DOVECOT_LITERAL_NAME: Data = [
    (
        b'5 (UID 5 FLAGS () INTERNALDATE "23-Nov-2026 07:31:59 +0000" RFC822.SIZE 551 MODSEQ (14) '
        b'BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 0 NIL NIL NIL '
        b'NIL)("application" "pdf" ("name" {19}',
        b'\xc3\x9cbersicht "Q1".pdf',
    ),
    (b') NIL NIL "7bit" 2 NIL ("attachment" ("filename" {19}', b'\xc3\x9cbersicht "Q1".pdf'),
    (
        b')) NIL NIL)("application" "octet-stream" NIL NIL NIL "7bit" 2 NIL ("attachment" '
        b'("filename*" "utf-8\'\'Sehr%20langer%20Dateiname%20%C3%BCber%20drei.zip")) NIL NIL) '
        b'"mixed" ("boundary" "XYZ") NIL NIL NIL) ' + HEADERS_ITEM + b" {85}",
        b"From: Alice <alice@example.com>\r\nSubject: 8bit name\r\n"
        b"Message-ID: <a3@example.com>\r\n\r\n",
    ),
    (b" BODY[1]<0> {4}", b"body"),
    b")",
]

DOVECOT_HEADERS_REPORT: Data = [
    b'6 (UID 6 FLAGS (\\Seen) BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL '
    b'"7bit" 6 0 NIL NIL NIL NIL)("message" "delivery-status" NIL NIL NIL "7bit" 14 NIL NIL NIL '
    b'NIL)("text" "rfc822-headers" ("charset" "us-ascii") NIL NIL "7bit" 28 0 NIL NIL NIL NIL) '
    b'"report" ("report-type" "delivery-status" "boundary" "R") NIL NIL NIL))'
]

# ASCII quotes and backslashes in a name: Dovecot escapes them inside a quoted string.
DOVECOT_ESCAPED_NAME: Data = [
    b'7 (UID 7 BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL '
    b'NIL NIL)("application" "pdf" ("name" "say \\"hi\\" C:\\\\x.pdf") NIL NIL "7bit" 2 NIL '
    b'("attachment" ("filename" "say \\"hi\\" C:\\\\x.pdf")) NIL NIL) "mixed" ("boundary" "B") '
    b"NIL NIL NIL))"
]

# Empty sections, a literal8 and an unsolicited update after another client's STORE.
DOVECOT_MISC: Data = [
    (b"1 (UID 1 FLAGS ($Forwarded) BODY[7] {0}", b""),
    (b" BODY[1]<100> {0}", b""),
    (b" BINARY[1] ~{14}", b"Hallo Welt \xe4\r\n"),
    (b" BODY[1.MIME] {42}", b"Content-Type: text/plain; charset=utf-8\r\n\r\n"[:42]),
    b")",
    b"2 (MODSEQ (15) FLAGS (\\Flagged \\Seen $Forwarded followup-10d))",
]


def test_common_responses_take_the_fast_path() -> None:
    # The regex tokenizer is exact but several times slower: plain server output must not
    # need it, or a bulk sync loses most of what this module is for.
    samples = [
        DOVECOT_SINGLE,
        DOVECOT_PDF,
        DOVECOT_ALTERNATIVE,
        DOVECOT_BOUNCE,
        DOVECOT_LITERAL_NAME,
        DOVECOT_HEADERS_REPORT,
        DOVECOT_MISC[:5],
        DOVECOT_MISC[5:],
    ]
    for sample in samples:
        assert fetch._fast_tokens(sample) is not None  # type: ignore[arg-type]
    assert fetch._fast_tokens(DOVECOT_ESCAPED_NAME) is None  # type: ignore[arg-type]


def one(data: Data) -> dict[str, Any]:
    messages = parse_fetch_response(data)
    assert len(messages) == 1, messages
    return messages[0]


# --- parse_fetch_response -----------------------------------------------------------------


def test_dovecot_single_part_message() -> None:
    msg = one(DOVECOT_SINGLE)
    assert msg == {
        "SEQ": 1,
        "UID": 1,
        "FLAGS": ("$Forwarded",),
        "INTERNALDATE": calendar.timegm((1996, 7, 17, 9, 44, 25)),
        "RFC822.SIZE": 245,
        "MODSEQ": 14,
        "BODYSTRUCTURE": [
            "text",
            "plain",
            ["charset", "ISO-8859-1"],
            None,
            None,
            "quoted-printable",
            16,
            1,
            None,
            None,
            None,
            None,
        ],
        "BODY[HEADER.FIELDS]": DOVECOT_SINGLE[0][1],  # type: ignore[index]
        "BODY[1]": b"Hallo Welt =E4\r\n",
    }
    assert describe_bodystructure(msg["BODYSTRUCTURE"]) == BodyOutline(
        content_type="text/plain",
        text_part=TextPart(
            section="1", subtype="plain", encoding="quoted-printable", charset="iso-8859-1", size=16
        ),
    )


def test_dovecot_multipart_mixed_with_rfc2231_pdf() -> None:
    msg = one(DOVECOT_PDF)
    assert msg["FLAGS"] == ("\\Seen", "$Forwarded", "followup-10d")
    assert msg["BODY[1]"] == b"Anbei das Angebot."
    outline = describe_bodystructure(msg["BODYSTRUCTURE"])
    assert outline.content_type == "multipart/mixed"
    assert outline.attachments == (
        Attachment(filename="Angebot Nr. 2026-114.pdf", content_type="application/pdf", size=12),
    )
    assert outline.text_part == TextPart("1", "plain", "7bit", "utf-8", 18)
    assert outline.report_type == ""
    assert outline.rfc822_headers_section == ""
    assert outline.rfc822_headers_fetch == ""


def test_alternative_inside_mixed_picks_nested_plain_and_decodes_rfc2047_name() -> None:
    outline = describe_bodystructure(one(DOVECOT_ALTERNATIVE)["BODYSTRUCTURE"])
    assert outline.text_part == TextPart("1.1", "plain", "base64", "utf-8", 8)
    assert outline.attachments == (
        Attachment(
            filename="Übersicht.docx",
            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            size=8,
        ),
    )


def test_delivery_status_report_with_returned_message() -> None:
    outline = describe_bodystructure(one(DOVECOT_BOUNCE)["BODYSTRUCTURE"])
    assert outline.content_type == "multipart/report"
    assert outline.report_type == "delivery-status"
    assert outline.text_part == TextPart("1", "plain", "7bit", "us-ascii", 34)
    assert outline.rfc822_headers_section == "3"
    assert outline.rfc822_headers_type == "message/rfc822"
    assert outline.rfc822_headers_fetch == "3.HEADER"
    # The returned message is one attachment; its own PDF is not ours.
    assert outline.attachments == (
        Attachment(filename="", content_type="message/delivery-status", size=112),
        Attachment(filename="", content_type="message/rfc822", size=262),
    )


def test_report_with_text_rfc822_headers() -> None:
    outline = describe_bodystructure(one(DOVECOT_HEADERS_REPORT)["BODYSTRUCTURE"])
    assert outline.rfc822_headers_section == "3"
    assert outline.rfc822_headers_type == "text/rfc822-headers"
    assert outline.rfc822_headers_fetch == "3"
    assert [a.content_type for a in outline.attachments] == ["message/delivery-status"]


def test_filename_sent_as_literal_inside_bodystructure() -> None:
    msg = one(DOVECOT_LITERAL_NAME)
    structure = msg["BODYSTRUCTURE"]
    # Nested literals are strings; the item-level literals stay bytes.
    assert structure[1][2] == ["name", 'Übersicht "Q1".pdf']
    assert msg["BODY[HEADER.FIELDS]"].startswith(b"From: Alice")
    assert msg["BODY[1]"] == b"body"
    outline = describe_bodystructure(structure)
    assert outline.attachments == (
        Attachment(filename='Übersicht "Q1".pdf', content_type="application/pdf", size=2),
        Attachment(
            filename="Sehr langer Dateiname über drei.zip",
            content_type="application/octet-stream",
            size=2,
        ),
    )


def test_escaped_quotes_and_backslashes_in_quoted_string() -> None:
    outline = describe_bodystructure(one(DOVECOT_ESCAPED_NAME)["BODYSTRUCTURE"])
    assert outline.attachments[0].filename == 'say "hi" C:\\x.pdf'


def test_empty_sections_literal8_and_unsolicited_fetch() -> None:
    first, second = parse_fetch_response(DOVECOT_MISC)
    assert first == {
        "SEQ": 1,
        "UID": 1,
        "FLAGS": ("$Forwarded",),
        "BODY[7]": b"",
        "BODY[1]": b"",
        "BINARY[1]": b"Hallo Welt \xe4\r\n",
        "BODY[1.MIME]": DOVECOT_MISC[3][1],  # type: ignore[index]
    }
    # No UID: the caller decides what to do with another client's flag change.
    assert second == {
        "SEQ": 2,
        "MODSEQ": 15,
        "FLAGS": ("\\Flagged", "\\Seen", "$Forwarded", "followup-10d"),
    }


def test_nil_body_section_and_quoted_section() -> None:
    msg = one([b'9 (UID 90 BODY[HEADER.FIELDS (MESSAGE-ID)] NIL BODY[TEXT]<0> "short")'])
    assert msg == {"SEQ": 9, "UID": 90, "BODY[HEADER.FIELDS]": None, "BODY[TEXT]": b"short"}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        (b"BODY[HEADER.FIELDS (MESSAGE-ID FROM)]", "BODY[HEADER.FIELDS]"),
        (b"BODY[HEADER.FIELDS.NOT (X-SPAM)]", "BODY[HEADER.FIELDS.NOT]"),
        (b"BODY[1.2.HEADER.FIELDS (TO)]<0>", "BODY[1.2.HEADER.FIELDS]"),
        (b"BODY.PEEK[HEADER.FIELDS (A B)]", "BODY[HEADER.FIELDS]"),
        (b"BODY[1]<0>", "BODY[1]"),
        (b"BODY[TEXT]<0>", "BODY[TEXT]"),
        (b"BODY[]", "BODY[]"),
        (b"body[text]", "BODY[TEXT]"),
        (b"RFC822.HEADER", "RFC822.HEADER"),
        (b'BODY[HEADER.FIELDS ("X-Quoted" FROM)]', "BODY[HEADER.FIELDS]"),
    ],
)
def test_section_keys_are_normalised(name: bytes, key: str) -> None:
    msg = one([(b"3 (UID 30 " + name + b" {5}", b"12345"), b")"])
    assert msg == {"SEQ": 3, "UID": 30, key: b"12345"}


def test_binary_size_is_a_number() -> None:
    assert one([b"3 (UID 30 BINARY.SIZE[1] 1234)"]) == {"SEQ": 3, "UID": 30, "BINARY.SIZE[1]": 1234}


def test_gmail_items_and_upper_case_parameters() -> None:
    line = (
        b"1 (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334866 "
        b'X-GM-LABELS ("\\\\Important" "Kunden/Angebote" \\Sent) UID 302 MODSEQ (4211) '
        b'FLAGS (\\Seen) INTERNALDATE "05-Jan-2026 09:00:00 +0000" BODYSTRUCTURE (("TEXT" '
        b'"PLAIN" ("CHARSET" "UTF-8" "FORMAT" "flowed") NIL NIL "QUOTED-PRINTABLE" 200 8 NIL '
        b'NIL NIL)("APPLICATION" "PDF" ("NAME" "Angebot.pdf") "<f_123>" NIL "BASE64" 40000 NIL '
        b'("ATTACHMENT" ("FILENAME" "Angebot.pdf")) NIL) "MIXED" ("BOUNDARY" "0000abc") NIL NIL))'
    )
    msg = one([line])
    assert msg["X-GM-THRID"] == 1278455344230334865
    assert msg["X-GM-MSGID"] == 1278455344230334866
    assert msg["X-GM-LABELS"] == ["\\Important", "Kunden/Angebote", "\\Sent"]
    assert msg["UID"] == 302
    assert msg["MODSEQ"] == 4211
    assert msg["INTERNALDATE"] == calendar.timegm((2026, 1, 5, 9, 0, 0))
    outline = describe_bodystructure(msg["BODYSTRUCTURE"])
    assert outline.content_type == "multipart/mixed"
    assert outline.text_part == TextPart("1", "plain", "quoted-printable", "utf-8", 200)
    assert outline.attachments == (
        Attachment(filename="Angebot.pdf", content_type="application/pdf", size=40000),
    )


def test_unknown_items_are_kept_parsed() -> None:
    msg = one(
        [
            b'4 (UID 8 ENVELOPE ("Mon, 5 Jan 2026 10:00:00 +0100" "Hi" NIL NIL NIL NIL NIL NIL NIL '
            b'"<m@x>") PREVIEW "Hello there" X-FOO atom-value EMAILID (M6d99ac3275bb4e))'
        ]
    )
    assert msg["ENVELOPE"] == ["Mon, 5 Jan 2026 10:00:00 +0100", "Hi"] + [None] * 7 + ["<m@x>"]
    assert msg["PREVIEW"] == "Hello there"
    assert msg["X-FOO"] == "atom-value"
    assert msg["EMAILID"] == ["M6d99ac3275bb4e"]


def test_several_messages_and_an_empty_result() -> None:
    data = DOVECOT_SINGLE + DOVECOT_PDF + DOVECOT_HEADERS_REPORT + [b"8 (UID 9 FLAGS ())"]
    assert [(m["SEQ"], m["UID"]) for m in parse_fetch_response(data)] == [
        (1, 1),
        (2, 2),
        (6, 6),
        (8, 9),
    ]
    assert parse_fetch_response([None]) == []  # imaplib's "no FETCH responses"
    assert parse_fetch_response([]) == []


@pytest.mark.parametrize(
    ("bad", "reason", "uid"),
    [
        ([b"5 (UID 50 FLAGS (\\Seen)"], "unbalanced '('", 50),
        ([b"5 (UID 50 FLAGS \\Seen))"], "unbalanced ')'", 50),
        ([b'5 (UID 50 INTERNALDATE "17-Jul-1996 02:44:25)'], "unterminated quoted string", 50),
        ([b"(UID 50)"], "not a '<seq> (<items>)' FETCH response", 50),
        ([b"garbage"], "not a '<seq> (<items>)' FETCH response", None),
        ([(b"5 (UID 50 BODY[TEXT] {oops}", b"xx"), b")"], "literal without {N} marker", 50),
    ],
)
def test_malformed_response_between_good_ones(bad: Data, reason: str, uid: int | None) -> None:
    messages = parse_fetch_response(DOVECOT_PDF + bad + DOVECOT_HEADERS_REPORT)
    assert [m.get("UID") for m in messages] == [2, uid, 6]
    assert messages[1]["ERROR"] == reason
    assert "ERROR" not in messages[0]
    assert "ERROR" not in messages[2]


def test_malformed_items_keep_the_good_ones() -> None:
    msg = one([b'5 (UID 50 RFC822.SIZE big INTERNALDATE "yesterday" FLAGS (\\Seen) MODSEQ 7)'])
    assert msg["ERROR"] == "bad RFC822.SIZE"
    assert msg["UID"] == 50
    assert msg["FLAGS"] == ("\\Seen",)
    assert "RFC822.SIZE" not in msg
    assert "INTERNALDATE" not in msg
    assert "MODSEQ" not in msg
    assert one([b"5 (UID 50 FLAGS)"])["ERROR"] == "odd number of items"
    assert one([b"5 (UID x50)"]) == {"SEQ": 5, "ERROR": "bad UID"}


def test_data_ending_inside_a_literal_run() -> None:
    messages = parse_fetch_response(
        [b"1 (UID 10)", (b"2 (UID 20 BODY[] {3}", b"abc"), (b" BODY[1] {1}", b"x")]
    )
    assert messages == [
        {"SEQ": 1, "UID": 10},
        {"SEQ": 2, "UID": 20, "ERROR": "response ends inside a literal"},
    ]


def test_unexpected_elements_never_raise() -> None:
    data: list[Any] = [b"1 (UID 10)", "not bytes", (b"x",), 42, b"2 (UID 20)"]
    messages = parse_fetch_response(data)
    assert [m.get("UID") for m in messages] == [10, None, None, None, 20]
    assert all("ERROR" in m for m in messages[1:4])


def test_odd_whitespace_and_stray_characters_take_the_exact_path() -> None:
    # Double spaces, a tab and a brace make the fast tokenizer step aside; same result.
    msg = one([b"7 ( UID  70\tFLAGS (\\Seen  {x) )"])
    assert msg == {"SEQ": 7, "UID": 70, "FLAGS": ("\\Seen", "{", "x")}


# --- odd but valid keywords, 8-bit names, absurd numbers (issue 16, item 13) ---------------

# RFC 3501 atoms may contain `[` (not `]`), and Dovecot stores such a keyword when a client
# sends `STORE +FLAGS (foo[bar)`. It must not be read as the start of a section.
DOVECOT_BRACKET_KEYWORD: Data = [
    (
        b'8 (UID 8 FLAGS (\\Seen foo[bar) INTERNALDATE "23-Nov-2026 07:31:59 +0000" '
        b'RFC822.SIZE 245 MODSEQ (14) BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL '
        b'"7bit" 16 1 NIL NIL NIL NIL) ' + HEADERS_ITEM + b" {77}",
        b"From: Bob <bob@example.com>\r\nSubject: plain\r\nMessage-ID: <p8@example.com>\r\n\r\n",
    ),
    b")",
]


def test_a_keyword_with_a_bracket_costs_the_message_nothing() -> None:
    msg = one(DOVECOT_BRACKET_KEYWORD)
    assert "ERROR" not in msg
    assert msg["FLAGS"] == ("\\Seen", "foo[bar")
    assert msg["INTERNALDATE"] == calendar.timegm((2026, 11, 23, 7, 31, 59))
    assert msg["RFC822.SIZE"] == 245
    assert msg["MODSEQ"] == 14
    assert msg["BODY[HEADER.FIELDS]"].endswith(b"<p8@example.com>\r\n\r\n")
    assert describe_bodystructure(msg["BODYSTRUCTURE"]).text_part is not None


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (b"(foo[bar)", ("foo[bar",)),  # the flag-only fetch used to give foo, [, bar
        (b"(\\Seen foo[bar $Forwarded)", ("\\Seen", "foo[bar", "$Forwarded")),
        (b"([x x[ [[)", ("[x", "x[", "[[")),
        (b"(a[b] c)", ("a[b]", "c")),  # `]` is no atom character, but harmless here
        (b"(BODY[x y)", ("BODY[x", "y")),  # not a section either, though it starts like one
        (b"(0123 NIL 7 nil)", ("0123", "NIL", "7", "nil")),  # atoms, not numbers or NIL
        (b"()", ()),
    ],
)
def test_flag_lists_are_atoms_as_sent(flags: bytes, expected: tuple[str, ...]) -> None:
    for data in (
        [b"3 (UID 30 FLAGS " + flags + b")"],
        [b"3 (UID 30 FLAGS " + flags + b" MODSEQ (9) RFC822.SIZE 5)"],
        [(b"3 (UID 30 FLAGS " + flags + b" BODY[HEADER.FIELDS (SUBJECT)] {6}", b"S: x\r\n"), b")"],
    ):
        msg = one(data)
        assert "ERROR" not in msg, msg
        assert msg["UID"] == 30
        assert msg["FLAGS"] == expected


def test_a_nested_list_among_the_flags_loses_nothing_else() -> None:
    msg = one([b"3 (UID 30 FLAGS (a (b) c) RFC822.SIZE 5)"])
    assert (msg["UID"], msg["RFC822.SIZE"], msg["FLAGS"]) == (30, 5, ("a", "b", "c"))


# Verbatim from Dovecot 2.3.19 for a message whose attachment is named `Grüße.pdf` in raw
# Latin-1 (no RFC 2047/2231 encoding): the names come as literals of 8-bit bytes.
DOVECOT_LATIN1_NAME: Data = [
    (
        b'1 (UID 1 BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 2 0 NIL '
        b'NIL NIL NIL)("application" "pdf" ("name" {9}',
        b"Gr\xfc\xdfe.pdf",
    ),
    (b') NIL NIL "base64" 8 NIL ("attachment" ("filename" {9}', b"Gr\xfc\xdfe.pdf"),
    b')) NIL NIL) "mixed" ("boundary" "B") NIL NIL NIL))',
]


def test_an_8bit_filename_literal_is_decoded_with_the_charset_fallback() -> None:
    structure = one(DOVECOT_LATIN1_NAME)["BODYSTRUCTURE"]
    assert structure[1][2] == ["name", "Grüße.pdf"]
    (attachment,) = describe_bodystructure(structure).attachments
    assert attachment.filename == "Grüße.pdf"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"\xc3\x9cbersicht.pdf", "Übersicht.pdf"),  # UTF-8 first
        (b"Gr\xfc\xdfe.pdf", "Grüße.pdf"),  # then Windows-1252, the usual "Latin-1"
        (b"\x80 100.pdf", "€ 100.pdf"),  # a byte only Windows-1252 has
        (b"\x81\xe9.pdf", "\x81é.pdf"),  # a byte Windows-1252 lacks: Latin-1, never fails
    ],
)
def test_8bit_names_in_literals_and_in_quoted_strings(raw: bytes, text: str) -> None:
    nested = one(
        [(b'1 (UID 1 BODYSTRUCTURE ("application" "pdf" ("name" {%d}' % len(raw), raw), b")))"]
    )
    assert nested["BODYSTRUCTURE"][2] == ["name", text]
    # The same bytes in a quoted string; a UTF-8 name on the same line stays right.
    quoted = one([b'1 (UID 1 X ("' + raw + b'" "\xc3\xa4.pdf" foo[bar))'])
    assert quoted["X"] == [text, "ä.pdf", "foo[bar"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            [b"1 (UID 99999999999999999999999 FLAGS ())"],
            {"SEQ": 1, "FLAGS": (), "ERROR": "bad UID"},
        ),
        ([b"1 (UID 5 MODSEQ (9223372036854775808))"], {"SEQ": 1, "UID": 5, "ERROR": "bad MODSEQ"}),
        ([b"1 (UID 5 MODSEQ (9223372036854775807))"], {"SEQ": 1, "UID": 5, "MODSEQ": 2**63 - 1}),
        (
            [b"1 (UID 5 RFC822.SIZE " + b"9" * 5000 + b")"],
            {"SEQ": 1, "UID": 5, "ERROR": "bad RFC822.SIZE"},
        ),
        (
            [b"9" * 5000 + b" (UID 5)"],
            {"UID": 5, "ERROR": "not a '<seq> (<items>)' FETCH response"},
        ),
    ],
)
def test_absurd_numbers_are_errors_not_crashes(data: Data, expected: dict[str, Any]) -> None:
    # int() refuses 4,300 digits and more, and SQLite anything of 2**63 or more.
    assert one(data) == expected


# --- fast and slow tokenizers agree; the parser round-trips what a server can send ---------

_ATOM_CHARS = st.sampled_from(list("abcXYZ019$\\-.+_%&'*"))
atoms = st.text(_ATOM_CHARS, min_size=1, max_size=8).filter(
    lambda s: s != "NIL" and not s.isdecimal()
)
strings = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=12)
leaves: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10**12),
    atoms,
    strings.map(lambda s: ("quoted", s)),
    strings.map(lambda s: ("literal", s)),
)
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=5), max_leaves=25)


def _serialise(value: Any, out: list[Any]) -> None:
    """Append IMAP text (str) and literals (bytes) for `value` to `out`."""
    if value is None:
        out.append("NIL")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, str):
        out.append(value)
    elif isinstance(value, tuple):
        kind, text = value
        if kind == "quoted":
            out.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            out.append(text.encode())
    else:
        out.append("(")
        for i, item in enumerate(value):
            if i:
                out.append(" ")
            _serialise(item, out)
        out.append(")")


def _to_imaplib(pieces: list[Any]) -> Data:
    """Split serialised pieces the way imaplib does: a literal ends the line with {N}."""
    data: Data = []
    line = ""
    for piece in pieces:
        if isinstance(piece, bytes):
            data.append(((line + f"{{{len(piece)}}}").encode(), piece))
            line = ""
        else:
            line += piece
    data.append(line.encode())
    return data


def _expected(value: Any, top: bool) -> Any:
    if isinstance(value, tuple):
        kind, text = value
        return text.encode() if kind == "literal" and top else text
    if isinstance(value, list):
        return [_expected(v, False) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["X-A", "X-B", "X-C"]), values), max_size=4))
def test_round_trip_and_fast_path_equals_slow_path(items: list[tuple[str, Any]]) -> None:
    items = list(dict(items).items())  # unique names
    pieces: list[Any] = ["42 ("]
    for i, (name, value) in enumerate(items):
        pieces.append((" " if i else "") + name + " ")
        # A literal has to be preceded by a space, not glued to the previous token.
        _serialise(value, pieces)
    pieces.append(")")
    data = _to_imaplib(pieces)
    group: list[Any] = [d for d in data if d is not None]
    slow = fetch._build(*fetch._slow_tokens(group))
    fast_tokens = fetch._fast_tokens(group)
    if fast_tokens is not None:
        assert fetch._build(*fast_tokens) == slow
    msg = one(data)
    assert msg == {"SEQ": 42} | {name: _expected(value, True) for name, value in items}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.tuples(st.binary(max_size=30), st.binary(max_size=10)),
            st.none(),
        ),
        max_size=6,
    )
)
def test_parser_never_raises_on_garbage(data: Data) -> None:
    for msg in parse_fetch_response(data):
        assert isinstance(msg, dict)


def test_agrees_with_imapclient_on_dovecot_samples() -> None:
    from imapclient.response_parser import parse_fetch_response as imapclient_parse
    from imapclient.response_types import BodyData

    def normal(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.decode()
        if isinstance(value, BodyData) and isinstance(value[0], list):
            # imapclient nests a multipart's parts in one list; IMAP (and we) do not.
            return [normal(v) for v in value[0]] + [normal(v) for v in value[1:]]
        if isinstance(value, tuple | list):
            return [normal(v) for v in value]
        return value

    for sample in (DOVECOT_PDF, DOVECOT_ALTERNATIVE, DOVECOT_BOUNCE, DOVECOT_LITERAL_NAME):
        ours = one(sample)
        theirs = imapclient_parse(sample, normalise_times=False)[ours["UID"]]
        assert normal(theirs[b"BODYSTRUCTURE"]) == ours["BODYSTRUCTURE"]
        assert (
            theirs[b"BODY[HEADER.FIELDS (MESSAGE-ID FROM SUBJECT)]"] == ours["BODY[HEADER.FIELDS]"]
        )
        assert theirs[b"INTERNALDATE"].timestamp() == ours["INTERNALDATE"]


# Cases after imapclient's own tests (tests/test_response_parser.py, ParseFetchResponseTest):
# the same kinds of response, fed to both parsers, must give the same values.
IMAPCLIENT_CASES: list[Data] = [
    [b"4 (FLAGS (\\Draft Stuff))"],  # test_FLAGS
    [b"3 (FLAGS (One Two)) ", b"9 (FLAGS (Three Four))"],  # test_multiple_messages
    [b"23 (uiD 76)"],  # test_UID, any case
    [(b"1 (RFC822.TEXT {4}", b"text"), (b" RFC822 {18}", b"Subject: x\r\n\r\ntext"), b")"],
    [(b"2 (BODY[TEXT] {9}", b"Hi again."), b")"],  # test_literals_and_keys_with_square_brackets
    [(b"12 (UID 3170 BODY[HEADER.FIELDS (from subject)] {17}", b"Subject: a\r\n\r\nxyz"), b")"],
    [(b"12 (UID 367 BODY[]<0> {10}", b"0123456789"), b")"],  # test_partial_fetch
    [b'1 (INTERNALDATE " 9-Feb-2007 17:08:08 -0430")'],  # test_INTERNALDATE
    [
        (b'1 (INTERNALDATE " 9-Feb-2007 17:08:08 +0100" RFC822 {15}', b"Subject: y\r\n\r\n!"),
        b")",
    ],  # test_mixed_types
    [
        b'12 (UID 317 BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 16 1))'
    ],  # test_BODYSTRUCTURE, single part
    [
        b'12 (UID 269 BODYSTRUCTURE (("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL '
        b'"QUOTED-PRINTABLE" 55 3)("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 26 1) '
        b'"MIXED"))'
    ],  # multipart
    [
        b'1 (BODYSTRUCTURE ((("text" "html" ("charset" "utf-8") NIL NIL "7bit" 97 3 NIL NIL NIL '
        b'NIL)("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 62 3 NIL NIL NIL NIL) '
        b'"alternative" ("boundary" "==8211==") NIL NIL NIL)("text" "plain" ("charset" "utf-8") '
        b'NIL NIL "7bit" 16 1 NIL ("attachment" ("filename" "notes.txt")) NIL NIL) "mixed" '
        b'("boundary" "==0373==") NIL NIL NIL))'
    ],  # nested multipart
    [b'6 (X-GM-LABELS (\\Inbox "Customers") X-GM-THRID 1556876566171000000 ABC "hello")'],
]


def _imapclient_view(data: Data) -> list[dict[str, Any]]:
    """imapclient's result for `data`, spelled the way `parse_fetch_response` spells it."""
    from imapclient.response_parser import parse_fetch_response as imapclient_parse
    from imapclient.response_types import BodyData

    def normal(value: Any, section: bool) -> Any:
        if isinstance(value, bytes):
            return value if section else value.decode()
        if isinstance(value, datetime):
            return int(value.timestamp())
        if isinstance(value, BodyData) and isinstance(value[0], list):
            # imapclient nests a multipart's parts in one list; IMAP (and we) do not.
            return [normal(v, False) for v in value[0]] + [normal(v, False) for v in value[1:]]
        if isinstance(value, tuple | list):
            return [normal(v, False) for v in value]
        return value

    view = []
    for uid, items in imapclient_parse(data, normalise_times=False).items():
        msg: dict[str, Any] = {}
        for name, value in items.items():
            key, kind = fetch._item_key(name.decode())
            msg[key] = normal(value, kind == fetch._K_SECTION)
            if key == "FLAGS":
                msg[key] = tuple(msg[key])
        if "SEQ" in msg and uid != msg["SEQ"]:
            msg["UID"] = uid
        view.append(msg)
    return view


@pytest.mark.parametrize("data", IMAPCLIENT_CASES)
def test_agrees_with_imapclient_on_its_own_test_cases(data: Data) -> None:
    ours = parse_fetch_response(data)
    assert all("ERROR" not in msg for msg in ours), ours
    assert ours == _imapclient_view(data)


# --- the same against a real Dovecot --------------------------------------------------------

SYNC_NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
LATIN1_MESSAGE = (
    b"From: Bo <bo@acme.example>\r\nTo: me@example.test\r\nSubject: Latin-1 name\r\n"
    b"Date: Fri, 20 Nov 2026 09:00:00 +0000\r\nMessage-ID: <latin1@acme.example>\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B\r\n"
    b'Content-Type: application/pdf; name="Gr\xfc\xdfe.pdf"\r\n'
    b'Content-Disposition: attachment; filename="Gr\xfc\xdfe.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--B--\r\n"
)


def store_flags(server: DovecotServer, user: MailUser, uid: int, change: str, flags: str) -> None:
    """Test set-up only. Through imaplib: imapclient's own parser fails on the reply to
    `STORE +FLAGS (foo[bar)` ("No closing ']'")."""
    with server.connect(user) as client:
        client.select_folder("Odd")
        typ, _data = client._imap.uid("STORE", str(uid), change, flags)
        assert typ == "OK"


def test_dovecot_odd_keywords_and_a_latin1_name_keep_every_fact(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    message_id = new_message_id()
    odd = make_message(
        from_="Ana <ana@acme.example>",
        to=mail_user.address,
        subject="Odd keywords",
        date=SYNC_NOW - timedelta(days=2),
        message_id=message_id,
    )
    uid = imap_server.append(mail_user, "Odd", odd)
    imap_server.append(mail_user, "Odd", LATIN1_MESSAGE)
    # Another client sets the keywords (Dovecot accepts them: valid RFC 3501 atoms).
    store_flags(imap_server, mail_user, uid, "+FLAGS", "(foo[bar 0123 NIL)")
    account = Account(
        name="test",
        addresses=(mail_user.address,),
        host=imap_server.host,
        port=imap_server.port,
        security="starttls",
        username=mail_user.name,
        ca_file=Path(imap_server.ca_file),
    )
    secret = Secret(mail_user.password, "test")
    store = Store.open(tmp_path / "watcher.sqlite3")
    try:
        sync_imap_account(account, secret, store, lookback_days=0, now=SYNC_NOW)
        messages = {m.subject: m for m in store.messages(folder="Odd")}
        kept = messages["Odd keywords"]
        assert kept.message_id == message_id
        assert kept.from_ == (("Ana", "ana@acme.example"),)
        assert kept.date == int((SYNC_NOW - timedelta(days=2)).timestamp())
        assert kept.internal_date is not None and not kept.parse_problems
        assert {"foo[bar", "0123", "NIL"} <= set(kept.flags)
        assert "[" not in kept.flags and "foo" not in kept.flags
        (attachment,) = messages["Latin-1 name"].attachments
        assert attachment.filename == "Grüße.pdf"

        # Changed keywords come through the flag-only fetch (CHANGEDSINCE) of the next sync.
        store_flags(imap_server, mail_user, uid, "+FLAGS", "(baz[qux)")
        store_flags(imap_server, mail_user, uid, "-FLAGS", "(0123)")
        report = sync_imap_account(account, secret, store, lookback_days=0, now=SYNC_NOW)
        assert report.folders and report.folders[0].flag_changes == 1
        (kept,) = [m for m in store.messages(folder="Odd") if m.subject == "Odd keywords"]
        assert {"foo[bar", "NIL", "baz[qux"} <= set(kept.flags)
        assert "0123" not in kept.flags and "baz" not in kept.flags
        assert kept.message_id == message_id
    finally:
        store.close()
