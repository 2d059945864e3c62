"""Read a local Maildir into the store, with the same facts as an IMAP sync.

For the bundled demo mailbox and for users who mirror their mail with mbsync or offlineimap.
Both layouts are understood: Maildir++ (`.Sent`, `.Clients.Acme` below the root, which is the
inbox) and nested folders (`Sent/`, `Clients/Acme/`, each with cur/new/tmp). Files are only
ever read: flags come from the file names (`:2,RS`), and nothing is renamed or moved.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from watcher.config.settings import Account
from watcher.errors import AccountError
from watcher.identity import Identity
from watcher.mail.headers import parse_date, split_header_block
from watcher.mail.parse import facts_from_raw, header_end, is_watcher_mail
from watcher.mail.report import FolderReport, Progress, SyncReport, log_folder_report
from watcher.model import MessageFacts
from watcher.store.store import FolderState, Store

logger = logging.getLogger(__name__)

_FLAG_LETTERS = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "P": "$Forwarded",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
_SENT_NAMES = {"sent", "sent items", "sent messages", "sent mail"}
_DRAFT_NAMES = {"drafts", "draft"}
_JUNK_NAMES = {"junk", "spam"}
BATCH = 500


@dataclass(frozen=True, slots=True)
class MaildirFolder:
    name: str  # IMAP-style name with "/" as separator; the root is INBOX
    path: Path

    @property
    def special_use(self) -> str:
        leaf = self.name.rsplit("/", 1)[-1].lower()
        if leaf in _SENT_NAMES:
            return "\\Sent"
        if leaf in _DRAFT_NAMES:
            return "\\Drafts"
        if leaf in _JUNK_NAMES:
            return "\\Junk"
        return ""


def find_folders(root: Path) -> list[MaildirFolder]:
    """Every folder below `root` (a Maildir has cur/ and new/)."""
    if not root.is_dir():
        return []
    folders: list[MaildirFolder] = []
    if _is_maildir(root):
        folders.append(MaildirFolder("INBOX", root))
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name in ("cur", "new", "tmp"):
            continue
        if child.name.startswith("."):
            if _is_maildir(child):  # Maildir++: ".Clients.Acme" is Clients/Acme
                folders.append(MaildirFolder(child.name[1:].replace(".", "/"), child))
            continue
        folders.extend(_nested(child, child.name))
    return folders


def _nested(path: Path, name: str) -> Iterator[MaildirFolder]:
    if _is_maildir(path):
        yield MaildirFolder(name, path)
    for child in sorted(path.iterdir()):
        if (
            child.is_dir()
            and child.name not in ("cur", "new", "tmp")
            and not child.name.startswith(".")
        ):
            yield from _nested(child, f"{name}/{child.name}")


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _message_files(folder: MaildirFolder) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Unique name -> (file, flags) for every message file in cur/ and new/."""
    found: dict[str, tuple[Path, tuple[str, ...]]] = {}
    for sub in ("new", "cur"):
        directory = folder.path / sub
        try:
            names = [entry.name for entry in directory.iterdir()]
        except OSError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            unique, _, info = name.partition(":")
            flags: tuple[str, ...] = ()
            if info.startswith("2,"):
                flags = tuple(_FLAG_LETTERS[c] for c in info[2:] if c in _FLAG_LETTERS)
            found[unique] = (directory / name, flags)
    return found


def sync_maildir_account(
    account: Account,
    store: Store,
    *,
    lookback_days: int,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Bring the store up to date with a Maildir: new files, changed flags, removed files."""
    assert account.maildir is not None
    now = now or datetime.now(UTC)
    root = account.maildir
    if not root.is_dir():
        raise AccountError(
            account.name, f"maildir {root} does not exist; check maildir in the config"
        )
    started = time.monotonic()
    identity = Identity(account.own_addresses)
    report = SyncReport(account.name)
    folders = [f for f in find_folders(root) if f.special_use != "\\Drafts"]
    states = store.folder_states(account.name)
    for gone in set(states) - {f.name for f in folders}:
        with store.transaction():
            store.forget_folder(account.name, gone)
    cutoff = now.timestamp() - lookback_days * 86400 if lookback_days > 0 else None
    plans = []
    for folder in folders:
        files = _message_files(folder)
        stored = store.stored_keys(account.name, folder.name) if folder.name in states else set()
        plans.append((folder, files, stored))
    progress_shown = False
    if progress is not None:
        total = sum(len(set(files) - stored) for _, files, stored in plans)
        if total:
            progress.start(total)
            progress_shown = True
    for folder, files, stored in plans:
        report.folders_checked += 1
        folder_report = FolderReport(folder.name)
        new_keys = sorted(set(files) - stored)
        for start in range(0, len(new_keys), BATCH):
            batch: list[MessageFacts] = []
            for key in new_keys[start : start + BATCH]:
                facts = _read_one(account, identity, folder, key, *files[key], cutoff=cutoff)
                if facts is None:
                    continue
                folder_report.problems += bool(facts.parse_problems)
                batch.append(facts)
            with store.transaction():
                store.put_messages(account.name, folder.name, batch)
            folder_report.new += len(batch)
            if progress is not None:
                progress.advance(len(new_keys[start : start + BATCH]))
        vanished = stored - set(files)
        changed_flags = _changed_flags(store, account.name, folder.name, files, stored)
        with store.transaction():
            if vanished:
                store.delete_messages(account.name, folder.name, vanished)
            if changed_flags:
                store.update_flags(account.name, folder.name, changed_flags)
            store.save_folder_state(
                FolderState(
                    account.name,
                    folder.name,
                    folder.special_use,
                    initial_done=True,
                    server_messages=len(files),
                    last_synced=int(now.timestamp()),
                )
            )
        folder_report.removed = len(vanished)
        folder_report.flag_changes = len(changed_flags)
        log_folder_report(account.name, folder_report, quiet=progress_shown)
        if folder_report.new or folder_report.removed or folder_report.flag_changes:
            report.folders.append(folder_report)
    report.seconds = time.monotonic() - started
    return report


def _read_one(
    account: Account,
    identity: Identity,
    folder: MaildirFolder,
    key: str,
    path: Path,
    flags: tuple[str, ...],
    *,
    cutoff: float | None,
) -> MessageFacts | None:
    """The facts of one file; None when it vanished or is older than the look-back window."""
    try:
        raw = path.read_bytes()
        received = _delivery_time(key) or int(path.stat().st_mtime)
    except FileNotFoundError:
        return None  # moved by the mail client while we looked: the next sync sees it
    except OSError as exc:
        logger.warning("%s: cannot read %s: %s", account.name, path, exc.strerror)
        return MessageFacts(
            key=key, flags=flags, parse_problems=(f"unreadable file: {exc.strerror}",)
        )
    if is_watcher_mail(raw[: header_end(raw)]):
        return None  # our own digest or draft
    if cutoff is not None:
        # The Date header is cheap to read; the full MIME parse is not.
        when = parse_date(split_header_block(raw[: header_end(raw)]).get("date", "")) or received
        if when < cutoff:
            return None
    return facts_from_raw(
        raw,
        key=key,
        identity=identity,
        in_sent_folder=folder.special_use == "\\Sent",
        flags=flags,
        internal_date=received,
    )


def _delivery_time(unique_name: str) -> int | None:
    """The delivery time Maildir names start with (`1794388357.M12P1.host`).

    Better than the file's mtime, which copies and git checkouts reset.
    """
    head = unique_name.split(".", 1)[0]
    return int(head) if head.isdigit() and len(head) <= 11 else None


def _changed_flags(
    store: Store,
    account: str,
    folder: str,
    files: dict[str, tuple[Path, tuple[str, ...]]],
    stored: set[str],
) -> list[tuple[str, tuple[str, ...], int | None]]:
    if not stored:
        return []
    current = {f.key: f.flags for f in store.messages(account, folder)}
    return [
        (key, flags, None)
        for key, (_path, flags) in files.items()
        if key in current and tuple(sorted(current[key])) != tuple(sorted(flags))
    ]
