"""The local store: one SQLite file with per-folder sync state and one row of facts per message.

All SQL lives in this package (the command log in `commands.py`), and sqlite3's exceptions
are translated into `StoreError` here. The file runs in WAL mode so that `watcher list` can
read while `watcher run` writes; every batch of messages is written together with the
folder's sync position in one transaction, so a sync cut off at any point resumes where it
stopped and never stores a message twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from watcher.errors import StoreError
from watcher.model import Classification, MessageFacts, Override, StoredMessage
from watcher.store.commands import CommandLog
from watcher.store.files import access_problem, make_state_dir
from watcher.store.migrations import MIGRATIONS
from watcher.store.rows import MESSAGE_COLUMNS, from_row, to_row

_UPSERT = (
    f"INSERT OR REPLACE INTO messages ({', '.join(MESSAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})"
)
_SELECT = f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM messages"


@dataclass(frozen=True, slots=True)
class FolderState:
    """Where the sync of one folder stands."""

    account: str
    name: str
    special_use: str = ""
    uidvalidity: int | None = None
    last_uid: int = 0
    highest_modseq: int | None = None
    server_messages: int | None = None
    initial_done: bool = False
    last_synced: int | None = None


@dataclass(frozen=True, slots=True)
class AccountStatus:
    account: str
    last_attempt: int | None
    last_success: int | None
    last_error: str
    failing_since: int | None


@dataclass(frozen=True, slots=True)
class DigestRecord:
    day: date
    recipient: str
    message_id: str
    state: str  # "pending" (recorded before sending), "failed" (known undelivered) or "sent"
    created_at: int  # when the latest delivery attempt began
    sent_at: int | None


@dataclass(frozen=True, slots=True)
class FolderSummary:
    account: str
    folder: str
    messages: int
    from_me: int
    with_problems: int


class Store:
    """The watcher's SQLite file. Open with `Store.open(path)`; close when done."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self.commands = CommandLog(connection)

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating it owner-only if needed) and migrate the store at `path`."""
        try:
            make_state_dir(path.parent)
            problem = access_problem(path, directory=False) if path.exists() else None
            if problem:
                raise StoreError(f"the store {path} {problem}")
            if not path.exists():
                # Created 0600 before SQLite touches it: mail facts are private.
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            _enable_wal(connection)
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            store = cls(connection, path)
            store._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot create the store {path}: {exc.strerror}") from exc
        return store

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the store {self.path}: {exc}") from exc
        try:
            yield
        except sqlite3.Error as exc:
            self._db.execute("ROLLBACK")
            raise StoreError(f"cannot write to the store {self.path}: {exc}") from exc
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the store {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        db = self._db
        db.execute(
            "CREATE TABLE IF NOT EXISTS migrations"
            " (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)"
        )
        for name, script in MIGRATIONS:
            # Each migration is one transaction, and whether it is needed is decided inside
            # it: a crash leaves it unapplied, and two processes opening a new store at once
            # cannot both apply it.
            db.execute("BEGIN IMMEDIATE")
            try:
                if not db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                    for statement in script.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute("INSERT INTO migrations VALUES (?, ?)", (name, int(time.time())))
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT name FROM migrations ORDER BY name")]

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    # -- folders -------------------------------------------------------------------------

    def folder_states(self, account: str) -> dict[str, FolderState]:
        rows = self._db.execute(
            "SELECT account, name, special_use, uidvalidity, last_uid, highest_modseq,"
            " server_messages, initial_done, last_synced FROM folders WHERE account = ?",
            (account,),
        )
        return {
            name: FolderState(
                account,
                name,
                special_use,
                uidvalidity,
                last_uid,
                highest_modseq,
                server_messages,
                bool(initial_done),
                last_synced,
            )
            for (
                account,
                name,
                special_use,
                uidvalidity,
                last_uid,
                highest_modseq,
                server_messages,
                initial_done,
                last_synced,
            ) in rows
        }

    def save_folder_state(self, state: FolderState) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO folders (account, name, special_use, uidvalidity, last_uid,"
            " highest_modseq, server_messages, initial_done, last_synced)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                state.account,
                state.name,
                state.special_use,
                state.uidvalidity,
                state.last_uid,
                state.highest_modseq,
                state.server_messages,
                int(state.initial_done),
                state.last_synced,
            ),
        )

    def forget_folder(self, account: str, folder: str) -> int:
        """Drop a folder's state and messages (it vanished, or its UIDVALIDITY changed)."""
        cursor = self._db.execute(
            "DELETE FROM messages WHERE account = ? AND folder = ?", (account, folder)
        )
        self._db.execute("DELETE FROM folders WHERE account = ? AND name = ?", (account, folder))
        return cursor.rowcount

    # -- messages ------------------------------------------------------------------------

    def put_messages(self, account: str, folder: str, messages: Iterable[MessageFacts]) -> int:
        rows = [to_row(account, folder, facts) for facts in messages]
        self._db.executemany(_UPSERT, rows)
        return len(rows)

    def stored_keys(self, account: str, folder: str) -> set[str]:
        rows = self._db.execute(
            "SELECT key FROM messages WHERE account = ? AND folder = ?", (account, folder)
        )
        return {row[0] for row in rows}

    def stored_uids(self, account: str, folder: str) -> set[int]:
        rows = self._db.execute(
            "SELECT uid FROM messages WHERE account = ? AND folder = ? AND uid IS NOT NULL",
            (account, folder),
        )
        return {row[0] for row in rows}

    def stored_flags(self, account: str, folder: str) -> dict[int, tuple[str, ...]]:
        rows = self._db.execute(
            "SELECT uid, flags FROM messages WHERE account = ? AND folder = ? AND uid IS NOT NULL",
            (account, folder),
        )
        return {uid: tuple(flags.split()) for uid, flags in rows}

    def delete_messages(self, account: str, folder: str, keys: Iterable[str]) -> int:
        cursor = self._db.executemany(
            "DELETE FROM messages WHERE account = ? AND folder = ? AND key = ?",
            ((account, folder, key) for key in keys),
        )
        return cursor.rowcount

    def update_flags(
        self, account: str, folder: str, changes: Iterable[tuple[str, Sequence[str], int | None]]
    ) -> None:
        """Set new flags (and MODSEQ) on stored messages, given as (key, flags, modseq)."""
        self._db.executemany(
            "UPDATE messages SET flags = ?, modseq = COALESCE(?, modseq)"
            " WHERE account = ? AND folder = ? AND key = ?",
            ((" ".join(flags), modseq, account, folder, key) for key, flags, modseq in changes),
        )

    def messages(
        self, account: str | None = None, folder: str | None = None
    ) -> Iterator[MessageFacts]:
        """Every stored message (of one account, of one folder), in UID order per folder."""
        conditions: list[str] = []
        values: list[str] = []
        if account is not None:
            conditions.append("account = ?")
            values.append(account)
        if folder is not None:
            conditions.append("folder = ?")
            values.append(folder)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        for row in self._db.execute(f"{_SELECT}{where} ORDER BY account, folder, uid, key", values):
            yield from_row(row)

    def stored_messages(self, account: str | None = None) -> Iterator[StoredMessage]:
        """Every message with its account, folder and the folder's special use."""
        columns = ", ".join(f"m.{c}" for c in MESSAGE_COLUMNS)
        query = (
            f"SELECT {columns}, COALESCE(f.special_use, '') FROM messages m"
            " LEFT JOIN folders f ON f.account = m.account AND f.name = m.folder"
        )
        rows = (
            self._db.execute(query)
            if account is None
            else self._db.execute(f"{query} WHERE m.account = ?", (account,))
        )
        for row in rows:
            yield StoredMessage(str(row[0]), str(row[1]), str(row[-1]), from_row(row))

    # -- per-thread overrides (set with `watcher thread`) -------------------------------------

    def overrides(self) -> dict[str, Override]:
        rows = self._db.execute(
            "SELECT thread_id, quiet_days, snooze_until, muted, done, track FROM thread_overrides"
        )
        return {
            thread_id: Override(
                quiet_days=quiet_days,
                snooze_until=date.fromisoformat(snooze) if snooze else None,
                muted=bool(muted),
                done=bool(done),
                track=None if track is None else bool(track),
            )
            for thread_id, quiet_days, snooze, muted, done, track in rows
        }

    def set_override(self, thread_id: str, override: Override) -> None:
        """Store (or, for an empty override, remove) what the user set for a thread."""
        if override.empty:
            self._db.execute("DELETE FROM thread_overrides WHERE thread_id = ?", (thread_id,))
            return
        self._db.execute(
            "INSERT OR REPLACE INTO thread_overrides"
            " (thread_id, quiet_days, snooze_until, muted, done, track, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                thread_id,
                override.quiet_days,
                override.snooze_until.isoformat() if override.snooze_until else None,
                int(override.muted),
                int(override.done),
                None if override.track is None else int(override.track),
                int(time.time()),
            ),
        )

    # -- remembered classifications -----------------------------------------------------------

    def classifications(self) -> dict[str, Classification]:
        rows = self._db.execute("SELECT digest, kind, score, reasons FROM classifications")
        return {
            digest: Classification(kind=kind, score=score, reasons=tuple(json.loads(reasons)))
            for digest, kind, score, reasons in rows
        }

    def save_classifications(self, found: Mapping[str, Classification]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO classifications (digest, kind, score, reasons)"
            " VALUES (?, ?, ?, ?)",
            (
                (digest, c.kind, c.score, json.dumps(c.reasons, ensure_ascii=False))
                for digest, c in found.items()
            ),
        )

    def forget_classifications(self) -> None:
        self._db.execute("DELETE FROM classifications")

    # -- digests ---------------------------------------------------------------------------

    def digest_state(self, day: date, recipient: str) -> DigestRecord | None:
        row = self._db.execute(
            "SELECT message_id, state, created_at, sent_at FROM digests"
            " WHERE day = ? AND recipient = ?",
            (day.isoformat(), recipient),
        ).fetchone()
        return DigestRecord(day, recipient, *row) if row else None

    def record_digest_pending(
        self, day: date, recipient: str, message_id: str, entries: Iterable[tuple[str, int, int]]
    ) -> None:
        """Before sending: the digest and the rungs it carries, as (message_id, since, rung)."""
        self._db.execute(
            "INSERT OR IGNORE INTO digests (day, recipient, message_id, state, created_at)"
            " VALUES (?, ?, ?, 'pending', ?)",
            (day.isoformat(), recipient, message_id, int(time.time())),
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO digest_entries (day, message_id, since, rung)"
            " VALUES (?, ?, ?, ?)",
            ((day.isoformat(), m, since, rung) for m, since, rung in entries),
        )

    def claim_digest(
        self, day: date, recipient: str, message_id: str, entries: Iterable[tuple[str, int, int]]
    ) -> DigestRecord | None:
        """Record the day's digest as pending unless a record exists, in one transaction.

        Returns the record found (another process's claim), or None: the day is ours to send.
        Read and write share one `BEGIN IMMEDIATE`, so two processes never both see no record.
        """
        with self.transaction():
            found = self.digest_state(day, recipient)
            if found is None:
                self.record_digest_pending(day, recipient, message_id, entries)
        return found

    def record_digest_attempt(self, day: date, recipient: str) -> None:
        """Another delivery attempt of an unsent digest starts now: pending again, and its
        `created_at` restarts the in-flight clock (mail of this attempt may be on its way)."""
        self._db.execute(
            "UPDATE digests SET state = 'pending', created_at = ?"
            " WHERE day = ? AND recipient = ? AND state != 'sent'",
            (int(time.time()), day.isoformat(), recipient),
        )

    def record_digest_sent(self, day: date, recipient: str) -> None:
        self._db.execute(
            "UPDATE digests SET state = 'sent', sent_at = ? WHERE day = ? AND recipient = ?",
            (int(time.time()), day.isoformat(), recipient),
        )

    def record_digest_failed(self, day: date, recipient: str) -> None:
        """The delivery attempt failed for sure (refused, rejected): retry without waiting."""
        self._db.execute(
            "UPDATE digests SET state = 'failed'"
            " WHERE day = ? AND recipient = ? AND state != 'sent'",
            (day.isoformat(), recipient),
        )

    def digest_entries(self) -> dict[tuple[str, int], dict[int, date]]:
        """(message_id, since) -> {rung: the day a digest carried it}."""
        found: dict[tuple[str, int], dict[int, date]] = {}
        for day, message_id, since, rung in self._db.execute(
            "SELECT day, message_id, since, rung FROM digest_entries"
        ):
            found.setdefault((message_id, since), {})[rung] = date.fromisoformat(day)
        return found

    def last_digest(self) -> DigestRecord | None:
        row = self._db.execute(
            "SELECT day, recipient, message_id, state, created_at, sent_at FROM digests"
            " WHERE state = 'sent' ORDER BY day DESC LIMIT 1"
        ).fetchone()
        return DigestRecord(date.fromisoformat(row[0]), *row[1:]) if row else None

    def draft_saved(self, draft_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM drafts WHERE draft_id = ?", (draft_id,))
        return row.fetchone() is not None

    def record_draft(self, draft_id: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO drafts (draft_id, saved_at) VALUES (?, ?)",
            (draft_id, int(time.time())),
        )

    def shift_dates(self, seconds: int) -> None:
        """Move every date by `seconds` (the demo: its sample mail always ends this morning)."""
        self._db.execute(
            "UPDATE messages SET date = date + ?, internal_date = internal_date + ?",
            (seconds, seconds),
        )

    # -- account health ----------------------------------------------------------------------

    def record_sync_success(self, account: str, when: int) -> None:
        self._db.execute(
            "INSERT INTO account_status (account, last_attempt, last_success, last_error,"
            " failing_since) VALUES (?, ?, ?, '', NULL) ON CONFLICT(account) DO UPDATE SET"
            " last_attempt = excluded.last_attempt, last_success = excluded.last_success,"
            " last_error = '', failing_since = NULL",
            (account, when, when),
        )

    def record_sync_failure(self, account: str, when: int, error: str) -> None:
        """Keeps when the failures began: "not read since 07:10" needs the first one."""
        self._db.execute(
            "INSERT INTO account_status (account, last_attempt, last_error, failing_since)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(account) DO UPDATE SET"
            " last_attempt = excluded.last_attempt, last_error = excluded.last_error,"
            " failing_since = COALESCE(account_status.failing_since, excluded.failing_since)",
            (account, when, error, when),
        )

    def account_statuses(self) -> dict[str, AccountStatus]:
        rows = self._db.execute(
            "SELECT account, last_attempt, last_success, last_error, failing_since"
            " FROM account_status"
        )
        return {row[0]: AccountStatus(*row) for row in rows}

    def summary(self) -> list[FolderSummary]:
        rows = self._db.execute(
            "SELECT account, folder, COUNT(*), SUM(is_from_me), SUM(parse_problems != '[]')"
            " FROM messages GROUP BY account, folder ORDER BY account, folder"
        )
        return [FolderSummary(*row) for row in rows]

    def count_messages(self, account: str | None = None) -> int:
        if account is None:
            return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
        row = self._db.execute("SELECT COUNT(*) FROM messages WHERE account = ?", (account,))
        return int(row.fetchone()[0])


def _enable_wal(connection: sqlite3.Connection) -> None:
    # Switching a new file to WAL needs a moment alone with it, and SQLite does not wait for
    # that (no busy handler): when several processes open a new store at once, try again.
    for attempt in range(50):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)
