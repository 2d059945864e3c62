"""How verdicts look on a terminal (`watcher list`, `watcher thread`) and in JSON for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from watcher.analysis.answers import HeardFrom
from watcher.analysis.conversations import Conversation
from watcher.analysis.language import language_of
from watcher.analysis.owntext import own_text
from watcher.analysis.tracker import AWAITING, BOUNCED, NotFollowed, TrackedMessage
from watcher.digest.phrasebook import language_note
from watcher.model import Address
from watcher.terminal import clip, display_width, pad, printable


def wanted(tracked: TrackedMessage, *, show_all: bool) -> bool:
    """The default list: what needs me today (due, bounced, a reply in spam)."""
    if show_all:
        return True
    return tracked.due or tracked.state == BOUNCED or tracked.reply_in_spam


def _cell(text: str, width: int) -> str:
    """A table cell: foreign text made safe, clipped and padded to `width` columns."""
    return pad(printable(text, width), width)


def _contact(contacts: Sequence[Address]) -> str:
    if not contacts:
        return "(no recipient)"
    name, address = contacts[0]
    first = f"{name} <{address}>" if name else address
    return first + (f" +{len(contacts) - 1}" if len(contacts) > 1 else "")


def _local(timestamp: int | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if timestamp is None:
        return "?"
    return datetime.fromtimestamp(timestamp, zone).strftime(fmt)


def _due_text(tracked: TrackedMessage, today: str) -> str:
    if tracked.state != AWAITING:
        return ""
    due = tracked.due_date.isoformat()
    if tracked.due and due <= today:
        return "due"
    return "given up" if due <= today else due  # past 2 x give_up_after: see tracker


@dataclass(frozen=True, slots=True)
class _Column:
    """One column of the `list` table: its cells, and how far it gives way to a narrow
    terminal (`least` 0: the column is left out rather than clipped)."""

    title: str
    cells: list[str]
    most: int
    least: int
    right: bool = False

    def natural(self) -> int:
        return min(max(display_width(c) for c in [self.title, *self.cells]), self.most)


# The order in which columns give way to a narrow terminal: the subject goes last; the thread
# id never (it is what `watcher thread ID` takes).
_GIVE_WAY = ("KIND", "CONTACT", "STATE", "ACCOUNT", "SUBJECT")


def fit_widths(columns: Sequence[_Column], width: int | None) -> dict[str, int]:
    """Each column's width so the row (two spaces between columns) fits `width` columns,
    narrowing (or leaving out) the columns in `_GIVE_WAY` order; None: no limit."""
    widths = {c.title: c.natural() for c in columns}
    if width is None:
        return widths
    least = {c.title: c.least for c in columns}
    for title in _GIVE_WAY:
        if title not in widths:
            continue
        excess = sum(widths.values()) + 2 * (len(widths) - 1) - width
        if excess <= 0:
            break
        if least[title] == 0:
            del widths[title]
        else:
            widths[title] -= min(excess, max(widths[title] - least[title], 0))
    return widths


def format_table(
    tracked: Sequence[TrackedMessage],
    zone: ZoneInfo,
    now: datetime,
    *,
    width: int | None = None,
    show_account: bool = False,
) -> str:
    """A readable table, one line per tracked message; every field safe for a terminal.

    At most `width` columns wide (None: no limit); an account column with `show_account`.
    """
    if not tracked:
        return "Nothing is waiting for a reply."
    today = now.astimezone(zone).date().isoformat()
    columns = [
        _Column("THREAD", [printable(t.thread_id) for t in tracked], 11, 11),
        _Column("ACCOUNT", [printable(t.account) for t in tracked], 16, 7),
        _Column("CONTACT", [printable(_contact(t.contacts)) for t in tracked], 30, 12),
        _Column("SUBJECT", [printable(t.subject or "(no subject)") for t in tracked], 44, 10),
        _Column("KIND", [printable(t.kind) for t in tracked], 9, 0),
        _Column("QUIET", [f"{t.quiet_days}d" for t in tracked], 6, 5, right=True),
        _Column("DUE", [_due_text(t, today) for t in tracked], 10, 10),
        _Column(
            "STATE",
            [printable(t.state + (" (reply in spam)" if t.reply_in_spam else "")) for t in tracked],
            24,
            8,
        ),
    ]
    if not show_account:
        columns = [c for c in columns if c.title != "ACCOUNT"]
    widths = fit_widths(columns, width)
    shown = [c for c in columns if c.title in widths]
    rows = [[c.title for c in shown]] + [[c.cells[i] for c in shown] for i in range(len(tracked))]
    return "\n".join(
        "  ".join(
            _aligned(cell, widths[c.title], c.right) for c, cell in zip(shown, row, strict=True)
        ).rstrip()
        for row in rows
    )


def _aligned(text: str, width: int, right: bool) -> str:
    text = clip(text, width)
    return " " * max(width - display_width(text), 0) + text if right else pad(text, width)


def as_json(tracked: TrackedMessage, zone: ZoneInfo) -> dict[str, Any]:
    """One tracked message for `watcher list --json`: stable keys for scripts."""
    facts = tracked.message.facts
    return {
        "thread_id": tracked.thread_id,
        "message_id": facts.message_id,
        "account": tracked.account,
        "subject": facts.subject,
        "contacts": [{"name": n, "address": a} for n, a in tracked.contacts],
        "sent_at": _iso(tracked.sent_at, zone),
        "since": _iso(tracked.since, zone),
        "quiet_days": tracked.quiet_days,
        "due": tracked.due,
        "due_date": tracked.due_date.isoformat(),
        "kind": tracked.kind,
        "reasons": list(tracked.reasons),
        "bounced": tracked.bounced,
        "reply_in_spam": tracked.reply_in_spam,
        "state": tracked.state,
        "answered_by": (
            {"name": tracked.answered_by[0], "address": tracked.answered_by[1]}
            if tracked.answered_by
            else None
        ),
        "answered_at": _iso(tracked.answered_at, zone) if tracked.answered_at else None,
        "attachments": [a.filename for a in facts.attachments if a.filename],
        "rules": list(tracked.policy.sources),
        "notes": list(tracked.notes),
        "heard_since": (
            {
                "name": tracked.heard_since.contact[0],
                "address": tracked.heard_since.contact[1],
                "at": _iso(tracked.heard_since.at, zone),
                "subject": tracked.heard_since.subject,
                "thread_id": tracked.heard_since.thread_id,
            }
            if tracked.heard_since
            else None
        ),
    }


def thread_json(
    conversation: Conversation,
    tracked: Sequence[TrackedMessage],
    not_followed: Sequence[NotFollowed],
    set_by_mail: Sequence[str],
    zone: ZoneInfo,
) -> dict[str, Any]:
    """One thread for `watcher thread --json`: its messages, then the verdicts on mine."""
    return {
        "thread_id": conversation.thread_id,
        "messages": [
            {
                "message_id": m.facts.message_id,
                "account": m.account,
                "at": _iso(m.when, zone) if m.when is not None else None,
                "from": (
                    {"name": m.facts.from_[0][0], "address": m.facts.from_[0][1]}
                    if m.facts.from_
                    else None
                ),
                "subject": m.facts.subject,
                "folders": list(m.folders),
                "automatic": m.automatic,
                "bounce": m.bounce is not None,
                "only_in_spam": m.only_in_junk,
                "attachments": [a.filename for a in m.facts.attachments if a.filename],
            }
            for m in conversation.messages
        ],
        "tracked": [as_json(t, zone) for t in tracked],
        "not_followed": [
            {
                "message_id": n.message.facts.message_id,
                "account": n.account,
                "subject": n.subject,
                "sent_at": _iso(n.sent_at, zone),
                "contacts": [{"name": name, "address": a} for name, a in n.contacts],
                "kind": n.kind,
                "reasons": list(n.reasons),
                "why": n.why,
                "undo": n.undo,
            }
            for n in not_followed
        ],
        "set_by_mail": list(set_by_mail),
    }


def heard_since_line(heard: HeardFrom, zone: ZoneInfo) -> str:
    """"heard since: Tom Berg wrote to you on 2026-10-24 in another thread (t…): "Data room""" ""
    name, address = heard.contact
    who = f"{name} <{address}>" if name else address
    return (
        f"heard since: {who} wrote to you on {_local(heard.at, zone, '%Y-%m-%d')} in another "
        f'thread ({heard.thread_id}): "{heard.subject or "(no subject)"}"; not an answer to '
        "this message, but you may not need to follow up"
    )


def _iso(timestamp: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(timestamp, zone).isoformat()


def format_thread(
    conversation: Conversation,
    tracked: Sequence[TrackedMessage],
    zone: ZoneInfo,
    not_followed: Sequence[NotFollowed] = (),
) -> str:
    """One conversation, message by message, then the verdict on each tracked message.

    Every field from mail, the server or the config goes through `printable`: one line each.
    """
    lines = [f"Thread {printable(conversation.thread_id)} · {len(conversation.messages)} messages"]
    for message in conversation.messages:
        facts = message.facts
        sender = facts.from_[0][1] if facts.from_ else "(no sender)"
        marks = []
        automatic = message.automatic
        if message.bounce is not None:
            marks.append("delivery failure")
        elif automatic:
            marks.append(automatic)
        if message.only_in_junk:
            marks.append("in spam folder")
        attachments = [a.filename for a in facts.attachments if a.filename]
        if attachments:
            marks.append("attached: " + ", ".join(attachments))
        lines.append(
            f"  {_local(message.when, zone)}  {_cell(sender, 32)}  "
            f"{printable(facts.subject or '(no subject)', 50)}  "
            f"[{printable(', '.join(message.folders))}]"
            + (f"  ({printable('; '.join(marks))})" if marks else "")
        )
    for item in tracked:
        lines.append("")
        lines.append(
            f'Your message "{printable(item.subject)}" of {_local(item.sent_at, zone, "%Y-%m-%d")}:'
        )
        verdict = item.state
        if item.state == AWAITING:
            when = "due now" if item.due else f"due on {item.due_date.isoformat()}"
            verdict += f", quiet for {item.quiet_days} days, {when}"
        if item.answered_by:
            verdict += f" by {item.answered_by[1]} on {_local(item.answered_at, zone, '%Y-%m-%d')}"
        lines.append(f"  verdict: {printable(verdict)}")
        lines.append(f"  to: {printable(_contact(item.contacts))}")
        if item.reasons:
            lines.append(f"  tracked because: {printable('; '.join(item.reasons))}")
        lines.append(f"  quiet period: {printable('; '.join(item.policy.sources))}")
        for note in item.notes:
            lines.append(f"  note: {printable(note)}")
        if item.heard_since:
            lines.append(f"  {printable(heard_since_line(item.heard_since, zone))}")
        if item.state == AWAITING:
            # The digest writes its suggested follow-up in the language of my own words.
            language = language_of(own_text(item.message.facts.body_text))
            lines.append(f"  {language_note(language)}")
    for skipped in not_followed:
        lines.append("")
        lines.append(
            f'Your message "{printable(skipped.subject)}" of '
            f"{_local(skipped.sent_at, zone, '%Y-%m-%d')}:"
        )
        lines.append(f"  not followed: {printable(skipped.why)}")
        lines.append(f"  to: {printable(_contact(skipped.contacts))}")
        if skipped.reasons:
            lines.append(
                f"  it looks like a {skipped.kind}: {printable('; '.join(skipped.reasons))}"
            )
        if skipped.undo:
            lines.append(f"  {printable(skipped.undo)}")
    if not tracked and not not_followed:
        lines.append("")
        lines.append("Nothing in this thread is tracked (no proposal or contract of yours).")
    return "\n".join(lines)
