"""Digest selection and cadence, day by day, with a real store remembering what was sent."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from threads import (
    CLIENT,
    ME,
    ZONE,
    at,
    message,
    proposal,
    thread,
    unthreaded_nudge,
    verdicts,
)

from watcher.analysis.rules import Policy
from watcher.config.digest import DigestSettings
from watcher.digest.model import BOUNCED, FIRST, LAST, REMINDER, REPLY_IN_SPAM
from watcher.digest.select import current_rung, rung_dates, select_digest
from watcher.service.schedule import next_digest_after_today
from watcher.store.store import Store

SETTINGS = DigestSettings(recipient=ME, sender=ME, webmail="gmail")


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 7, 30, tzinfo=ZONE)


def test_rung_dates() -> None:
    policy = Policy(quiet_days=3, business_days=False, remind_every=(3, 7, 14), give_up_after=30)
    dates = rung_dates(policy, date(2026, 11, 4), date(2026, 11, 1))
    assert dates == [
        date(2026, 11, 4),
        date(2026, 11, 7),
        date(2026, 11, 11),
        date(2026, 11, 18),
        date(2026, 12, 1),
    ]
    assert current_rung(dates, date(2026, 11, 3)) is None
    assert current_rung(dates, date(2026, 11, 12)) == 2
    short = Policy(quiet_days=3, business_days=False, remind_every=(3, 7, 14), give_up_after=8)
    assert rung_dates(short, date(2026, 11, 4), date(2026, 11, 1)) == [
        date(2026, 11, 4),
        date(2026, 11, 7),
        date(2026, 11, 9),
    ]


def run_days(store: Store, first: date, last: date, *extra: object) -> dict[date, list[str]]:
    """Select (and record, as sending would) a digest every morning; rungs shown per day."""
    conversation = thread(proposal(at(1)))
    shown: dict[date, list[str]] = {}
    day = first
    while day <= last:
        now = morning(day)
        selection = select_digest(
            verdicts(conversation, now=now),
            carried=store.digest_entries(),
            settings=SETTINGS,
            now=now,
            zone=ZONE,
        )
        with store.transaction():
            store.record_digest_pending(day, ME, selection.digest.message_id, selection.entries)
            store.record_digest_sent(day, ME)
        if selection.digest.items:
            shown[day] = [i.rung for i in selection.digest.items]
        day += timedelta(days=1)
    return shown


def test_cadence_across_weeks_then_give_up(fresh_store: Store) -> None:
    shown = run_days(fresh_store, date(2026, 11, 1), date(2026, 12, 20))
    assert shown == {
        date(2026, 11, 4): [FIRST],
        date(2026, 11, 7): [REMINDER],
        date(2026, 11, 11): [REMINDER],
        date(2026, 11, 18): [REMINDER],
        date(2026, 12, 1): [LAST],
    }


def test_restart_mid_cadence_and_days_the_daemon_was_down(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with Store.open(path) as store:
        first = run_days(store, date(2026, 11, 1), date(2026, 11, 5))
    assert first == {date(2026, 11, 4): [FIRST]}
    with Store.open(path) as store:  # a new process, after five days off
        later = run_days(store, date(2026, 11, 12), date(2026, 11, 20))
    # Rungs of 7 and 11 November came due while it was down: shown once, not twice.
    assert later == {date(2026, 11, 12): [REMINDER], date(2026, 11, 18): [REMINDER]}


def test_same_day_selection_is_stable_after_sending(fresh_store: Store) -> None:
    run_days(fresh_store, date(2026, 11, 4), date(2026, 11, 4))
    again = select_digest(
        verdicts(thread(proposal(at(1))), now=morning(date(2026, 11, 4))),
        carried=fresh_store.digest_entries(),
        settings=SETTINGS,
        now=morning(date(2026, 11, 4)),
        zone=ZONE,
    )
    assert [i.rung for i in again.digest.items] == [FIRST]  # a re-run the same day: same digest


def test_my_new_message_restarts_the_clock(fresh_store: Store) -> None:
    run_days(fresh_store, date(2026, 11, 4), date(2026, 11, 4))
    nudge = message(ME, at(5), "Re: Proposal for the Acme website", folder="Sent", use="\\Sent")
    now = morning(date(2026, 11, 8))
    selection = select_digest(
        verdicts(thread(proposal(at(1)), nudge), now=now),
        carried=fresh_store.digest_entries(),
        settings=SETTINGS,
        now=now,
        zone=ZONE,
    )
    (item,) = selection.digest.items
    # Counted from the nudge of the 5th; the nudge was the first follow-up: now a reminder.
    assert (item.rung, item.reminder_number, item.quiet_days) == (REMINDER, 1, 3)


def test_unthreaded_follow_up_advances_the_rung_and_keeps_the_original(
    fresh_store: Store,
) -> None:
    run_days(fresh_store, date(2026, 11, 4), date(2026, 11, 4))  # FIRST shown on the 4th
    original = proposal(at(1))
    nudge = unthreaded_nudge(at(5))
    now = morning(date(2026, 11, 8))
    selection = select_digest(
        verdicts(thread(original, nudge), now=now),
        carried=fresh_store.digest_entries(),
        settings=SETTINGS,
        now=now,
        zone=ZONE,
    )
    (item,) = selection.digest.items
    assert item.message_id == original.facts.message_id
    assert item.sent_at.date() == date(2026, 11, 1)
    assert (item.rung, item.reminder_number) == (REMINDER, 1)
    assert "I sent on 1 November" in item.suggestion


def test_digest_content_and_alarms_shown_once(fresh_store: Store) -> None:
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
    waiting = proposal(at(10), subject="Contract for the Acme shop", message_id="<c@x>")
    conversations = [
        thread(sent),
        thread(bounce, thread_id="t0000000002"),
        thread(spam_sent, spam_reply, thread_id="t0000000003"),
        thread(waiting, thread_id="t0000000004"),
    ]
    now = morning(date(2026, 11, 23))
    selection = select_digest(
        verdicts(*conversations, now=now),
        carried={},
        settings=SETTINGS,
        now=now,
        zone=ZONE,
        next_digest=next_digest_after_today(SETTINGS.at, SETTINGS.catch_up_until, ZONE, now),
    )
    digest = selection.digest
    assert [a.alarm for a in digest.alarms] == [BOUNCED, REPLY_IN_SPAM]
    assert digest.subject == "2 need attention, 1 proposal waiting for a reply · Mon 23 Nov"
    (group,) = digest.groups
    (item,) = group.items
    assert group.title == "Quiet for a week or more"
    assert (item.first_name, item.quiet_days, item.kind) == ("", 13, "proposal")
    assert item.attachments == ("Proposal_Acme_v2.pdf",)
    assert item.reply_subject == "Re: Contract for the Acme shop"
    assert item.open_link.startswith("https://mail.google.com/")
    assert "the proposal (Proposal_Acme_v2.pdf)" in item.suggestion  # the document it sent
    assert item.excerpt.startswith("Hi Ana")
    assert digest.next_digest == datetime(2026, 11, 24, 7, 30, tzinfo=ZONE)
    assert digest.message_id.startswith("<digest-20261123-")
    with fresh_store.transaction():
        fresh_store.record_digest_pending(digest.day, ME, digest.message_id, selection.entries)
    tomorrow = morning(date(2026, 11, 24))
    later = select_digest(
        verdicts(*conversations, now=tomorrow),
        carried=fresh_store.digest_entries(),
        settings=SETTINGS,
        now=tomorrow,
        zone=ZONE,
    )
    assert later.digest.alarms == ()  # alarms are told once
