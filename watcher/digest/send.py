"""Deliver today's digest exactly once, even if the process dies at the worst moment.

The protocol, per recipient and local day:
1. before sending, the digest (with its deterministic Message-ID) and the cadence rungs it
   carries are recorded as *pending*, in one transaction;
2. it is delivered (SMTP, IMAP APPEND into the inbox, both, or piped to this machine's
   sendmail);
3. it is recorded as *sent*.
A run that finds a *pending* digest does not know whether step 2 happened, so it looks in the
inbox for the Message-ID first: found means sent (recorded now, not sent again). Not found:
the mail may still be on its way (SMTP: queued at a relay; IMAP: an APPEND whose client died
after sending it, which the server still completes; sendmail: in the local queue), so for
`IN_FLIGHT` (SMTP and sendmail) or
`APPEND_IN_FLIGHT` (IMAP only) after the latest attempt began it waits (the daemon tries
again on its next cycle); after that it sends again, as a new attempt. A digest that could
not be delivered stays pending and is retried, never silently lost.

With `drafts = true` the suggested follow-ups are saved as drafts just before step 2, each in
the Drafts folder of its own account (`save_drafts`), so that the digest can say which ones
wait there; an account that cannot take one never holds the digest back.

One process at a time: every process (`watcher run`, a hand-run `watcher digest --send`)
holds an exclusive lock on `digest.lock` next to the store for the whole protocol, and claims
the day in the transaction that reads it. A process that finds the lock held sends nothing
and says so (`BUSY`). So a *pending* record seen under the lock was left by a process that
is gone, never by one still sending. The lock is `flock`: the kernel drops it when its
holder dies, so a crash never leaves the day locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from watcher.config.digest import DigestSettings, sendmail_argv
from watcher.config.settings import Account, Settings
from watcher.credentials import Secret, secret_of
from watcher.digest.deliver import (
    append_to_folder,
    build_draft,
    is_plain_address,
    message_in_folder,
    save_draft,
    send_sendmail,
    send_smtp,
)
from watcher.digest.model import Digest, DigestItem
from watcher.digest.render import build_message
from watcher.digest.select import Selection
from watcher.errors import AccountError, DeliveryError, StoreError
from watcher.store.store import DigestRecord, Store

logger = logging.getLogger(__name__)

IN_FLIGHT = 10 * 60  # seconds an SMTP digest may take to reach the inbox
# Seconds an APPEND begun by a process that then died may take to show in the mailbox: the
# server finishes one whose bytes all arrived at once, so this covers the password command,
# connecting and the upload of that attempt, not the server.
APPEND_IN_FLIGHT = 2 * 60
LOCK_NAME = "digest.lock"

SENT = "sent"
ALREADY_SENT = "already sent"
FOUND = "found in the inbox"
WAITING = "in flight"
NOTHING = "nothing due"
BUSY = "being sent by another process"


@dataclass(frozen=True, slots=True)
class SendOutcome:
    state: str
    message: str


def send_digest(
    selection: Selection, settings: Settings, store: Store, *, now_epoch: float | None = None
) -> SendOutcome:
    """Deliver `selection` once for its day; see the module docstring for the protocol."""
    if not settings.digest.delivery:
        raise DeliveryError(
            'no digest delivery is configured; set [digest] delivery = "smtp" (with a '
            '[digest.smtp] table), "imap" (append to your inbox) or "sendmail" in the config'
        )
    with _exclusive(store.path.parent / LOCK_NAME) as held:
        if not held:
            return _busy(selection)
        now_epoch = time.time() if now_epoch is None else now_epoch
        return _send_once(selection, settings, store, now_epoch)


def _busy(selection: Selection) -> SendOutcome:
    day = selection.digest.day
    return SendOutcome(BUSY, f"the digest for {day} is being sent by another process; not sent")


def _send_once(
    selection: Selection, settings: Settings, store: Store, now_epoch: float
) -> SendOutcome:
    options = settings.digest
    digest = selection.digest
    record = store.digest_state(digest.day, digest.recipient)
    if record is not None and record.state == SENT:
        return SendOutcome(ALREADY_SENT, f"the digest for {digest.day} was sent already")
    if record is None and digest.empty and not options.send_when_empty:
        return SendOutcome(NOTHING, "nothing is due today; no digest (send_when_empty = false)")
    account = _imap_account(settings)
    secret = secret_of(account) if account is not None else None
    if record is None:
        if store.claim_digest(digest.day, digest.recipient, digest.message_id, selection.entries):
            return _busy(selection)  # claimed by a process that took no lock (an older one)
    else:  # pending or failed, and nobody else is sending: an earlier run may have delivered it
        settled = _settle_earlier_attempt(record, settings, store, account, secret, now_epoch)
        if settled is not None:
            return settled
        logger.warning("the digest for %s was not delivered before; sending it now", digest.day)
        with store.transaction():
            store.record_digest_attempt(digest.day, digest.recipient)
    if options.drafts:
        # Saved before the digest is built, so that each card can say its draft is waiting.
        digest = _with_drafts(digest, save_drafts(selection, settings, store))
    with store.transaction():  # before it can arrive: a reply to it may name its cards
        store.commands.record_cards(digest.message_id, [i.thread_id for i in digest.items])
    message = build_message(digest, sender=options.sender)
    try:
        smtp_failed = None
        if options.delivery in ("smtp", "both"):
            try:
                _send_by_smtp(message, options)
            except DeliveryError as exc:
                if options.delivery != "both":
                    raise
                smtp_failed = exc
                # The other path carries the news: the copy put in the inbox says why the
                # mail did not come by SMTP, so a changed password is not found weeks later.
                notice = f"This digest could not be sent by SMTP ({exc}); it was put in your inbox."
                digest = replace(digest, account_problems=(notice, *digest.account_problems))
                message = build_message(digest, sender=options.sender)
        if options.delivery == "sendmail":
            send_sendmail(message, sendmail_argv(options))
        if options.delivery in ("imap", "both"):
            if account is None or secret is None:
                raise smtp_failed or DeliveryError(
                    'delivery = "imap" needs an IMAP account; set [digest] account to one'
                )
            try:
                append_to_folder(message, account, secret)
            except DeliveryError:
                if smtp_failed is not None or options.delivery != "both":
                    raise
                # Delivered by SMTP already: the inbox copy was the second path, not the digest.
                logger.error("the digest went by SMTP but could not be put in the inbox too")
        if smtp_failed is not None:
            logger.error(
                "the digest could not be sent by SMTP (%s); it is in your inbox", smtp_failed
            )
    except DeliveryError:
        with store.transaction():
            store.record_digest_failed(digest.day, digest.recipient)
        raise
    with store.transaction():
        store.record_digest_sent(digest.day, digest.recipient)
        store.commands.mark_reported(selection.reported)
    count = len(digest.items)
    logger.info("digest for %s sent to %s: %d threads", digest.day, digest.recipient, count)
    return SendOutcome(SENT, f"digest sent to {digest.recipient}: {count} threads")


def _send_by_smtp(message: EmailMessage, options: DigestSettings) -> None:
    server = options.smtp
    if server is None:  # the loader refuses it; settings built in code may not
        raise DeliveryError('delivery = "smtp" needs an SMTP server; add [digest.smtp]')
    # A relay on this machine (security = "none") takes no login: no password is looked up.
    send_smtp(message, server, None if server.security == "none" else secret_of(server))


def _settle_earlier_attempt(
    record: DigestRecord,
    settings: Settings,
    store: Store,
    account: Account | None,
    secret: Secret | None,
    now_epoch: float,
) -> SendOutcome | None:
    """FOUND when the earlier attempt's digest is in the inbox, WAITING while it may still
    arrive; None: send it again."""
    if account is not None and secret is not None:
        if message_in_folder(account, secret, record.message_id):
            with store.transaction():
                store.record_digest_sent(record.day, record.recipient)
            return SendOutcome(FOUND, f"the digest for {record.day} had arrived; recorded")
    else:
        return None  # nowhere to look: the digest is sent again
    window = APPEND_IN_FLIGHT if settings.digest.delivery == "imap" else IN_FLIGHT
    if record.state == "pending" and now_epoch - record.created_at < window:
        return SendOutcome(WAITING, "an earlier digest may still be on its way; will check")
    return None


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[bool]:
    """Hold an exclusive `flock` on `path` (created owner-only) if no one else does: yields
    whether it is held. The file stays: removing a lock file races with its next user."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(
            f"cannot create the lock file {path}: {exc.strerror}; make its directory writable"
        ) from exc
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True  # closing the descriptor below releases the lock
    finally:
        os.close(descriptor)


def _imap_account(settings: Settings) -> Account | None:
    account = settings.account(settings.digest.account)
    return None if account.is_maildir else account


def draft_message_id(item: DigestItem) -> str:
    """One per message, clock and rung: the same in every run, so a draft is saved once."""
    # The message's key tells apart the messages of a mail merge that share a Message-ID;
    # for every other message it is the Message-ID, so earlier drafts keep their ids.
    message = item.message_key or item.message_id
    tag = hashlib.blake2b(
        f"{message}|{item.since}|{item.reminder_number}".encode(), digest_size=8
    ).hexdigest()
    return f"<draft-{tag}@followup-watcher.invalid>"


def save_drafts(selection: Selection, settings: Settings, store: Store) -> frozenset[str]:
    """With `drafts = true`: each suggested follow-up as a draft reply to my message, From the
    address I sent it from, in the Drafts folder of the account it was read from.

    Returns the ids (`draft_message_id`) of the drafts in place: saved now or by an earlier
    run. Never sent; saved once per thread and rung (the store remembers, and the Drafts
    folder is checked for the draft's Message-ID too). An account that cannot take a draft
    (Maildir, no password, server down, no Drafts folder) is logged and skipped: the other
    accounts' drafts and the digest go on.
    """
    by_account: dict[str, list[DigestItem]] = {}
    for item in selection.digest.items:
        if not item.alarm and item.message_id:
            by_account.setdefault(item.account, []).append(item)
    present: set[str] = set()
    saved = 0
    for name, items in by_account.items():
        done, count = _save_account_drafts(name, items, selection.digest, settings, store)
        present |= done
        saved += count
    if saved:
        logger.info("saved %d suggested follow-ups as drafts", saved)
    return frozenset(present)


def _save_account_drafts(
    name: str, items: list[DigestItem], digest: Digest, settings: Settings, store: Store
) -> tuple[set[str], int]:
    """The drafts of one account's threads: (ids in place, how many saved now)."""
    wanted = {draft_message_id(item): item for item in items}
    present = {draft_id for draft_id in wanted if store.draft_saved(draft_id)}
    missing = [(draft_id, item) for draft_id, item in wanted.items() if draft_id not in present]
    account = _drafts_account(settings, name) if missing else None
    if account is None:
        return present, 0
    saved = 0
    try:
        secret = secret_of(account)
        for draft_id, item in missing:
            draft = _draft_of(item, draft_id, settings, digest)
            if draft is None:
                continue
            if save_draft(draft, account, secret):
                saved += 1
            with store.transaction():
                store.record_draft(draft_id)
            present.add(draft_id)
    except (AccountError, DeliveryError) as exc:
        # One line, no secret (both errors are scrubbed where they are made).
        logger.warning("account %s: follow-up drafts not saved: %s", name, exc)
    return present, saved


def _drafts_account(settings: Settings, name: str) -> Account | None:
    """The account whose Drafts folder takes its threads' drafts; None (logged) when none."""
    account = next((a for a in settings.accounts if a.name == name), None)
    if account is None:  # read before the account left the config
        logger.info("account %s is no longer in the config: no drafts saved for it", name)
    elif account.is_maildir:
        logger.info("account %s is a Maildir: drafts are saved to IMAP accounts only", name)
        return None
    return account


def _draft_of(
    item: DigestItem, draft_id: str, settings: Settings, digest: Digest
) -> EmailMessage | None:
    """The draft reply to `item`'s message, or None (logged) when it cannot be addressed."""
    if not is_plain_address(item.contact_address):
        # "a,b@x" or "x:;@y" from a hostile or broken header: a draft would go to others
        # (or email's header parser would crash on it).
        logger.warning(
            "thread %s: no draft saved for %r, not a plain address",
            item.thread_id,
            item.contact_address,
        )
        return None
    draft = build_draft(
        sender=_draft_sender(item, settings),
        to=item.contact_address,
        subject=item.reply_subject,
        body=item.suggestion,
        in_reply_to=item.message_id,
        references=item.references,
        message_id=draft_id,
        date=digest.generated_at,
    )
    # Not "digest": the sync skips only the digest, so the follow-up sent from this draft
    # (clients keep the header) is read from Sent and counted as a reminder.
    draft["X-Followup-Watcher"] = "draft"
    return draft


def _draft_sender(item: DigestItem, settings: Settings) -> Address | str:
    """The From of my message, with its display name: the reply comes from the same identity.
    Falls back to the digest's From when that address cannot be written into a header."""
    name = "".join(c for c in " ".join(item.sender_name.split()) if c.isprintable())
    if is_plain_address(item.sender_address):
        with contextlib.suppress(ValueError, IndexError):  # email's checks of a local part
            return Address(display_name=name, addr_spec=item.sender_address)
    logger.warning("thread %s: the draft is from [digest] from, not its From", item.thread_id)
    return settings.digest.sender or settings.digest.recipient


def _with_drafts(digest: Digest, present: frozenset[str]) -> Digest:
    """`digest` with `draft_saved` set on the items whose draft is in place."""

    def mark(item: DigestItem) -> DigestItem:
        return replace(item, draft_saved=True) if draft_message_id(item) in present else item

    groups = tuple(replace(g, items=tuple(map(mark, g.items))) for g in digest.groups)
    return replace(digest, groups=groups)
