"""Read an IMAP account into the store: incrementally, in batches, and strictly read-only.

Only read-only commands are ever sent: CAPABILITY, LOGIN, LIST, STATUS, EXAMINE, UID SEARCH,
UID FETCH of `BODY.PEEK[...]` sections, LOGOUT (and STARTTLS). Folders are opened with
EXAMINE, so even a server that ignored PEEK could not set `\\Seen`.

Per folder the store keeps UIDVALIDITY, the last UID seen, HIGHESTMODSEQ and the message
count. A poll first asks every folder's status (one LIST-STATUS command where the server has
it, else one STATUS per folder) and opens only the folders that changed. Bulk FETCH responses
go through our own parser (`imapwire`), because imapclient's general one costs about seven
times the transfer itself; imapclient still does everything else. imapclient, imaplib, socket
and ssl exceptions are translated into `ImapError`/`AuthenticationError` here and nowhere else.
"""

from __future__ import annotations

import fnmatch
import imaplib
import logging
import socket
import ssl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from imapclient import IMAPClient, imap_utf7
from imapclient.exceptions import LoginError
from imapclient.response_parser import parse_response

from watcher.config import Account
from watcher.credentials import Secret
from watcher.errors import AuthenticationError, ImapError
from watcher.identity import Identity
from watcher.mail import imapwire
from watcher.mail.bulkfetch import uid_fetch
from watcher.mail.facts import MessageFacts
from watcher.mail.headers import HEADER_FIELDS
from watcher.mail.parse import (
    BODY_FETCH_BYTES,
    decode_text_part,
    facts_from_headers,
    is_watcher_mail,
    reported_message_id,
    wants_body_text,
)
from watcher.mail.report import FolderReport, Progress, SyncReport, log_folder_report
from watcher.store import FolderState, Store

logger = logging.getLogger(__name__)

FETCH_BATCH = 500  # UIDs per FETCH: big enough to stream, small enough to keep memory flat
_STATUS_ITEMS = ("MESSAGES", "UIDNEXT", "UIDVALIDITY")
_NAME_GUESSES = {
    "\\Sent": ("sent", "sent items", "sent messages", "sent mail", "gesendet", "envoyés"),
    "\\Drafts": ("drafts", "draft", "entwürfe", "brouillons"),
    "\\Junk": ("junk", "spam", "junk e-mail", "junk email", "bulk mail"),
    "\\Trash": ("trash", "deleted items", "deleted messages", "papierkorb", "corbeille"),
}
_SPECIAL_USES = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")


@dataclass(frozen=True, slots=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int
    messages: int
    highest_modseq: int | None = None


@dataclass(frozen=True, slots=True)
class RemoteFolder:
    name: str
    flags: tuple[str, ...]
    special_use: str = ""
    status: FolderStatus | None = None

    @property
    def selectable(self) -> bool:
        lowered = {f.lower() for f in self.flags}
        return not lowered & {"\\noselect", "\\nonexistent"}


# -- connecting -----------------------------------------------------------------------------


@contextmanager
def translate_errors(account: Account) -> Iterator[None]:
    """Turn imapclient/imaplib/socket/ssl failures into one-line `ImapError`s with the fix."""
    where = f"{account.host}:{account.port}"
    try:
        yield
    except LoginError as exc:
        raise AuthenticationError(
            account.name,
            f"the server {account.host} refused the login for {account.username!r} "
            f"({_server_text(exc)}); check the username and the password",
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise ImapError(
            account.name,
            f"the TLS certificate of {where} could not be verified ({exc.verify_message}); "
            "if the server uses a self-signed certificate, set ca_file to its certificate",
        ) from None
    except ssl.SSLError as exc:
        raise ImapError(
            account.name,
            f"TLS with {where} failed ({exc.reason or exc}); check that security "
            f'= "{account.security}" matches port {account.port}',
        ) from None
    except socket.gaierror as exc:
        raise ImapError(
            account.name, f"cannot find the host {account.host!r} ({exc.strerror}); check host"
        ) from None
    except ConnectionRefusedError:
        raise ImapError(
            account.name, f"{where} refused the connection; check host, port and security"
        ) from None
    except TimeoutError:
        raise ImapError(
            account.name,
            f"{where} did not answer within {account.timeout_seconds:g} s; "
            "it will be retried (raise timeout_seconds for a slow server)",
        ) from None
    except imaplib.IMAP4.abort as exc:
        raise ImapError(
            account.name, f"{where} closed the connection ({_server_text(exc)})"
        ) from None
    except imaplib.IMAP4.error as exc:
        raise ImapError(account.name, f"{where} refused a command: {_server_text(exc)}") from None
    except OSError as exc:
        raise ImapError(
            account.name, f"network error with {where}: {exc.strerror or exc}"
        ) from None


def _server_text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text.strip()[:300] or type(exc).__name__


@contextmanager
def connect(account: Account, secret: Secret) -> Iterator[IMAPClient]:
    """A logged-in client; logs out (and never hides the real error) on the way out."""
    with translate_errors(account):
        context = ssl.create_default_context(
            cafile=str(account.ca_file) if account.ca_file else None
        )
        if account.security == "ssl":
            client = IMAPClient(
                account.host,
                port=account.port,
                ssl=True,
                ssl_context=context,
                timeout=account.timeout_seconds,
            )
        else:
            client = IMAPClient(
                account.host, port=account.port, ssl=False, timeout=account.timeout_seconds
            )
    if not logging.getLogger("imapclient").isEnabledFor(logging.DEBUG):
        # imapclient turns imaplib's debug output on, which formats a message for every
        # response line even when nothing logs it: a large cost on a bulk sync.
        client._imap.debug = 0
    try:
        with translate_errors(account):
            if account.security == "starttls":
                client.starttls(context)
            client.login(account.username, secret.value)
        yield client
    finally:
        # The connection may already be gone; the error that got us here is what matters.
        try:
            client.logout()
        except Exception:
            with suppress(Exception):
                client.shutdown()


# -- folders --------------------------------------------------------------------------------


def list_folders(client: IMAPClient) -> list[RemoteFolder]:
    """Every folder with its special use and, where LIST-STATUS exists, its status."""
    capabilities = {c.upper() for c in client.capabilities()}
    condstore = b"CONDSTORE" in capabilities
    if b"LIST-STATUS" in capabilities:
        return _list_with_status(client, condstore)
    folders = []
    for flags, _delimiter, name in client.list_folders():
        flag_texts = tuple(_text(f) for f in flags)
        folders.append(RemoteFolder(str(name), flag_texts, _special_use(str(name), flag_texts)))
    return folders


def _list_with_status(client: IMAPClient, condstore: bool) -> list[RemoteFolder]:
    # RFC 5819: one command for the whole folder list and every folder's status.
    items = " ".join((*_STATUS_ITEMS, "HIGHESTMODSEQ") if condstore else _STATUS_ITEMS)
    imap = client._imap
    typ, data = imap._simple_command(
        "LIST", '""', '"*"', "RETURN", f"(SPECIAL-USE STATUS ({items}))"
    )
    if typ != "OK":
        raise imaplib.IMAP4.error(f"LIST-STATUS failed: {data!r}")
    _typ, list_lines = imap._untagged_response(typ, data, "LIST")
    _typ, status_lines = imap._untagged_response(typ, data, "STATUS")
    statuses: dict[str, FolderStatus] = {}
    for line in status_lines or []:
        if line is None:
            continue
        parsed = parse_response([line] if isinstance(line, bytes) else list(line))
        name, values = _folder_name(parsed[0]), parsed[1]
        statuses[name] = _status_from_pairs(values)
    folders: list[RemoteFolder] = []
    for line in list_lines or []:
        if line is None:
            continue
        parsed = parse_response([line] if isinstance(line, bytes) else list(line))
        flags = tuple(_text(f) for f in parsed[0])
        name = _folder_name(parsed[2])
        folders.append(RemoteFolder(name, flags, _special_use(name, flags), statuses.get(name)))
    return folders


def _folder_name(raw: object) -> str:
    if isinstance(raw, bytes):
        return str(imap_utf7.decode(raw))
    if isinstance(raw, int):
        return str(raw)
    return str(raw)


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _status_from_pairs(values: Sequence[object]) -> FolderStatus:
    pairs = {_text(values[i]).upper(): values[i + 1] for i in range(0, len(values) - 1, 2)}
    modseq = pairs.get("HIGHESTMODSEQ")
    return FolderStatus(
        uidvalidity=int(pairs.get("UIDVALIDITY", 0)),  # type: ignore[call-overload]
        uidnext=int(pairs.get("UIDNEXT", 0)),  # type: ignore[call-overload]
        messages=int(pairs.get("MESSAGES", 0)),  # type: ignore[call-overload]
        highest_modseq=int(modseq) if modseq is not None else None,  # type: ignore[call-overload]
    )


def _special_use(name: str, flags: Sequence[str]) -> str:
    for flag in flags:
        for use in _SPECIAL_USES:
            if flag.lower() == use.lower():
                return use
    leaf = name.replace("INBOX.", "", 1).replace("INBOX/", "", 1).split("/")[-1].lower()
    leaf = leaf.removeprefix("[gmail].")
    for use, names in _NAME_GUESSES.items():
        if leaf in names:
            return use
    return ""


def choose_folders(folders: Sequence[RemoteFolder], account: Account) -> list[RemoteFolder]:
    """The folders to read: all selectable but Drafts, or Gmail's All Mail instead of copies.

    Replies are often filed away (Archive, a client's folder, even Trash), so everything is
    read by default. Where a `\\All` folder exists it already holds every message once, so
    only it, Junk and Trash (which it leaves out) are read.
    """
    selectable = [f for f in folders if f.selectable and f.special_use != "\\Drafts"]
    if any(f.special_use == "\\All" for f in selectable):
        selectable = [f for f in selectable if f.special_use in ("\\All", "\\Junk", "\\Trash")]

    def wanted(folder: RemoteFolder) -> bool:
        included = any(_matches(folder.name, p) for p in account.include_folders)
        excluded = any(_matches(folder.name, p) for p in account.exclude_folders)
        return included and not excluded

    return [f for f in selectable if wanted(f)]


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name.lower(), pattern.lower())


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
            f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADER_FIELDS)})]"
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
        items = [*_STATUS_ITEMS, "HIGHESTMODSEQ"] if self.condstore else list(_STATUS_ITEMS)
        raw = self.client.folder_status(folder.name, items)
        return _status_from_pairs([x for pair in raw.items() for x in pair])

    def sync_folder(
        self, folder: RemoteFolder, state: FolderState | None, status: FolderStatus
    ) -> FolderReport | None:
        """Bring one folder up to date; None when its status shows nothing changed."""
        # Without CONDSTORE a keyword set on a sent message changes nothing STATUS shows, so
        # the Sent folder is always opened to compare its flags.
        poll_flags = not self.condstore and folder.special_use == "\\Sent"
        if state is not None and _unchanged(state, status) and not poll_flags:
            return None
        selected = self.client.select_folder(folder.name, readonly=True)
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
        if state.initial_done and exists != (state.server_messages or 0) + len(new_uids):
            report.removed = self._remove_vanished(state)
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
        for number, batch in enumerate(batches, start=1):
            facts = self._fetch_facts(batch, uidvalidity, in_sent, report)
            # Each batch is stored with the folder's position, so a cut sync resumes after
            # it; the last batch also records that the folder is done (one commit, not two).
            state = (
                done
                if number == len(batches)
                else replace(
                    state, last_uid=max(state.last_uid, batch[-1]), highest_modseq=batch_modseq
                )
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
        log_folder_report(self.account.name, report, quiet=self.progress_shown)
        return report

    def _search_new(self, state: FolderState) -> list[int]:
        criteria: list[str] = ["UID", f"{state.last_uid + 1}:*"]
        if not state.initial_done and self.lookback_days > 0:
            since = (self.now - timedelta(days=self.lookback_days)).date()
            criteria = ["SINCE", since.strftime("%d-%b-%Y"), *criteria]
        # `N:*` always matches the highest UID, even when it is below N: filter it out.
        return sorted(uid for uid in self.client.search(criteria) if uid > state.last_uid)

    def _fetch(
        self, uid_set: str, items: str, modifiers: str = ""
    ) -> list[imapwire.FetchedMessage]:
        data = uid_fetch(self.client._imap, uid_set, items, modifiers)
        return imapwire.parse_fetch_response(data)

    def _fetch_facts(
        self, uids: Sequence[int], uidvalidity: int, in_sent: bool, report: FolderReport
    ) -> list[MessageFacts]:
        wanted = set(uids)
        by_uid: dict[int, MessageFacts] = {}
        outlines: dict[int, imapwire.BodyOutline] = {}
        items = self.sent_fetch_items if in_sent else self.fetch_items
        for message in self._fetch(imapwire.compact_uid_set(uids), items):
            uid = message.get("UID")
            if not isinstance(uid, int) or uid not in wanted:
                continue  # an unsolicited FETCH about another message
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
        # Expunged between SEARCH and FETCH: nothing came back, nothing to store.
        return [by_uid[uid] for uid in uids if uid in by_uid]

    def _facts_of(
        self, message: imapwire.FetchedMessage, uid: int, uidvalidity: int, in_sent: bool
    ) -> tuple[MessageFacts, imapwire.BodyOutline | None]:
        outline = None
        structure = message.get("BODYSTRUCTURE")
        if structure is not None:
            outline = imapwire.describe_bodystructure(structure)
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
        self, by_uid: dict[int, MessageFacts], outlines: dict[int, imapwire.BodyOutline]
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
        for message in self._fetch(imapwire.compact_uid_set(uids), item):
            uid = message.get("UID")
            data = message.get(f"BODY[{section}]")
            if isinstance(uid, int) and uid in wanted and isinstance(data, bytes):
                yield uid, data

    def _compare_flags(self, state: FolderState) -> int:
        """Without CONDSTORE: fetch the flags of every stored message and store the changed."""
        stored = self.store.stored_flags(self.account.name, state.name)
        if not stored:
            return 0
        fetched = self._fetch(imapwire.compact_uid_set(stored), "(UID FLAGS)")
        return self._store_flag_changes(state, fetched, stored)

    def _update_flags(self, state: FolderState, since_modseq: int) -> int:
        """With CONDSTORE: only the messages whose MODSEQ moved since the last sync."""
        stored = self.store.stored_flags(self.account.name, state.name)
        if not stored:
            return 0
        fetched = self._fetch("1:*", "(UID FLAGS)", f"(CHANGEDSINCE {since_modseq})")
        return self._store_flag_changes(state, fetched, stored)

    def _store_flag_changes(
        self,
        state: FolderState,
        fetched: list[imapwire.FetchedMessage],
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
        present = set(self.client.search(["ALL"]))
        vanished = stored - present
        if vanished:
            with self.store.transaction():
                self.store.delete_messages(
                    self.account.name,
                    state.name,
                    (f"{state.uidvalidity}:{uid}" for uid in vanished),
                )
        return len(vanished)


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
    with connect(account, secret) as client, translate_errors(account):
        return ImapSync(
            client, store, account, lookback_days=lookback_days, now=now, progress=progress
        ).run()
