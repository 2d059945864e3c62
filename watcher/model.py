"""Plain frozen records that cross the stages: `MessageFacts` (everything downstream needs to
know about one message, without the server), `StoredMessage`, the classifier's
`Classification` and a thread's `Override`. Imports nothing from watcher."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

# One address as it appeared in a header: (display name, lower-cased address).
Address = tuple[str, str]

# Who sends delivery reports: the RFC 5321 names, and the administrator mailboxes and names
# Exchange and Notes use ("exchange.administrator@corp", "System Administrator",
# "MicrosoftExchange329e71ec...@corp", "Microsoft Outlook"). Only together with a delivery
# failure subject do these make a message a bounce.
_DELIVERY_LOCAL_PART = re.compile(
    r"(?:mailer-daemon|mail-daemon|postmaster|microsoftexchange[0-9a-f]*|"
    r"(?:[a-z]+[._-])?administrator)$"
)
_DELIVERY_NAME = re.compile(
    r"(?:(?:exchange\s+)?system\s+administrator|mail\s+delivery\s+(?:sub)?system|"
    r"microsoft\s+outlook|mailer-daemon|postmaster)",
    re.IGNORECASE,
)


def from_delivery_system(senders: Iterable[Address]) -> bool:
    """Whether a From names a mail system (postmaster, Exchange's administrator), not a person."""
    for name, address in senders:
        local = address.partition("@")[0].lower()
        if _DELIVERY_LOCAL_PART.fullmatch(local) or _DELIVERY_NAME.fullmatch(name.strip()):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Attachment:
    """A named or non-text part of a message, as BODYSTRUCTURE (or the MIME tree) describes it."""

    filename: str
    content_type: str  # lower-case "type/subtype"
    size: int  # encoded size in bytes, as the server reports it


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """The facts of one message in one folder.

    `key` identifies the copy within its folder: for IMAP "<uidvalidity>:<uid>", for a Maildir
    the file's unique name. Dates are POSIX seconds (UTC); `date` is the Date header, which may
    be missing or nonsense, `internal_date` is when the server received the message.
    """

    key: str
    uid: int | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    gm_thread_id: int | None = None
    thread_index: str = ""
    from_: tuple[Address, ...] = ()
    sender: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    date: int | None = None
    internal_date: int | None = None
    subject: str = ""
    flags: tuple[str, ...] = ()
    modseq: int | None = None
    size: int | None = None
    # Auto-reply and report markers, raw as in the headers (lower-cased), "" when absent.
    auto_submitted: str = ""
    x_autoreply: str = ""
    x_autorespond: str = ""
    precedence: str = ""
    list_id: str = ""
    content_type: str = ""  # top-level "type/subtype", lower-case
    report_type: str = ""  # the report-type parameter of a multipart/report
    # For a delivery or disposition report: the Message-ID of the message it reports on.
    reported_message_id: str = ""
    attachments: tuple[Attachment, ...] = ()
    is_from_me: bool = False
    # The first few KB of the text part: only for messages the user sent, and for reports
    # and bounces (whose text names the message that bounced).
    body_text: str = ""
    parse_problems: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as the store holds it: its facts, and where it sits.

    `folder_use` is the folder's special use (`\\Sent`, `\\Junk`, `\\Trash`, `\\All`,
    `\\Archive`, or "" for an ordinary folder), so that downstream code can tell a reply that
    sits in the spam folder without knowing folder names.
    """

    account: str
    folder: str
    folder_use: str
    facts: MessageFacts


# A sent message scoring at least this is a proposal (the classifier's threshold).
TRACK_THRESHOLD = 3.0


@dataclass(frozen=True, slots=True)
class Classification:
    """The verdict on one sent message: what it is, how sure, and why (shown in the digest)."""

    kind: str  # proposal, quote, estimate, offer, contract, agreement; "" when none
    score: float
    reasons: tuple[str, ...]

    @property
    def is_tracked(self) -> bool:
        return self.score >= TRACK_THRESHOLD


@dataclass(frozen=True, slots=True)
class Override:
    """A per-thread setting from the CLI, a keyword or a plus-address."""

    quiet_days: int | None = None
    snooze_until: date | None = None
    muted: bool = False
    done: bool = False
    track: bool | None = None  # True: follow it all the same; False: not a proposal

    @property
    def empty(self) -> bool:
        return self == Override()

    @property
    def timing(self) -> Override:
        """The same without the word on whether to follow it (what the quiet period uses)."""
        return replace(self, track=None)

    def describe(self) -> str:
        parts = []
        if self.quiet_days is not None:
            parts.append(f"quiet {self.quiet_days} days")
        if self.snooze_until is not None:
            parts.append(f"snoozed until {self.snooze_until.isoformat()}")
        if self.muted:
            parts.append("muted")
        if self.done:
            parts.append("marked done")
        if self.track is not None:
            parts.append("followed all the same" if self.track else "not a proposal")
        return ", ".join(parts)


# What became of one command by mail (`MailCommand.state`).
APPLIED = "applied"
REPLAYED = "replayed"  # the same command was applied before: nothing new
UNREADABLE = "unreadable"  # my own mail, but a line the watcher could not read
IGNORED = "ignored"  # not provably mine: a forged From, a wrong code, an unknown digest


@dataclass(frozen=True, slots=True)
class MailCommand:
    """One command found in my mail (a one-tap link's mail, or one line of a reply to a digest)
    and what became of it. Kept in the store by Message-ID and line, so each is applied once
    and a rebuilt store can say why one was not."""

    message_id: str
    line: int  # 0: the subject of a one-tap command; 1..: the line of a digest reply
    sent_at: int  # the command mail's date (POSIX)
    state: str  # APPLIED, REPLAYED, UNREADABLE or IGNORED
    thread_id: str = ""
    action: str = ""  # `Action.text`: "snooze 7d"
    snooze_until: date | None = None
    replay_key: str = ""  # thread | action | digest day
    # Why it was not applied; for UNREADABLE also the line as I wrote it (my own words). An
    # IGNORED command keeps nothing of its content: a stranger wrote it.
    detail: str = ""
    reported: bool = False  # shown in a digest already
