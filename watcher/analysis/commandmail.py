"""Commands by mail: find them among the synced messages and read them.

Two kinds, both mail I send to myself, both read from the folders the sync already reads
(Sent, and the inbox when the mail comes back), never moved, flagged or deleted:

- a **one-tap command**, the mail a digest's link opens: the subject carries the thread, the
  action and the code, `[followup t3728c3029e] snooze 7d · K7Q2-M9XA`;
- a **reply to a digest**: one command per line, naming the digest's numbered cards
  (`2 done`, `3 snooze 1w`, `4 +4d`, `mute 5`, `1 snooze until 2026-12-14`).

A command counts only when its From is one of my addresses and its code verifies (for a reply:
it answers a digest this installation sent, by that digest's secret Message-ID). Anything else
is IGNORED and keeps none of its content. `read_commands` decides; `analysis.pipeline` applies
what it returns, once per Message-ID. Pure: messages, the key and the known digests in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from watcher.analysis.actions import Action, ActionError, parse_action
from watcher.analysis.commandcodes import verified_day
from watcher.analysis.owntext import own_text
from watcher.identity import Identity
from watcher.model import APPLIED, IGNORED, REPLAYED, UNREADABLE, MailCommand, StoredMessage

SUBJECT_TAG = "[followup "
DIGEST_ID_SUFFIX = "@followup-watcher.invalid>"
_SUBJECT = re.compile(
    r"\[followup\s+(t[0-9a-f]{4,32})\]\s*(.+?)\s*[^\w\s]{1,2}\s*([A-Za-z2-7]{4}-?[A-Za-z2-7]{4})\s*$",
    re.IGNORECASE,
)
MAX_REPLY_LINES = 40  # a reply with more lines than this is read up to here
_NUMBER_FIRST = re.compile(r"(?:#|no\.?\s*|nr\.?\s*)?(\d{1,3})\s*[.):,-]?\s+(.+)")
_NUMBER_LAST = re.compile(r"(.+?)\s+(?:#|no\.?\s*|nr\.?\s*)?(\d{1,3})\s*[.!]?")
_SIGNATURE = re.compile(r"(?:--\s*|sent from my\b.*|get outlook for\b.*|von meinem\b.*)", re.I)


@dataclass(frozen=True, slots=True)
class KnownDigest:
    """A digest this installation sent: its day and its cards' threads, in card order."""

    day: date
    threads: tuple[str, ...]


def is_command_mail(message: StoredMessage) -> bool:
    """Cheap: does this message look like a command (it is then never part of a conversation)?"""
    facts = message.facts
    if SUBJECT_TAG in facts.subject.lower():
        return bool(_SUBJECT.search(facts.subject))
    return facts.in_reply_to.endswith(DIGEST_ID_SUFFIX) and "<digest-" in facts.in_reply_to


def command_key_of(message: StoredMessage) -> str:
    """What a command is remembered by: its Message-ID (the same in Sent and in the inbox), or
    for a mail without one, a digest of its date and subject."""
    facts = message.facts
    if facts.message_id:
        return facts.message_id
    seed = f"{facts.date}|{facts.subject}|{facts.in_reply_to}".encode()
    return "<no-id-" + hashlib.blake2b(seed, digest_size=10).hexdigest() + ">"


def read_commands(
    messages: Iterable[StoredMessage],
    *,
    identity: Identity,
    key: bytes,
    digests: Mapping[str, KnownDigest],
    seen: Iterable[str],
    applied: Iterable[str],
    zone: ZoneInfo,
) -> list[MailCommand]:
    """The commands in `messages` not seen before (by `command_key_of`), oldest first.

    `applied`: the replay keys of commands applied earlier; a command whose key is among them
    (or applied earlier in this batch) is REPLAYED and does nothing new.
    """
    done = set(seen)
    replayed = set(applied)
    found: list[MailCommand] = []
    fresh: dict[str, StoredMessage] = {}
    for message in messages:
        mail_key = command_key_of(message)
        if mail_key not in done:
            fresh.setdefault(mail_key, message)
    for mail_key, message in sorted(fresh.items(), key=lambda kv: (_sent_at(kv[1]), kv[0])):
        for command in _read_one(message, mail_key, identity, key, digests, zone):
            if command.state == APPLIED and command.replay_key in replayed:
                command = replace(command, state=REPLAYED)
            replayed.add(command.replay_key)
            found.append(command)
    return found


def _sent_at(message: StoredMessage) -> int:
    return message.facts.date or message.facts.internal_date or 0


def _read_one(
    message: StoredMessage,
    mail_key: str,
    identity: Identity,
    key: bytes,
    digests: Mapping[str, KnownDigest],
    zone: ZoneInfo,
) -> list[MailCommand]:
    facts = message.facts
    sent_at = _sent_at(message)
    day = datetime.fromtimestamp(sent_at, zone).date()

    def ignored(why: str) -> list[MailCommand]:
        return [MailCommand(mail_key, 0, sent_at, IGNORED, detail=why)]

    if not any(identity.is_me(address) for _, address in facts.from_):
        return ignored("not from one of your addresses")
    match = _SUBJECT.search(facts.subject)
    if match:
        thread_id, words, code = match.group(1).lower(), match.group(2), match.group(3)
        try:
            action = parse_action(words)
        except ActionError:
            return ignored("the subject was changed: its action is not one the links offer")
        offered_on = verified_day(key, thread_id, action.text, code, day)
        if offered_on is None:
            return ignored("its code does not verify (forged, changed or older than 60 days)")
        return [_applied(mail_key, 0, sent_at, thread_id, action, day, offered_on)]
    digest = digests.get(facts.in_reply_to)
    if digest is None:
        return ignored("it answers a digest this store does not know (rebuilt store?)")
    return _reply_lines(mail_key, sent_at, day, facts.body_text, digest)


def _applied(
    mail_key: str,
    line: int,
    sent_at: int,
    thread_id: str,
    action: Action,
    given_on: date,
    offered_on: date,
) -> MailCommand:
    return MailCommand(
        mail_key,
        line,
        sent_at,
        APPLIED,
        thread_id=thread_id,
        action=action.text,
        snooze_until=action.snooze_until(given_on),
        replay_key=f"{thread_id}|{action.text}|{offered_on.isoformat()}",
    )


def _reply_lines(
    mail_key: str, sent_at: int, day: date, body: str, digest: KnownDigest
) -> list[MailCommand]:
    found: list[MailCommand] = []
    for number, line in enumerate(reply_lines(body), start=1):
        parsed = parse_reply_line(line, len(digest.threads))
        if parsed is None:
            continue  # not meant as a command ("Thanks!", a greeting)
        if isinstance(parsed, str):
            found.append(MailCommand(mail_key, number, sent_at, UNREADABLE, detail=parsed))
            continue
        card, action = parsed
        thread_id = digest.threads[card - 1]
        found.append(_applied(mail_key, number, sent_at, thread_id, action, day, digest.day))
    if not found:
        why = "no command found in it; write one per line, e.g. “2 done” or “3 snooze 1w”"
        found.append(MailCommand(mail_key, 0, sent_at, UNREADABLE, detail=why))
    return found


def reply_lines(body: str) -> list[str]:
    """The lines I wrote above the quoted digest and my signature, at most MAX_REPLY_LINES."""
    lines: list[str] = []
    for raw in own_text(body).splitlines():
        line = " ".join(raw.split())
        if _SIGNATURE.fullmatch(line):
            break
        if line:
            lines.append(line[:200])
    return lines[:MAX_REPLY_LINES]


def parse_reply_line(line: str, cards: int) -> tuple[int, Action] | str | None:
    """(card number, action) for "2 done", "mute 5", "3 snooze 1w", "4 +4d"; a one-line
    reason (quoting the line) when it is meant as a command but cannot be read; None when
    the line is not meant as one (no card number in it)."""
    shown = f"“{line}”"
    for pattern, number_group, words_group in (
        (_NUMBER_FIRST, 1, 2),
        (_NUMBER_LAST, 2, 1),
    ):
        match = pattern.fullmatch(line)
        if match is None:
            continue
        try:
            action = parse_action(match.group(words_group))
        except ActionError as exc:
            if pattern is _NUMBER_LAST:
                return None  # "see you at 5": a number at the end, but no action
            return f"{shown}: {exc}"
        number = int(match.group(number_group))
        if not 1 <= number <= cards:
            return f"{shown}: there is no card {number} in that digest (it had {cards})"
        return number, action
    return _action_without_number(line, shown)


def _action_without_number(line: str, shown: str) -> str | None:
    try:
        parse_action(line)
    except ActionError:
        return None
    return f"{shown}: which card? Put its number first, e.g. “2 done”"
