"""Which threads go into today's digest, at which rung of their cadence.

A thread enters when its quiet period ends (rung 0), comes back `remind_every` days after
that (rungs 1..n), and once `give_up_after` days have passed since I last wrote, appears one
last time under "let it go, or one last check-in?" (the last rung). Each rung is shown once:
the store remembers which digest carried which rung, so the cadence survives restarts, and a
daemon that was down for days shows only the highest rung that has come due. Any new message
of mine restarts the clock (`since` changes, and with it the key of the cadence); a follow-up
of mine (the tracker's `nudges`) was a reminder, so the cadence goes on a rung higher for each
one (until the last) instead of starting again at the first. Bounces and
replies in the spam folder are alarms, shown once at the top.

The first digest ever (`first_digest`) shows what the first scan of the mailbox found; the
threads already past `give_up_after` there are counted in one line (`Digest.older`) instead
of a card each, and carried at their last rung like a card, so they never come back as cards.

Pure: the tracker's verdicts, what earlier digests carried, and `now` in; a `Digest` out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from watcher.analysis.keywords import DOCUMENT_TYPES, DOCUMENTS, PRICE_RE
from watcher.analysis.language import language_of
from watcher.analysis.owntext import own_text
from watcher.analysis.rules import Policy
from watcher.analysis.subjects import reply_subject
from watcher.analysis.tracker import ANSWERED, AWAITING, TrackedMessage
from watcher.analysis.tracker import BOUNCED as STATE_BOUNCED
from watcher.analysis.voice import SignOffBook, greeting_of
from watcher.config.digest import DigestSettings
from watcher.digest.model import (
    BOUNCED,
    FIRST,
    LAST,
    REMINDER,
    REPLY_IN_SPAM,
    Digest,
    DigestGroup,
    DigestItem,
)
from watcher.digest.phrasebook import text_language
from watcher.digest.suggest import first_name_of, suggest_follow_up
from watcher.model import Attachment, MailCommand

ALARM_RUNG = -1  # an alarm is "carried" once, like a rung
_EXCERPT_LINES = 4


def rung_dates(policy: Policy, due: date, since_day: date) -> list[date]:
    """The days on which a thread is (re)shown: due, due + each remind_every, then the last."""
    last = since_day + timedelta(days=policy.give_up_after)
    dates = [due] + [due + timedelta(days=d) for d in policy.remind_every]
    dates = [d for d in dates if d < last]
    return [*dates, max(last, dates[-1] + timedelta(days=1) if dates else last)]


def current_rung(dates: Sequence[date], today: date) -> int | None:
    """The highest rung whose day has come, or None before the first."""
    reached = [index for index, day in enumerate(dates) if day <= today]
    return reached[-1] if reached else None


@dataclass(frozen=True, slots=True)
class Selection:
    """A digest, the (message_id, since, rung) entries it carries for the cadence, and the
    commands by mail its report covers (marked reported once it is sent)."""

    digest: Digest
    entries: tuple[tuple[str, int, int], ...]
    reported: tuple[MailCommand, ...] = ()


def select_digest(
    tracked: Sequence[TrackedMessage],
    *,
    carried: Mapping[tuple[str, int], Mapping[int, date]],
    settings: DigestSettings,
    now: datetime,
    zone: ZoneInfo,
    account_problems: Sequence[str] = (),
    next_digest: datetime | None = None,
    first_digest: bool = False,
    sign_offs: SignOffBook | None = None,
) -> Selection:
    """Today's digest. `carried`: (message_id, since) -> {rung: day an earlier digest had it};
    `next_digest`: when the one after it goes out, for the footer (the caller asks the
    clock, `service.schedule.next_digest_after_today`), None to leave it out;
    `first_digest`: no digest was sent before (see the module docstring); `sign_offs`: how I
    sign my mail, per contact and language, for the suggested follow-ups (None: the
    language's closing and the name of the identity each proposal was sent from)."""
    today = now.astimezone(zone).date()
    templates = dict(settings.templates)
    alarms: list[DigestItem] = []
    waiting: list[DigestItem] = []
    entries: list[tuple[str, int, int]] = []
    older = 0
    for item in tracked:
        key = (item.message.key, item.since)  # distinct even where a Message-ID is shared
        before = {rung: day for rung, day in carried.get(key, {}).items() if day < today}
        alarm = _alarm_of(item)
        if alarm:
            if ALARM_RUNG not in before:
                alarms.append(
                    _item(item, LAST, 0, settings, templates, zone, sign_offs, alarm=alarm)
                )
                entries.append((*key, ALARM_RUNG))
            continue
        # Quiet for over 2 x give_up_after: never due (tracker); a first digest still counts it.
        stale = item.state == AWAITING and not item.due and item.due_date <= today
        if item.state != AWAITING or not (item.due or (first_digest and stale)):
            continue
        since_day = datetime.fromtimestamp(item.since, zone).date()
        dates = rung_dates(item.policy, item.due_date, since_day)
        rung = current_rung(dates, today)
        if rung is not None:
            rung = min(rung + item.nudges, len(dates) - 1)
        if rung is None or any(r >= rung for r in before):
            continue  # not due, or this rung (or a later one) was shown already
        if first_digest and dates[-1] <= today:  # past give_up_after before we ever looked
            older += 1
            entries.append((*key, len(dates) - 1))
            continue
        name = FIRST if rung == 0 else LAST if rung == len(dates) - 1 else REMINDER
        waiting.append(_item(item, name, rung, settings, templates, zone, sign_offs))
        entries.append((*key, rung))
    digest = Digest(
        day=today,
        generated_at=now.astimezone(zone),
        recipient=settings.recipient,
        message_id=digest_message_id(settings.recipient, today),
        alarms=tuple(alarms),
        groups=_groups(waiting),
        watched=sum(1 for t in tracked if t.state == AWAITING),
        next_digest=next_digest,
        account_problems=tuple(account_problems),
        first=first_digest,
        older=older,
    )
    return Selection(digest, tuple(entries))


def _alarm_of(item: TrackedMessage) -> tuple[str, str] | None:
    """The alarm and what it adds to the card's headline ("Your proposal to Ana bounced",
    "Ana replied, but the reply is in your spam folder"): "" when nothing."""
    if item.state == STATE_BOUNCED:
        note = next((n for n in item.notes if n.startswith("bounced: ")), "")
        reason = item.bounce_reason
        if reason:
            note = note.removesuffix(f": {reason}")
        detail = _BOUNCE_DETAILS[note] if note in _BOUNCE_DETAILS else _failed(note)
        if reason:
            because = f"{reason[:1].upper()}{reason[1:]}."
            detail = (
                f"{detail[:-1]}: {reason}."
                if detail.startswith("Delivery to")
                else (f"{detail} {because}" if detail else because)
            )
        return BOUNCED, detail
    if item.state == ANSWERED and item.reply_in_spam:
        by = item.answered_by[1] if item.answered_by else ""
        to = {address for _, address in item.contacts}
        return REPLY_IN_SPAM, f"The reply came from {by}." if by and by not in to else ""
    return None


# The tracker's bounce notes (`analysis.answers.BounceIndex.find`), as the card says them.
_BOUNCE_DETAILS = {
    "bounced: the delivery failure names this message": "",  # the headline says it all
    "bounced: a delivery failure quotes its subject": (
        "A delivery failure came back quoting its subject; it names no address."
    ),
}


def _failed(note: str) -> str:
    """ "bounced: delivery to x@y failed" -> "Delivery to x@y failed." """
    what = note.removeprefix("bounced: ")
    return f"{what[:1].upper()}{what[1:]}." if what.startswith("delivery to ") else ""


def _groups(items: list[DigestItem]) -> tuple[DigestGroup, ...]:
    buckets: dict[str, list[DigestItem]] = {}
    order = (
        "Quiet for a few days",
        "Quiet for a week or more",
        "Quiet for two weeks or more",
        "Let it go, or one last check-in?",
    )
    for item in sorted(items, key=lambda i: (-i.quiet_days, i.subject)):
        if item.rung == LAST:
            title = order[3]
        elif item.quiet_days >= 14:
            title = order[2]
        elif item.quiet_days >= 7:
            title = order[1]
        else:
            title = order[0]
        buckets.setdefault(title, []).append(item)
    return tuple(DigestGroup(title, tuple(buckets[title])) for title in order if title in buckets)


def _item(
    tracked: TrackedMessage,
    rung_name: str,
    rung: int,
    settings: DigestSettings,
    templates: Mapping[str, str],
    zone: ZoneInfo,
    sign_offs: SignOffBook | None = None,
    alarm: tuple[str, str] | None = None,
) -> DigestItem:
    facts = tracked.message.facts
    name, address = tracked.contacts[0] if tracked.contacts else ("", "")
    first = first_name_of(name, address)
    attachments = tuple(a.filename for a in facts.attachments if a.filename)
    sent_at = datetime.fromtimestamp(tracked.sent_at, zone)
    sender_name, sender_address = facts.from_[0] if facts.from_ else ("", "")
    mine = own_text(facts.body_text)
    language = language_of(mine)
    written_in = text_language(language)
    suggestion = suggest_follow_up(
        first_name=first,
        subject=facts.subject,
        kind=tracked.kind,
        sent_on=sent_at.date(),
        quiet_days=tracked.quiet_days,
        rung=rung_name,
        reminder_number=rung,
        attachments=_documents(facts.attachments),
        templates=templates,
        # The quiet is counted from my latest message in the thread, a nudge perhaps.
        quiet_since=datetime.fromtimestamp(tracked.since, zone).date(),
        nudges=tracked.nudges,
        language=written_in,
        # My greeting, in a language the texts know: "Hei Ingrid," in an English text is not.
        greeting=greeting_of(mine, language) if language == written_in else None,
        sign_off=sign_offs.best(address, written_in) if sign_offs and address else None,
        sender_name=sender_name,
        signature=settings.signature,
    )
    subject = facts.subject or "(no subject)"
    return DigestItem(
        thread_id=tracked.thread_id,
        message_id=facts.message_id,
        account=tracked.account,
        contact_name=name,
        contact_address=address,
        first_name=first,
        other_contacts=tuple(a for _, a in tracked.contacts[1:]),
        subject=subject,
        kind=tracked.kind,
        sent_at=sent_at,
        quiet_days=tracked.quiet_days,
        reasons=tracked.reasons,
        attachments=attachments,
        excerpt=_excerpt(facts.body_text),
        rung=rung_name,
        reminder_number=rung,
        suggestion=suggestion,
        reply_subject=reply_subject(subject),
        alarm=alarm[0] if alarm else "",
        alarm_detail=alarm[1] if alarm else "",
        open_link=settings.link_to(facts.message_id),
        since=tracked.since,
        references=facts.references,
        message_key=tracked.message.key,
        heard_from=(tracked.heard_since.contact[0] or tracked.heard_since.contact[1])
        if tracked.heard_since
        else "",
        heard_at=datetime.fromtimestamp(tracked.heard_since.at, zone)
        if tracked.heard_since
        else None,
        heard_subject=tracked.heard_since.subject if tracked.heard_since else "",
        sender_name=sender_name,
        sender_address=sender_address,
        price=_price(mine, facts.subject),
        language=language,
        english_fallback=written_in != language,
    )


def _documents(attachments: Sequence[Attachment]) -> tuple[str, ...]:
    """The file names of the documents sent, for the text to name ("Angebot_2026-114.pdf"):
    not the logo in a signature (image001.png)."""
    return tuple(
        a.filename
        for a in attachments
        if a.filename
        and (a.content_type in DOCUMENT_TYPES or a.filename.lower().endswith(DOCUMENTS))
    )


def _price(text: str, subject: str) -> str:
    """The first price in my own text, else in the subject, as written: "EUR 9,800"."""
    found = PRICE_RE.search(text) or PRICE_RE.search(subject)
    return " ".join(found.group(0).split()) if found else ""


def _excerpt(body: str) -> str:
    lines = [line.rstrip() for line in own_text(body).splitlines() if line.strip()]
    return "\n".join(lines[:_EXCERPT_LINES])


def digest_message_id(recipient: str, day: date) -> str:
    """The same for one recipient and day in every process: a restart can look for it."""
    tag = hashlib.blake2b(recipient.lower().encode(), digest_size=6).hexdigest()
    return f"<digest-{day:%Y%m%d}-{tag}@followup-watcher.invalid>"
