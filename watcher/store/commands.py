"""The store's memory of commands by mail, and of the numbered cards of each digest sent.

`Store.commands` is one of these, on the store's connection (writes go inside
`Store.transaction()` like every other write).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from watcher.model import APPLIED, IGNORED, MailCommand

_SELECT = (
    "SELECT message_id, line, sent_at, state, thread_id, action, snooze_until, replay_key,"
    " detail, reported FROM mail_commands"
)
_ORDER = " ORDER BY sent_at, message_id, line"
_UNREPORTED = _SELECT + " WHERE reported = 0" + _ORDER
_FOR_THREAD = _SELECT + " WHERE thread_id = ?" + _ORDER


class CommandLog:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def seen(self) -> set[str]:
        """The Message-IDs of every command mail read before (applied or not)."""
        return {row[0] for row in self._db.execute("SELECT DISTINCT message_id FROM mail_commands")}

    def replay_keys(self) -> set[str]:
        rows = self._db.execute(
            "SELECT replay_key FROM mail_commands WHERE state = ? AND replay_key != ''",
            (APPLIED,),
        )
        return {row[0] for row in rows}

    def record(self, commands: Iterable[MailCommand]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO mail_commands (message_id, line, sent_at, state, thread_id,"
            " action, snooze_until, replay_key, detail, reported) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    c.message_id,
                    c.line,
                    c.sent_at,
                    c.state,
                    c.thread_id,
                    c.action,
                    c.snooze_until.isoformat() if c.snooze_until else None,
                    c.replay_key,
                    c.detail,
                    int(c.reported),
                )
                for c in commands
            ),
        )

    def unreported(self) -> list[MailCommand]:
        """Commands read since the last digest: what the next one says was done (or not)."""
        return self._rows(self._db.execute(_UNREPORTED))

    def mark_reported(self, commands: Iterable[MailCommand]) -> None:
        self._db.executemany(
            "UPDATE mail_commands SET reported = 1 WHERE message_id = ? AND line = ?",
            ((c.message_id, c.line) for c in commands),
        )

    def for_thread(self, thread_id: str) -> list[MailCommand]:
        return self._rows(self._db.execute(_FOR_THREAD, (thread_id,)))

    def ignored_count(self) -> int:
        row = self._db.execute(
            "SELECT COUNT(DISTINCT message_id) FROM mail_commands WHERE state = ?", (IGNORED,)
        ).fetchone()
        return int(row[0])

    @staticmethod
    def _rows(rows: Iterable[Any]) -> list[MailCommand]:
        return [
            MailCommand(
                message_id=row[0],
                line=row[1],
                sent_at=row[2],
                state=row[3],
                thread_id=row[4],
                action=row[5],
                snooze_until=date.fromisoformat(row[6]) if row[6] else None,
                replay_key=row[7],
                detail=row[8],
                reported=bool(row[9]),
            )
            for row in rows
        ]

    # -- the numbered cards of each digest -----------------------------------------------------

    def record_cards(self, digest_message_id: str, threads: Sequence[str]) -> None:
        """The cards of the digest about to be sent (a new attempt's replace an earlier's)."""
        self._db.execute("DELETE FROM digest_cards WHERE message_id = ?", (digest_message_id,))
        self._db.executemany(
            "INSERT OR IGNORE INTO digest_cards (message_id, number, thread_id) VALUES (?, ?, ?)",
            ((digest_message_id, number, t) for number, t in enumerate(threads, start=1)),
        )

    def digests(self) -> dict[str, tuple[date, tuple[str, ...]]]:
        """Message-ID -> (day, card threads in number order), for every digest recorded."""
        days = {
            message_id: date.fromisoformat(day)
            for day, message_id in self._db.execute("SELECT day, message_id FROM digests")
        }
        cards: dict[str, list[str]] = {message_id: [] for message_id in days}
        for message_id, thread_id in self._db.execute(
            "SELECT message_id, thread_id FROM digest_cards ORDER BY message_id, number"
        ):
            if message_id in cards:
                cards[message_id].append(thread_id)
        return {m: (days[m], tuple(threads)) for m, threads in cards.items()}
