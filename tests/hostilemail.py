"""The nastiest hand-made messages (`NASTY`, by name) and the builders they are made with:
markup, CR/LF injection, giant headers, deep and broken MIME, lying charsets, impossible dates.
None contains NUL, so Dovecot takes them all."""

from __future__ import annotations

import base64

ME = "me@example.test"

HOSTILE_TEXTS = (
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(document.cookie)",
    '"><img src=x onerror=alert(1)>',
    "<style>body{background:url(https://evil.example/t.png)}</style>",
    "<!-- <script> --> ]]> <![CDATA[ x ]]>",
    "{{ 7*7 }} {% raw %} ${7*7} #{7*7} %s %n %(x)s",
    "{first_name} {0} {subject.__class__.__mro__} {greeting!r:>99999}",
    "../../../../etc/passwd",
    "$(touch /tmp/pwned) `id` ; rm -rf ~ | cat",
    "\u202e\u200b\ufeff\u0000\x7f\x1b[31m",
    "Proposal\r\nBcc: victim@evil.example",
)

# -- building messages ------------------------------------------------------------------------


def raw_message(*fields: bytes, body: bytes = b"Hello.\r\n", eol: bytes = b"\r\n") -> bytes:
    return eol.join(fields) + eol + eol + body


def encoded_word(text: str, charset: str = "utf-8", kind: str = "b") -> str:
    data = text.encode("utf-8")
    if kind == "b":
        return f"=?{charset}?b?{base64.b64encode(data).decode()}?="
    payload = "".join(chr(b) if chr(b).isalnum() else f"={b:02X}" for b in data)
    return f"=?{charset}?q?{payload}?="


def nested_multipart(depth: int, *, boundary: str = "b{}", close: bool = True) -> bytes:
    """A multipart nested `depth` deep, a text part at the bottom."""
    head = b""
    tail = b""
    for level in range(depth):
        mark = boundary.format(level).encode()
        head += b'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n--%s\r\n' % (mark, mark)
        if close:
            tail = b"\r\n--%s--\r\n" % mark + tail
    leaf = b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe proposal, deep down.\r\n"
    return head + leaf + tail


def nasty_messages() -> dict[str, bytes]:
    """The nastiest hand-made messages, by name; none contains NUL (Dovecot takes them all)."""
    mine = b"From: Me <" + ME.encode() + b">"
    date = b"Date: Mon, 02 Nov 2026 09:00:00 +0100"
    client = b"To: Ana <ana@client.example>"
    subject_html = " ".join(HOSTILE_TEXTS[:5])
    giant_to = b"To: " + b",\r\n ".join(b"u%d@x%d.example" % (i, i % 97) for i in range(5000))
    many_words = " ".join(encoded_word(f"w{i}<b>", kind="q") for i in range(2000))
    nested_word = encoded_word(encoded_word("<script>alert(1)</script>", kind="q"))
    report_type = b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"'
    report = (
        b"--R\r\nContent-Type: text/plain\r\n\r\nDelivery to <a href='javascript:x'>"
        b"ana@client.example</a> failed.\r\n"
        b"--R\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Final-Recipient: rfc822; <script>@evil.example\r\nAction: failed\r\n"
        b"Final-Recipient: rfc822; ana@client.example\r\nAction: failed\r\n"
        b"--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <html-subject@example.test>\r\n--R"  # never closed
    )
    return {
        "html-subject": raw_message(
            mine,
            b'To: "<img src=x onerror=alert(1)>" <eve@client.example>, '
            b"=?utf-8?q?=3Cscript=3Ealert(2)=3C/script=3E?= <bob@client.example>",
            b"Subject: " + subject_html.encode(),
            b"Message-ID: <html-subject@example.test>",
            date,
            b'Content-Type: multipart/mixed; boundary="m"',
            body=b"--m\r\nContent-Type: text/html\r\n\r\n<p>Our proposal: <a href='javascript:"
            b"alert(1)'>sign</a><script>alert(3)</script> EUR 9,800</p>\r\n--m\r\n"
            b'Content-Type: application/pdf; name="\\"><script>alert(4)</script>.pdf"\r\n'
            b"Content-Disposition: attachment; filename*=utf-8''%3Cscript%3E.pdf\r\n\r\n"
            b"%PDF-1.4\r\n--m--\r\n",
        ),
        "crlf-injection": raw_message(
            mine,
            b"To: "
            + encoded_word("Ana\r\nBcc: victim@evil.example").encode()
            + b" <ana@client.example>",
            b"Subject: "
            + encoded_word(
                "Proposal\r\nBcc: victim@evil.example\r\n\r\n<b>body</b>", kind="q"
            ).encode(),
            b"Message-ID: <crlf@example.test>",
            b"References: <a@x>\r\n\t<b@x>",
            date,
        ),
        "bare-cr": raw_message(
            mine,
            client,
            b"Subject: Quote for you\rBcc: victim@evil.example\rX-Evil: 1",
            b"Message-ID: <bare-cr@example.test>\rBcc: x@evil.example",
            b"In-Reply-To: \x01\x02<ctl@x>",
            date,
        ),
        "giant-subject": raw_message(
            mine,
            client,
            b"Subject: Proposal " + b"A" * 200_000,
            b"Message-ID: <giant-subject@example.test>",
            date,
        ),
        "giant-to": raw_message(
            mine, giant_to, b"Subject: Offer for 5000", b"Message-ID: <giant-to@x>", date
        ),
        "deep-nesting": raw_message(
            mine, client, b"Subject: Proposal, nested", date, body=nested_multipart(60, close=False)
        ),
        "same-boundary-everywhere": raw_message(
            mine, client, b"Subject: Estimate", date, body=nested_multipart(55, boundary="same")
        ),
        "broken-boundaries": raw_message(
            mine,
            client,
            b"Subject: Contract",
            date,
            b"Content-Type: multipart/alternative; boundary=",
            body=b'--\r\n--\r\nContent-Type: text/plain; charset="\r\n\r\nhalf\r\n-- --\r\n',
        ),
        "lying-charsets": raw_message(
            mine,
            client,
            b"Subject: =?utf-7?q?+2AA-?= =?unicode-escape?q?\\ud800x?= =?x-klingon?q?=FF?= "
            b"=?zlib?b?eJzLSM3JyQcABiwCFQ==?= =?idna?q?xn--=FF?= =?utf-16?b?2AA=?=",
            b'Content-Type: text/plain; charset="utf-7"',
            b"Content-Transfer-Encoding: quoted-printable",
            date,
            body=b"+2AA- =FF=FE proposal =ZZ\r\n",
        ),
        "lying-filenames": raw_message(
            mine,
            client,
            b"Subject: Proposal, attached",
            date,
            b'Content-Type: multipart/mixed; boundary="f"',
            body=b"--f\r\nContent-Type: text/plain\r\n\r\nAttached.\r\n"
            b'--f\r\nContent-Type: application/pdf; name="=?utf-7?q?+2AA-?=.pdf"\r\n'
            b"Content-Disposition: attachment; filename*=utf-7''%2B2AA-.pdf\r\n\r\n%PDF\r\n"
            b'--f\r\nContent-Type: application/pdf; name="\\\\ud800 =?x?q?y?=.pdf"\r\n\r\n%PDF\r\n'
            b"--f--\r\n",
        ),
        "idna-filename": raw_message(
            mine,
            client,
            b"Subject: Offer, attached",
            date,
            b'Content-Type: multipart/mixed; boundary="f"',
            body=b"--f\r\nContent-Type: text/plain\r\n\r\nAttached.\r\n"
            b'--f\r\nContent-Type: application/pdf; name="=?idna?q?=FF?=.pdf"\r\n'
            b"Content-Disposition: attachment; filename*=idna''%FF.pdf\r\n\r\n%PDF\r\n"
            b"--f--\r\n",
        ),
        "dates-out-of-range": raw_message(
            mine,
            client,
            b"Subject: Offer from the year 0",
            b"Date: Mon, 1 Jan 0000 00:00:00 +0000",
            b"Message-ID: <year0@x>",
        ),
        "date-99999": raw_message(
            mine,
            client,
            b"Subject: Offer from the far future",
            b"Date: Fri, 31 Dec 99999 23:59:59 -9999",
        ),
        "rfc2047-abuse": raw_message(
            mine,
            b"To: " + nested_word.encode() + b" <nested@client.example>",
            b"Subject: " + many_words.encode(),
            b"Cc: =?x?q?" + b"=" * 500 + b"?= <cc@client.example>",
            date,
        ),
        "8bit-headers": raw_message(
            b"From: M\xe9 \xff\xfe <" + ME.encode() + b">",
            b"To: \x80\x81 \xc3\x28 <ana@client.example>",
            b"Subject: Angebot \xe4\xf6\xfc \xed\xa0\x80 \xf0\x28\x8c\x28",
            b"X-\xff: \xff",
            date,
        ),
        "bounce": raw_message(
            b"From: MAILER-DAEMON@mx.example",
            b"To: " + ME.encode(),
            b"Subject: Undelivered Mail Returned to Sender <script>alert(5)</script>",
            b"Date: Mon, 02 Nov 2026 09:05:00 +0100",
            report_type,
            body=report,
        ),
        "huge-references": raw_message(
            mine,
            client,
            b"Subject: Proposal, long thread",
            b"References: " + b" ".join(b"<r%d@x>" % i for i in range(5000)),
            b"In-Reply-To: <<<>>> < > <@> <r1@x",
            date,
        ),
        "header-only-lf": b"From: " + ME.encode() + b"\nTo: ana@client.example\nSubject: x",
    }


NASTY = nasty_messages()
