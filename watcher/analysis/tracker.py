"""Which messages I sent still await a reply, since when, and whether they are due today.

Pure code over conversations, the rules and an explicit `now`: the same input always gives
the same verdicts, whatever order the mail arrived in. Every verdict carries its reasons.

A message I sent that is a proposal (or anything, with `track = "all"`) is followed when it
went to at least one person outside my organisation (see `Identity.colleague_because`); one
that went only to my colleagues is followed only with `track_internal` (top level or in a
rule), and otherwise comes back as `NotFollowed`, saying why. The user's word beats both
(`resolve_correction`): `--track`, `followup-track`, `+track` or `track = true` follow a message
the classifier rejected or that went only to colleagues; `--not-proposal`, `followup-no`, `+no`
or `track = false` never follow it, and it comes back as `NotFollowed` with that reason and how
to take it back. `--track` on a thread follows one message of it (see `_track_conversation`).

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
- a later message of mine to one of its contacts that sends no document (`sends_document`)
  is a nudge, even when the classifier takes it for a proposal ("did you have a chance to
  review the proposal?", the digest's suggestion sent unthreaded as "Re: <subject>"): it
  restarts the clock and counts as a reminder (`nudges`), and the message followed stays
  the original proposal;
- once answered it stays answered, whatever I write afterwards (a thank-you note).

A message quiet for more than twice its `give_up_after` is never due: its last reminder is
long past, so only a first scan of an old mailbox (a new install, an account added later,
an address newly counted as mine) could offer it, and years-old threads are not news.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from watcher.analysis.answers import (
    BounceIndex,
    Candidate,
    Followed,
    HeardFrom,
    answers_another,
    colleagues_only,
    heard_counts,
    is_mine,
    new_matter,
    nudges_followed,
    plus_tags,
    recipients,
    with_heard_since,
)
from watcher.analysis.conversations import Conversation, ThreadMessage
from watcher.analysis.proposals import classify_sent
from watcher.analysis.quoted import QuotedAnswers
from watcher.analysis.rules import (
    Correction,
    Policy,
    internal_tracking,
    resolve_correction,
    resolve_policy,
)
from watcher.analysis.subjects import normalize_subject
from watcher.config.tracking import Tracking
from watcher.identity import Identity
from watcher.model import Address, Classification, MessageFacts, Override

AWAITING = "awaiting"
ANSWERED = "answered"
BOUNCED = "bounced"
SUPERSEDED = "superseded"
IGNORED = "ignored"
MUTED = "muted"
DONE = "done"
SNOOZED = "snoozed"

Classifier = Callable[[MessageFacts, bool], Classification]  # (facts, ignore_subject)


@dataclass(frozen=True, slots=True)
class SentVerdict:
    """What every verdict on a message I sent says: which message, to whom, and why it looks
    like a proposal."""

    thread_id: str
    account: str
    message: ThreadMessage
    contacts: tuple[Address, ...]
    kind: str
    reasons: tuple[str, ...]  # what made it look like a proposal

    @property
    def subject(self) -> str:
        return self.message.facts.subject

    @property
    def sent_at(self) -> int:
        return self.message.when or 0


@dataclass(frozen=True, slots=True)
class TrackedMessage(SentVerdict):
    """The verdict on one message I sent that is followed."""

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
    nudges: int = 0  # follow-ups of mine since the message: reminders already sent
    # Awaiting, yet a contact has written to me since, in another conversation: not an
    # answer (nothing ties it to this message), but worth knowing before following up.
    heard_since: HeardFrom | None = None
    bounce_reason: str = ""  # why delivery failed, from the report ("" when it says nothing)

    @property
    def bounced(self) -> bool:
        return self.state == BOUNCED


@dataclass(frozen=True, slots=True)
class NotFollowed(SentVerdict):
    """A message of mine that would be tracked but is not, and why (for `watcher thread`)."""

    why: str  # "it went only to colleagues (corp.example)", "you marked it: not a proposal ..."
    undo: str = ""  # how to have it followed after all


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
    # The domains I send from tell who my colleagues are, even those no setting names; the
    # names I send under tell my other addresses ("Maya Lindqvist <maya@gmail.example>").
    identity = identity.with_sent_from(
        sender
        for conversation in conversations
        for message in conversation.messages
        if message.in_sent
        for sender in message.facts.from_[:1]
    )
    bounces = BounceIndex(conversations, identity)
    quoted = QuotedAnswers(conversations)
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
                (bounces, quoted),
                today,
                zone,
                classify,
                not_followed,
            )
        )
    waiting = [r for r in results if r.state == AWAITING and r.contacts]
    results = with_heard_since(results, waiting, conversations, identity)
    results.sort(key=lambda t: (t.sent_at, t.thread_id, t.message.key))
    not_followed.sort(key=lambda t: (t.sent_at, t.thread_id, t.message.key))
    return Assessment(results, not_followed)


_COLLEAGUES_UNDO = (
    "to follow mail to colleagues: track_internal = true in the config, "
    "or in a [[rules]] table for these contacts"
)


def _track_conversation(
    conversation: Conversation,
    identity: Identity,
    tracking: Tracking,
    override: Override | None,
    seen_elsewhere: tuple[BounceIndex, QuotedAnswers],
    today: date,
    zone: ZoneInfo,
    classify: Classifier,
    not_followed: list[NotFollowed],
) -> list[TrackedMessage]:
    messages = conversation.messages
    mine = [is_mine(m, identity) for m in messages]
    if not any(mine):
        return []
    candidates = _candidates(messages, mine, identity, tracking, override, classify)
    followed: dict[int, tuple[str, ...]] = {}  # index -> reasons the tracker adds
    skipped: dict[int, NotFollowed] = {}
    nudges: set[int] = set()
    heard = heard_counts(messages, mine)
    latest_to: dict[str, int] = {}  # address -> my latest followed message to it
    for candidate in candidates:
        if nudges_followed(candidate, latest_to, heard):
            nudges.add(candidate.index)
            continue
        outcome = _decide(candidate, tracking, conversation.thread_id)
        if isinstance(outcome, NotFollowed):
            skipped[candidate.index] = outcome
        elif outcome is not None:
            followed[candidate.index] = outcome
            latest_to.update((address, candidate.index) for _, address in candidate.contacts)
    if override is not None and override.track and not followed and candidates:
        # `--track` on a thread follows one message: the first the classifier took for a
        # proposal, else my first one; my later messages are then nudges, not more threads.
        chosen = next((c for c in candidates if c.classification.is_tracked), candidates[0])
        said = resolve_correction(tracking, contacts=(), subject="", kind="", cli=override)
        chosen = replace(chosen, correction=said)
        candidates = [chosen if c.index == chosen.index else c for c in candidates]
        skipped.pop(chosen.index, None)
        followed[chosen.index] = (said.reason,) if said else ()
    not_followed.extend(skipped.values())
    state = Followed(
        indexes=frozenset(followed),
        internal={c.index: c.colleagues for c in candidates if c.colleagues},
        proposals=frozenset(c.index for c in candidates if c.proposal and c.index not in nudges),
        contacts={c.index: frozenset(a for _, a in c.contacts) for c in candidates},
        nudges=frozenset(nudges),
    )
    by_index = {c.index: c for c in candidates}
    return [
        _verdict(
            conversation,
            by_index[index],
            mine,
            state,
            followed[index],
            identity,
            tracking,
            override,
            seen_elsewhere,
            today,
            zone,
        )
        for index in sorted(followed)
    ]


def _candidates(
    messages: Sequence[ThreadMessage],
    mine: Sequence[bool],
    identity: Identity,
    tracking: Tracking,
    override: Override | None,
    classify: Classifier,
) -> list[Candidate]:
    """My messages that went to someone, classified, with what the user said about each."""
    # `--not-proposal` speaks for every message of mine in the thread; `--track` for one,
    # chosen once the others are decided.
    cli = override if override is not None and override.track is False else None
    found = []
    their_subjects: set[str] = set()  # normalized subjects of other people's earlier mail
    for index, message in enumerate(messages):
        if not mine[index]:
            their_subjects.add(normalize_subject(message.facts.subject))
            continue
        contacts = recipients(message, identity)
        if not contacts:
            continue
        if message.automatic is not None:
            continue  # my own auto-replies are not something I wait on
        # "Re: Your proposal" answering someone else's proposal is not my proposal: a
        # subject inherited from another person's message says nothing about what I sent.
        inherited = normalize_subject(message.facts.subject) in their_subjects
        classification = classify(message.facts, inherited)
        correction = resolve_correction(
            tracking,
            contacts=[address for _, address in contacts],
            subject=message.facts.subject,
            kind=classification.kind,
            plus_tags=plus_tags(message, identity),
            keywords=message.facts.flags,
            cli=cli,
        )
        found.append(
            Candidate(
                index,
                message,
                contacts,
                classification,
                colleagues_only(contacts, identity),
                correction,
            )
        )
    return found


def _decide(
    candidate: Candidate, tracking: Tracking, thread_id: str
) -> tuple[str, ...] | NotFollowed | None:
    """The reasons to add when the message is followed, why not when the user would want to
    know (`watcher thread`), or None when it is simply not something to follow."""
    correction = candidate.correction
    if correction is not None:
        if correction.track:
            return (correction.reason,)
        looks = candidate.classification.reasons if candidate.classification.is_tracked else ()
        return _not_followed(
            candidate, thread_id, correction.reason, _undo(correction, thread_id), looks
        )
    if not (candidate.classification.is_tracked or tracking.track == "all"):
        return None
    if not candidate.colleagues:
        return ()
    allowed = internal_tracking(
        tracking,
        contacts=[address for _, address in candidate.contacts],
        subject=candidate.message.facts.subject,
        kind=candidate.classification.kind,
    )
    went = f"it went only to colleagues ({', '.join(candidate.colleagues)})"
    if allowed is None:
        return _not_followed(
            candidate, thread_id, went, _COLLEAGUES_UNDO, candidate.classification.reasons
        )
    return (f"{went}, followed by {allowed}",)


def _not_followed(
    candidate: Candidate, thread_id: str, why: str, undo: str, reasons: tuple[str, ...]
) -> NotFollowed:
    classification = candidate.classification
    return NotFollowed(
        thread_id=thread_id,
        account=candidate.message.account,
        message=candidate.message,
        contacts=candidate.contacts,
        kind=classification.kind or "message",
        reasons=reasons,
        why=why,
        undo=undo,
    )


def _undo(correction: Correction, thread_id: str) -> str:
    """How to take back a "not a proposal", in the words of where it was said."""
    if correction.source == "cli":
        return f"to follow it again: watcher thread {thread_id} --reset"
    also = f"watcher thread {thread_id} --track follows it all the same"
    if correction.source == "keyword":
        return f"to follow it again: remove the keyword in your mail client, or {also}"
    if correction.source == "rule":
        return f"to follow it: change that rule in the config, or {also}"
    return f"to follow it: {also}"


def _verdict(
    conversation: Conversation,
    candidate: Candidate,
    mine: Sequence[bool],
    followed: Followed,
    added_reasons: tuple[str, ...],
    identity: Identity,
    tracking: Tracking,
    override: Override | None,
    seen_elsewhere: tuple[BounceIndex, QuotedAnswers],
    today: date,
    zone: ZoneInfo,
) -> TrackedMessage:
    messages = conversation.messages
    index = candidate.index
    sent = candidate.message
    classification = candidate.classification
    contacts = candidate.contacts
    went_outside = index not in followed.internal
    since = sent.when or 0
    state = AWAITING
    notes: list[str] = []
    answered_by: Address | None = None
    answered_at: int | None = None
    reply_in_spam = False
    nudges = 0
    own_contacts = followed.contacts.get(index, frozenset())
    bounces, quoted = seen_elsewhere
    bounce_reason = ""
    bounced = bounces.find(sent, contacts, conversation.thread_id)
    if bounced is not None:
        state = BOUNCED
        bounce_note, bounce_reason = bounced
        notes.append(f"{bounce_note}: {bounce_reason}" if bounce_reason else bounce_note)
    for later_index in range(index + 1, len(messages)):
        if state != AWAITING:
            break
        later = messages[later_index]
        sender = later.facts.from_[0] if later.facts.from_ else ("", "")
        if mine[later_index]:
            if went_outside and later_index in followed.internal:
                notes.append("you wrote only to colleagues in the thread; the clock runs on")
                continue
            if later_index in followed.proposals:
                state = SUPERSEDED
                notes.append(f"superseded by {later.facts.subject!r}")
            elif later.when is not None:
                since = max(since, later.when)
                if later_index in followed.nudges and not own_contacts.isdisjoint(
                    followed.contacts.get(later_index, ())
                ):
                    nudges += 1
                    notes.append("you followed it up; the clock restarted")
                else:
                    notes.append("you wrote again in the thread; the clock restarted")
            continue
        if later.bounce is not None:
            continue  # a bounce of some other message in the thread
        automatic = later.automatic
        if automatic is not None:
            notes.append(f"{automatic} from {sender[1] or 'unknown sender'} ignored")
            continue
        if went_outside and identity.is_colleague(sender[1]):
            notes.append(f"{sender[1]} is a colleague of yours: not the answer")
            continue
        if new_matter(later.facts, sent.facts):
            notes.append(f"{sender[1]} wrote anew under the same subject: not a reply")
            continue
        if answers_another(later_index, sender[1], candidate, mine, followed, identity):
            notes.append(f"{sender[1]} answered another message of yours in the thread")
            continue
        state = ANSWERED
        answered_by = sender
        answered_at = later.when
        if later.only_in_junk:
            reply_in_spam = True
            notes.append("reply is in your spam folder")
    if state == AWAITING and (answer := quoted.find(sent, contacts)) is not None:
        state = ANSWERED
        answered_by = answer.contact
        answered_at = answer.quoted_in.when  # at the latest: when I quoted it
        notes.append(answer.note)
    policy = resolve_policy(
        tracking,
        contacts=[address for _, address in contacts],
        subject=sent.facts.subject,
        kind=classification.kind,
        plus_tags=plus_tags(sent, identity),
        keywords=sent.facts.flags,
        cli=override,
    )
    if state == AWAITING:
        state = _state_from_policy(policy, today)
    since_day = datetime.fromtimestamp(since, zone).date()
    due_date = policy.due_date(since_day)
    if policy.snooze_until is not None:
        due_date = max(due_date, policy.snooze_until)
    quiet_days = (today - since_day).days
    stale = state == AWAITING and quiet_days > 2 * policy.give_up_after
    if stale:
        notes.append(
            f"quiet for over twice give_up_after ({2 * policy.give_up_after} days): "
            "long given up, never offered as due"
        )
    return TrackedMessage(
        thread_id=conversation.thread_id,
        account=sent.account,
        message=sent,
        contacts=contacts,
        kind=classification.kind
        or ("message" if tracking.track == "all" or candidate.correction else ""),
        reasons=classification.reasons + added_reasons,
        state=state,
        since=since,
        quiet_days=quiet_days,
        due_date=due_date,
        due=state == AWAITING and today >= due_date and not stale,
        policy=policy,
        reply_in_spam=reply_in_spam,
        answered_by=answered_by,
        answered_at=answered_at,
        notes=tuple(notes),
        bounce_reason=bounce_reason,
        nudges=nudges,
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
