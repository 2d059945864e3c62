"""What the selection gives a digest made for deciding: the first digest (found on the first
scan; threads past give_up_after counted in one line, never cards, now or later), the price
found in my text, and alarms that say what happened once (issue 11, section 3)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from threads import CLIENT, ME, ZONE, at, message, proposal, thread, verdicts

from watcher.analysis.conversations import Conversation
from watcher.config.digest import DigestSettings
from watcher.config.settings import parse_settings
from watcher.digest.model import BOUNCED, LAST, REPLY_IN_SPAM
from watcher.digest.render import render_html, render_text
from watcher.digest.select import Selection, select_digest
from watcher.digest.today import select_for
from watcher.store.store import Store

SETTINGS = DigestSettings(recipient=ME, sender=ME)
MONDAY = datetime(2026, 11, 23, 7, 30, tzinfo=ZONE)


def mailbox() -> list[Conversation]:
    """One proposal quiet for 13 days, and two sent in September: past give_up_after (30)."""
    return [
        thread(proposal(at(10), subject="Proposal for the Acme shop", message_id="<new@x>")),
        thread(
            proposal(at(2, month=9), subject="Quote for Borealis", message_id="<old1@x>"),
            thread_id="t0000000002",
        ),
        thread(
            proposal(at(20, month=9), subject="Offer for Cirrus", message_id="<old2@x>"),
            thread_id="t0000000003",
        ),
    ]


def select(
    conversations: list[Conversation], store: Store, now: datetime, *, first: bool
) -> Selection:
    selection = select_digest(
        verdicts(*conversations, now=now),
        carried=store.digest_entries(),
        settings=SETTINGS,
        now=now,
        zone=ZONE,
        first_digest=first,
    )
    with store.transaction():  # as sending does
        store.record_digest_pending(
            selection.digest.day, ME, selection.digest.message_id, selection.entries
        )
        store.record_digest_sent(selection.digest.day, ME)
    return selection


def test_a_first_digest_counts_the_threads_past_give_up_after_in_one_line(
    fresh_store: Store,
) -> None:
    selection = select(mailbox(), fresh_store, MONDAY, first=True)
    digest = selection.digest
    assert [i.subject for i in digest.items] == ["Proposal for the Acme shop"]
    assert (digest.first, digest.older) == (True, 2)
    # Carried like cards, at their last rung: they never come back as cards.
    assert len(selection.entries) == 3
    text = " ".join(render_text(digest).split())
    assert "found on the first scan of your mailbox" in text
    assert "2 older proposals got no reply either; see `watcher list --all`." in text
    assert "These have had every reminder" not in text
    assert "older proposals got no reply either; see" in render_html(digest)


def test_the_older_threads_do_not_come_back_as_cards_later(fresh_store: Store) -> None:
    select(mailbox(), fresh_store, MONDAY, first=True)
    for days in (1, 7, 30):
        later = select(mailbox(), fresh_store, MONDAY + timedelta(days=days), first=False)
        assert not {"Quote for Borealis", "Offer for Cirrus"} & {
            i.subject for i in later.digest.items
        }
        assert (later.digest.first, later.digest.older) == (False, 0)


def test_without_a_first_digest_long_given_up_threads_are_no_cards(fresh_store: Store) -> None:
    # An account added later: its first scan finds threads quiet for over 2 x give_up_after
    # (the tracker never calls them due; issue 13): no cards, and no "first scan" line.
    digest = select(mailbox(), fresh_store, MONDAY, first=False).digest
    assert [i.subject for i in digest.items] == ["Proposal for the Acme shop"]
    assert not any(i.rung == LAST for i in digest.items)
    assert "found on the first scan" not in render_text(digest)


def test_a_first_digest_of_only_old_threads_is_still_sent(fresh_store: Store) -> None:
    digest = select(mailbox()[1:], fresh_store, MONDAY, first=True).digest
    assert digest.items == () and digest.older == 2
    assert not digest.empty  # send_when_empty = false still sends it: it has news
    text = " ".join(render_text(digest).split())
    assert "2 older proposals got no reply; see `watcher list --all`." in text
    assert "Nothing is waiting" not in text


def test_the_price_in_my_text_is_carried_for_the_summary(fresh_store: Store) -> None:
    (item,) = select(mailbox()[:1], fresh_store, MONDAY, first=False).digest.items
    assert item.price == "EUR 12,400"
    unpriced = thread(proposal(at(12), body_text="Hi Ana, the proposal is attached."))
    (item,) = select_digest(
        verdicts(unpriced, now=MONDAY), carried={}, settings=SETTINGS, now=MONDAY, zone=ZONE
    ).digest.items
    assert item.price == ""


def test_a_bounce_says_which_delivery_failed(fresh_store: Store) -> None:
    sent = proposal(at(1), to="ana.ruiz@acme.example")
    bounce = message(
        "MAILER-DAEMON@mx.example",
        at(1, 10),
        "Undelivered Mail Returned to Sender",
        to=ME,
        body_text="<ana.ruiz@acme.example>: host mx.acme.example said: 550 5.1.1 user unknown",
    )
    digest = select_digest(
        verdicts(thread(sent), thread(bounce, thread_id="t0000000002"), now=MONDAY),
        carried={},
        settings=SETTINGS,
        now=MONDAY,
        zone=ZONE,
    ).digest
    (alarm,) = digest.alarms
    assert alarm.alarm == BOUNCED
    assert alarm.alarm_detail == (
        "Delivery to ana.ruiz@acme.example failed: the address does not exist"
        " (550 5.1.1 user unknown)."
    )
    text = render_text(digest)
    # Once in the summary, once as the card's headline; the address once, on the card.
    assert text.count("bounced") == 2 and text.count("Delivery to ana.ruiz@acme.example") == 1


def test_a_bounce_that_names_the_message_and_a_reply_in_spam_are_said_once() -> None:
    sent = proposal(at(1))
    bounce = message(
        "MAILER-DAEMON@mx.example",
        at(1, 10),
        "Undelivered Mail Returned to Sender",
        to=ME,
        content_type="multipart/report",
        report_type="delivery-status",
        reported_message_id=sent.facts.message_id,
    )
    spam_sent = proposal(at(2), subject="Quote 1042", message_id="<q@x>")
    spam_reply = message(CLIENT, at(3), "Re: Quote 1042", to=ME, folder="Junk", use="\\Junk")
    digest = select_digest(
        verdicts(
            thread(sent),
            thread(bounce, thread_id="t0000000002"),
            thread(spam_sent, spam_reply, thread_id="t0000000003"),
            now=MONDAY,
        ),
        carried={},
        settings=SETTINGS,
        now=MONDAY,
        zone=ZONE,
    ).digest
    assert [(a.alarm, a.alarm_detail) for a in digest.alarms] == [
        (BOUNCED, ""),
        (REPLY_IN_SPAM, ""),
    ]
    text = render_text(digest)
    assert "names this message" not in text.lower()
    assert text.count("replied, but the reply is in your spam folder") == 1


def test_first_digest_defaults_to_false() -> None:
    digest = select_digest([], carried={}, settings=SETTINGS, now=MONDAY, zone=ZONE).digest
    assert (digest.first, digest.older, digest.day) == (False, 0, date(2026, 11, 23))


def test_the_digest_of_a_store_that_never_sent_one_is_a_first_digest(tmp_path: Path) -> None:
    settings = parse_settings(
        f'state_dir = "{tmp_path}"\n[[accounts]]\nname = "w"\nhost = "h"\n'
        f'addresses = ["{ME}"]\n[digest]\nto = "{ME}"\n'
    )
    with Store.open(settings.store_path) as store:
        first = select_for(store, settings, MONDAY, next_digest=None).digest
        assert first.first
        with store.transaction():
            store.record_digest_pending(first.day, ME, first.message_id, ())
            assert select_for(store, settings, MONDAY, next_digest=None).digest.first
            store.record_digest_sent(first.day, ME)
        tomorrow = select_for(store, settings, MONDAY + timedelta(days=1), next_digest=None)
        assert not tomorrow.digest.first
