"""Bad input never crashes the watcher, and mail never turns into markup, links or headers.

Mail goes through every path the watcher reads it by, one message at a time:
- `facts_from_raw` (a Maildir file), and `facts_from_headers` on its header block;
- the IMAP path: a FETCH response synthesized for the same bytes (BODYSTRUCTURE with strings
  as quoted strings or literals as a server sends them, the header fields as a literal, the
  first part as a literal), parsed by `fetch.parse_fetch_response` and turned into facts by
  the sync's own `ImapSync._facts_of` (`describe_bodystructure`, `decode_text_part`);
then all of it together, as `watcher digest --send` does: `build_conversations`, the three
classifiers (`classify_sent`, `automatic_reason`, `bounce_of`), `track`, `select_digest`,
`render_html` / `render_text` / `build_message`, a follow-up draft per item (`build_draft`,
as with `drafts = true`), and each fact through the store (SQLite must take every string).

Inputs: every message of ../shared/corpus/ (cpython-test-email and spamassassin-ham), a fixed
set of the nastiest hand-made messages (`NASTY`), and a hypothesis stream of malformed ones
(broken MIME boundaries, unknown and lying charsets, 8-bit headers, CR/LF inside values,
200 KB subjects, 5,000 recipients, multiparts nested 50-120 deep, RFC 2047 garbage, nested
and huge, dates from year 0 to 99999 with impossible offsets). A handful of the nastiest also
go the real way: APPEND to Dovecot, `watcher sync`, `watcher list`, `watcher digest --html`.

The digest escapes every field: its HTML, parsed with html.parser, has only the template's
own tags, no script, no event-handler attribute, and no href other than the `mailto:` and
the `https://` webmail links it builds; a hostile subject shows up as text, verbatim.

Config: random TOML (known and unknown keys, values of every type, huge numbers, NaN and
infinities, unicode, hostile regular expressions and templates) gives either settings that
work, or a `ConfigError` with a one-line message; never another exception. A few bad configs
also go through `python -m watcher --config bad.toml sync`: exit code 2, no traceback.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import json
import math
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from corpus import message_files, unpack
from dovecot import DovecotServer, MailUser
from hostilemail import HOSTILE_TEXTS, ME, NASTY, encoded_word, nested_multipart, raw_message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mailpipeline import (
    ARRIVED,
    DIGEST,
    IDENTITY,
    MAILTO_LINK,
    NOW,
    TEMPLATE_TAGS,
    WEBMAIL_LINK,
    ZONE,
    Markup,
    check_drafts,
    check_html,
    check_message,
    fetch_response,
    imap_sync,
    through_everything,
)
from watcherproc import finish, watcher

from watcher.analysis.conversations import build_conversations
from watcher.analysis.rules import add_days
from watcher.analysis.tracker import track
from watcher.config.settings import Settings, parse_settings
from watcher.config.tracking import Tracking
from watcher.digest.render import render_html
from watcher.digest.select import select_digest
from watcher.errors import ConfigError
from watcher.mail.fetch import parse_fetch_response
from watcher.service.daemon import sync_interval_seconds
from watcher.service.schedule import upcoming_digest
from watcher.store.store import Store

# -- the tests: fixed messages and the corpus ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(NASTY))
def test_each_nasty_message_goes_through_everything(name: str, tmp_path: Path) -> None:
    through_everything([NASTY[name]], tmp_path)


def test_all_nasty_messages_together_and_the_html_shows_them_as_text(tmp_path: Path) -> None:
    digest = through_everything(list(NASTY.values()), tmp_path)
    subjects = " ".join(item.subject for item in digest.items)
    assert "<script>alert(1)</script>" in subjects  # it was in the digest: escaped, as text
    assert "javascript:alert(document.cookie)" in subjects
    html = render_html(digest)
    assert "<script>alert(1)</script>" not in html
    assert 'href="javascript' not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert any(item.alarm == "bounced" for item in digest.items)


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    try:
        unpack("cpython-test-email.tar.xz", root)
        unpack("spamassassin-ham.tar.xz", root)
    except FileNotFoundError as exc:
        pytest.skip(f"corpus not available: {exc}")
    return root


def test_corpus_odd_mail_goes_through_everything(corpus_root: Path, tmp_path: Path) -> None:
    """CPython's odd MIME and encodings, and SpamAssassin's hard ham (HTML, odd senders)."""
    folders = ("cpython-test_email", "hard-ham-1")
    raws = [p.read_bytes() for f in folders for p in message_files(corpus_root / f)]
    assert len(raws) >= 47 + 250
    digest = through_everything(raws, tmp_path)
    assert digest.items  # the comparison compared something


@pytest.mark.slow
def test_corpus_easy_ham_goes_through_everything(corpus_root: Path, tmp_path: Path) -> None:
    """The other 3,900 messages of spamassassin-ham (~15 s)."""
    raws = [
        p.read_bytes() for f in ("easy-ham-1", "easy-ham-2") for p in message_files(corpus_root / f)
    ]
    assert len(raws) >= 3_800
    through_everything(raws, tmp_path)


# -- the tests: generated messages ----------------------------------------------------------------

_CHARSETS = st.sampled_from(
    [
        *("utf-8", "UTF-8", "us-ascii", "iso-8859-1", "cp1252", "koi8-r", "shift_jis"),
        *("utf-7", "utf-16", "utf-32", "utf-8-sig", "unicode-escape", "raw-unicode-escape"),
        *("idna", "punycode", "zlib", "base64", "hex", "rot13", "uu", "quopri", "mbcs"),
        *("x-unknown", "utf-8*en", "../../etc/passwd", "a" * 300, "", "utf-8\x00", "%s"),
    ]
)
_HOSTILE = st.sampled_from(HOSTILE_TEXTS)


@st.composite
def encoded_words(draw: st.DrawFn) -> str:
    charset = draw(_CHARSETS)
    kind = draw(st.sampled_from("qQbBx"))
    payload = draw(
        st.one_of(
            st.text(max_size=30),
            st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode()),
            _HOSTILE.map(lambda t: encoded_word(t, kind="q")[10:-2]),
            st.sampled_from(["=0D=0ABcc:_x@evil.example", "=ZZ=", "+2AA-", "\\ud800", "!!!"]),
            st.sampled_from(["=?utf-8?q?nested?=", "====", "=?", "?=", "=3D=3F"]),
        )
    )
    word = f"=?{charset}?{kind}?{payload}?="
    if draw(st.booleans()):
        word = encoded_word(word, draw(_CHARSETS))  # nested
    return word


@st.composite
def header_values(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 15))  # 4 and 5 (huge) are 1 in 16 each: a message has ~10 fields
    if choice == 0:
        return draw(st.text(max_size=60)).encode("utf-8", "surrogatepass")
    if choice == 1:
        return draw(st.binary(max_size=80))  # 8-bit, CR, LF, NUL
    if choice == 2:
        words = draw(st.lists(encoded_words(), min_size=1, max_size=6))
        return draw(st.sampled_from([" ", "", "\r\n ", "\t"])).join(words).encode()
    if choice == 3:
        return draw(_HOSTILE).encode()
    if choice == 4:  # huge
        size = draw(st.integers(1_000, 200_000))
        unit = draw(st.sampled_from([b"A", b"<b>", b"=?utf-8?q?x?= ", b"Re: ", b" ", b"\xff"]))
        return (unit * (size // len(unit) + 1))[:size]
    if choice == 5:  # RFC 2047, huge
        word = draw(encoded_words()).encode()
        return b" ".join([word] * draw(st.integers(100, 3_000)))
    if choice in (6, 7):  # folded, with injection attempts
        parts = draw(st.lists(st.sampled_from([b"a", b"\r\n ", b"\r\nBcc: x@y", b"\r", b"\n"])))
        return b"Proposal" + b"".join(parts)
    if choice in (8, 9):
        return draw(_HOSTILE).encode() + b" " + draw(encoded_words()).encode()
    if choice in (10, 11):
        return draw(st.text(max_size=60)).encode("utf-8", "surrogatepass")
    return b"" if choice == 12 else draw(st.binary(max_size=80))


@st.composite
def addresses(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 39)) == 0:  # thousands (rare: mail-parser takes ~0.1 s for them)
        count = draw(st.integers(1_000, 5_000))
        return b", ".join(b"p%d@r%d.example" % (i, i % 13) for i in range(count))
    one = st.one_of(
        st.just(b"Ana <ana@client.example>"),
        st.just(b"bob@client.example"),
        st.just(b"Me <" + ME.encode() + b">"),
        st.just(b"MAILER-DAEMON@mx.example"),
        st.just(b'"<script>" <x@y>, (comment) <@>, group: a@b, c@d;'),
        header_values().map(lambda v: v + b" <e@client.example>"),
        header_values(),
    )
    return b", ".join(draw(st.lists(one, min_size=1, max_size=5)))


@st.composite
def dates(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(
            st.sampled_from(
                [
                    b"Mon, 1 Jan 0000 00:00:00 +0000",
                    b"Fri, 31 Dec 99999 23:59:59 -9999",
                    b"Thu, 1 Jan 1970 00:00:00 +2400",
                    b"Sat, 13 Dec 1901 20:45:52 +0000",
                    b"Mon, 1 Jan -5 00:00:00 +0000",
                    b"32 Feb 2026 25:61:61 -0000",
                    b"99999",
                    b"-1",
                    b"1e400",
                    b"Tue, 19 Jan 2038 03:14:08 +0000",
                    b"Wed, 02 Nov 2026 09:00:00 +0100",
                    b"\xff\xfe",
                ]
            )
        )
    day = draw(st.integers(-5, 40))
    month = draw(st.sampled_from(["Jan", "Feb", "Dec", "Foo", "", "jan"]))
    year = draw(st.integers(-100, 100_000))
    clock = draw(st.tuples(*[st.integers(-1, 99)] * 3))
    offset = draw(st.integers(-99_999, 99_999))
    return f"{day} {month} {year} {clock[0]}:{clock[1]}:{clock[2]} {offset:+05d}".encode()


@st.composite
def bodies(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    """(Content-* header fields, body)."""
    kind = draw(st.integers(0, 6))
    charset = draw(_CHARSETS).encode()
    text = draw(st.one_of(_HOSTILE, st.text(max_size=200))).encode("utf-8", "surrogatepass")
    if kind == 0:
        return [], draw(st.binary(max_size=300))
    if kind == 1:  # deep nesting
        depth = draw(st.integers(1, 120))
        close = draw(st.booleans())
        boundary = draw(st.sampled_from(["b{}", "same", "", "--", '"']))
        return [], nested_multipart(depth, boundary=boundary, close=close)
    if kind == 2:  # broken boundaries
        boundary = draw(st.sampled_from([b"", b"x", b'"', b"x" * 200, b"a b", b"\xff"]))
        parts = draw(
            st.lists(
                st.sampled_from(
                    [
                        b"--x\r\nContent-Type: text/plain\r\n\r\n" + text + b"\r\n",
                        b"--x--\r\n",
                        b"--x\r\n\r\n",
                        b"--\r\n",
                        b"--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n",
                        b"--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\n",
                    ]
                ),
                max_size=8,
            )
        )
        sub = draw(st.sampled_from([b"mixed", b"alternative", b"report", b"related", b""]))
        header = b"Content-Type: multipart/" + sub + b"; boundary=" + boundary
        return [header], b"".join(parts)
    if kind == 3:  # lying charsets and encodings
        encoding = draw(
            st.sampled_from([b"base64", b"quoted-printable", b"8bit", b"x-uuencode", b"\xff", b""])
        )
        subtype = draw(st.sampled_from([b"plain", b"html", b"rfc822-headers", b"enriched"]))
        payload = draw(st.one_of(st.binary(max_size=200), st.just(b"=ZZ=\r\n+2AA-\r\n!!!")))
        return [
            b"Content-Type: text/" + subtype + b'; charset="' + charset + b'"',
            b"Content-Transfer-Encoding: " + encoding,
        ], text + b"\r\n" + payload
    if kind == 4:  # a delivery report
        action = draw(st.sampled_from([b"failed", b"delayed", b"", b"FAILED" * 100]))
        return [b'Content-Type: multipart/report; report-type="delivery-status"; boundary=R'], (
            b"--R\r\nContent-Type: text/plain\r\n\r\n" + text + b"\r\n--R\r\n"
            b"Content-Type: message/delivery-status\r\n\r\nAction: " + action + b"\r\n"
            b"Final-Recipient: rfc822; " + draw(addresses())[:500] + b"\r\n--R\r\n"
            b"Content-Type: message/rfc822\r\n\r\nMessage-ID: <m0@x>\r\n\r\n--R--\r\n"
        )
    if kind == 5:  # an attachment with a hostile name
        name = draw(header_values())[:300]
        return [b"Content-Type: multipart/mixed; boundary=A"], (
            b"--A\r\nContent-Type: text/plain\r\n\r\n%s\r\n--A\r\nContent-Type: application/pdf;"
            b" name=\"%s\"\r\nContent-Disposition: attachment; filename*=%s''%s\r\n\r\n%%PDF\r\n"
            b"--A--\r\n" % (text, name, charset, name)
        )
    return [], text


@st.composite
def hostile_messages(draw: st.DrawFn) -> bytes:
    fields = [b"From: " + draw(st.one_of(st.just(b"Me <" + ME.encode() + b">"), addresses()))]
    fields.append(b"To: " + draw(addresses()))
    optional = {
        b"Cc": addresses(),
        b"Subject": header_values(),
        b"Date": dates(),
        b"Message-ID": st.one_of(header_values(), st.just(b"<m0@x>")),
        b"In-Reply-To": st.one_of(header_values(), st.just(b"<m0@x>")),
        b"References": header_values(),
        b"Auto-Submitted": header_values(),
        b"Precedence": st.sampled_from([b"bulk", b"list", b"\xff", b"auto_reply"]),
        b"List-Id": header_values(),
        b"Thread-Index": st.one_of(header_values(), st.just(b"AQHZ" * 500)),
        b"X-Followup-Watcher": st.just(b"digest"),
    }
    for name, values in optional.items():
        if draw(st.integers(0, 3)) == 0:
            continue
        fields.append(name + b": " + draw(values))
    for _ in range(draw(st.integers(0, 2))):  # strange field names
        fields.append(draw(st.binary(min_size=1, max_size=20)) + b": " + draw(header_values()))
    content, body = draw(bodies())
    fields = draw(st.permutations(fields + content))
    eol = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    return raw_message(*fields, body=body, eol=eol)


HYPOTHESIS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@HYPOTHESIS
@given(st.lists(hostile_messages(), min_size=1, max_size=4))
def test_generated_malformed_mail_goes_through_everything(raws: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        through_everything(raws, Path(directory))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_messages(), st.data())
def test_damaged_fetch_data_never_raises(raw: bytes, data: st.DataObject) -> None:
    """Server data cut, doubled or scrambled: `parse_fetch_response` still returns dicts."""
    response = fetch_response(raw, 5)
    damaged: list[bytes | tuple[bytes, bytes] | None] = []
    for item in response:
        how = data.draw(st.integers(0, 9))
        if how == 0:
            continue  # a lost piece
        if how == 1:
            damaged.extend([item, item])
        elif how == 2 and isinstance(item, tuple):
            cut = data.draw(st.integers(0, len(item[0])))
            damaged.append((item[0][:cut], item[1]))
        elif how == 3:
            damaged.append(data.draw(st.binary(max_size=40)))
        elif how == 4:
            damaged.append(None)
        elif how == 5 and isinstance(item, bytes):
            noise = data.draw(st.sampled_from([b"(", b")", b'"', b"{", b"\\", b"[", b"]", b"\x00"]))
            at = data.draw(st.integers(0, len(item)))
            damaged.append(item[:at] + noise + item[at:])
        else:
            damaged.append(item)
    for message in parse_fetch_response(damaged):
        assert isinstance(message, dict)
        uid = message.get("UID")
        if isinstance(uid, int) and "ERROR" not in message:
            # The sync keeps a message it cannot read as "unreadable": no crash either way.
            with contextlib.suppress(Exception):
                imap_sync()._facts_of(message, uid, 77, True)


# -- the real path: Dovecot, the sync, the CLI -----------------------------------------------

ROUND_TRIP = (
    "html-subject",
    "crlf-injection",
    "bare-cr",
    "giant-subject",
    "giant-to",
    "deep-nesting",
    "lying-charsets",
    "lying-filenames",
    "idna-filename",
    "dates-out-of-range",
    "rfc2047-abuse",
    "8bit-headers",
    "bounce",
)


def _round_trip_config(path: Path, server: DovecotServer, user: MailUser, state: Path) -> Path:
    path.write_text(
        f"""
state_dir = "{state}"
timezone = "Europe/Berlin"
lookback_days = 0
track = "all"

[[accounts]]
name = "acct"
host = "{server.host}"
port = {server.port}
security = "starttls"
ca_file = "{server.ca_file}"
username = "{user.name}"
addresses = ["{ME}"]
password_env = "TEST_IMAP_PASSWORD"

[digest]
to = "{ME}"
webmail = "fastmail"
""",
        encoding="utf-8",
    )
    return path


def test_nastiest_messages_survive_dovecot_sync_list_and_digest(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    when = dt.datetime.fromtimestamp(ARRIVED, dt.UTC)
    sent = [(NASTY[name], when) for name in ROUND_TRIP if name != "bounce"]
    imap_server.append_many(mail_user, "Sent", sent)
    imap_server.append_many(mail_user, "INBOX", [(NASTY[name], when) for name in ROUND_TRIP])
    config = _round_trip_config(tmp_path / "c.toml", imap_server, mail_user, tmp_path / "s")

    code, _out, err = finish(watcher(config, mail_user, "sync"))
    assert code == 0, err
    assert "Traceback" not in err
    with Store.open(tmp_path / "s" / "watcher.sqlite3") as store:
        assert store.count_messages() == len(sent) + len(ROUND_TRIP)
        stored = list(store.stored_messages())
        subjects = [m.facts.subject for m in stored]
    assert any("<script>alert(1)</script>" in s for s in subjects)
    attached = [m.facts for m in stored if m.facts.subject.endswith(", attached")]
    assert len(attached) == 4 and all(len(f.attachments) >= 1 for f in attached)
    assert not any("\r" in s or "\n" in s for s in subjects)
    # In-process over what the real sync stored, then the CLI as a user would run it.
    tracked = track(
        build_conversations(stored),
        identity=IDENTITY,
        tracking=Tracking(track="all"),
        overrides={},
        now=NOW,
        zone=ZONE,
    )
    digest = select_digest(tracked, carried={}, settings=DIGEST, now=NOW, zone=ZONE).digest
    assert digest.items
    check_html(render_html(digest), digest)
    check_message(digest)
    check_drafts(digest)
    for args in (
        ("list", "--all"),
        ("list", "--json"),
        ("digest", "--html", str(tmp_path / "d.html")),
    ):
        code, _out, err = finish(watcher(config, mail_user, *args, "--now", "2026-11-23T07:30"))
        assert code == 0, err
        assert "Traceback" not in err
    html = (tmp_path / "d.html").read_text(encoding="utf-8")
    markup = Markup()
    markup.feed(html)
    assert set(markup.tags) <= TEMPLATE_TAGS and not markup.bad
    assert all(MAILTO_LINK.fullmatch(x) or WEBMAIL_LINK.fullmatch(x) for x in markup.links)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- config ---------------------------------------------------------------------------------------

BASE_CONFIG: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "lookback_days": 30,
    "accounts": [
        {"name": "work", "host": "imap.example.com", "addresses": ["me@example.com"]},
    ],
    "digest": {"to": "me@example.com", "webmail": "fastmail"},
    "rules": [{"domain": "acme.example", "quiet_days": 5}],
}
TOP_KEYS = (
    *("state_dir", "sync_interval", "timezone", "lookback_days", "accounts", "track"),
    *("default_quiet_days", "business_days", "remind_every", "give_up_after", "keywords"),
    *("keyword_prefix", "rules", "digest"),
)
ACCOUNT_KEYS = (
    *("name", "host", "port", "security", "username", "addresses", "aliases", "maildir"),
    *("include_folders", "exclude_folders", "ca_file", "timeout_seconds", "password_command"),
    *("oauth2_token_command", "password_env", "credential", "allow_insecure", "password"),
)
DIGEST_KEYS = (
    *("at", "catch_up_until", "to", "from", "account", "delivery", "send_when_empty"),
    *("webmail", "drafts", "templates", "smtp"),
)
SMTP_KEYS = (
    *("host", "port", "security", "username", "ca_file", "timeout_seconds"),
    *("password_command", "password_env", "credential"),
)
RULE_KEYS = (
    *("contact", "domain", "subject", "kind", "quiet_days", "business_days"),
    *("remind_every", "give_up_after", "ignore"),
)
TEMPLATE_KEYS = ("first", "reminder", "long_quiet", "last")
CONFIG_STRINGS = (
    *("", "../../etc/passwd", "$(touch /tmp/pwned)", "a" * 10_000, "\n", "\x7f", "é∂", "\ud7ff"),
    *("Europe/Berlin", "Europe/", "/etc/localtime", "07:30", "24:00", "7:5", "99:99", "none"),
    *("ssl", "starttls", "imap", "both", "smtp", "all", "proposals", "fastmail", "proposal"),
    *("https://x/{message_id}", "javascript:{message_id}", "me@example.com", "127.0.0.1"),
    *("(((((", "a{99999999999}", "(" * 2000 + ")" * 2000, "(?P<a>x)(?P=b)", "[", "\\"),
    *("{first_name} {subject.__class__}", "{", "}", "{0}", "{greeting:{x}}", "{a\nb}", "{days!z}"),
)
_keys = st.one_of(
    st.sampled_from(TOP_KEYS + ACCOUNT_KEYS + DIGEST_KEYS + RULE_KEYS),
    st.text(min_size=1, max_size=12),
)
_scalars = st.one_of(
    st.sampled_from(CONFIG_STRINGS),
    st.text(max_size=30),
    st.lists(st.sampled_from(["{", "}", "\n", "first_name", "x", ":", "!r", "{{", "é"])).map(
        "".join
    ),
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, -(2**63), 10**12, 10**30, 10**400]),
    st.floats(),
    st.sampled_from([1e-300, 1e10, 1e300, math.inf, -math.inf, math.nan, 0.04, 0.05]),
    st.booleans(),
    st.dates(),
    st.times(),
    st.datetimes(),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=6,
)
_WHERE = {
    "top": TOP_KEYS,
    "account": ACCOUNT_KEYS,
    "second account": ACCOUNT_KEYS,
    "digest": DIGEST_KEYS,
    "smtp": SMTP_KEYS,
    "templates": TEMPLATE_KEYS,
    "rule": RULE_KEYS,
}


def _table(doc: dict[str, Any], where: str) -> dict[str, Any]:
    if where == "top":
        return doc
    if where in ("account", "second account", "rule"):
        key = "rules" if where == "rule" else "accounts"
        tables = doc.setdefault(key, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            tables = doc[key] = []
        if where == "second account" or not tables:
            tables.append({"name": f"a{len(tables)}", "host": "h.example"})
        return tables[-1]  # type: ignore[no-any-return]
    digest = doc.setdefault("digest", {})
    if not isinstance(digest, dict):
        digest = doc["digest"] = {}
    if where == "digest":
        return digest
    sub = digest.setdefault(where, {})
    if not isinstance(sub, dict):
        sub = digest[where] = {}
    return sub  # type: ignore[no-any-return]


@st.composite
def config_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(BASE_CONFIG)
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.sampled_from(sorted(_WHERE)))
        table = _table(doc, where)
        key = draw(st.one_of(st.sampled_from(_WHERE[where]), _keys))
        if draw(st.integers(0, 4)) == 0:
            table.pop(key, None)
        else:
            table[key] = draw(_values)
    return doc


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(type(value))


def to_toml(doc: dict[str, Any]) -> str:
    """A document as TOML: scalars first, then [tables] and [[arrays of tables]]."""
    lines: list[str] = []
    later: list[tuple[list[str], Any]] = []
    for key, value in doc.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            later.append(([key], value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    while later:
        path, value = later.pop(0)
        header = ".".join(_toml_key(p) for p in path)
        for table in value if isinstance(value, list) else [value]:
            lines.append(f"[[{header}]]" if isinstance(value, list) else f"[{header}]")
            for key, item in table.items():
                if isinstance(item, dict) and not isinstance(value, list):
                    later.append(([*path, key], item))
                else:
                    lines.append(f"{_toml_key(key)} = {_toml_value(item)}")
    return "\n".join(lines) + "\n"


def check_config(text: str) -> Settings | None:
    """The settings, or None after a one-line ConfigError; anything else fails the test."""
    try:
        result = parse_settings(text, Path("/home/me/.config/followup-watcher/config.toml"))
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("config.toml"), message
        assert "\n" not in message and "\r" not in message, message
        return None
    _usable(result)
    return result


def _usable(found: Settings) -> None:
    """What the watcher computes from accepted settings must work: a config that loads must
    never crash a later command."""
    today = NOW.date()
    NOW - dt.timedelta(days=found.lookback_days)  # the first sync's SINCE
    tracking = found.tracking
    days = [tracking.default_quiet_days, tracking.give_up_after, *tracking.remind_every]
    for rule in tracking.rules:
        days += [rule.quiet_days or 1, rule.give_up_after or 1, *(rule.remind_every or ())]
    for number in days:
        # business days: about 7/5 calendar days each, and the cadence adds up
        today + dt.timedelta(days=number * 2 + sum(tracking.remind_every) * 2)
        add_days(today, number, business_days=True)
    assert 0 < sync_interval_seconds(found) < 1e9
    servers = [a for a in found.accounts if not a.is_maildir] + [found.digest.smtp]
    for server in servers:
        if server is not None:
            with socket.socket() as probe:
                probe.settimeout(server.timeout_seconds)
    upcoming_digest(found.digest.at, found.digest.catch_up_until, found.zone, NOW, None)
    found.digest.link_to("<m1@example.com>")


def test_the_base_config_is_valid() -> None:
    assert check_config(to_toml(BASE_CONFIG)) is not None


def test_a_ca_file_name_too_long_for_the_file_system_is_a_config_error() -> None:
    # Found by the random configs: pathlib's is_file() raises ENAMETOOLONG.
    account = {**BASE_CONFIG["accounts"][0], "ca_file": "(" * 5000}
    with pytest.raises(ConfigError, match=r"ca_file names .*… \(File name too long\)"):
        parse_settings(to_toml({**BASE_CONFIG, "accounts": [account]}), Path("/c/config.toml"))


def test_a_state_dir_name_too_long_for_the_file_system_is_a_config_error() -> None:
    # Found by the random configs too: Path.exists() raises ENAMETOOLONG.
    with pytest.raises(ConfigError, match=r"state_dir names .*….*\(File name too long\)"):
        parse_settings(to_toml({**BASE_CONFIG, "state_dir": "a" * 5000}), Path("/c/config.toml"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config_documents())
def test_random_config_is_settings_or_one_line_config_error(doc: dict[str, Any]) -> None:
    check_config(to_toml(doc))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.integers(0, 400), st.text(max_size=5))
def test_random_text_and_damaged_toml_are_config_errors(text: str, at: int, noise: str) -> None:
    check_config(text)
    valid = to_toml(BASE_CONFIG)
    check_config(valid[:at] + noise + valid[at:])


BAD_CONFIGS = {
    "not toml": "[[accounts]\nname = 1",
    "accounts is a number": "accounts = 5\n",
    "huge lookback": 'lookback_days = 100000000000000000000\n[[accounts]]\nname = "a"\n'
    'host = "127.0.0.1"\nport = 1\naddresses = ["me@example.com"]\n',
    "huge quiet period": 'default_quiet_days = 999999999\n[[accounts]]\nname = "a"\n'
    'host = "127.0.0.1"\nport = 1\naddresses = ["me@example.com"]\n',
    "regex nested too deep": '[[accounts]]\nname = "a"\nhost = "127.0.0.1"\nport = 1\n'
    'addresses = ["me@example.com"]\n[[rules]]\nsubject = "' + "(" * 2000 + ")" * 2000 + '"\n',
    "repeat too large": '[[accounts]]\nname = "a"\nhost = "127.0.0.1"\nport = 1\n'
    'addresses = ["me@example.com"]\n[[rules]]\nsubject = "a{99999999999}"\n',
    "timeout beyond time_t": '[[accounts]]\nname = "a"\nhost = "127.0.0.1"\nport = 1\n'
    'addresses = ["me@example.com"]\ntimeout_seconds = 1e300\n',
    "interval infinite": 'sync_interval = inf\n[[accounts]]\nname = "a"\nhost = "127.0.0.1"\n'
    'port = 1\naddresses = ["me@example.com"]\n',
    "template with a newline in a placeholder": '[[accounts]]\nname = "a"\nhost = "127.0.0.1"\n'
    'addresses = ["me@example.com"]\n[digest.templates]\nfirst = "{a\\nb}"\n',
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_config_is_a_config_error(name: str) -> None:
    assert check_config(BAD_CONFIGS[name]) is None


@pytest.mark.parametrize(
    "name", ["not toml", "huge quiet period", "regex nested too deep", "timeout beyond time_t"]
)
def test_cli_with_a_bad_config_exits_2_without_a_traceback(name: str, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(BAD_CONFIGS[name], encoding="utf-8")
    config.chmod(0o600)
    for command in ("sync", "list"):
        result = subprocess.run(
            [sys.executable, "-m", "watcher", "--config", str(config), command],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert result.returncode == 2, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("error: bad.toml")
        assert result.stderr.count("\n") == 1
