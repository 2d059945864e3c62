"""What a digest says, as plain data: selection fills it, rendering and delivery read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from watcher.digest.commandlinks import CommandLinks, CommandReport

FIRST = "first"  # the quiet period just ended
REMINDER = "reminder"  # back again per remind_every
LAST = "last"  # give_up_after reached: "let it go, or one last check-in?"

BOUNCED = "bounced"
REPLY_IN_SPAM = "reply-in-spam"


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One thread in the digest: who, what was sent, how long ago, why, and what to write."""

    thread_id: str
    message_id: str  # of my sent message
    account: str
    contact_name: str  # display name, may be ""
    contact_address: str
    first_name: str  # for the greeting: "Ana", or "" when unknown
    other_contacts: tuple[str, ...]  # further recipients' addresses
    subject: str
    kind: str  # proposal, quote, estimate, offer, contract, agreement (or "message")
    sent_at: datetime  # aware, in the user's time zone
    quiet_days: int
    reasons: tuple[str, ...]  # why it was flagged (the tracker's reasons)
    attachments: tuple[str, ...]  # file names of what was sent
    excerpt: str  # the first lines of what I wrote (my own text, quotes removed)
    rung: str  # FIRST, REMINDER or LAST
    reminder_number: int  # 0 for FIRST, 1.. for reminders
    suggestion: str  # the suggested follow-up text (plain text, < ~80 words)
    reply_subject: str  # "Re: <subject>", or the subject's own reply prefix (`reply_subject`)
    alarm: str = ""  # "", BOUNCED or REPLY_IN_SPAM
    alarm_detail: str = ""  # "delivery to x@y failed", "reply from Ana is in your spam folder"
    open_link: str = ""  # webmail link to the original thread, "" when none configured
    since: int = 0  # when the thread's clock started (POSIX): with the rung, names a draft
    references: tuple[str, ...] = ()  # of my sent message, to thread a draft under it
    # Distinct per message even where a mail merge or "send again" reused one Message-ID;
    # equal to message_id otherwise.
    message_key: str = ""
    # A contact wrote to me since, in another thread (`TrackedMessage.heard_since`): who
    # (name, else address), when (aware, local) and under what subject; "" / None when not.
    heard_from: str = ""
    heard_at: datetime | None = None
    heard_subject: str = ""
    # The From of my message (the name may be ""): the draft reply goes out from it.
    sender_name: str = ""
    sender_address: str = ""
    # A draft reply is in the Drafts folder of `account`: saved before this digest was built,
    # now or by an earlier run (`send.save_drafts`).
    draft_saved: bool = False
    # The first price in my own text (else the subject), as written: "EUR 9,800"; "" when none.
    price: str = ""
    # The language of my own text in the message ("de"; "" when it cannot be told), and
    # whether the suggestion is in English because the texts do not know that language.
    language: str = ""
    english_fallback: bool = False


@dataclass(frozen=True, slots=True)
class DigestGroup:
    """Threads grouped by how long they have been quiet ("Quiet for a week or more")."""

    title: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """One morning's digest for one recipient."""

    day: date  # the local day it is for
    generated_at: datetime  # aware
    recipient: str
    message_id: str  # deterministic per recipient and day: lets a restart find it
    alarms: tuple[DigestItem, ...] = ()  # bounced proposals, replies in spam: shown first
    groups: tuple[DigestGroup, ...] = ()
    watched: int = 0  # threads being watched in all
    next_digest: datetime | None = None
    account_problems: tuple[str, ...] = field(default=())  # "account work: not read since …"
    # The one-tap actions of each card (None: no action links, `[digest] commands = false`),
    # and what the commands by mail since the last digest did. Cards are numbered by their
    # position in `items`, 1-based: a reply "2 done" names `items[1]`.
    commands: CommandLinks | None = None
    command_report: CommandReport = field(default_factory=CommandReport)
    # No digest was sent before this one: its threads were found on the first scan of the
    # mailbox, and those already past give_up_after are only counted (`older`), not cards.
    first: bool = False
    older: int = 0

    @property
    def items(self) -> tuple[DigestItem, ...]:
        return self.alarms + tuple(item for group in self.groups for item in group.items)

    @property
    def empty(self) -> bool:
        """Nothing to tell: no card, and no older threads to count on a first digest."""
        return not self.items and not self.older

    @property
    def subject(self) -> str:
        """`3 proposals waiting for a reply · Mon 23 Nov` (alarms named first)."""
        waiting = sum(len(g.items) for g in self.groups)
        parts = []
        if self.alarms:
            parts.append(f"{len(self.alarms)} need{'s' if len(self.alarms) == 1 else ''} attention")
        if waiting or not parts:
            noun = "proposal" if waiting == 1 else "proposals"
            verb = "waiting"
            parts.append(f"{waiting or 'No'} {noun} {verb} for a reply")
        return f"{', '.join(parts)} · {self.day:%a} {self.day.day} {self.day:%b}"
