from __future__ import annotations

from datetime import UTC, datetime
from email.utils import getaddresses
from pathlib import Path

import pytest
from dovecot import DovecotServer, MailUser
from hypothesis import given
from hypothesis import strategies as st

from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.mail.headers import (
    decode_words,
    parse_addresses,
    parse_date,
    parse_message_ids,
    split_header_block,
)
from watcher.mail.imap import sync_imap_account
from watcher.mail.maildir import sync_maildir_account
from watcher.store.store import Store


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


def test_decode_words_as_imap_file_names_had_it() -> None:
    # Once the assertions of a second decoder, for names in BODYSTRUCTURE; now the one.
    plain = "Angebot.pdf"
    assert decode_words(plain) is plain  # the fast path does no work
    assert decode_words("=?UTF-8?Q?J=C3=BCrgen?= M") == "Jürgen M"
    assert decode_words("=?utf-8?B?w5xiZXI=?=") == "Über"
    assert decode_words("=?bogus?Q?x?=") == "x"
    assert decode_words("=?utf-8?Q?broken") == "=?utf-8?Q?broken"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # One character's bytes split across two words (the IMAP names' decoder joined them).
        ("=?utf-8?q?=C3?= =?utf-8?q?=BC?=", "ü"),
        ("=?utf-8?b?w5w?=\t=?UTF-8?b?YmVy?=", "Über"),
        ("=?utf-8?q?=C3?= =?iso-8859-1?q?=BC?=", "\ufffd¼"),  # not across charsets
        # Senders that leave spaces, a `?` or 8-bit text in a word unencoded.
        ("=?utf-8?q?Angebot f=C3=BCr Sie?=.pdf", "Angebot für Sie.pdf"),
        ("=?utf-8?b?w5 xi ZXI=?=", "Über"),
        ("=?utf-8?q?a?b?=", "a?b"),
        ("=?utf-8?q?\u00fc?=", "ü"),
        ("=??q?abc?=", "abc"),  # no charset: UTF-8
        # A lying charset, a language suffix (the IMAP names read both as U+FFFD).
        ("=?us-ascii?q?caf=C3=A9?=", "café"),
        ("=?iso-8859-1*de?q?caf=E9?=", "café"),
        # One broken word spoils only itself (the IMAP names kept the whole value as sent).
        ("=?utf-8?b?w?= ok =?utf-8?q?z?=", "=?utf-8?b?w?= ok z"),
        ("=?utf-8?q?a?= =?utf-8?b?w?=", "a =?utf-8?b?w?="),
        ("=?utf-8?q?broken and =?utf-8?q?x?=", "=?utf-8?q?broken and x"),
        # Plain text is never unescaped (the IMAP names read `\\u00e9` as é).
        ("C:\\users\\new =?utf-8?q?x?=", "C:\\users\\new x"),
        ("\\u00e9 =?utf-8?q?x?=", "\\u00e9 x"),
        # Control characters are the reader's business; decoding keeps them.
        ("=?utf-8?q?a=00b=07c=1Bd?=", "a\x00b\x07c\x1bd"),
    ],
)
def test_decode_words_is_forgiving_where_senders_break_rfc_2047(value: str, text: str) -> None:
    assert decode_words(value) == text


def test_decode_words_scans_a_huge_broken_header_in_linear_time() -> None:
    value = "=?utf-8?q?" + "a" * 300_000 + " =?x?q?" * 20_000
    assert decode_words(value) == value


# Names that test a decoder: each goes into two file names and a Subject. Not into a display
# name: both paths read the From line with the same `facts_from_headers`, and mail-parser (the
# Maildir path's MIME reader) gives up on a whole message whose From has a broken base64 word.
HOSTILE_NAMES = (
    "=?us-ascii?q?caf=C3=A9?=.pdf",
    "=?iso-8859-1*de?q?Gr=FC=DFe?=.pdf",
    "=?utf-8?q?=C3?= =?utf-8?q?=BC?=.pdf",
    "=?utf-8?b?w?= ok =?utf-8?q?z?=.pdf",
    "=?utf-8?q?Angebot f=C3=BCr Sie?=.pdf",
    "=?x-klingon?q?caf=C3=A9?=.pdf",
    "=?utf-8?q?a=00b=07c=1B?=.pdf",
    "=?utf-8?q?=E2=80=AE?=fdp.exe",
    "=?utf-7?q?+2D3cAA-?=.pdf",
    "=?idna?q?=FF?=.pdf",
    "=??q?abc?=.pdf",
    "=?utf-8?q?a?b?=.pdf",
    "=?utf-8?b?w5xiZXI=?= =?iso-8859-1?q?=FC?=.pdf",
    "=?utf-16?b?2AA=?=.pdf",
    "=?unicode-escape?q?=5Cud800?=.pdf",
)
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def _named_message(number: int, name: str) -> bytes:
    return (
        f"From: Ana <ana@client.example>\r\nTo: me@example.test\r\nSubject: {name}\r\n"
        f"Date: Fri, 20 Nov 2026 09:00:00 +0000\r\nMessage-ID: <name{number}@client.example>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        f'--B\r\nContent-Type: application/pdf; name="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n"
        "--B\r\nContent-Type: application/pdf\r\n"
        f'Content-Disposition: attachment; filename="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--B--\r\n"
    ).encode()


def _names_of(store: Store, folder: str) -> dict[str, tuple[object, ...]]:
    return {
        m.message_id: (m.subject, m.from_, tuple(a.filename for a in m.attachments))
        for m in store.messages(folder=folder)
    }


def test_names_read_over_imap_and_from_a_maildir_decode_alike(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for number, name in enumerate(HOSTILE_NAMES):
        raw = _named_message(number, name)
        imap_server.append(mail_user, "INBOX", raw)
        (maildir / "cur" / f"{number}.test:2,S").write_bytes(raw)
    over_imap = Store.open(tmp_path / "imap.sqlite3")
    from_disk = Store.open(tmp_path / "maildir.sqlite3")
    try:
        imap_account = Account(
            name="imap",
            addresses=(mail_user.address,),
            host=imap_server.host,
            port=imap_server.port,
            security="starttls",
            username=mail_user.name,
            ca_file=Path(imap_server.ca_file),
        )
        secret = Secret(mail_user.password, "test")
        sync_imap_account(imap_account, secret, over_imap, lookback_days=0, now=NOW)
        disk_account = Account(name="disk", addresses=(mail_user.address,), maildir=maildir)
        sync_maildir_account(disk_account, from_disk, lookback_days=0, now=NOW)
        imap_names = _names_of(over_imap, "INBOX")
        disk_names = _names_of(from_disk, "INBOX")
    finally:
        over_imap.close()
        from_disk.close()
    assert len(imap_names) == len(HOSTILE_NAMES)
    assert imap_names == disk_names
    for number, name in enumerate(HOSTILE_NAMES):  # and both are the one decoder's reading
        _subject, _from, filenames = imap_names[f"<name{number}@client.example>"]
        assert filenames == (decode_words(name),) * 2, name


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
