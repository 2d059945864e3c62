from __future__ import annotations

from email.utils import getaddresses

from hypothesis import given
from hypothesis import strategies as st

from watcher.mail.headers import (
    decode_words,
    parse_addresses,
    parse_date,
    parse_message_ids,
    split_header_block,
)


def test_split_unfolds_and_keeps_first_value() -> None:
    block = (
        b"Subject: a long\r\n subject line\r\nFrom: a@b.c\r\nReceived: x\r\nReceived: y\r\n"
        b"X-Other: 1\r\n\r\nbody: not a header\r\n"
    )
    fields = split_header_block(block)
    assert fields["subject"] == "a long subject line"
    assert fields["from"] == "a@b.c"
    assert "body" not in fields


def test_split_survives_8bit_and_garbage() -> None:
    fields = split_header_block(b"From \xff mbox line\nSubject: Gr\xfc\xdfe\nno colon here\n")
    assert fields["subject"] == "Grüße"


def test_decode_words() -> None:
    assert decode_words("=?utf-8?q?Jos=C3=A9_P=C3=A9rez?=") == "José Pérez"
    assert decode_words("=?ISO-8859-1?B?QW5nZWJvdCBm/HIgU2ll?=") == "Angebot für Sie"
    assert decode_words("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab"  # whitespace between words
    assert decode_words("=?x-unknown?q?caf=C3=A9?=") == "café"  # unknown charset: UTF-8
    assert decode_words("plain") == "plain"


def test_addresses_common_shapes() -> None:
    value = '"Kitchen, Louise" <Louise.Kitchen@Enron.com>, John <j@x.com>, bob@y.org, <z@q.de>'
    assert parse_addresses(value) == (
        ("Kitchen, Louise", "louise.kitchen@enron.com"),
        ("John", "j@x.com"),
        ("", "bob@y.org"),
        ("", "z@q.de"),
    )


def test_addresses_encoded_name_and_groups() -> None:
    assert parse_addresses("=?utf-8?q?Jos=C3=A9?= <j@x.es>") == (("José", "j@x.es"),)
    assert parse_addresses("undisclosed-recipients:;") == ()
    assert parse_addresses("Team: a@b.c, d@e.f;") == (("", "a@b.c"), ("", "d@e.f"))
    assert parse_addresses("a@b.c (Alice)") == (("Alice", "a@b.c"),)


@given(
    st.lists(
        st.tuples(
            st.text(alphabet="abcdefg XYZ.", max_size=10),
            st.from_regex(r"[a-z]{1,5}@[a-z]{1,5}\.[a-z]{2,3}", fullmatch=True),
        ),
        max_size=5,
    )
)
def test_addresses_agree_with_the_standard_library(pairs: list[tuple[str, str]]) -> None:
    value = ", ".join(f'"{name}" <{address}>' if name else address for name, address in pairs)
    expected = tuple((n.strip(), a) for n, a in getaddresses([value]) if a)
    assert parse_addresses(value) == expected


def test_message_ids() -> None:
    assert parse_message_ids(" <a@b> <c@d>\t<e@f>") == ("<a@b>", "<c@d>", "<e@f>")
    assert parse_message_ids("bare-id@host") == ("bare-id@host",)
    assert parse_message_ids("") == ()


def test_dates() -> None:
    assert parse_date("Mon, 14 May 2001 16:39:00 -0700 (PDT)") == 989883540
    assert parse_date("not a date") is None
    assert parse_date("Mon, 14 May 99999 16:39:00 -0700") is None
    assert parse_date("") is None


def test_dates_agree_with_the_standard_library() -> None:
    from email.utils import mktime_tz, parsedate_tz

    for value in (
        "Sat, 26 Nov 0001 10:00:00 -0800",  # Enron: a two-digit year written with four digits
        "14 May 2001 16:39:00 +0000",
        "Tue, 1 Jan 2030 00:00 +0530",
        "Mon, 31 Dec 1979 23:59:59 -1200 (X)",
    ):
        parts = parsedate_tz(value)
        assert parts is not None
        assert parse_date(value) == mktime_tz(parts), value
