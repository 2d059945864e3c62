"""Issue 11 §2, the pure parts: the reply subject (one prefix table), the mailto link a card
carries, the card that says a draft is waiting, the suggestion after a follow-up of mine, and
that the watcher's own suggested words, sent, count as a reminder. Against Dovecot:
test_threaded_followup_imap.py."""

from __future__ import annotations

import html
import re
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from digestitems import make_item
from threads import ME, ZONE, ThreadMessage, at, message, proposal, thread, verdicts

from watcher.analysis import subjects
from watcher.analysis.language import LANGUAGES
from watcher.analysis.voice import Greeting
from watcher.config.digest import DigestSettings
from watcher.digest.model import FIRST, LAST, REMINDER, Digest, DigestGroup, DigestItem
from watcher.digest.render import render_html, render_text
from watcher.digest.select import select_digest
from watcher.digest.suggest import suggest_follow_up
from watcher.mail.parse import is_watcher_mail

SETTINGS = DigestSettings(recipient=ME, sender=ME, webmail="gmail")
MONDAY = datetime(2026, 11, 23, 7, 30, tzinfo=ZONE)  # the digest's morning
WAITING = "A draft reply is waiting in Drafts (account work)."


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Angebot Website", "Re: Angebot Website"),
        ("AW: Angebot", "AW: Angebot"),
        ("RE:Offer", "RE:Offer"),
        ("SV: Tilbud", "SV: Tilbud"),
        ("Antw: offerte", "Antw: offerte"),
        ("Re[2]: Quote", "Re[2]: Quote"),
        ("回复：报价", "回复：报价"),
        ("Re: Re: Proposal", "Re: Proposal"),
        ("AW: Re: Angebot", "AW: Angebot"),
        ("Fwd: Proposal", "Re: Fwd: Proposal"),  # a forward is answered like mail clients do
        ("Reply: Proposal", "Re: Reply: Proposal"),  # not a prefix of the table
        ("  Proposal \t for\nAcme ", "Re: Proposal for Acme"),  # one line
        ("", "Re:"),
    ],
)
def test_reply_subject_keeps_a_reply_prefix_of_any_language(subject: str, expected: str) -> None:
    assert subjects.reply_subject(subject) == expected


def one_item(*messages: ThreadMessage, now: datetime = MONDAY) -> DigestItem:
    selection = select_digest(
        verdicts(thread(*messages), now=now), carried={}, settings=SETTINGS, now=now, zone=ZONE
    )
    (item,) = selection.digest.items
    return item


def digest_of(*items: DigestItem) -> Digest:
    return Digest(
        day=MONDAY.date(),
        generated_at=MONDAY,
        recipient=ME,
        message_id="<digest@x>",
        groups=(DigestGroup("Quiet for a week or more", items),),
        watched=len(items),
    )


def mailto_fields(link: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(link)
    assert parts.scheme == "mailto"
    fields = {key: values[0] for key, values in parse_qs(parts.query, strict_parsing=True).items()}
    return unquote(parts.path), fields


def test_the_cards_mailto_answers_in_the_thread_under_the_reply_subject() -> None:
    sent = proposal(at(10), subject="AW: Angebot Website")
    item = one_item(sent)
    assert item.reply_subject == "AW: Angebot Website"  # not "Re: AW: Angebot Website"
    page = render_html(digest_of(item))
    (href,) = re.findall(r'href="(mailto:[^"]*)"', page)
    address, fields = mailto_fields(html.unescape(href))
    assert address == "ana@acme.example"
    assert fields["subject"] == "AW: Angebot Website"
    assert fields["In-Reply-To"] == sent.facts.message_id
    assert fields["body"] == "\r\n".join(item.suggestion.splitlines())
    (reply,) = re.findall(r"^Reply: (mailto:\S+)$", render_text(digest_of(item)), re.MULTILINE)
    _, fields = mailto_fields(reply)
    assert fields["subject"] == "AW: Angebot Website"
    assert fields["In-Reply-To"] == sent.facts.message_id


def test_the_card_says_a_draft_is_waiting_and_in_which_account() -> None:
    waiting, plain = make_item(1, draft_saved=True), make_item(2)
    text = render_text(digest_of(waiting, plain))
    assert text.count(WAITING) == 1
    assert text.count("Or reply here: mailto:") == 1  # the link stays, for another device
    assert text.count("\nReply: mailto:") == 1  # the card without a draft is unchanged
    page = render_html(digest_of(waiting, plain))
    assert page.count(WAITING) == 1
    assert page.count('href="mailto:') == 2
    hostile = make_item(3, draft_saved=True, account="work\n<b>x</b>")
    page = render_html(digest_of(hostile))
    assert "account work &lt;b&gt;x&lt;/b&gt;)" in page and "<b>x" not in page


def nudge(when: int, sent: ThreadMessage, body: str) -> ThreadMessage:
    """My follow-up threaded under `sent`, as sent from the draft or a threading mailto link."""
    return message(
        ME,
        when,
        subjects.reply_subject(sent.facts.subject),
        folder="Sent",
        use="\\Sent",
        in_reply_to=sent.facts.message_id,
        references=(sent.facts.message_id,),
        body_text=body,
    )


def test_after_one_follow_up_the_suggestion_is_a_later_reminder_from_today() -> None:
    sent = proposal(at(2))
    item = one_item(sent, nudge(at(12), sent, "Hi Ana, any thoughts on the proposal?"))
    assert item.rung == REMINDER and item.reminder_number >= 1
    assert item.sent_at.date().day == 2  # the proposal's own date, not the nudge's
    assert "I sent on 2 November" in item.suggestion
    assert "one more thought" in item.suggestion
    # Monday 23 Nov: a call from Wednesday, not from 2 Nov + the 11 days since the nudge.
    assert "Wednesday or Thursday" in item.suggestion


def test_a_long_quiet_after_my_follow_up_does_not_say_i_never_followed_up() -> None:
    sent = proposal(at(1))
    item = one_item(sent, nudge(at(9), sent, "Hi Ana, any thoughts on the proposal?"))
    assert item.quiet_days == 14 and item.rung == REMINDER
    assert "should have followed up" not in item.suggestion
    assert "I sent on 1 November" in item.suggestion
    # Without a follow-up of mine, the same quiet still owns the gap.
    alone = one_item(proposal(at(1)), now=datetime(2026, 11, 15, 7, 30, tzinfo=ZONE))
    assert "should have followed up long before now" in alone.suggestion


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("formal", [True, False])
@pytest.mark.parametrize("kind", ["proposal", "quote", "offer", "contract"])
@pytest.mark.parametrize(
    ("rung", "number", "quiet"),
    [(FIRST, 0, 4), (REMINDER, 1, 6), (REMINDER, 2, 9), (FIRST, 20, 20), (LAST, 4, 30)],
)
def test_every_built_in_suggestion_sent_in_the_thread_counts_as_a_reminder(
    kind: str, rung: str, number: int, quiet: int, language: str, formal: bool
) -> None:
    # In every language: no "anbei", "ci-joint", "adjunto", "te envío", "bijgevoegd", "in
    # allegato", "em anexo", "bifogar", "här är"... next to the document's name.
    sent = proposal(at(2), subject=f"{kind.capitalize()} for the Acme website")
    text = suggest_follow_up(
        first_name="Ana",
        subject=sent.facts.subject,
        kind=kind,
        sent_on=MONDAY.date().replace(day=2),
        quiet_days=quiet,
        rung=rung,
        reminder_number=number,
        attachments=("Proposal_Acme_v2.pdf",),
        language=language,
        greeting=Greeting("", formal, ""),
        sender_name="Maya Lindqvist",
    )
    (verdict,) = verdicts(thread(sent, nudge(at(12), sent, text)), now=MONDAY)
    assert verdict.message is sent and verdict.nudges == 1, verdict.notes


def test_the_sync_skips_the_digest_but_not_what_is_sent_from_a_draft() -> None:
    assert is_watcher_mail(b"Subject: x\r\nX-Followup-Watcher: digest\r\n")
    assert is_watcher_mail(b"x-followup-watcher:\r\n Digest\r\n")
    assert not is_watcher_mail(b"Subject: x\r\nX-Followup-Watcher: draft\r\n")
    assert not is_watcher_mail(b"Subject: X-Followup-Watcher: digest\r\n")
