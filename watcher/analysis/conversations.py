"""Rebuild conversations from the stored copies of messages: pure code, no I/O.

The store holds one row per copy of a message per folder. The steps, each linear in the number
of copies (dict look-ups and a union-find, never a comparison of every message with every
other), per account (conversations never span accounts):

1. Dedupe: copies with the same Message-ID are one message when they agree (sender, normalized
   subject, To/Cc addresses, Date within `COPY_DATE_SLACK`); so are copies with the same
   content signature (From, Date to the minute, normalized subject, To/Cc addresses), which
   catches copies with different Message-IDs (Enron's overlapping sent folders). Copies that
   share a Message-ID but disagree are different messages (mail merge, "send again", a
   newsletter reusing its id): each keeps its own `ThreadMessage.ident` (see `_Variants`).
2. Headers: messages citing the same id in Message-ID, In-Reply-To or References (JWZ: a
   missing parent still joins its children), sharing a Gmail thread id or the conversation
   part of an Outlook Thread-Index, are one conversation; so are a bounce or read receipt and
   the message it reports on (a bounce carries no threading headers, only that Message-ID).
   A citation of a Message-ID that several messages share joins one of them (`_pick_cited`).
3. Subject fallback, for mail whose threading headers are missing or broken: bucket by
   normalized subject, sweep each bucket by time, comparing a message only with the open
   conversations that share a person with it, a bounded few (`_Builder._sweep_subject`).
4. Collect: one `Conversation` per set, messages in time order, an id from its first message.

"Me" is every From address of a copy marked `is_from_me` (the identity and the Sent folders
decided that at sync time), unless most of the copies from that address are not mine: a
colleague's message filed in my Sent folder (a delegate, a draft saved there) does not make
the colleague "me", which would keep every later answer of theirs out of my conversations.
The result does not depend on the order of the input.
"""

from __future__ import annotations

import base64
import binascii
import gc
import hashlib
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from operator import attrgetter, itemgetter

from watcher.analysis.signals import Bounce, automatic_reason, bounce_of
from watcher.analysis.subjects import split_subject
from watcher.identity import name_key
from watcher.model import MessageFacts, StoredMessage

# A reply without threading headers may come weeks later; beyond this it is a new matter.
SUBJECT_WINDOW = 45 * 86_400
# A Date this far after the server's arrival time is a wrong clock, not a real date.
FUTURE_DATE_SLACK = 2 * 86_400
# Copies of one message carry one Date header; without one, the arrival times of copies in
# different folders (Sent, Archive, a Bcc to myself) differ by this much at most.
COPY_DATE_SLACK = 5 * 60
# A reply under a generic subject ("Re:") answers a message this recent, or none.
GENERIC_REPLY_WINDOW = 3 * 86_400
# Recipients of one message remembered for generic-subject replies: a mass mailing to
# thousands is never what a "Re: hi" answers, and must not cost memory per recipient.
_PAIRS_PER_MESSAGE = 50
# Open conversations of one subject a message is compared with, at most (the most recently
# active of those sharing a person with it): thousands of messages with one subject from
# one address (a ticket system) stay linear. Real conversations never come near it.
MAX_CANDIDATES = 64
# Normalized subjects too common to say that two messages belong together.
GENERIC_SUBJECTS = frozenset(
    {
        *("", "hi", "hello", "hey", "question", "quick question", "update", "meeting", "fyi"),
        *("thanks", "thank you", "no subject", "(no subject)", "none", "(none)", "untitled"),
        *("test", "info", "information", "follow up", "follow-up", "checking in", "reminder"),
        *("call", "call me", "status", "request", "document", "documents", "attached"),
        *("see attached", "attachment", "meeting request", "lunch", "hola", "hallo"),
    }
)

_SENT, _JUNK, _TRASH = "\\Sent", "\\Junk", "\\Trash"
_ADDRESS = itemgetter(1)  # of a (display name, address) pair
_NAME = itemgetter(0)


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a conversation, however many copies of it the folders hold.

    `facts` is one representative copy (the Sent copy when there is one: it keeps the Bcc).
    `when` is POSIX seconds: the Date header, else the arrival time; a Date more than
    `FUTURE_DATE_SLACK` after the arrival time is replaced by the arrival time.
    `ident` is the Message-ID, or, when different messages share one (mail merge, "send
    again"), the Message-ID with a "#" and a hash of the message's content for all but the
    earliest: what downstream keys the message by (see `key`), never a header to send.
    """

    facts: MessageFacts
    account: str
    folders: tuple[str, ...]
    folder_uses: frozenset[str]
    when: int | None
    ident: str = ""
    # The signals of `facts` (`automatic`, `bounce`), filled on first use: not part of the
    # message's value. None: not asked yet; "" / _NOT_A_BOUNCE: asked, and it is not.
    _automatic: str | None = field(default=None, init=False, repr=False, compare=False)
    _bounce: Bounce | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def automatic(self) -> str | None:
        """Why the message is automatic and never a human reply, or None (`automatic_reason`).

        Asked of most messages several times by the tracker and `watcher thread`: computed
        once. (A slot, filled through its descriptor as the builder fills the others: a
        frozen, slotted class has no room for `cached_property`, and a side table keyed
        by message would have to travel with every caller.)"""
        found = self._automatic
        if found is None:
            found = automatic_reason(self.facts) or ""
            _set_automatic(self, found)
        return found or None

    @property
    def bounce(self) -> Bounce | None:
        """The delivery failure this message reports, or None (`bounce_of`); computed once."""
        found = self._bounce
        if found is None:
            found = bounce_of(self.facts) or _NOT_A_BOUNCE
            _set_bounce(self, found)
        return None if found is _NOT_A_BOUNCE else found

    @property
    def key(self) -> str:
        """Names this message within its account, distinct from every other message."""
        return self.ident or self.facts.message_id or self.facts.key

    @property
    def only_in_junk(self) -> bool:
        """Every copy sits in a spam folder: a reply there needs pointing out to the user."""
        return self.folder_uses == {_JUNK}

    @property
    def in_sent(self) -> bool:
        return _SENT in self.folder_uses


@dataclass(frozen=True, slots=True)
class Conversation:
    """Messages that belong together, oldest first; `thread_id` is what the CLI takes.

    The id hashes the first message's Message-ID (else its content signature), so a later
    reply, or another run over the same mail in any order, never changes it.
    """

    thread_id: str
    messages: tuple[ThreadMessage, ...]

    @property
    def account(self) -> str:
        return self.messages[0].account

    @property
    def latest(self) -> ThreadMessage:
        return self.messages[-1]


# A frozen dataclass's __init__ sets each field through object.__setattr__, which costs as
# much as all else done for most messages: the builder fills the slots directly instead.
_THREAD_MESSAGE_FIELDS = (
    *("facts", "account", "folders", "folder_uses", "when", "ident"),
    *("_automatic", "_bounce"),
)
assert tuple(f.name for f in fields(ThreadMessage)) == _THREAD_MESSAGE_FIELDS
(
    _set_facts,
    _set_account,
    _set_folders,
    _set_uses,
    _set_when,
    _set_ident,
    _set_automatic,
    _set_bounce,
) = (ThreadMessage.__dict__[name].__set__ for name in _THREAD_MESSAGE_FIELDS)
# A sentinel, told apart by identity: "asked, and not a bounce".
_NOT_A_BOUNCE = Bounce("", ())


def _new_thread_message(
    facts: MessageFacts,
    account: str,
    folders: tuple[str, ...],
    uses: frozenset[str],
    when: int | None,
    ident: str,
) -> ThreadMessage:
    message: ThreadMessage = object.__new__(ThreadMessage)
    _set_facts(message, facts)
    _set_account(message, account)
    _set_folders(message, folders)
    _set_uses(message, uses)
    _set_when(message, when)
    _set_ident(message, ident)
    _set_automatic(message, None)
    _set_bounce(message, None)
    return message


def _is_generic(normalized: str) -> bool:
    core = normalized.strip(" .,!?:;-_*")
    return len(core) < 3 or core in GENERIC_SUBJECTS


def build_conversations(messages: Iterable[StoredMessage]) -> list[Conversation]:
    """Group stored copies into conversations, returned in the order of their thread ids."""
    by_account: dict[str, list[StoredMessage]] = {}
    for copy in messages:
        by_account.setdefault(copy.account, []).append(copy)
    # Hundreds of thousands of small objects are made here, none in a cycle, and each
    # automatic collection would walk the whole input again: pausing the collector saves
    # nearly half the run time. (It scans the new objects once, later, as it always would.)
    collecting = gc.isenabled()
    gc.disable()
    try:
        conversations: list[Conversation] = []
        for account, copies in by_account.items():
            conversations += _Builder(account, copies).conversations()
        # Any fixed order will do (callers order what they show); this is the cheapest one.
        conversations.sort(key=attrgetter("thread_id"))
    finally:
        if collecting:
            gc.enable()
    return conversations


class _Builder:
    """The conversations of one account: a union-find over the copies, fed by one scan.

    What is known about each copy sits in lists indexed by its number: at this scale an
    object per message costs more than the work done with it. A message is known by its
    least-numbered copy (its "first"); the least-numbered message is the union-find's root.
    """

    compare_all_up_to = MAX_CANDIDATES  # open conversations; beyond, `_candidates` (tests: 0)

    def __init__(self, account: str, copies: list[StoredMessage]) -> None:
        self.account = account
        self.copies = copies
        self.parent = list(range(len(copies)))  # the union-find: copies in one conversation
        self.original: dict[int, int] = {}  # a later copy of a message -> its first
        self.several: dict[int, list[int]] = {}  # first -> all copies, when there are several
        self.whens: list[int | None] = []  # per copy; at a first, the message's earliest
        self.minutes: list[int] = []  # Date // 60 per copy, -1 without a Date
        self.by_subject: dict[str, list[int]] = {}  # raw subject -> firsts
        self.subjects: dict[str, tuple[str, bool]] = {}  # raw -> split_subject(raw)
        self.idents: dict[int, str] = {}
        self.renamed: dict[int, str] = {}  # copy -> its ident, when its Message-ID is shared
        self.shared_people: dict[int, dict[str, list[int]]] = {}  # for `_pick_cited`
        self.uses_of: dict[str, frozenset[str]] = {}  # one frozenset per special use
        self.me: set[str] = set()
        self._my_names: frozenset[str] | None = None  # once `me` is known: `my_names`
        self.comparisons = 0  # open conversations a message was compared with: for tests

    def conversations(self) -> list[Conversation]:
        self._scan()
        buckets: dict[str, list[int]] = {}  # normalized subject -> firsts
        for subject, firsts in self.by_subject.items():
            buckets.setdefault(self.split(subject)[0], []).extend(firsts)
        for normalized, bucket in buckets.items():
            if len(bucket) > 1:
                bucket = self._dedupe_by_content(bucket)  # copies share the bucket
                if len(bucket) > 1:
                    if _is_generic(normalized):
                        self._link_generic_replies(bucket)
                    else:
                        self._link_by_subject(bucket)
        return self._collect()

    def split(self, subject: str) -> tuple[str, bool]:
        hit = self.subjects.get(subject)
        if hit is None:
            hit = self.subjects[subject] = split_subject(subject)
        return hit

    def _scan(self) -> None:
        """Copies by Message-ID first (`_sort_out_copies`), then one pass over the messages:
        links by headers, subjects."""
        shared = self._sort_out_copies()
        copies, parent, by_subject, original = (
            self.copies,
            self.parent,
            self.by_subject,
            self.original,
        )
        # Message-ID -> the copy that has it (n), or else the first that cites it (~n < 0).
        # A reply meets its parent there, and two replies to a parent we never saw meet too
        # (JWZ's empty container, for free). Shared Message-IDs stay out: `_pick_cited`.
        nodes: dict[str, int] = {}
        gmail: dict[int, int] = {}
        outlook: dict[str, bytes | None] = {}
        by_outlook: dict[bytes, int] = {}
        for i, copy in enumerate(copies):
            if i in original:  # a later copy of a message: same headers
                continue
            facts = copy.facts
            if (message_id := facts.message_id) and message_id not in shared:
                first = nodes.setdefault(message_id, i)
                if first < 0:  # cited before, seen now
                    nodes[message_id] = i
                    _union(parent, ~first, i)
            # A bounce or read receipt names the message it reports on; my own mail may
            # quote a Message-ID in a forwarded header block, which is no link.
            reported = "" if facts.is_from_me else facts.reported_message_id
            if facts.references or facts.in_reply_to or reported:
                for cited in (facts.in_reply_to, reported, *facts.references):
                    if cited in shared:
                        _union(parent, self._pick_cited(i, shared[cited]), i)
                    elif cited:
                        first = nodes.setdefault(cited, ~i)
                        if first != ~i:
                            _union(parent, first if first >= 0 else ~first, i)
            if facts.gm_thread_id is not None:
                _union(parent, gmail.setdefault(facts.gm_thread_id, i), i)
            if facts.thread_index:
                if facts.thread_index not in outlook:
                    outlook[facts.thread_index] = _thread_index_prefix(facts.thread_index)
                if (prefix := outlook[facts.thread_index]) is not None:
                    _union(parent, by_outlook.setdefault(prefix, i), i)
            if facts.subject in by_subject:
                by_subject[facts.subject].append(i)
            else:
                by_subject[facts.subject] = [i]

    def _sort_out_copies(self) -> dict[str, list[int]]:
        """Times and "me" from every copy; the copies of each message joined by Message-ID.

        Returns the Message-IDs that several different messages carry: id -> their firsts.
        """
        copies, whens, minutes, me = self.copies, self.whens, self.minutes, self.me
        mine_from: Counter[str] = Counter()  # copies that are mine, by From address
        others_from: Counter[str] = Counter()  # copies that are not, of those addresses
        holders: dict[str, int] = {}  # Message-ID -> its least-numbered copy
        several: dict[str, list[int]] = {}  # Message-ID -> its copies, when there are several
        for i, copy in enumerate(copies):
            facts = copy.facts
            date, arrived = facts.date, facts.internal_date
            if date is None:
                whens.append(arrived)
                minutes.append(-1)
            else:
                too_late = arrived is not None and date > arrived + FUTURE_DATE_SLACK
                whens.append(arrived if too_late else date)
                minutes.append(date // 60)
            if facts.from_:  # any copy: the Sent copy may come after the INBOX copy
                (mine_from if facts.is_from_me else others_from)[facts.from_[0][1]] += 1
            if message_id := facts.message_id:
                first = holders.setdefault(message_id, i)
                if first != i:
                    if message_id in several:
                        several[message_id].append(i)
                    else:
                        several[message_id] = [first, i]
        me.update(a for a, count in mine_from.items() if count >= others_from.get(a, 0))
        shared: dict[str, list[int]] = {}
        for message_id, numbers in several.items():
            variants = self._variants(numbers)
            for variant in variants:
                for i in variant[1:]:
                    self._same_message(variant[0], i)
            if len(variants) > 1:
                shared[message_id] = [variant[0] for variant in variants]
        return shared

    def _variants(self, numbers: list[int]) -> list[list[int]]:
        """Copies with one Message-ID grouped into the messages they are, least number first.

        Copies are one message when they agree on sender, normalized subject (a list tag may
        differ) and To/Cc addresses, and their Dates (else arrival times) form a chain with
        gaps of at most `COPY_DATE_SLACK`. A copy without a From (headers too broken to read
        one) cannot disagree: it joins the nearest in time with its subject, if any. The
        earliest message keeps the Message-ID as its ident; each other gets the id with "#"
        and a hash of its content, so a later message reusing the id never changes the
        ident, or the thread id, of the first.
        """
        copies = self.copies
        head = copies[numbers[0]].facts
        if all(_same_headers(head, copies[i].facts) for i in numbers[1:]):
            return [numbers]  # the common case: true copies, header for header
        found = self._chain([i for i in numbers if copies[i].facts.from_])
        unread: list[int] = []
        for i in numbers:
            facts = copies[i].facts
            if not facts.from_:
                undated, time, _ = _copy_time(facts, i)
                subject = self.split(facts.subject)[0]
                near = [
                    (abs(t - time), variant.signature, variant)
                    for variant in found
                    if variant.subject == subject
                    for u, t, _ in variant.times
                    if u == undated and abs(t - time) <= COPY_DATE_SLACK
                ]
                if near:
                    min(near, key=itemgetter(0, 1))[2].members.append(i)
                else:
                    unread.append(i)
        found += self._chain(unread)
        found.sort(key=attrgetter("start", "signature"))  # the earliest first: it keeps the id
        message_id = head.message_id
        for variant in found[1:]:
            digest = hashlib.blake2b(
                variant.signature.encode("utf-8", "surrogatepass"), digest_size=6
            )
            for i in variant.members:
                self.renamed[i] = f"{message_id}#{digest.hexdigest()}"
        return [sorted(variant.members) for variant in found]

    def _chain(self, numbers: list[int]) -> list[_Variant]:
        """Copies grouped by sender, subject and recipients, then by time (see `_variants`)."""
        by_content: dict[tuple[str, str, tuple[str, ...]], list[tuple[bool, int, int]]] = {}
        for i in numbers:
            facts = self.copies[i].facts
            sender = facts.from_[0][1] if facts.from_ else ""
            recipients = tuple(sorted(set(map(_ADDRESS, facts.to + facts.cc))))
            content = (sender, self.split(facts.subject)[0], recipients)
            by_content.setdefault(content, []).append(_copy_time(facts, i))
        found: list[_Variant] = []
        for content, timed in by_content.items():
            timed.sort()
            last: tuple[bool, int, int] | None = None
            for copy in timed:
                undated, time, i = copy
                if last is None or last[0] != undated or time - last[1] > COPY_DATE_SLACK:
                    signature = repr((*content, None if undated else time))
                    found.append(_Variant((undated, time), signature, content[1], [], []))
                found[-1].members.append(i)
                found[-1].times.append(copy)
                last = copy
        return found

    def _pick_cited(self, i: int, firsts: list[int]) -> int:
        """Which of the messages sharing a Message-ID message `i` cites (or reports on).

        The best match, in this order: one that shares a person (From/To/Cc, not me) with
        `i`; one with its normalized subject; one dated at or before it, the latest such,
        else the earliest after it, else an undated one. A reply from one client of a mail
        merge so joins the copy sent to that client; a reply that matches none joins the
        latest one before it. Only the messages sharing a person are scored when there are
        any (a mail merge to thousands, and replies from many of them, stay cheap).
        """
        copies, whens, me = self.copies, self.whens, self.me
        facts = copies[i].facts
        people = set(map(_ADDRESS, facts.from_ + facts.to + facts.cc)) - me
        subject = self.split(facts.subject)[0]
        when = whens[i]
        by_person = self.shared_people.get(firsts[0])
        if by_person is None:
            by_person = self.shared_people[firsts[0]] = {}
            for first in firsts:
                cited = copies[first].facts
                for person in set(map(_ADDRESS, cited.from_ + cited.to + cited.cc)) - me:
                    by_person.setdefault(person, []).append(first)
        sharing = {first for person in people for first in by_person.get(person, ())}

        def score(first: int) -> tuple[bool, tuple[int, int], str]:
            cited = copies[first].facts
            cited_when = whens[first]
            if cited_when is None:
                time = (0, 0)
            elif when is None or cited_when <= when:
                time = (2, cited_when)  # before: the latest
            else:
                time = (1, -cited_when)  # after: the earliest
            same_subject = self.split(cited.subject)[0] == subject
            return (same_subject, time, self.renamed.get(first, cited.message_id))

        return max(sharing or firsts, key=score)

    def _dedupe_by_content(self, bucket: list[int]) -> list[int]:
        """Join copies with one content signature; return the bucket without the later ones.

        Everything in the bucket shares the normalized subject; only copies whose Dates fall
        in one minute are compared further, by sender and recipients.
        """
        minutes = self.minutes
        if len(bucket) == 2 and minutes[bucket[0]] != minutes[bucket[1]]:
            return bucket  # the common case
        first_of_minute: dict[int, int] = {}
        same_minute: dict[int, list[int]] = {}
        for i in bucket:
            if minutes[i] >= 0:
                first = first_of_minute.setdefault(minutes[i], i)
                if first != i:
                    same_minute.setdefault(first, [first]).append(i)
        found = False
        for members in same_minute.values():
            by_rest: dict[tuple[str, frozenset[str]], int] = {}
            for i in sorted(members):  # the least number stands for the message
                facts = self.copies[i].facts
                if facts.from_:
                    rest = (facts.from_[0][1], frozenset(map(_ADDRESS, facts.to + facts.cc)))
                    first = by_rest.setdefault(rest, i)
                    if first != i:
                        self._same_message(first, i)
                        found = True
        return [i for i in bucket if i not in self.original] if found else bucket

    def _same_message(self, first: int, i: int) -> None:
        """Copy `i` (with any copies of its own) is a later copy of the message at `first`."""
        self.original[i] = first
        _union(self.parent, first, i)
        self.several.setdefault(first, [first]).extend(self.several.pop(i, (i,)))
        if (when := self.whens[i]) is not None:
            earliest = self.whens[first]
            self.whens[first] = when if earliest is None else min(when, earliest)

    def ident(self, first: int) -> str:
        """What names a message across runs: its Message-ID, else its content, else its copy."""
        ident = self.idents.get(first)
        if ident is None and first not in self.several:
            ident = self.renamed.get(first) or self.copies[first].facts.message_id
        if not ident:
            numbers = self.several.get(first, (first,))
            copies = [self.copies[i] for i in numbers]
            # Copies found by content may carry several ids: the least is a fixed choice.
            ids = [self.renamed.get(i) or self.copies[i].facts.message_id for i in numbers]
            ids = [ident for ident in ids if ident]
            facts = copies[0].facts
            if ids:
                ident = min(ids)
            elif facts.date is not None and facts.from_:
                addresses = sorted(map(_ADDRESS, facts.to + facts.cc))
                content = (facts.from_[0][1], facts.date // 60, self.split(facts.subject)[0])
                ident = repr((*content, addresses))
            else:
                ident = f"{copies[0].folder}/{facts.key}"
            self.idents[first] = ident
        return ident

    def in_order(self, firsts: list[int]) -> None:
        """Sort messages by time, undated last, ties settled by their idents."""
        whens = self.whens
        if len(firsts) == 2:  # the most common case by far
            a, b = whens[firsts[0]], whens[firsts[1]]
            if a is not None and b is not None and a != b:
                if a > b:
                    firsts.reverse()
                return
        elif None not in map(whens.__getitem__, firsts):
            firsts.sort(key=whens.__getitem__)  # type: ignore[arg-type]  # all dated
            if len(set(map(whens.__getitem__, firsts))) == len(firsts):
                return  # no ties, and no ident to compute

        def key(first: int) -> tuple[bool, int, str]:
            when = whens[first]
            return (when is None, when or 0, self.ident(first))

        firsts.sort(key=key)

    def _link_by_subject(self, bucket: list[int]) -> None:
        whens = self.whens
        self.in_order(bucket)
        # Cut where the gap exceeds the window: nothing joins across it, and most runs are
        # single messages with nothing to do. Undated messages never join by subject.
        start, last = 0, None
        for end, first in enumerate(bucket):
            when = whens[first]
            if when is None:
                bucket = bucket[:end]
                break
            if last is not None and when - last > SUBJECT_WINDOW:
                if end - start > 1:
                    self._sweep_subject(bucket[start:end])
                start = end
            last = when
        if len(bucket) - start > 1:
            self._sweep_subject(bucket[start:])

    def _link_generic_replies(self, bucket: list[int]) -> None:
        """A reply under a generic subject ("Re:", "Re: hi") without threading headers joins
        the latest message its sender got, under that subject, from someone it is addressed
        to, within `GENERIC_REPLY_WINDOW`: the subject says nothing, the pair and the timing
        say it answers that message. Anything else under such a subject stays apart."""
        copies, whens, parent = self.copies, self.whens, self.parent
        # Only what someone could answer with such a reply is remembered: mail to them.
        repliers = {
            facts.from_[0][1]
            for first in bucket
            if (facts := copies[first].facts).from_
            and not (facts.in_reply_to or facts.references)
            and self.split(facts.subject)[1]
        }
        if not repliers:
            return
        self.in_order(bucket)
        latest: dict[tuple[str, str], int] = {}  # (sender, recipient) -> latest message
        for first in bucket:
            when = whens[first]
            facts = copies[first].facts
            if when is None or not facts.from_:
                continue
            sender = facts.from_[0][1]
            addressed = [address for _, address in (facts.to + facts.cc)[:_PAIRS_PER_MESSAGE]]
            if (
                sender in repliers
                and self.split(facts.subject)[1]
                and not (facts.in_reply_to or facts.references)
            ):
                answered = [
                    earlier
                    for address in addressed
                    if (earlier := latest.get((address, sender))) is not None
                    and when - (whens[earlier] or 0) <= GENERIC_REPLY_WINDOW
                ]
                if answered:
                    _union(parent, max(answered, key=lambda i: whens[i] or 0), first)
            for address in addressed:
                if address in repliers:
                    latest[(sender, address)] = first

    def _sweep_subject(self, run: list[int]) -> None:
        """Join, in time order, each message to the open conversations it follows up.

        A message M joins an earlier conversation C (of the same normalized subject) when
        - they share a person that is not me (a From/To/Cc address, or a display name of
          two words or more: `people`): two of my proposals with the same subject to
          different clients stay apart, while the client's answer (from another address of
          theirs too), or a colleague's answer that copies the client (or that I had
          copied), joins;
        - C's latest message is at most SUBJECT_WINDOW older than M;
        - M looks like a follow-up: its subject had a reply/forward prefix, or it has no
          threading headers at all, or its sender received a message of C (a client writing
          anew under the same subject is answering). A message whose headers point
          elsewhere and that none of these fit is a new matter that reuses a subject.
        A message already joined to C by its headers keeps C open whatever it says.

        Thousands of messages with one subject (a contact form, a ticket system, a spam
        wave) must not cost a comparison of each with all: once more than MAX_CANDIDATES
        are open, only conversations found through an index by person are compared, at most
        MAX_CANDIDATES of them, the most recently active first. (Below that, comparing with
        all open ones is the same and cheaper: most runs hold two or three messages.)
        Conversations expire in time order, from a queue.
        """
        parent, copies, whens = self.parent, self.copies, self.whens
        # Conversations met in this run, by root: (latest time, people, recipients).
        open_by_root: dict[int, tuple[int, set[str], set[str]]] = {}
        by_person: dict[str, dict[int, None]] | None = None  # made when many are open
        expiring: deque[tuple[int, int]] = deque()  # (latest time, root): times only grow
        for first in run:
            facts = copies[first].facts
            when: int = whens[first]  # type: ignore[assignment]  # runs hold dated mail only
            root = _find(parent, first)
            while expiring and expiring[0][0] < when - SUBJECT_WINDOW:
                last, other = expiring.popleft()
                entry = open_by_root.get(other)
                if entry is not None and entry[0] == last and other != root:
                    del open_by_root[other]  # expired, for good
            people = self.people(facts)
            joined = [root] if root in open_by_root else []
            if len(open_by_root) <= self.compare_all_up_to:
                candidates = [other for other in open_by_root if other != root]
            else:
                if by_person is None:
                    by_person = _index_by_person(open_by_root)
                candidates = self._candidates(people, by_person, open_by_root, root)
            self.comparisons += len(candidates)
            for other in candidates:
                _, others, recipients = open_by_root[other]
                if not people.isdisjoint(others) and self._follows_up(facts, recipients):
                    joined.append(other)
            if by_person is not None:
                for person in people:
                    if person in by_person:
                        by_person[person][first] = None
                    else:
                        by_person[person] = {first: None}
            recipients = set(map(_ADDRESS, facts.to + facts.cc + facts.bcc))
            for other in joined:
                _, others, theirs = open_by_root.pop(other)
                people = _merged(people, others)
                recipients = _merged(recipients, theirs)
                _union(parent, other, first)
            root = _find(parent, first)
            open_by_root[root] = (when, people, recipients)
            expiring.append((when, root))

    def people(self, facts: MessageFacts) -> set[str]:
        """Who a message is between, but me, for the subject sweep: From/To/Cc addresses,
        and "name:" + `name_key` of each display name that is not mine, so that a client
        answering from another address of theirs ("Tom Berg <tom@email.msn.example>" for
        "Tom Berg <tom@msn.example>") still shares a person with my message."""
        pairs = facts.from_ + facts.to + facts.cc
        people = set(map(_ADDRESS, pairs)) - self.me
        if not any(map(_NAME, pairs)):
            return people
        mine = self.my_names()
        for name, address in pairs:
            if name and address not in self.me and (key := name_key(name)) and key not in mine:
                people.add("name:" + key)
        return people

    def my_names(self) -> frozenset[str]:
        """The display names on mail from my addresses (`me`), as `name_key`s."""
        if self._my_names is None:
            self._my_names = frozenset(
                key
                for copy in self.copies
                for name, address in copy.facts.from_[:1]
                if address in self.me and (key := name_key(name))
            )
        return self._my_names

    def _candidates(
        self,
        people: set[str],
        by_person: dict[str, dict[int, None]],
        open_by_root: dict[int, tuple[int, set[str], set[str]]],
        root: int,
    ) -> list[int]:
        """Open conversations (but `root`) that may share a person with a message, newest
        first, at most MAX_CANDIDATES: each message is compared with a bounded few."""
        parent, found = self.parent, {root: None}
        for person in people:
            messages = by_person.get(person)
            if not messages:
                continue
            stale, moved = [], []
            for message in reversed(messages):
                other = _find(parent, message)
                if other not in open_by_root:  # closed: expired, or since reopened anew
                    stale.append(message)
                    continue
                if other != message:  # joined to another: its root stands for it now
                    stale.append(message)
                    moved.append(other)
                if other not in found:
                    found[other] = None
                    if len(found) > MAX_CANDIDATES:
                        break
            for message in stale:
                del messages[message]
            for other in moved:
                messages.setdefault(other)
            if len(found) > MAX_CANDIDATES:
                break
        del found[root]
        return list(found)

    def _follows_up(self, facts: MessageFacts, recipients: set[str]) -> bool:
        if self.split(facts.subject)[1] or not (facts.in_reply_to or facts.references):
            return True
        return (facts.from_[0][1] if facts.from_ else "") in recipients

    def _collect(self) -> list[Conversation]:
        parent, original = self.parent, self.original
        messages: dict[int, list[int]] = {}  # root -> its firsts, when there are several
        for i in [i for i, up in enumerate(parent) if up != i]:
            if i not in original:
                root = _find(parent, i)
                messages.setdefault(root, [root]).append(i)
        # 40 bits are plenty for one user's threads and short enough to type. BLAKE2b, and
        # copies of a hash primed with the account: this runs for every conversation.
        primed = hashlib.blake2b(self.account.encode() + b"\0", digest_size=5)
        thread_message, found = self._thread_message, []
        for i in [i for i, up in enumerate(parent) if up == i]:
            group = messages.get(i)
            if group is None:  # by far the most common case: a conversation of one message
                thread: tuple[ThreadMessage, ...] = (thread_message(i),)
                first = i
            else:
                self.in_order(group)
                thread = tuple(map(thread_message, group))
                first = group[0]
            digest = primed.copy()
            digest.update(self.ident(first).encode())
            found.append(Conversation("t" + digest.hexdigest(), thread))
        return found

    def _thread_message(self, first: int) -> ThreadMessage:
        numbers = self.several.get(first)
        if numbers is None:
            shown = first
            copy = self.copies[first]
            folders: tuple[str, ...] = (copy.folder,)
            uses = self.uses_of.get(copy.folder_use)
            if uses is None:
                uses = self.uses_of[copy.folder_use] = frozenset((copy.folder_use,))
        else:
            group = [self.copies[i] for i in numbers]
            shown = min(numbers, key=lambda i: _representative_rank(self.copies[i]))
            copy = self.copies[shown]
            folders = tuple(sorted({c.folder for c in group}))
            uses = frozenset(c.folder_use for c in group)
        # The shown copy's Message-ID, as downstream keyed it before ids could be shared.
        ident = (
            self.renamed.get(shown, copy.facts.message_id)
            if self.renamed
            else copy.facts.message_id
        )
        return _new_thread_message(
            copy.facts, self.account, folders, uses, self.whens[first], ident
        )


@dataclass(slots=True)
class _Variant:
    """One message among the copies that carry a Message-ID (see `_Builder._variants`)."""

    start: tuple[bool, int]  # (undated, earliest time)
    signature: str  # sender, subject, recipients, time: what its ident's hash is made of
    subject: str  # normalized
    members: list[int]  # copy numbers
    times: list[tuple[bool, int, int]]  # (undated, time, copy) of the copies that made it


def _copy_time(facts: MessageFacts, i: int) -> tuple[bool, int, int]:
    # Copies share the Date header; without one, their arrival times are close.
    time = facts.date if facts.date is not None else facts.internal_date
    return (time is None, time or 0, i)


def _same_headers(one: MessageFacts, other: MessageFacts) -> bool:
    return (
        one.date == other.date
        and one.subject == other.subject
        and one.from_ == other.from_
        and one.to == other.to
        and one.cc == other.cc
    )


def _index_by_person(
    open_by_root: dict[int, tuple[int, set[str], set[str]]],
) -> dict[str, dict[int, None]]:
    """Person -> the open conversations with them, as `_Builder._candidates` reads it."""
    by_person: dict[str, dict[int, None]] = {}
    for root, (_, people, _) in open_by_root.items():
        for person in people:
            by_person.setdefault(person, {})[root] = None
    return by_person


def _merged(one: set[str], other: set[str]) -> set[str]:
    """The union of two sets no longer needed apart, built in the larger: a conversation
    that grows by one message at a time costs its new addresses, not all of its own."""
    if len(one) < len(other):
        one, other = other, one
    one |= other
    return one


def _representative_rank(copy: StoredMessage) -> tuple[int, str, str]:
    # The Sent copy keeps the Bcc; otherwise prefer a copy outside Junk and Trash.
    use = copy.folder_use
    return (0 if use == _SENT else 2 if use in (_JUNK, _TRASH) else 1, copy.folder, copy.facts.key)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = i = parent[parent[i]]  # path halving
    return i


def _union(parent: list[int], a: int, b: int) -> None:
    a, b = _find(parent, a), _find(parent, b)
    if a != b:
        parent[max(a, b)] = min(a, b)  # the least number is the root: _Builder relies on it


def _thread_index_prefix(value: str) -> bytes | None:
    # Outlook's Thread-Index: 22 bytes (a time stamp and a GUID) name the conversation, and
    # every reply appends 5 bytes. Anything shorter is not a Thread-Index we can use.
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw[:22] if len(raw) >= 22 else None
