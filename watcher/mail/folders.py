"""Which folders an account has, what each is for (SPECIAL-USE), and which ones to read."""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import fnmatch
import imaplib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from imapclient import IMAPClient, imap_utf7
from imapclient.response_parser import parse_response

from watcher.config.settings import Account

STATUS_ITEMS = ("MESSAGES", "UIDNEXT", "UIDVALIDITY")
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
    items = " ".join((*STATUS_ITEMS, "HIGHESTMODSEQ") if condstore else STATUS_ITEMS)
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
        statuses[name] = status_from_pairs(values)
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


def status_from_pairs(values: Sequence[object]) -> FolderStatus:
    pairs = {_text(values[i]).upper(): values[i + 1] for i in range(0, len(values) - 1, 2)}
    modseq = pairs.get("HIGHESTMODSEQ")
    return FolderStatus(
        uidvalidity=reply_number("UIDVALIDITY", pairs.get("UIDVALIDITY", 0)),
        uidnext=reply_number("UIDNEXT", pairs.get("UIDNEXT", 0)),
        messages=reply_number("MESSAGES", pairs.get("MESSAGES", 0)),
        highest_modseq=reply_number("HIGHESTMODSEQ", modseq) if modseq is not None else None,
    )


_NUMBER = re.compile(r"[0-9]{1,20}")


def reply_number(name: str, value: object) -> int:
    """A number in a server reply; `ValueError` naming the item when it is not one."""
    if isinstance(value, int) and value >= 0:
        return value
    text = _text(value)
    if _NUMBER.fullmatch(text) is None:
        raise ValueError(f"{name} {text[:40]!r} is not a number")
    return int(text)


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


RECENT_SENT = 50  # the newest sent messages looked at to find the user's own addresses


@dataclass(frozen=True, slots=True)
class Discovery:
    """What the mailbox shows about its owner."""

    sent_folder: str | None
    from_addresses: tuple[str, ...]  # most frequent first, lower-case


def discover_mailbox(client: IMAPClient, limit: int = RECENT_SENT) -> Discovery:
    """The Sent folder and the From addresses of its latest `limit` messages (read-only)."""
    sent = next((f for f in list_folders(client) if f.special_use == "\\Sent"), None)
    if sent is None or not sent.selectable:
        return Discovery(None, ())
    exists = int(client.select_folder(sent.name, readonly=True).get(b"EXISTS", 0))  # EXAMINE
    if not exists:
        return Discovery(sent.name, ())
    # Sequence numbers reach the newest messages without a SEARCH over the whole folder.
    client.use_uid = False
    try:
        fetched = client.fetch(
            list(range(max(1, exists - limit + 1), exists + 1)),
            ["BODY.PEEK[HEADER.FIELDS (FROM)]"],
        )
    finally:
        client.use_uid = True
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    counts: Counter[str] = Counter()
    for data in fetched.values():
        for key, value in data.items():
            if isinstance(key, bytes) and key.startswith(b"BODY[") and isinstance(value, bytes):
                headers = [str(h) for h in parser.parsebytes(value).get_all("From", [])]
                counts.update(a.lower() for _n, a in email.utils.getaddresses(headers) if "@" in a)
    return Discovery(sent.name, tuple(a for a, _count in counts.most_common()))
