"""Rendering the digest: both parts, escaping of everything that comes from mail, the message."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
from digestitems import HOSTILE_SUBJECT, NOW, ZONE, make_item

from watcher.digest.model import (
    BOUNCED,
    LAST,
    REMINDER,
    REPLY_IN_SPAM,
    Digest,
    DigestGroup,
)
from watcher.digest.render import (
    build_message,
    mailto,
    reflow,
    render_html,
    render_text,
    safe_link,
    wrap_text,
)
from watcher.errors import DeliveryError

HOSTILE_NAME = 'Eve "the boss" O\'Hara\r\nBcc: victim@example.com\n<b>bold</b>'
LONG_SUBJECT = ("Proposal for the complete redesign of the Łódź riverside venue " * 5)[:300]


@pytest.fixture
def digest() -> Digest:
    bounced = make_item(
        1,
        contact_name="Mateusz Nowak",
        contact_address="mateusz.nowack@wisla.example",
        rung=LAST,
        alarm=BOUNCED,
        alarm_detail="Delivery to mateusz.nowack@wisla.example failed: 5.1.1 user unknown",
        open_link="https://mail.google.com/mail/u/0/#search/rfc822msgid%3Am1@example.com",
    )
    spam = make_item(
        2,
        contact_name="Ravi Menon",
        contact_address="ravi@saffron.example",
        rung=LAST,
        alarm=REPLY_IN_SPAM,
        alarm_detail="Ravi Menon replied, but the reply is in your spam folder",
    )
    unicode_item = make_item(
        3,
        contact_name="José Müller-Łukasiewicz",
        contact_address="jose@müller.example",
        first_name="José",
        subject="Angebot 2026-114: Verpackungsdesign für Kranich Kaffee ☕",
        other_contacts=("cfo@müller.example",),
        open_link="https://mail.google.com/mail/u/0/#search/rfc822msgid%3Am3@example.com",
    )
    long_item = make_item(4, subject=LONG_SUBJECT, reply_subject="Re: " + LONG_SUBJECT)
    hostile = make_item(
        5,
        contact_name=HOSTILE_NAME,
        contact_address='"evil"@example.com',
        subject=HOSTILE_SUBJECT + "\r\nBcc: victim@example.com",
        reply_subject="Re: " + HOSTILE_SUBJECT,
        excerpt='<img src="https://tracker.example/x.png"> javascript:alert(1)',
        reasons=("keyword '<b>proposal</b>' in subject",),
        attachments=("<svg onload=alert(1)>.pdf",),
        suggestion="Hi <Eve>,\n\nAbout </div><script>alert(1)</script>.\n\nBest,",
        open_link="javascript:alert(1)",
        rung=REMINDER,
        reminder_number=1,
    )
    last = make_item(6, rung=LAST, reminder_number=4, quiet_days=45, contact_name="")
    return Digest(
        day=NOW.date(),
        generated_at=NOW,
        recipient="maya@example.com",
        message_id="<digest-20261123-abc@followup-watcher.invalid>",
        alarms=(bounced, spam),
        groups=(
            DigestGroup("Quiet for a few days", (unicode_item,)),
            DigestGroup("Quiet for a week or more", (long_item, hostile)),
            DigestGroup("Let it go, or one last check-in?", (last,)),
        ),
        watched=12,
        next_digest=datetime(2026, 11, 24, 7, 30, tzinfo=ZONE),
        account_problems=("account work: not read since Sat 21 Nov, 18:02 (login refused)",),
    )


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def hrefs(self) -> list[str]:
        return [attrs["href"] or "" for tag, attrs in self.tags if "href" in attrs]


def parse(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    elements.close()
    return elements


def mailto_fields(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    fields = dict(pair.split("=", 1) for pair in parts.query.split("&"))
    return unquote(parts.path), {key: unquote(value) for key, value in fields.items()}


def test_the_message_has_a_text_and_an_html_part_in_utf8(digest: Digest) -> None:
    message = build_message(digest, sender="Followup Watcher <watcher@example.com>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    assert "José Müller-Łukasiewicz" in text.get_content()
    assert "José Müller-Łukasiewicz" in html.get_content()
    # Survives the trip through bytes (7-bit: quoted-printable).
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("plain",))
    assert body is not None
    assert "Verpackungsdesign für Kranich Kaffee ☕" in body.get_content()
    assert max(message.as_bytes()) < 128


def test_headers(digest: Digest) -> None:
    message = build_message(digest, sender="watcher@example.com")
    assert message["From"] == "watcher@example.com"
    assert message["To"] == "maya@example.com"
    assert message["Subject"] == digest.subject
    assert message["Message-ID"] == "<digest-20261123-abc@followup-watcher.invalid>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Followup-Watcher"] == "digest"
    assert message["MIME-Version"] == "1.0"
    assert message["Precedence"] is None  # some servers junk bulk mail
    assert parsedate_to_datetime(message["Date"]) == NOW


def test_without_a_sender_the_digest_comes_from_the_recipient(digest: Digest) -> None:
    assert build_message(digest, sender="")["From"] == "maya@example.com"


def test_a_hostile_subject_cannot_add_headers(digest: Digest) -> None:
    raw = build_message(digest, sender="watcher@example.com").as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    assert sum(line.lower().startswith(b"subject:") for line in lines) == 1
    assert not [line for line in lines if line.lower().startswith(b"bcc:")]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert set(parsed.keys()) == {
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Auto-Submitted",
        "X-Followup-Watcher",
        "MIME-Version",
        "Content-Type",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recipient", "maya@example.com\r\nBcc: victim@example.com"),
        ("message_id", "<x@y>\nX-Injected: 1"),
    ],
)
def test_a_line_break_in_a_header_value_is_refused(digest: Digest, field: str, value: str) -> None:
    with pytest.raises(DeliveryError, match="header"):
        build_message(replace(digest, **{field: value}), sender="watcher@example.com")  # type: ignore[arg-type]
    with pytest.raises(DeliveryError, match="From"):
        build_message(digest, sender="w@example.com\nBcc: victim@example.com")


def test_hostile_fields_are_text_in_the_html_never_markup_or_links(digest: Digest) -> None:
    html = render_html(digest)
    elements = parse(html)
    tags = {tag for tag, _ in elements.tags}
    assert not tags & {"script", "img", "svg", "iframe", "object", "embed", "link", "b"}
    assert not [attrs for _, attrs in elements.tags if any(k.startswith("on") for k in attrs)]
    for href in elements.hrefs:
        assert href.startswith(("mailto:", "https://")), href
    assert not [h for h in elements.hrefs if "javascript:" in h.lower()]
    # The hostile text is still there, as text the reader can see.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = " ".join(elements.text)
    assert '<script>alert(1)</script> <a href="javascript:alert(1)">x</a>' in text
    assert 'Eve "the boss" O\'Hara Bcc: victim@example.com <b>bold</b>' in text
    assert "<svg onload=alert(1)>.pdf" in text


def test_the_text_part_carries_no_terminal_escapes() -> None:
    """The plain-text part is read in terminal mail clients (mutt, aerc) too."""
    escapes = "\x1b]0;owned\x07\x1b]8;;https://evil.example\x1b\\link\x1b[2J\x9b31m\u202eexe.pdf"
    item = make_item(
        1,
        contact_name="Eve" + escapes,
        subject="Proposal" + escapes,
        attachments=("a" + escapes,),
        reasons=("keyword" + escapes,),
        excerpt="Hello\x1b[8mhidden\x1b[0m there" + escapes,
    )
    text = render_text(
        Digest(
            day=NOW.date(),
            generated_at=NOW,
            recipient="me@x.example",
            message_id="<d@x>",
            groups=(DigestGroup(title="Quiet", items=(item,)),),
        )
    )
    assert "Proposal" in text
    assert "hidden" in text  # shown, not hidden
    for unsafe in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert unsafe not in text


def test_no_remote_resources(digest: Digest) -> None:
    html = render_html(digest).lower()
    assert not [attrs for _, attrs in parse(html).tags if {"src", "background"} & set(attrs)]
    assert "<link" not in html
    assert "@import" not in html
    assert "url(" not in html
    assert "http://" not in html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "prefers-color-scheme: dark" in html


def test_the_mailto_link_carries_the_suggestion(digest: Digest) -> None:
    hrefs = parse(render_html(digest)).hrefs
    links = [h for h in hrefs if h.startswith("mailto:")]
    for item in (i for g in digest.groups for i in g.items):
        matching = [
            fields
            for address, fields in map(mailto_fields, links)
            if address == item.contact_address
            and fields["subject"] == " ".join(item.reply_subject.split())
        ]
        assert len(matching) == 1, item.thread_id
        assert matching[0]["body"] == item.suggestion.replace("\n", "\r\n")
        assert matching[0]["In-Reply-To"] == item.message_id  # the reply is threaded
    _, fields = mailto_fields(next(h for h in links if "cc=" in h))
    assert fields["cc"] == "cfo@müller.example"


def test_mailto_percent_encodes_everything_reserved() -> None:
    url = mailto("a&b@example.com", "Re: 50% & more?", "Line 1\nLine 2 + #3")
    assert url == (
        "mailto:a%26b@example.com?subject=Re%3A%2050%25%20%26%20more%3F"
        "&body=Line%201%0D%0ALine%202%20%2B%20%233"
    )


def test_mailto_carries_in_reply_to_percent_encoded() -> None:
    url = mailto("ana@acme.example", "Re: Offer", "Hi", in_reply_to="<a+b/1@studio.example>")
    assert url == (
        "mailto:ana@acme.example?subject=Re%3A%20Offer"
        "&In-Reply-To=%3Ca%2Bb%2F1%40studio.example%3E&body=Hi"
    )


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("https://mail.google.com/mail/u/0/#search/x", True),
        ("HTTPS://example.com/x", True),
        ("http://example.com/x", False),
        ("javascript:alert(1)", False),
        (" https://example.com", False),
        ("https://example.com/a b", False),
        ("https://example.com/\nx", False),
        ("", False),
    ],
)
def test_only_https_links_are_kept(link: str, kept: bool) -> None:
    assert safe_link(link) == (link if kept else "")


def test_open_thread_appears_only_with_a_link(digest: Digest) -> None:
    html = render_html(digest)
    assert html.count(">Open thread</a>") == 2  # the bounce and José's thread
    assert "https://mail.google.com/mail/u/0/#search/rfc822msgid%3Am3@example.com" in html


def test_every_thread_id_and_its_mute_command_appear(digest: Digest) -> None:
    text, html = render_text(digest), render_html(digest)
    for item in digest.items:
        assert item.thread_id in text
        assert item.thread_id in html
    for item in (i for g in digest.groups for i in g.items):
        assert f"watcher thread {item.thread_id} --mute" in text
        assert f"watcher&nbsp;thread&nbsp;{item.thread_id}&nbsp;--mute" in html


def test_the_content_in_order(digest: Digest) -> None:
    for page in (render_text(digest), " ".join(parse(render_html(digest)).text)):
        order = [
            digest.subject,
            "Your proposal to Mateusz Nowak bounced",
            "Ravi Menon replied, but the reply is in your spam folder",
            "login refused",
            "Quiet for a few days",
            "José Müller-Łukasiewicz",
            "Quiet for a week or more",
            "Let it go, or one last check-in?",
            "Tue 24 Nov, 07:30",
            "followup-watcher",
        ]
        at = 0
        for part in order:  # each after the one before (the preheader names people first)
            at = page.find(part, at)
            assert at >= 0, part
        assert "Watching 12 threads" in page
        assert "8 days quiet" in page
        assert "sent Sun 15 Nov" in page  # José's thread, 8 days before


def test_the_spam_detail_is_not_said_twice(digest: Digest) -> None:
    text = render_text(digest)
    assert text.count("Ravi Menon replied, but the reply is in your spam folder") == 1


def test_a_last_rung_item_is_offered_a_last_note(digest: Digest) -> None:
    assert "Suggested last note" in render_text(digest)
    assert "Write a last note" in render_html(digest)


def test_the_text_part_is_wrapped(digest: Digest) -> None:
    text = render_text(digest)
    for line in text.splitlines():
        if "://" not in line and "mailto:" not in line:
            assert len(line) <= 78, line
    # Headings are underlined to their length; the suggestion is indented.
    lines = text.splitlines()
    heading = lines.index("Quiet for a few days")
    assert lines[heading + 1] == "-" * len("Quiet for a few days")
    assert "    Hi Ana," in lines
    assert "  > Thanks for the call on Monday. Here is my proposal for the new site." in lines
    assert "\n-- \n" in text  # the signature separator folds the footer away


def test_an_empty_digest(digest: Digest) -> None:
    empty = replace(digest, alarms=(), groups=(), account_problems=(), next_digest=None)
    assert "Nothing is waiting for a reply today." in render_text(empty)
    assert "Nothing is waiting for a reply today." in render_html(empty)
    assert build_message(empty, sender="w@example.com")["Subject"] == empty.subject


def test_wrap_text_keeps_urls_whole_and_hangs_list_items() -> None:
    url = "https://www.docusign.example/signing/" + "x" * 90
    wrapped = wrap_text(f"Please sign here: {url} today. " + "- word " * 5, indent="> ")
    assert f"> {url}" in wrapped.splitlines()
    items = wrap_text("- " + "longer words here " * 6, width=40).splitlines()
    assert items[0].startswith("- ")
    assert all(line.startswith("  ") for line in items[1:])
    chopped = wrap_text("A" * 100, width=40).splitlines()
    assert max(len(line) for line in chopped) <= 40


def test_reflow_joins_hard_wrapped_lines_but_keeps_lists_and_short_lines() -> None:
    text = (
        "Thanks again for walking me through the current site on Monday. As\n"
        "promised, here is my proposal.\n"
        "- A discovery workshop with your team, two half days of it at least\n"
        "- A build\n"
        "Best,\n"
        "Maya"
    )
    assert reflow(text).splitlines() == [
        "Thanks again for walking me through the current site on Monday. As promised, here "
        "is my proposal.",
        "- A discovery workshop with your team, two half days of it at least",
        "- A build",
        "Best,",
        "Maya",
    ]


def test_reflow_keeps_a_sign_off_after_a_long_last_line() -> None:
    text = "Thanks for the call on Monday. Here is my proposal for the new site.\nBest,"
    assert reflow(text) == text
