"""The digest's one-tap actions, and what it says about the commands it received.

Each card offers Done, Snooze (3 days, 1 week, 2 weeks), Mute and Not a proposal. Each is a
`mailto:` link to my own address whose subject carries the thread, the action and the code
(`[followup t3728c3029e] snooze 7d · K7Q2-M9XA`, see `analysis.commandcodes`) and whose body
says in one line what sending it does. The next digest opens with what was applied, from
which mail, and quotes any line it could not read.

Pure: settings, the key and the store's command log in; text out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from watcher.analysis.actions import (
    DONE,
    MUTE,
    NOT_A_PROPOSAL,
    SNOOZE,
    SNOOZE_CHOICES,
    Action,
    parse_action,
)
from watcher.analysis.commandcodes import command_code
from watcher.config.digest import DigestSettings
from watcher.model import APPLIED, IGNORED, REPLAYED, UNREADABLE, MailCommand
from watcher.terminal import printable

# Providers that deliver "me+tag@" to "me@": the command mail can carry a tag for filters.
PLUS_ADDRESS_DOMAINS = frozenset(
    {
        *("gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com"),
        *("icloud.com", "me.com", "fastmail.com", "fastmail.fm", "proton.me", "protonmail.com"),
        *("pm.me", "posteo.de", "posteo.net", "mailbox.org", "zoho.com", "runbox.com"),
    }
)
PLUS_TAG = "followup"
_SUBJECT_CLIP = 60


def command_address(settings: DigestSettings) -> str:
    """Where command mail goes: `commands_to`, else me (+followup where the provider takes it)."""
    if settings.commands_to:
        return settings.commands_to
    local, _, domain = settings.recipient.rpartition("@")
    if domain in PLUS_ADDRESS_DOMAINS and "+" not in local:
        return f"{local}+{PLUS_TAG}@{domain}"
    return settings.recipient


@dataclass(frozen=True, slots=True)
class CardAction:
    """One tap: the label on the button, and the mail it opens (to `CommandLinks.address`)."""

    label: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class CommandLinks:
    """What the digest of `day` needs to make each card's links."""

    address: str
    day: date
    key: bytes = field(repr=False)

    def for_card(self, thread_id: str, subject: str) -> tuple[CardAction, ...]:
        title = _clip(subject) or "(no subject)"
        actions = [(Action(DONE), "Done", f"to mark “{title}” done: it leaves the digest.")]
        for days in SNOOZE_CHOICES:
            label = {7: "1 week", 14: "2 weeks"}.get(days, f"{days} days")
            what = f"to snooze “{title}” for {label}, from the day you send it."
            actions.append((Action(SNOOZE, days=days), f"Snooze {label}", what))
        actions.append((Action(MUTE), "Mute", f"to stop following “{title}”."))
        actions.append(
            (
                Action(NOT_A_PROPOSAL),
                "Not a proposal",
                f"to say “{title}” is not a proposal: it is no longer followed.",
            )
        )
        return tuple(
            CardAction(
                label,
                f"[followup {thread_id}] {action.text} · "
                f"{command_code(self.key, thread_id, action.text, self.day)}",
                f"Send this mail {what} followup-watcher reads it from your Sent folder.",
            )
            for action, label, what in actions
        )


def _clip(text: str) -> str:
    line = " ".join(printable(text).split())
    return line if len(line) <= _SUBJECT_CLIP else line[: _SUBJECT_CLIP - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class CommandReport:
    """What the digest opens with: what was applied, what could not be read, and how many
    command mails were ignored (not provably mine)."""

    applied: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()
    ignored: int = 0

    @property
    def empty(self) -> bool:
        return not (self.applied or self.unreadable or self.ignored)

    @property
    def ignored_line(self) -> str:
        if not self.ignored:
            return ""
        mails = "1 command mail was" if self.ignored == 1 else f"{self.ignored} command mails were"
        return (
            f"{mails} ignored: not from your address with a valid code "
            "(`watcher status` counts them; their content is not kept)."
        )


def command_report(
    commands: Iterable[MailCommand],
    subjects: Mapping[str, str],
    zone: ZoneInfo,
    today: date,
) -> CommandReport:
    """The report on `commands` (those read since the last digest); `subjects`: thread id ->
    the subject to name it by."""
    applied: list[str] = []
    unreadable: list[str] = []
    ignored: set[str] = set()
    for command in commands:
        when = _when(command.sent_at, zone, today)
        if command.state == IGNORED:
            ignored.add(command.message_id)
        elif command.state == UNREADABLE:
            unreadable.append(f"Your mail of {when}: {command.detail}")
        elif command.state in (APPLIED, REPLAYED):
            title = _clip(subjects.get(command.thread_id, "")) or command.thread_id
            done = _done_words(command, title, today)
            if command.state == REPLAYED:
                applied.append(f"{done}, again: your mail of {when} changed nothing")
            else:
                applied.append(f"{done}, from your mail of {when}")
    return CommandReport(tuple(applied), tuple(unreadable), len(ignored))


def _done_words(command: MailCommand, title: str, today: date) -> str:
    kind = parse_action(command.action).kind
    if kind == SNOOZE and command.snooze_until is not None:
        return f"Snoozed “{title}” until {_day(command.snooze_until, today)}"
    if kind == DONE:
        return f"Marked “{title}” done"
    if kind == MUTE:
        return f"Muted “{title}”"
    return f"Noted that “{title}” is not a proposal"


def _when(sent_at: int, zone: ZoneInfo, today: date) -> str:
    moment = datetime.fromtimestamp(sent_at, zone)
    if moment.date() == today:
        return f"{moment:%H:%M}"
    return f"{_day(moment.date(), today)} {moment:%H:%M}"


def _day(day: date, today: date) -> str:
    text = f"{day:%a} {day.day} {day:%b}"
    return text if day.year == today.year else f"{text} {day.year}"


def subjects_of(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """thread id -> subject, the first subject seen for each thread."""
    found: dict[str, str] = {}
    for thread_id, subject in pairs:
        found.setdefault(thread_id, subject)
    return found
