"""A digest made for deciding: the report of commands first, a numbered summary, one-tap
actions on every card, the why and the thread id in a footer line (issue 11, section 3)."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
from digestitems import HOSTILE_SUBJECT, NOW, make_item

from watcher.analysis.commandcodes import verified_day
from watcher.digest.commandlinks import CommandLinks, CommandReport
from watcher.digest.model import BOUNCED, LAST, REPLY_IN_SPAM, Digest, DigestGroup
from watcher.digest.render import render_html, render_text

KEY = b"fixed test key, 32 bytes long..."
ADDRESS = "maya+followup@example.com"
REPORT = CommandReport(
    applied=(
        "Snoozed “Website proposal for Acme Outdoor” until Thu 10 Dec, from your mail of 08:12",
    ),
    unreadable=("Your mail of 08:15: “2 snooze forever”: snooze for how long? e.g. “2 snooze 1w”",),
    ignored=2,
)
CODE = re.compile(r"^\[followup (t\w+)\] (.+) · ([A-Z0-9]{4}-[A-Z0-9]{4})$")


@pytest.fixture
def digest() -> Digest:
    bounced = make_item(
        1,
        contact_name="Mateusz Nowak",
        rung=LAST,
        alarm=BOUNCED,
        alarm_detail="Delivery to ana.ruiz@example.com failed.",
    )
    spam = make_item(2, contact_name="Ravi Menon", rung=LAST, alarm=REPLY_IN_SPAM)
    priced = make_item(3, contact_name="Daniel Okafor", price="GBP 18,400")
    hostile = make_item(4, subject=HOSTILE_SUBJECT + '"&x=<b>', contact_name="<b>Eve</b>")
    last = make_item(5, rung=LAST, reminder_number=4, quiet_days=45)
    return Digest(
        day=NOW.date(),
        generated_at=NOW,
        recipient="maya@example.com",
        message_id="<digest-20261123-abc@followup-watcher.invalid>",
        alarms=(bounced, spam),
        groups=(
            DigestGroup("Quiet for a week or more", (priced, hostile)),
            DigestGroup("Let it go, or one last check-in?", (last,)),
        ),
        watched=9,
        commands=CommandLinks(ADDRESS, NOW.date(), KEY),
        command_report=REPORT,
    )


class Page(HTMLParser):
    """The links (href and the text inside), and the text, as a browser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self.links.append((self._href, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._href is not None:
            href, label = self.links[-1]
            self.links[-1] = (href, label + data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def page_of(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def command_links(hrefs: list[str]) -> list[tuple[str, str]]:
    """(to, subject) of each command link, in page order."""
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        fields = dict(pair.split("=", 1) for pair in parts.query.split("&") if pair)
        subject = unquote(fields.get("subject", ""))
        if parts.scheme == "mailto" and subject.startswith("[followup "):
            found.append((unquote(parts.path), subject))
    return found


def cards_of(html: str) -> list[str]:
    """The HTML of each card, from its numbered head to the next one."""
    return html.split('class="fw-card-head')[1:]


def verifies(subject: str, thread_id: str) -> bool:
    match = CODE.match(subject)
    assert match, subject
    named, action, code = match.groups()
    return named == thread_id and verified_day(KEY, thread_id, action, code, NOW.date()) is not None


def test_every_card_has_its_six_actions_with_codes_that_verify(digest: Digest) -> None:
    html = render_html(digest)
    cards = cards_of(html)
    assert len(cards) == len(digest.items)
    for item, card in zip(digest.items, cards, strict=True):
        page = page_of(card)
        links = command_links([href for href, _ in page.links])
        labels = [
            label.strip() for href, label in page.links if href.startswith("mailto:" + "maya")
        ]
        assert len(links) == 6, item.thread_id
        assert labels == [
            "Done",
            "Snooze 3 days",
            "Snooze 1 week",
            "Snooze 2 weeks",
            "Mute",
            "Not a proposal",
        ]
        assert all(to == ADDRESS and verifies(s, item.thread_id) for to, s in links)


def test_the_text_part_has_six_labelled_command_urls_per_card(digest: Digest) -> None:
    text = render_text(digest)
    urls = re.findall(
        r"^ +(Done|Snooze 3 days|Snooze 1 week|Snooze 2 weeks|Mute|Not a "
        r"proposal): (mailto:\S+)$",
        text,
        re.MULTILINE,
    )
    assert len(urls) == 6 * len(digest.items)
    links = command_links([url for _, url in urls])
    for number, item in enumerate(digest.items):
        for to, subject in links[6 * number : 6 * number + 6]:
            assert to == ADDRESS and verifies(subject, item.thread_id)


def test_cards_and_summary_are_numbered_in_the_order_of_items(digest: Digest) -> None:
    text = render_text(digest)
    for number, item in enumerate(digest.items, 1):
        # The summary line names the card by number, then the card itself carries it.
        assert re.search(
            rf"^ ?{number}\. .*\n?.*{re.escape(item.subject[:12])}", text, re.MULTILINE
        )
        assert f"[{number}] " in text
    html = render_html(digest)
    cards = cards_of(html)
    numbers = [re.search(r'class="fw-num[^"]*"[^>]*>(\d+)<', card) for card in cards]
    assert [int(n.group(1)) for n in numbers if n] == list(range(1, len(digest.items) + 1))
    for item, card in zip(digest.items, cards, strict=True):
        assert item.thread_id in card
    # Summary first, cards after, in the same order.
    summary = text.index("Today at a glance")
    for number in range(1, len(digest.items) + 1):
        assert text.index(f"[{number}] ") > summary


def test_the_summary_says_who_what_worth_quiet_and_offers_three_actions(digest: Digest) -> None:
    text = render_text(digest)
    glance = text[text.index("Today at a glance") : text.index("[1] ")]
    assert "Daniel Okafor" in glance and "GBP 18,400" in glance and "8 days quiet" in glance
    assert "bounced" in glance and "reply in spam" in glance
    html = render_html(digest)
    summary = html[html.index('class="fw-summary"') : html.index('class="fw-card-head')]
    labels = [label for _, label in page_of(summary).links]
    assert labels == ["Done", "Snooze 1w", "Mute"] * len(digest.items)
    for href, _ in page_of(summary).links:
        assert command_links([href])


def test_the_digest_opens_with_the_report_of_commands(digest: Digest) -> None:
    for page in (render_text(digest), page_of(render_html(digest)).words):
        first = page.index("Snoozed “Website proposal for Acme Outdoor” until Thu 10 Dec")
        assert page.index("“2 snooze forever”") > first
        assert "2 command mails were ignored" in page
        assert first < page.index("Today at a glance")  # before the summary and the cards


def test_no_report_when_nothing_was_commanded(digest: Digest) -> None:
    quiet = replace(digest, command_report=CommandReport())
    assert "Since the last digest" not in render_text(quiet)
    assert "Since the last digest" not in render_html(quiet)


def test_the_reply_hint_and_no_shell_command_with_commands(digest: Digest) -> None:
    hint = "2 done · 3 snooze 1w · mute 5 · 1 snooze until 2026-12-14"
    for page in (render_text(digest).replace("\n", " "), page_of(render_html(digest)).words):
        assert "Or reply to this mail, one line per card: " + hint in " ".join(page.split())
        assert "--mute" not in page


def test_without_commands_no_action_links_and_the_mute_command_stays(digest: Digest) -> None:
    plain = replace(digest, commands=None)
    html, text = render_html(plain), render_text(plain)
    assert not command_links([href for href, _ in page_of(html).links])
    assert "[followup" not in text and "reply to this mail" not in text.lower()
    for item in plain.items:
        assert f"watcher thread {item.thread_id} --mute" in " ".join(text.split())


def test_why_and_thread_id_are_one_footer_line_per_card(digest: Digest) -> None:
    text = render_text(digest)
    for item in digest.items:
        (line,) = [ln for ln in text.splitlines() if item.thread_id in ln and "mailto:" not in ln]
        assert line.lstrip().startswith(item.thread_id)
        assert "why: attachment Proposal.pdf · price EUR 9,800" in line
    assert "Why:" not in text
    html = render_html(digest)
    assert html.count('class="fw-foot"') == len(digest.items)
    assert "Why:" not in html


def test_a_hostile_subject_stays_inside_its_links_and_is_text_in_the_html(digest: Digest) -> None:
    html = render_html(digest)
    page = page_of(html)
    assert "script" not in page.tags and "b" not in page.tags
    hostile = digest.items[3]
    card = page_of(cards_of(html)[3])
    links = command_links([href for href, _ in card.links])
    mine = [s for _, s in links if hostile.thread_id in s]
    assert len(mine) == 6 and all(verifies(s, hostile.thread_id) for s in mine)
    for href, _ in page.links:
        assert href.startswith("mailto:") and not re.search(r"[\s<>\"']", href)
    assert "<script>" not in html and '"&x=<b>' not in html


def test_the_alarms_say_what_happened_once(digest: Digest) -> None:
    text = render_text(digest)
    assert text.count("bounced") == 2  # the summary and the headline
    assert text.count("Delivery to ana.ruiz@example.com failed.") == 1
    assert text.count("replied, but the reply is in your spam folder") == 1
