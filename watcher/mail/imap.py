"""Read an IMAP account into the store: incrementally, in batches, and strictly read-only.

Only read-only commands are ever sent: CAPABILITY, LOGIN, LIST, STATUS, EXAMINE, UID SEARCH,
UID FETCH of `BODY.PEEK[...]` sections, LOGOUT (and STARTTLS). Folders are opened with
EXAMINE, so even a server that ignored PEEK could not set `\\Seen`.

Per folder the store keeps UIDVALIDITY, the last UID seen, HIGHESTMODSEQ and the message
count. A poll first asks every folder's status (one LIST-STATUS command where the server has
it, else one STATUS per folder) and opens only the folders that changed. Bulk FETCH responses
go through our own parser (`fetch.py`), because imapclient's general one costs about seven
times the transfer itself; imapclient still does everything else. Connecting and the
translation of foreign exceptions live in `connection.py`, folder discovery in `folders.py`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from imapclient import IMAPClient

from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.identity import Identity
from watcher.mail.bodystructure import BodyOutline, describe_bodystructure
from watcher.mail.bulkfetch import compact_uid_set, uid_fetch
from watcher.mail.connection import connect, translate_errors
from watcher.mail.fetch import FetchedMessage, parse_fetch_response
from watcher.mail.folders import (
    STATUS_ITEMS,
    FolderStatus,
    RemoteFolder,
    choose_folders,
    list_folders,
    status_from_pairs,
)
from watcher.mail.headers import HEADER_FETCH_BYTES, HEADER_FIELDS
from watcher.mail.parse import (
    BODY_FETCH_BYTES,
    decode_text_part,
    facts_from_headers,
    is_watcher_mail,
    reported_message_id,
    wants_body_text,
)
from watcher.mail.report import FolderReport, Progress, SyncReport, log_folder_report
from watcher.model import MessageFacts
from watcher.store.store import FolderState, Store

logger = logging.getLogger(__name__)

FETCH_BATCH = 500  # UIDs per FETCH: big enough to stream, small enough to keep memory flat
# UIDs per flag-only FETCH: a reply stays a few MB, far below the wire reader's per-reply
# limit, however many messages a folder holds or another client changed at once.
FLAG_BATCH = 20_000
# Stored UIDs per SEARCH that checks for expunges: imaplib refuses a response line over 1 MB,
# which one `SEARCH ALL` reaches at about 140,000 messages in a folder.
SEARCH_BATCH = 50_000
# -- the sync -------------------------------------------------------------------------------


class ImapSync:
    """One sync of one account over an open, logged-in client."""

    def __init__(
        self,
        client: IMAPClient,
        store: Store,
        account: Account,
        *,
        lookback_days: int,
        now: datetime,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.account = account
        self.identity = Identity(account.own_addresses)
        self.lookback_days = lookback_days
        self.now = now
        self.progress = progress
        self.progress_shown = False
        capabilities = {c.upper() for c in client.capabilities()}
        self.condstore = b"CONDSTORE" in capabilities
        self.gmail = b"X-GM-EXT-1" in capabilities
        extra = (" MODSEQ" if self.condstore else "") + (" X-GM-THRID" if self.gmail else "")
        items = (
            f"UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE{extra} "
            f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADER_FIELDS)})]<0.{HEADER_FETCH_BYTES}>"
        )
        self.fetch_items = f"({items})"
        # In a Sent folder nearly every message is mine and its text sits in part 1: asking
        # for it up front saves a second round trip per batch.
        self.sent_fetch_items = f"({items} BODY.PEEK[1]<0.{BODY_FETCH_BYTES}>)"

    def run(self) -> SyncReport:
        started = time.monotonic()
        report = SyncReport(self.account.name)
        remote = list_folders(self.client)
        chosen = choose_folders(remote, self.account)
        states = self.store.folder_states(self.account.name)
        chosen_names = {f.name for f in chosen}
        for gone in sorted(set(states) - chosen_names):
            with self.store.transaction():
                removed = self.store.forget_folder(self.account.name, gone)
            logger.info(
                "%s: folder %r is gone or no longer read; forgot its %d messages",
                self.account.name,
                gone,
                removed,
            )
        statuses = {folder.name: self.folder_status(folder) for folder in chosen}
        if self.progress is not None:
            unread = [
                statuses[f.name].messages
                for f in chosen
                if f.name not in states
                or states[f.name].uidvalidity != statuses[f.name].uidvalidity
            ]
            if unread:
                self.progress.start(sum(unread))
                self.progress_shown = True
        for folder in chosen:
            report.folders_checked += 1
            folder_report = self.sync_folder(folder, states.get(folder.name), statuses[folder.name])
            if folder_report is not None:
                report.folders.append(folder_report)
        report.seconds = time.monotonic() - started
        return report

    def folder_status(self, folder: RemoteFolder) -> FolderStatus:
        if folder.status is not None:
            return folder.status
        items = [*STATUS_ITEMS, "HIGHESTMODSEQ"] if self.condstore else list(STATUS_ITEMS)
        raw = self.client.folder_status(folder.name, items)
        return status_from_pairs([x for pair in raw.items() for x in pair])

    def sync_folder(
        self, folder: RemoteFolder, state: FolderState | None, status: FolderStatus
    ) -> FolderReport | None:
        """Bring one folder up to date; None when its status shows nothing changed."""
        # Without CONDSTORE a keyword set on a sent message changes nothing STATUS shows, so
        # the Sent folder is always opened to compare its flags.
        poll_flags = not self.condstore and folder.special_use == "\\Sent"
        if state is not None and _unchanged(state, status) and not poll_flags:
            return None
        selected = self._examine(folder.name)
        uidvalidity = int(selected.get(b"UIDVALIDITY", status.uidvalidity))
        uidnext = int(selected.get(b"UIDNEXT", status.uidnext))
        exists = int(selected.get(b"EXISTS", status.messages))
        modseq_now = selected.get(b"HIGHESTMODSEQ")
        modseq_now = int(modseq_now) if modseq_now is not None else None
        report = FolderReport(folder.name)
        if state is not None and state.uidvalidity != uidvalidity:
            with self.store.transaction():
                self.store.forget_folder(self.account.name, folder.name)
            logger.warning(
                "%s: folder %r has a new UIDVALIDITY (%s, was %s); rescanning it",
                self.account.name,
                folder.name,
                uidvalidity,
                state.uidvalidity,
            )
            report.rescanned = True
            state = None
        if state is None:
            state = FolderState(
                self.account.name, folder.name, folder.special_use, uidvalidity=uidvalidity
            )
        elif state.highest_modseq is not None and modseq_now != state.highest_modseq:
            report.flag_changes = self._update_flags(state, state.highest_modseq)
        elif poll_flags:
            report.flag_changes = self._compare_flags(state)
        new_uids = self._search_new(state)
        # A sync cut off in this folder left `server_messages` unset: what it stored may have
        # been expunged since, and no count tells, so resuming compares the UIDs.
        resuming = state.server_messages is None and state.last_uid > 0
        if resuming or (
            state.initial_done and exists != (state.server_messages or 0) + len(new_uids)
        ):
            report.removed = self._remove_vanished(state)
        if state.server_messages is None and new_uids:
            # Resuming after a message the server left out: those after it are stored.
            stored = self.store.stored_uids(self.account.name, folder.name)
            new_uids = [uid for uid in new_uids if uid not in stored]
        done = replace(
            state,
            special_use=folder.special_use,
            last_uid=max(state.last_uid, uidnext - 1, *new_uids[-1:]),
            highest_modseq=modseq_now,
            server_messages=exists,
            initial_done=True,
            last_synced=int(self.now.timestamp()),
        )
        in_sent = folder.special_use == "\\Sent"
        batch_modseq = state.highest_modseq if state.highest_modseq is not None else modseq_now
        batches = [new_uids[i : i + FETCH_BATCH] for i in range(0, len(new_uids), FETCH_BATCH)]
        left_out: list[int] = []
        for number, batch in enumerate(batches, start=1):
            facts, missing = self._fetch_facts(batch, uidvalidity, in_sent, report)
            if missing:
                left_out.extend(self._still_there(missing))
            # Each batch is stored with the folder's position, so a cut sync resumes after
            # it; the last batch also records that the folder is done (one commit, not two).
            # The position never passes a message the server still has but did not send.
            if left_out:
                state = replace(
                    state,
                    last_uid=max(state.last_uid, left_out[0] - 1),
                    highest_modseq=batch_modseq,
                    server_messages=None,  # not done: the next sync resumes and fetches it
                )
            elif number == len(batches):
                state = done
            else:
                state = replace(
                    state,
                    last_uid=max(state.last_uid, batch[-1]),
                    highest_modseq=batch_modseq,
                    server_messages=None,  # not done: the next sync knows it resumes
                )
            with self.store.transaction():
                self.store.put_messages(self.account.name, folder.name, facts)
                self.store.save_folder_state(state)
            report.new += len(facts)
            if self.progress is not None:
                self.progress.advance(len(batch))
        if not batches:
            with self.store.transaction():
                self.store.save_folder_state(done)
        if left_out:
            logger.warning(
                "%s: the server left %d message(s) of folder %r out of its FETCH reply "
                "(UID %s); they will be fetched on the next sync",
                self.account.name,
                len(left_out),
                folder.name,
                compact_uid_set(left_out[:20]),
            )
        log_folder_report(self.account.name, report, quiet=self.progress_shown)
        return report

    def _examine(self, name: str) -> dict[bytes, Any]:
        try:
            selected: dict[bytes, Any] = self.client.select_folder(name, readonly=True)
        except ValueError as exc:  # imapclient reads EXISTS, UIDVALIDITY, ... as numbers
            raise ValueError(
                f"the EXAMINE reply for {name!r} has a value that is not a number ({exc})"
            ) from exc
        return selected

    def _search_new(self, state: FolderState) -> list[int]:
        criteria: list[str] = ["UID", f"{state.last_uid + 1}:*"]
        if not state.initial_done and self.lookback_days > 0:
            since = (self.now - timedelta(days=self.lookback_days)).date()
            criteria = ["SINCE", since.strftime("%d-%b-%Y"), *criteria]
        # `N:*` always matches the highest UID, even when it is below N: filter it out.
        return sorted(uid for uid in self.client.search(criteria) if uid > state.last_uid)

    def _fetch(self, uid_set: str, items: str, modifiers: str = "") -> list[FetchedMessage]:
        data = uid_fetch(self.client._imap, uid_set, items, modifiers)
        return parse_fetch_response(data)

    def _still_there(self, uids: Sequence[int]) -> list[int]:
        """Which of `uids`, left out of a FETCH reply, the server still has (not expunged)."""
        found = self.client.search(["UID", compact_uid_set(uids)])
        return sorted(set(found) & set(uids))

    def _fetch_facts(
        self, uids: Sequence[int], uidvalidity: int, in_sent: bool, report: FolderReport
    ) -> tuple[list[MessageFacts], list[int]]:
        """The facts of `uids`, and those of `uids` the server sent nothing about."""
        wanted = set(uids)
        answered: set[int] = set()
        by_uid: dict[int, MessageFacts] = {}
        outlines: dict[int, BodyOutline] = {}
        items = self.sent_fetch_items if in_sent else self.fetch_items
        for message in self._fetch(compact_uid_set(uids), items):
            uid = message.get("UID")
            if not isinstance(uid, int) or uid not in wanted:
                continue  # an unsolicited FETCH about another message
            answered.add(uid)
            header_block = message.get("BODY[HEADER.FIELDS]")
            if isinstance(header_block, bytes) and is_watcher_mail(header_block):
                continue  # our own digest in the inbox
            try:
                facts, outline = self._facts_of(message, uid, uidvalidity, in_sent)
            except Exception as exc:
                logger.warning(
                    "%s: UID %d could not be read (%s); kept with a reason",
                    self.account.name,
                    uid,
                    type(exc).__name__,
                )
                facts = MessageFacts(
                    key=f"{uidvalidity}:{uid}",
                    uid=uid,
                    parse_problems=(f"unreadable: {type(exc).__name__}: {str(exc)[:200]}",),
                )
                outline = None
            if facts.parse_problems:
                report.problems += 1
            by_uid[uid] = facts
            if outline is not None:
                outlines[uid] = outline
        self._add_bodies(by_uid, outlines)
        missing = [uid for uid in uids if uid not in answered]
        return [by_uid[uid] for uid in uids if uid in by_uid], missing

    def _facts_of(
        self, message: FetchedMessage, uid: int, uidvalidity: int, in_sent: bool
    ) -> tuple[MessageFacts, BodyOutline | None]:
        outline = None
        structure = message.get("BODYSTRUCTURE")
        if structure is not None:
            outline = describe_bodystructure(structure)
        header_block = message.get("BODY[HEADER.FIELDS]")
        flags = message.get("FLAGS", ())
        internal_date = message.get("INTERNALDATE")
        size = message.get("RFC822.SIZE")
        modseq = message.get("MODSEQ")
        thrid = message.get("X-GM-THRID")
        facts = facts_from_headers(
            header_block if isinstance(header_block, bytes) else b"",
            key=f"{uidvalidity}:{uid}",
            identity=self.identity,
            in_sent_folder=in_sent,
            uid=uid,
            flags=flags if isinstance(flags, tuple) else (),
            internal_date=internal_date if isinstance(internal_date, int) else None,
            size=size if isinstance(size, int) else None,
            modseq=modseq if isinstance(modseq, int) else None,
            gm_thread_id=thrid if isinstance(thrid, int) else None,
            content_type=outline.content_type if outline else None,
            report_type=outline.report_type if outline else "",
            attachments=outline.attachments if outline else (),
        )
        first_part = message.get("BODY[1]")
        text_part = outline.text_part if outline else None
        if isinstance(first_part, bytes) and text_part is not None and text_part.section == "1":
            text = decode_text_part(
                first_part,
                encoding=text_part.encoding,
                charset=text_part.charset,
                subtype=text_part.subtype,
            )
            facts = replace(facts, body_text=text)
        if "ERROR" in message:
            facts = replace(facts, parse_problems=(*facts.parse_problems, str(message["ERROR"])))
        return facts, outline

    def _add_bodies(
        self, by_uid: dict[int, MessageFacts], outlines: dict[int, BodyOutline]
    ) -> None:
        """Fetch the text part of my messages, and the reported headers of bounces."""
        text_sections: dict[str, list[int]] = {}
        report_sections: dict[str, list[int]] = {}
        for uid, facts in by_uid.items():
            outline = outlines.get(uid)
            if outline is None or not wants_body_text(facts):
                continue
            if outline.text_part is not None and not facts.body_text:
                text_sections.setdefault(outline.text_part.section, []).append(uid)
            if outline.rfc822_headers_section:
                report_sections.setdefault(outline.rfc822_headers_fetch, []).append(uid)
        for section, uids in text_sections.items():
            for uid, data in self._fetch_section(uids, section):
                part = outlines[uid].text_part
                assert part is not None
                text = decode_text_part(
                    data, encoding=part.encoding, charset=part.charset, subtype=part.subtype
                )
                by_uid[uid] = replace(by_uid[uid], body_text=text)
        for section, uids in report_sections.items():
            for uid, data in self._fetch_section(uids, section):
                by_uid[uid] = replace(by_uid[uid], reported_message_id=reported_message_id(data))
        for uid, facts in by_uid.items():
            if wants_body_text(facts) and not facts.reported_message_id and facts.body_text:
                # A plain-text bounce quotes the original headers in its text.
                reported = reported_message_id(facts.body_text) if not facts.is_from_me else ""
                if reported:
                    by_uid[uid] = replace(facts, reported_message_id=reported)

    def _fetch_section(self, uids: list[int], section: str) -> Iterator[tuple[int, bytes]]:
        """(uid, first bytes of `section`) for each of `uids` the server still has."""
        wanted = set(uids)
        item = f"(UID BODY.PEEK[{section}]<0.{BODY_FETCH_BYTES}>)"
        for message in self._fetch(compact_uid_set(uids), item):
            uid = message.get("UID")
            data = message.get(f"BODY[{section}]")
            if isinstance(uid, int) and uid in wanted and isinstance(data, bytes):
                yield uid, data

    def _compare_flags(self, state: FolderState) -> int:
        """Without CONDSTORE: fetch the flags of every stored message and store the changed."""
        stored = self.store.stored_flags(self.account.name, state.name)
        if not stored:
            return 0
        changed = 0
        for batch in _batches(sorted(stored), FLAG_BATCH):
            fetched = self._fetch(compact_uid_set(batch), "(UID FLAGS)")
            changed += self._store_flag_changes(state, fetched, stored)
        return changed

    def _update_flags(self, state: FolderState, since_modseq: int) -> int:
        """With CONDSTORE: only the messages whose MODSEQ moved since the last sync."""
        stored = self.store.stored_flags(self.account.name, state.name)
        if not stored:
            return 0
        changed = 0
        # By UID range rather than "1:*": a mass change ("mark all as read" on 200,000
        # messages) then arrives in several replies instead of one over the reply limit.
        for batch in _batches(sorted(stored), FLAG_BATCH):
            last = "*" if batch[-1] == max(stored) else str(batch[-1])
            fetched = self._fetch(
                f"{batch[0]}:{last}", "(UID FLAGS)", f"(CHANGEDSINCE {since_modseq})"
            )
            changed += self._store_flag_changes(state, fetched, stored)
        return changed

    def _store_flag_changes(
        self,
        state: FolderState,
        fetched: list[FetchedMessage],
        stored: dict[int, tuple[str, ...]],
    ) -> int:
        changes = []
        for message in fetched:
            uid = message.get("UID")
            flags = message.get("FLAGS")
            if not isinstance(uid, int) or uid not in stored or not isinstance(flags, tuple):
                continue
            if sorted(flags) == sorted(stored[uid]):
                continue
            modseq = message.get("MODSEQ")
            key = f"{state.uidvalidity}:{uid}"
            changes.append((key, flags, modseq if isinstance(modseq, int) else None))
        if changes:
            with self.store.transaction():
                self.store.update_flags(self.account.name, state.name, changes)
        return len(changes)

    def _remove_vanished(self, state: FolderState) -> int:
        stored = self.store.stored_uids(self.account.name, state.name)
        if not stored:
            return 0
        present: set[int] = set()
        for batch in _batches(sorted(stored), SEARCH_BATCH):
            present.update(self.client.search(["UID", f"{batch[0]}:{batch[-1]}"]))
        vanished = stored - present
        if vanished:
            with self.store.transaction():
                self.store.delete_messages(
                    self.account.name,
                    state.name,
                    (f"{state.uidvalidity}:{uid}" for uid in vanished),
                )
        return len(vanished)


def _batches(uids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def _unchanged(state: FolderState, status: FolderStatus) -> bool:
    return (
        state.initial_done
        and state.uidvalidity == status.uidvalidity
        and status.uidnext - 1 <= state.last_uid
        and status.messages == state.server_messages
        and (status.highest_modseq is None or status.highest_modseq == state.highest_modseq)
    )


def sync_imap_account(
    account: Account,
    secret: Secret,
    store: Store,
    *,
    lookback_days: int,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Connect, bring every chosen folder of `account` up to date in `store`, log out."""
    now = now or datetime.now(UTC)
    with connect(account, secret) as client, translate_errors(account, secret):
        return ImapSync(
            client, store, account, lookback_days=lookback_days, now=now, progress=progress
        ).run()
