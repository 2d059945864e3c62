"""Is this later message the answer to mine? The tracker's rules about other messages.

Pure functions of conversations and the identity; no I/O. What `tracker.py` asks about the
messages around one of mine:

- who is who: `is_mine`, `recipients`, `colleagues_only`, `plus_tags`;
- my candidates and what was decided about them (`Candidate`, `Followed`), whether a later
  one of mine is a nudge (`nudges_followed`, `heard_counts`, `sends_document`);
- whether their message answers mine: `new_matter` (the message my reply answered, or a new
  one of a series), `answers_another` (an answer to another message of mine in the thread);
- what is seen elsewhere: delivery failures (`BounceIndex`) and a contact's mail since, in
  another conversation (`with_heard_since`, `HeardFrom`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from watcher.analysis.conversations import Conversation, ThreadMessage
from watcher.analysis.rules import Correction
from watcher.analysis.subjects import normalize_subject, split_subject
from watcher.identity import Identity, domain_of, is_public_mail_domain
from watcher.model import Address, Classification, MessageFacts

if TYPE_CHECKING:
    from watcher.analysis.tracker import TrackedMessage

# How long after a message a bounce that does not name it may still be matched by recipient.
_BOUNCE_WINDOW = 3 * 86400
# A quoted subject shorter than this ("", "hi", "re") could be anyone's message.
_BOUNCE_SUBJECT_MIN = 4


@dataclass(frozen=True, slots=True)
class HeardFrom:
    """The latest message a contact sent me after my message, in another conversation."""

    contact: Address
    at: int
    subject: str
    thread_id: str


def is_mine(message: ThreadMessage, identity: Identity) -> bool:
    return message.in_sent or any(
        identity.is_me(address) or identity.is_my_name(name)
        for name, address in message.facts.from_
    )


def recipients(message: ThreadMessage, identity: Identity) -> tuple[Address, ...]:
    facts = message.facts
    seen: set[str] = set()
    found: list[Address] = []
    for name, address in (*facts.to, *facts.cc, *facts.bcc):
        if identity.is_my_name(name):
            continue  # my other address: mail to myself is nobody to wait for
        if address and address not in seen and not identity.is_me(address):
            seen.add(address)
            found.append((name, address))
    return tuple(found)


def colleagues_only(contacts: Sequence[Address], identity: Identity) -> tuple[str, ...]:
    """What makes every one of `contacts` a colleague of mine ("corp.example"), or () when
    someone among them is outside."""
    sources: set[str] = set()
    for _, address in contacts:
        source = identity.colleague_because(address)
        if source is None:
            return ()
        sources.add(source)
    return tuple(sorted(sources))


def plus_tags(message: ThreadMessage, identity: Identity) -> list[str]:
    facts = message.facts
    tags = []
    for _, address in (*facts.to, *facts.cc, *facts.bcc):
        tag = identity.plus_tag(address)
        if tag is not None:
            tags.append(tag)
    return tags


@dataclass(frozen=True, slots=True)
class Candidate:
    """A message of mine that went to someone: the facts every decision about it needs."""

    index: int
    message: ThreadMessage
    contacts: tuple[Address, ...]
    classification: Classification
    colleagues: tuple[str, ...]  # what makes every recipient a colleague; () when one is not
    correction: Correction | None  # the user's word on following it (CLI, keyword, rule)

    @property
    def proposal(self) -> bool:
        """A proposal as far as superseding goes: the classifier's verdict, as corrected."""
        if self.correction is not None:
            return self.correction.track
        return self.classification.is_tracked


# Reasons of `classify_sent` that mean the message carries a document of its own.
_DOCUMENT_REASONS = ("attachment ", "document attachment ", "sends the ")


def sends_document(classification: Classification) -> bool:
    """A document attached or sent ("here is the revised proposal"): new matter, not a nudge."""
    return any(reason.startswith(_DOCUMENT_REASONS) for reason in classification.reasons)


def heard_counts(messages: Sequence[ThreadMessage], mine: Sequence[bool]) -> list[int]:
    """How many messages from someone else (not automatic, not a bounce) come before each
    index: whether they wrote between two of mine is one subtraction, whatever the thread's
    length."""
    counts = [0]
    for message, is_mine in zip(messages, mine, strict=True):
        heard = not is_mine and message.automatic is None and message.bounce is None
        counts.append(counts[-1] + heard)
    return counts


def nudges_followed(
    candidate: Candidate, latest_to: Mapping[str, int], heard: Sequence[int]
) -> bool:
    """Is `candidate` a follow-up on an earlier followed message of mine to one of the same
    contacts (`latest_to`), with no answer from anyone in between (`heard`)?

    It sends no document and the user said nothing about following it: the classifier may
    call it a proposal (it mentions one), but it asks about the one already followed. After
    an answer, what I write answers them (a revised offer, a thank-you): not a nudge.
    """
    if candidate.correction is not None or sends_document(candidate.classification):
        return False
    for _, address in candidate.contacts:
        earlier = latest_to.get(address)
        if earlier is not None and heard[candidate.index] == heard[earlier + 1]:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Followed:
    """What the tracker decided about my messages in one conversation."""

    indexes: frozenset[int]  # followed
    internal: Mapping[int, tuple[str, ...]]  # went only to colleagues
    proposals: frozenset[int]  # proposals (as corrected): a later one supersedes
    contacts: Mapping[int, frozenset[str]]  # each candidate's recipients
    nudges: frozenset[int]  # follow-ups on an earlier followed message (`nudges_followed`)


def new_matter(later: MessageFacts, sent: MessageFacts) -> bool:
    """Their message carries the bare subject my reply answered, and no threading header:
    it is the message I answered (a sender's clock running late) or a new one of the same
    series ("4/12 Checkout", a weekly summary), not an answer to mine."""
    if later.in_reply_to or later.references:
        return False
    later_subject, later_replied = split_subject(later.subject)
    sent_subject, sent_replied = split_subject(sent.subject)
    return sent_replied and not later_replied and later_subject == sent_subject


def answers_another(
    later_index: int,
    sender: str,
    candidate: Candidate,
    mine: Sequence[bool],
    followed: Followed,
    identity: Identity,
) -> bool:
    """Is the sender, who did not get my message, someone I wrote to elsewhere in the
    thread (before the answer)? Then theirs answers that message, not this one; unless
    they work where one of this message's contacts works (answering for them)."""
    if sender in followed.contacts.get(candidate.index, frozenset()):
        return False
    if not any(
        mine[other] and other != candidate.index and sender in followed.contacts.get(other, ())
        for other in range(later_index)
    ):
        return False
    domain = domain_of(sender)
    if identity.is_colleague(sender) or is_public_mail_domain(domain):
        return True
    return all(domain_of(address) != domain for _, address in candidate.contacts)


def with_heard_since(
    results: list[TrackedMessage],
    waiting: list[TrackedMessage],
    conversations: Sequence[Conversation],
    identity: Identity,
) -> list[TrackedMessage]:
    """Each awaiting verdict (`waiting`, those with contacts), with the latest message one
    of its contacts sent me since, in another conversation (`TrackedMessage.heard_since`).
    One pass over the mail, looking only at senders who are contacts of an awaiting message."""
    wanted = {address.lower() for r in waiting for _, address in r.contacts}
    if not wanted:
        return results
    heard: dict[str, list[HeardFrom]] = defaultdict(list)
    for conversation in conversations:
        for message in conversation.messages:
            facts = message.facts
            if not facts.from_ or not message.when or facts.from_[0][1].lower() not in wanted:
                continue
            if is_mine(message, identity) or message.automatic or message.bounce:
                continue
            sender = facts.from_[0]
            heard[sender[1].lower()].append(
                HeardFrom(sender, message.when, facts.subject, conversation.thread_id)
            )
    found: dict[int, HeardFrom] = {}
    for result in waiting:
        latest = max(
            (
                h
                for _, address in result.contacts
                for h in heard.get(address.lower(), ())
                if h.at > result.since and h.thread_id != result.thread_id
            ),
            key=lambda h: (h.at, h.thread_id),
            default=None,
        )
        if latest is not None:
            found[id(result)] = latest
    return [replace(r, heard_since=found[id(r)]) if id(r) in found else r for r in results]


class BounceIndex:
    """Delivery failures by the Message-ID they name, and by the recipient that failed."""

    def __init__(self, conversations: Sequence[Conversation], identity: Identity) -> None:
        # Message-ID -> (conversation, failed recipients) of each failure that names it.
        self.by_message_id: dict[str, list[tuple[str, tuple[str, ...], str]]] = defaultdict(list)
        self.by_recipient: dict[str, list[ThreadMessage]] = defaultdict(list)
        # Failures that name neither a Message-ID nor an address, by the subject they quote.
        self.by_subject: dict[str, list[ThreadMessage]] = defaultdict(list)
        self.shared_ids: set[str] = set()  # carried by several different messages (mail merge)
        for conversation in conversations:
            for message in conversation.messages:
                if message.key != message.facts.message_id and message.facts.message_id:
                    self.shared_ids.add(message.facts.message_id)
                bounce = message.bounce
                if bounce is None or (message.facts.from_ and is_mine(message, identity)):
                    continue
                if bounce.original_message_id:
                    failed = tuple(r.lower() for r in bounce.recipients)
                    named = (conversation.thread_id, failed, bounce.reason)
                    self.by_message_id[bounce.original_message_id].append(named)
                    continue  # it names its message: never pin it on another one
                for recipient in bounce.recipients:
                    self.by_recipient[recipient.lower()].append(message)
                quoted = normalize_subject(bounce.original_subject)
                if not bounce.recipients and len(quoted) >= _BOUNCE_SUBJECT_MIN:
                    self.by_subject[quoted].append(message)

    def find(
        self, sent: ThreadMessage, contacts: Sequence[Address], thread_id: str
    ) -> tuple[str, str] | None:
        """Why `sent` counts as bounced, and the report's reason ("" if it gives none); None
        when it did not bounce."""
        message_id = sent.facts.message_id
        named = self.by_message_id.get(message_id, ()) if message_id else ()
        for bounce_thread, failed, reason in named:
            # An id several messages carry names none of them for sure: the failed recipient
            # says which, else the conversation the failure was threaded into.
            if message_id not in self.shared_ids or (
                not {a for _, a in contacts}.isdisjoint(failed)
                if failed
                else bounce_thread == thread_id
            ):
                return "bounced: the delivery failure names this message", reason
        sent_at = sent.when or 0
        for _, address in contacts:
            for bounce in self.by_recipient.get(address, ()):
                when = bounce.when or 0
                if sent_at <= when <= sent_at + _BOUNCE_WINDOW:
                    return f"bounced: delivery to {address} failed", _reason_of(bounce)
        for bounce in self.by_subject.get(normalize_subject(sent.facts.subject), ()):
            if sent_at <= (bounce.when or 0) <= sent_at + _BOUNCE_WINDOW:
                return "bounced: a delivery failure quotes its subject", _reason_of(bounce)
        return None


def _reason_of(message: ThreadMessage) -> str:
    return message.bounce.reason if message.bounce is not None else ""
