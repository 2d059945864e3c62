"""Hand-written messages for the reply-verdict tests: each keyed by name (Message-ID <key@test>),
dated `day` days after T0, in threads judged with track = "all"."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from watcher.analysis.conversations import Conversation, ThreadMessage, build_conversations
from watcher.analysis.tracker import TrackedMessage, track
from watcher.config.tracking import Tracking
from watcher.identity import Identity
from watcher.model import Address, Attachment, MessageFacts, StoredMessage

DAY = 86_400
T0 = 1_790_000_000  # 2026-09-21, a Monday
ME = "maya@studio.example"
KIM = "kim@studio.example"  # a colleague of mine
ALICE = "alice@client.example"  # a client
CAROL = "carol@client.example"  # her colleague
BOB = "bob@other.example"  # someone else outside
DAVID: Address = ("David Roensch", "david.roensch@corp-b.example")
PDF = (Attachment("Proposal_v2.pdf", "application/pdf", 2000),)


def facts(
    key: str,
    *,
    sender: str = ME,
    to: Iterable[str | Address] = (ALICE,),
    subject: str = "Venue contract for the spring offsite",
    day: float = 0,
    mine: bool | None = None,
    **extra: object,
) -> MessageFacts:
    """One message; its Message-ID is <key@test>, its Date `day` days after T0."""
    return MessageFacts(
        key=key,
        message_id=f"<{key}@test>",
        from_=(("", sender),),
        to=tuple(("", a) if isinstance(a, str) else a for a in to),
        subject=subject,
        date=int(T0 + day * DAY),
        is_from_me=sender == ME if mine is None else mine,
        **extra,  # type: ignore[arg-type]
    )


def copy(message: MessageFacts, folder: str = "") -> StoredMessage:
    """A stored copy: in Sent when it is marked mine, else in INBOX, unless `folder` says."""
    folder = folder or ("Sent" if message.is_from_me else "INBOX")
    return StoredMessage("work", folder, "\\Sent" if folder == "Sent" else "", message)


def threads(*copies: StoredMessage) -> list[list[str]]:
    """The conversations as lists of message keys, oldest first, sorted by first key."""
    return sorted([m.facts.key for m in c.messages] for c in build_conversations(copies))


def in_thread(message: MessageFacts) -> ThreadMessage:
    mine = message.is_from_me
    return ThreadMessage(
        facts=message,
        account="work",
        folders=("Sent" if mine else "INBOX",),
        folder_uses=frozenset({"\\Sent"}) if mine else frozenset(),
        when=message.date,
    )


def conversation(*messages: MessageFacts, thread_id: str = "t0000000001") -> Conversation:
    ordered = sorted(messages, key=lambda m: m.date or 0)
    return Conversation(thread_id=thread_id, messages=tuple(map(in_thread, ordered)))


def verdicts(*conversations: Conversation, day: float = 20) -> list[TrackedMessage]:
    """Every message I sent is followed (track = "all"), judged `day` days after T0."""
    return track(
        conversations,
        identity=Identity([ME]),
        tracking=Tracking(track="all"),
        overrides={},
        now=datetime.fromtimestamp(T0 + day * DAY, UTC),
        zone=ZoneInfo("UTC"),
    )


def verdict_on(key: str, results: list[TrackedMessage]) -> TrackedMessage:
    (found,) = [r for r in results if r.message.facts.key == key]
    return found
