"""Which messages I sent still await a reply, since when, and whether they are due today.

Pure code over conversations, the rules and an explicit `now`: the same input always gives
the same verdicts, whatever order the mail arrived in. Every verdict carries its reasons.

A message I sent that is a proposal (or anything, with `track = "all"`) is followed when it
went to at least one person outside my organisation (see `Identity.colleague_because`); one
that went only to my colleagues is followed only with `track_internal` (top level or in a
rule), and otherwise comes back as `NotFollowed`, saying why.

For each message I sent that is followed:
- a later message in its conversation from anyone else (a colleague of the recipient too) is a
  reply, unless it is automatic (out-of-office, auto-reply, read receipt, mailing list), or,
  when the message went outside, it comes from a colleague of mine: my own side writing in
  the thread is not the other side's answer;
- a reply that sits only in the spam folder still counts, and is flagged so I look there;
- a delivery failure that names the message (or, failing that, its recipient) marks it
  bounced: an alarm of its own;
- a later proposal of mine in the same conversation supersedes it (a revised proposal
  restarts the clock), and any other later message of mine restarts the clock too, except,
  when the message went outside, mail of mine that went only to colleagues;
- once answered it stays answered, whatever I write afterwards (a thank-you note).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from watcher.classify import Classification, automatic_reason, bounce_of, classify_sent
from watcher.conversations import Conversation, ThreadMessage, normalize_subject
from watcher.identity import Identity
from watcher.mail.facts import Address, MessageFacts
from watcher.rules import Override, Policy, Tracking, internal_tracking, resolve_policy

AWAITING = "awaiting"
ANSWERED = "answered"
BOUNCED = "bounced"
SUPERSEDED = "superseded"
IGNORED = "ignored"
MUTED = "muted"
DONE = "done"
SNOOZED = "snoozed"
# How long after a message a bounce that does not name it may still be matched by recipient.
_BOUNCE_WINDOW = 3 * 86400

Classifier = Callable[[MessageFacts, bool], Classification]  # (facts, ignore_subject)


@dataclass(frozen=True, slots=True)
class TrackedMessage:
    """The verdict on one message I sent."""

    thread_id: str
    account: str
    message: ThreadMessage
    contacts: tuple[Address, ...]
    kind: str
    reasons: tuple[str, ...]
    state: str
    since: int  # when the clock started: the message, or my latest nudge after it
    quiet_days: int  # whole local days since `since`
    due_date: date
    due: bool
    policy: Policy
    reply_in_spam: bool = False
    answered_by: Address | None = None
    answered_at: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        return self.message.facts.subject

    @property
    def sent_at(self) -> int:
        return self.message.when or 0

    @property
    def bounced(self) -> bool:
        return self.state == BOUNCED


@dataclass(frozen=True, slots=True)
class NotFollowed:
    """A message of mine that would be tracked but is not, and why (for `watcher thread`)."""

    thread_id: str
    account: str
    message: ThreadMessage
    contacts: tuple[Address, ...]
    kind: str
    reasons: tuple[str, ...]  # what made it look like a proposal
    why: str  # "it went only to colleagues (corp.example)"

    @property
    def subject(self) -> str:
        return self.message.facts.subject

    @property
    def sent_at(self) -> int:
        return self.message.when or 0


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdicts on my sent mail: what is followed, and what is not although it could be."""

    tracked: list[TrackedMessage]
    not_followed: list[NotFollowed] = field(default_factory=list)


def track(
    conversations: Iterable[Conversation],
    *,
    identity: Identity,
    tracking: Tracking,
    overrides: Mapping[str, Override],
    now: datetime,
    zone: ZoneInfo,
    classify: Classifier | None = None,
) -> list[TrackedMessage]:
    """Verdicts for every tracked message I sent, oldest first (see `assess`)."""
    return assess(
        conversations,
        identity=identity,
        tracking=tracking,
        overrides=overrides,
        now=now,
        zone=zone,
        classify=classify,
    ).tracked


def assess(
    conversations: Iterable[Conversation],
    *,
    identity: Identity,
    tracking: Tracking,
    overrides: Mapping[str, Override],
    now: datetime,
    zone: ZoneInfo,
    classify: Classifier | None = None,
) -> Assessment:
    """Verdicts for every tracked message I sent, oldest first, and the messages not followed.

    `classify` decides whether a sent message is a proposal; by default `classify_sent` with
    the configured keywords (the pipeline passes one that remembers earlier verdicts).
    """
    if classify is None:
        keywords = tracking.keywords

        def classify(facts: MessageFacts, ignore_subject: bool) -> Classification:
            return classify_sent(facts, extra_keywords=keywords, ignore_subject=ignore_subject)

    conversations = list(conversations)
    # The domains I send from tell who my colleagues are, even those no setting names.
    identity = identity.with_sent_from(
        address
        for conversation in conversations
        for message in conversation.messages
        if message.in_sent
        for _, address in message.facts.from_[:1]
    )
    bounces = _BounceIndex(conversations, identity)
    today = now.astimezone(zone).date()
    results: list[TrackedMessage] = []
    not_followed: list[NotFollowed] = []
    for conversation in conversations:
        results.extend(
            _track_conversation(
                conversation,
                identity,
                tracking,
                overrides.get(conversation.thread_id),
                bounces,
                today,
                zone,
                classify,
                not_followed,
            )
        )
    results.sort(key=lambda t: (t.sent_at, t.thread_id, t.message.key))
    not_followed.sort(key=lambda t: (t.sent_at, t.thread_id, t.message.key))
    return Assessment(results, not_followed)


def _is_mine(message: ThreadMessage, identity: Identity) -> bool:
    return message.in_sent or any(identity.is_me(a) for _, a in message.facts.from_)


def _recipients(message: ThreadMessage, identity: Identity) -> tuple[Address, ...]:
    facts = message.facts
    seen: set[str] = set()
    found: list[Address] = []
    for name, address in (*facts.to, *facts.cc, *facts.bcc):
        if address and address not in seen and not identity.is_me(address):
            seen.add(address)
            found.append((name, address))
    return tuple(found)


def _colleagues_only(contacts: Sequence[Address], identity: Identity) -> tuple[str, ...]:
    """What makes every one of `contacts` a colleague of mine ("corp.example"), or () when
    someone among them is outside."""
    sources: set[str] = set()
    for _, address in contacts:
        source = identity.colleague_because(address)
        if source is None:
            return ()
        sources.add(source)
    return tuple(sorted(sources))


def _track_conversation(
    conversation: Conversation,
    identity: Identity,
    tracking: Tracking,
    override: Override | None,
    bounces: _BounceIndex,
    today: date,
    zone: ZoneInfo,
    classify: Classifier,
    not_followed: list[NotFollowed],
) -> list[TrackedMessage]:
    messages = conversation.messages
    mine = [_is_mine(m, identity) for m in messages]
    if not any(mine):
        return []
    classifications: dict[int, Classification] = {}
    internal: dict[int, tuple[str, ...]] = {}  # my messages that went only to colleagues
    internal_reasons: dict[int, str] = {}  # why such a message is followed all the same
    tracked_indexes: list[int] = []
    their_subjects: set[str] = set()  # normalized subjects of other people's earlier mail
    for index, message in enumerate(messages):
        if not mine[index]:
            their_subjects.add(normalize_subject(message.facts.subject))
            continue
        contacts = _recipients(message, identity)
        if not contacts:
            continue
        if automatic_reason(message.facts) is not None:
            continue  # my own auto-replies are not something I wait on
        # "Re: Your proposal" answering someone else's proposal is not my proposal: a
        # subject inherited from another person's message says nothing about what I sent.
        inherited = normalize_subject(message.facts.subject) in their_subjects
        classification = classify(message.facts, inherited)
        classifications[index] = classification
        colleagues = _colleagues_only(contacts, identity)
        if colleagues:
            internal[index] = colleagues
        if not (classification.is_tracked or tracking.track == "all"):
            continue
        if colleagues:
            kind = classification.kind or ("message" if tracking.track == "all" else "")
            allowed = internal_tracking(
                tracking,
                contacts=[address for _, address in contacts],
                subject=message.facts.subject,
                kind=classification.kind,
            )
            went = f"it went only to colleagues ({', '.join(colleagues)})"
            if allowed is None:
                not_followed.append(
                    NotFollowed(
                        thread_id=conversation.thread_id,
                        account=message.account,
                        message=message,
                        contacts=contacts,
                        kind=kind,
                        reasons=classification.reasons,
                        why=went,
                    )
                )
                continue
            internal_reasons[index] = f"{went}, followed by {allowed}"
        tracked_indexes.append(index)
    results = []
    for index in tracked_indexes:
        results.append(
            _verdict(
                conversation,
                index,
                mine,
                classifications,
                _Followed(frozenset(tracked_indexes), internal, internal_reasons.get(index)),
                identity,
                tracking,
                override,
                bounces,
                today,
                zone,
            )
        )
    return results


@dataclass(frozen=True, slots=True)
class _Followed:
    """What the tracker decided about my messages in one conversation."""

    indexes: frozenset[int]  # followed
    internal: Mapping[int, tuple[str, ...]]  # went only to colleagues
    internal_reason: str | None  # why this internal message is followed all the same


def _verdict(
    conversation: Conversation,
    index: int,
    mine: Sequence[bool],
    classifications: Mapping[int, Classification],
    followed: _Followed,
    identity: Identity,
    tracking: Tracking,
    override: Override | None,
    bounces: _BounceIndex,
    today: date,
    zone: ZoneInfo,
) -> TrackedMessage:
    messages = conversation.messages
    sent = messages[index]
    classification = classifications[index]
    contacts = _recipients(sent, identity)
    went_outside = index not in followed.internal
    since = sent.when or 0
    state = AWAITING
    notes: list[str] = []
    answered_by: Address | None = None
    answered_at: int | None = None
    reply_in_spam = False
    bounce_note = bounces.find(sent, contacts, conversation.thread_id)
    if bounce_note is not None:
        state = BOUNCED
        notes.append(bounce_note)
    for later_index in range(index + 1, len(messages)):
        if state != AWAITING:
            break
        later = messages[later_index]
        sender = later.facts.from_[0] if later.facts.from_ else ("", "")
        if mine[later_index]:
            if went_outside and later_index in followed.internal:
                notes.append("you wrote only to colleagues in the thread; the clock runs on")
                continue
            later_class = classifications.get(later_index)
            if later_class is not None and later_class.is_tracked:
                state = SUPERSEDED
                notes.append(f"superseded by {later.facts.subject!r}")
            elif later.when is not None:
                since = max(since, later.when)
                notes.append("you wrote again in the thread; the clock restarted")
            continue
        if bounce_of(later.facts) is not None:
            continue  # a bounce of some other message in the thread
        automatic = automatic_reason(later.facts)
        if automatic is not None:
            notes.append(f"{automatic} from {sender[1] or 'unknown sender'} ignored")
            continue
        if went_outside and identity.is_colleague(sender[1]):
            notes.append(f"{sender[1]} is a colleague of yours: not the answer")
            continue
        state = ANSWERED
        answered_by = sender
        answered_at = later.when
        if later.only_in_junk:
            reply_in_spam = True
            notes.append("reply is in your spam folder")
    policy = resolve_policy(
        tracking,
        contacts=[address for _, address in contacts],
        subject=sent.facts.subject,
        kind=classification.kind,
        plus_tags=_plus_tags(sent, identity),
        keywords=sent.facts.flags,
        cli=override,
    )
    if state == AWAITING:
        state = _state_from_policy(policy, today)
    since_day = datetime.fromtimestamp(since, zone).date()
    due_date = policy.due_date(since_day)
    if policy.snooze_until is not None:
        due_date = max(due_date, policy.snooze_until)
    return TrackedMessage(
        thread_id=conversation.thread_id,
        account=sent.account,
        message=sent,
        contacts=contacts,
        kind=classification.kind or ("message" if tracking.track == "all" else ""),
        reasons=classification.reasons
        + ((followed.internal_reason,) if followed.internal_reason else ()),
        state=state,
        since=since,
        quiet_days=(today - since_day).days,
        due_date=due_date,
        due=state == AWAITING and today >= due_date,
        policy=policy,
        reply_in_spam=reply_in_spam,
        answered_by=answered_by,
        answered_at=answered_at,
        notes=tuple(notes),
    )


def _state_from_policy(policy: Policy, today: date) -> str:
    if policy.ignored:
        return IGNORED
    if policy.done:
        return DONE
    if policy.muted:
        return MUTED
    if policy.snooze_until is not None and today < policy.snooze_until:
        return SNOOZED
    return AWAITING


def _plus_tags(message: ThreadMessage, identity: Identity) -> list[str]:
    facts = message.facts
    tags = []
    for _, address in (*facts.to, *facts.cc, *facts.bcc):
        tag = identity.plus_tag(address)
        if tag is not None:
            tags.append(tag)
    return tags


class _BounceIndex:
    """Delivery failures by the Message-ID they name, and by the recipient that failed."""

    def __init__(self, conversations: Sequence[Conversation], identity: Identity) -> None:
        # Message-ID -> (conversation, failed recipients) of each failure that names it.
        self.by_message_id: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
        self.by_recipient: dict[str, list[ThreadMessage]] = defaultdict(list)
        self.shared_ids: set[str] = set()  # carried by several different messages (mail merge)
        for conversation in conversations:
            for message in conversation.messages:
                if message.key != message.facts.message_id and message.facts.message_id:
                    self.shared_ids.add(message.facts.message_id)
                bounce = bounce_of(message.facts)
                if bounce is None or (message.facts.from_ and _is_mine(message, identity)):
                    continue
                if bounce.original_message_id:
                    failed = tuple(r.lower() for r in bounce.recipients)
                    named = (conversation.thread_id, failed)
                    self.by_message_id[bounce.original_message_id].append(named)
                    continue  # it names its message: never pin it on another one
                for recipient in bounce.recipients:
                    self.by_recipient[recipient.lower()].append(message)

    def find(self, sent: ThreadMessage, contacts: Sequence[Address], thread_id: str) -> str | None:
        """Why `sent` counts as bounced, or None."""
        message_id = sent.facts.message_id
        for bounce_thread, failed in self.by_message_id.get(message_id, ()) if message_id else ():
            # An id several messages carry names none of them for sure: the failed recipient
            # says which, else the conversation the failure was threaded into.
            if message_id not in self.shared_ids or (
                not {a for _, a in contacts}.isdisjoint(failed)
                if failed
                else bounce_thread == thread_id
            ):
                return "bounced: the delivery failure names this message"
        sent_at = sent.when or 0
        for _, address in contacts:
            for bounce in self.by_recipient.get(address, ()):
                when = bounce.when or 0
                if sent_at <= when <= sent_at + _BOUNCE_WINDOW:
                    return f"bounced: delivery to {address} failed"
        return None
