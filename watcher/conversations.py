"""Rebuild conversations from the stored copies of messages: pure code, no I/O.

The store holds one row per copy per folder. Four steps turn the rows into conversations, each
linear in the number of messages (dict look-ups and a union-find; never a comparison of every
message with every other):

1. Dedupe: copies with the same Message-ID, or with the same content signature (From, Date to
   the minute, normalized subject, To/Cc), are one message. The signature catches copies that
   carry different Message-IDs (Enron's overlapping sent folders).
2. Headers: messages citing the same id in In-Reply-To or References (JWZ: a missing parent
   still joins its children), sharing a Gmail thread id or the conversation part of an Outlook
   Thread-Index, are one conversation; so are a delivery or read report and the message it
   names (a bounce carries no threading headers, only the original Message-ID).
3. Subject fallback, for mail whose threading headers are missing or broken: within one
   normalized subject, sweep by time and join a message to an earlier conversation that shares
   a participant other than me, whose latest message is at most `SUBJECT_WINDOW` seconds
   older, when the message looks like a follow-up (see `_sweep_subject`).
4. Collect: one `Conversation` per set, messages in time order, an id from its first message.

Everything is per account: conversations never span accounts. "Me" is every From address of a
message marked `is_from_me` (the identity and the Sent folders decided that at sync time).
The result does not depend on the order of the input.
"""

from __future__ import annotations

import base64
import binascii
import gc
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from operator import attrgetter, itemgetter

from watcher.mail.facts import MessageFacts, StoredMessage

# A reply without threading headers may come weeks later; beyond this it is a new matter.
SUBJECT_WINDOW = 45 * 86_400
# A Date this far after the server's arrival time is a wrong clock, not a real date.
FUTURE_DATE_SLACK = 2 * 86_400
# Subjects too common to say that two messages belong together (compared normalized).
GENERIC_SUBJECTS = frozenset(
    {
        *("", "hi", "hello", "hey", "question", "quick question", "update", "meeting", "fyi"),
        *("thanks", "thank you", "no subject", "(no subject)", "none", "(none)", "untitled"),
        *("test", "info", "information", "follow up", "follow-up", "checking in", "reminder"),
        *("call", "call me", "status", "request", "document", "documents", "attached"),
        *("see attached", "attachment", "meeting request", "lunch", "hola", "hallo"),
    }
)

# One reply/forward prefix ("re:", "aw:", "re[2]:", "re :", "回复：") or one "[list-tag]", matched
# on the casefolded subject (an IGNORECASE pattern is several times slower).
_PREFIX = re.compile(
    r"\s*(?:((?:re|aw|sv|vs|fwd?|wg|tr|rv|res|enc|antw|doorst|rif|r|odp|pd|vá|ynt|ilt|"
    r"απ|σχετ|πρθ|回复|回覆|答复|转发|轉寄|転送|返信)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：])"
    r"|\[[^\[\]]*\])"
)
_SENT, _JUNK, _TRASH = "\\Sent", "\\Junk", "\\Trash"
_ADDRESS = itemgetter(1)  # of an (display name, address) pair


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a conversation, however many copies of it the folders hold.

    `facts` is one representative copy (the Sent copy when there is one: it keeps the Bcc).
    `when` is POSIX seconds: the Date header, else the arrival time; a Date more than
    `FUTURE_DATE_SLACK` after the arrival time is replaced by the arrival time.
    """

    facts: MessageFacts
    account: str
    folders: tuple[str, ...]
    folder_uses: frozenset[str]
    when: int | None

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

    The id hashes the first message's Message-ID (or its content signature), so a later reply
    or another run over the same mail never changes it.
    """

    thread_id: str
    messages: tuple[ThreadMessage, ...]

    @property
    def account(self) -> str:
        return self.messages[0].account

    @property
    def latest(self) -> ThreadMessage:
        return self.messages[-1]


# A frozen dataclass's __init__ sets each field through object.__setattr__, which costs more
# than all the rest done for most messages; the builder fills the slots directly instead.
_THREAD_MESSAGE_SLOTS = ("facts", "account", "folders", "folder_uses", "when")
assert tuple(f.name for f in fields(ThreadMessage)) == _THREAD_MESSAGE_SLOTS
_set_facts, _set_account, _set_folders, _set_uses, _set_when = (
    ThreadMessage.__dict__[name].__set__ for name in _THREAD_MESSAGE_SLOTS
)
assert tuple(f.name for f in fields(Conversation)) == ("thread_id", "messages")
_set_thread_id, _set_messages = (
    Conversation.__dict__[n].__set__ for n in ("thread_id", "messages")
)


def _new_thread_message(
    facts: MessageFacts,
    account: str,
    folders: tuple[str, ...],
    folder_uses: frozenset[str],
    when: int | None,
) -> ThreadMessage:
    message: ThreadMessage = object.__new__(ThreadMessage)
    _set_facts(message, facts)
    _set_account(message, account)
    _set_folders(message, folders)
    _set_uses(message, folder_uses)
    _set_when(message, when)
    return message


def _new_conversation(thread_id: str, messages: tuple[ThreadMessage, ...]) -> Conversation:
    conversation: Conversation = object.__new__(Conversation)
    _set_thread_id(conversation, thread_id)
    _set_messages(conversation, messages)
    return conversation


def normalize_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and list tags, spaces collapsed, casefolded."""
    return _split_subject(subject)[0]


def _split_subject(subject: str) -> tuple[str, bool]:
    """(normalized subject, whether it had a reply or forward prefix)."""
    text = subject.casefold()
    position, replied = 0, False
    while match := _PREFIX.match(text, position):
        replied = replied or match.group(1) is not None
        position = match.end()
    normalized = " ".join(text[position:].split())
    return normalized, replied


def _is_generic(normalized: str) -> bool:
    core = normalized.strip(" .,!?:;-_*")
    return len(core) < 3 or core in GENERIC_SUBJECTS


def build_conversations(messages: Iterable[StoredMessage]) -> list[Conversation]:
    """Group stored copies into conversations, returned in the order of their thread ids."""
    by_account: dict[str, list[StoredMessage]] = {}
    for copy in messages:
        by_account.setdefault(copy.account, []).append(copy)
    # Hundreds of thousands of small objects are made here, none of them in a cycle, and
    # every automatic collection would walk the whole input again: pausing the collector
    # saves a third of the run time (the new objects are scanned once, later, as always).
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
    object per message costs more than the work done with it. Every other copy of a message
    points (`original`) to its least-numbered copy, which stands for the message; the
    least-numbered message stands for the conversation.
    """

    def __init__(self, account: str, copies: list[StoredMessage]) -> None:
        self.account = account
        self.copies = copies
        self.parent = list(range(len(copies)))  # the union-find: copies in one conversation
        self.original: dict[int, int] = {}  # copy -> an earlier copy of the same message
        self.several: dict[int, list[int]] = {}  # first copy -> all copies, when several
        self.whens: list[int | None] = []  # per copy; at a first copy, the message's earliest
        self.minutes: list[int] = []  # Date // 60 per copy, -1 without a Date
        self.by_subject: dict[str, list[int]] = {}  # raw subject -> first copies
        self.subjects: dict[str, tuple[str, bool]] = {}  # raw -> _split_subject()
        self.idents: dict[int, str] = {}
        self.me: set[str] = set()
        self.uses_of: dict[str, frozenset[str]] = {}  # one frozenset per special use

    def conversations(self) -> list[Conversation]:
        self._scan()
        buckets: dict[str, list[int]] = {}  # normalized subject -> first copies
        for subject, firsts in self.by_subject.items():
            normalized = self.split(subject)[0]
            if normalized in buckets:
                buckets[normalized] += firsts
            else:
                buckets[normalized] = firsts
        for normalized, bucket in buckets.items():
            if len(bucket) > 1:
                # Copies of one message share their normalized subject: dedupe here.
                bucket = self._dedupe_by_content(bucket)
                if len(bucket) > 1 and not _is_generic(normalized):
                    self._link_by_subject(bucket)
        return self._collect()

    def split(self, subject: str) -> tuple[str, bool]:
        hit = self.subjects.get(subject)
        if hit is None:
            hit = self.subjects[subject] = _split_subject(subject)
        return hit

    def _scan(self) -> None:
        """One pass: times, copies by Message-ID, links by headers, subjects."""
        copies, parent, whens = self.copies, self.parent, self.whens
        minutes, by_subject, me = self.minutes, self.by_subject, self.me
        # Message-ID -> the copy that has it (n), or else the first that cites it (~n < 0).
        # A reply meets its parent there, and two replies to a parent we never saw meet too
        # (JWZ's empty container, for free).
        nodes: dict[str, int] = {}
        gmail: dict[int, int] = {}
        outlook: dict[str, bytes | None] = {}
        by_outlook: dict[bytes, int] = {}
        slack = FUTURE_DATE_SLACK
        for i, copy in enumerate(copies):
            facts = copy.facts
            date, arrived = facts.date, facts.internal_date
            if date is None:
                whens.append(arrived)
                minutes.append(-1)
            else:
                whens.append(arrived if arrived is not None and date > arrived + slack else date)
                minutes.append(date // 60)
            if facts.is_from_me:  # any copy: the Sent copy may come after the INBOX copy
                me.update(a for _, a in facts.from_)
            message_id = facts.message_id
            if message_id:
                first = nodes.setdefault(message_id, i)
                if first >= 0 and first != i:  # a copy of a message seen: same headers
                    self._same_message(first, i)
                    continue
                if first < 0:  # cited before, seen now
                    nodes[message_id] = i
                    _union(parent, ~first, i)
            # A bounce or read receipt names the message it reports on; my own mail may
            # quote a Message-ID in a forwarded header block, which is no link.
            reported = "" if facts.is_from_me else facts.reported_message_id
            if facts.references or facts.in_reply_to or reported:
                for linked in (facts.in_reply_to, reported, *facts.references):
                    if linked:
                        first = nodes.setdefault(linked, ~i)
                        if first != ~i:
                            _union(parent, first if first >= 0 else ~first, i)
            if facts.gm_thread_id is not None:
                _union(parent, gmail.setdefault(facts.gm_thread_id, i), i)
            if facts.thread_index:
                if facts.thread_index not in outlook:
                    outlook[facts.thread_index] = _thread_index_prefix(facts.thread_index)
                prefix = outlook[facts.thread_index]
                if prefix is not None:
                    _union(parent, by_outlook.setdefault(prefix, i), i)
            if facts.subject in by_subject:
                by_subject[facts.subject].append(i)
            else:
                by_subject[facts.subject] = [i]

    def _dedupe_by_content(self, bucket: list[int]) -> list[int]:
        """Copies with different Message-IDs but one signature are one message too.

        The signature is costly: only copies whose Dates fall in one minute are compared.
        Returns the bucket without the copies found to be copies.
        """
        minutes, original = self.minutes, self.original
        if len(bucket) == 2 and minutes[bucket[0]] != minutes[bucket[1]]:
            return bucket  # the common case
        first_of_minute: dict[int, int] = {}
        same_minute: dict[int, list[int]] = {}
        for i in bucket:
            minute = minutes[i]
            if minute >= 0:
                first = first_of_minute.setdefault(minute, i)
                if first != i:
                    same_minute.setdefault(first, [first]).append(i)
        found = False
        for members in same_minute.values():
            # These share the normalized subject (the bucket) and the minute of their Date:
            # what is left of the signature is the sender and the recipients.
            by_rest: dict[tuple[str, frozenset[str]], int] = {}
            for i in sorted(members):  # the least number stands for the message
                facts = self.copies[i].facts
                if facts.from_:
                    rest = (facts.from_[0][1], frozenset(map(_ADDRESS, facts.to + facts.cc)))
                    first = by_rest.setdefault(rest, i)
                    if first != i:
                        self._same_message(first, i)
                        found = True
        return [i for i in bucket if i not in original] if found else bucket

    def _same_message(self, first: int, i: int) -> None:
        """Copy `i` (with any copies of its own) is a later copy of the message at `first`."""
        self.original[i] = first
        _union(self.parent, first, i)
        self.several.setdefault(first, [first]).extend(self.several.pop(i, (i,)))
        whens, when = self.whens, self.whens[first]
        if when is None or (whens[i] or when) < when:
            whens[first] = whens[i]

    def _signature(self, copy: StoredMessage) -> tuple[object, ...] | None:
        """What copies of one message share even when their Message-IDs differ (as above)."""
        facts = copy.facts
        if facts.date is None or not facts.from_:
            return None
        recipients = frozenset(map(_ADDRESS, facts.to + facts.cc))
        return (facts.from_[0][1], facts.date // 60, self.split(facts.subject)[0], recipients)

    def ident(self, first: int) -> str:
        """What names a message across runs: its Message-ID, else its content, else its copy."""
        ident = self.idents.get(first)
        if ident is None and first not in self.several:
            ident = self.copies[first].facts.message_id  # the common case
        if not ident:
            copies = [self.copies[i] for i in self.several.get(first, (first,))]
            # Copies found by content may carry several ids: the least is a fixed choice.
            ids = [c.facts.message_id for c in copies if c.facts.message_id]
            signature = None if ids else self._signature(copies[0])
            first_copy = f"{copies[0].folder}/{copies[0].facts.key}"
            ident = min(ids) if ids else repr(signature) if signature else first_copy
            self.idents[first] = ident
        return ident

    def in_order(self, messages: list[int]) -> None:
        """Sort messages (first copies) by time, undated last, ties settled by the ident."""
        whens = self.whens
        if len(messages) == 2:  # the most common case by far
            a, b = whens[messages[0]], whens[messages[1]]
            if a is not None and b is not None and a != b:
                if a > b:
                    messages.reverse()
                return
        elif None not in map(whens.__getitem__, messages):
            messages.sort(key=whens.__getitem__)  # type: ignore[arg-type]  # all dated
            if len(set(map(whens.__getitem__, messages))) == len(messages):
                return  # no ties: the common case, and no ident to compute

        def key(first: int) -> tuple[bool, int, str]:
            when = whens[first]
            return (when is None, when or 0, self.ident(first))

        messages.sort(key=key)

    def _link_by_subject(self, bucket: list[int]) -> None:
        whens, window = self.whens, SUBJECT_WINDOW
        self.in_order(bucket)
        # Cut where the gap exceeds the window: nothing joins across it, and most runs are
        # single messages with nothing to do. Undated messages never join by subject.
        start, last = 0, None
        for end, first in enumerate(bucket):
            when = whens[first]
            if when is None:
                bucket = bucket[:end]
                break
            if last is not None and when - last > window:
                if end - start > 1:
                    self._sweep_subject(bucket[start:end])
                start = end
            last = when
        if len(bucket) - start > 1:
            self._sweep_subject(bucket[start:])

    def _sweep_subject(self, run: list[int]) -> None:
        """Join, in time order, each message to the open conversations it follows up.

        A message M joins an earlier conversation C when
        - they share a From/To/Cc address that is not mine: two of my proposals with the
          same subject to different clients stay apart, while the client's answer, or a
          colleague's answer that copies the client (or that I had copied), joins;
        - C's latest message is at most SUBJECT_WINDOW older than M;
        - M looks like a follow-up: its subject had a reply/forward prefix, or it has no
          threading headers at all, or its sender received a message of C (a client writing
          anew under the same subject is answering). A message whose headers point
          elsewhere and that none of these fit is a new matter that reuses a subject.
        A message already joined to C by its headers keeps C open whatever it says.
        """
        parent, me, copies, whens = self.parent, self.me, self.copies, self.whens
        if len(run) == 2:  # the most common run, in short: a message and what may answer it
            a, b = run
            if _find(parent, a) != _find(parent, b):
                earlier, later = copies[a].facts, copies[b].facts
                shared = set(map(_ADDRESS, earlier.from_ + earlier.to + earlier.cc)) - me
                shared.intersection_update(map(_ADDRESS, later.from_ + later.to + later.cc))
                if shared and self._follows_up(later, [earlier]):
                    _union(parent, a, b)
            return
        open_by_root: dict[int, _Open] = {}  # conversations met in this run, by their root
        for first in run:
            facts = copies[first].facts
            when: int = whens[first]  # type: ignore[assignment]  # runs hold dated mail only
            people = set(map(_ADDRESS, facts.from_ + facts.to + facts.cc)) - me
            root, joined = _find(parent, first), []
            if open_by_root:
                cutoff, expired = when - SUBJECT_WINDOW, []
                for other_root, state in open_by_root.items():
                    if other_root == root:
                        joined.append(other_root)
                    elif state.last < cutoff:
                        expired.append(other_root)
                    elif not people.isdisjoint(state.people) and self._follows_up(
                        facts, state.members
                    ):
                        joined.append(other_root)
                for other_root in expired:
                    del open_by_root[other_root]
            merged = _Open(when, people, [facts])
            for other_root in joined:
                other = open_by_root.pop(other_root)
                merged.people |= other.people
                merged.members += other.members
                _union(parent, other_root, first)
            open_by_root[_find(parent, first)] = merged

    def _follows_up(self, facts: MessageFacts, earlier: list[MessageFacts]) -> bool:
        if self.split(facts.subject)[1] or not (facts.in_reply_to or facts.references):
            return True
        sender = facts.from_[0][1] if facts.from_ else ""
        return any(sender == a for f in earlier for _, a in f.to + f.cc + f.bcc)

    def _collect(self) -> list[Conversation]:
        parent, original, several = self.parent, self.original, self.several
        copies, account, whens = self.copies, self.account, self.whens
        messages: dict[int, list[int]] = {}  # root -> its messages' first copies, when several
        for i in [i for i, up in enumerate(parent) if up != i]:
            if i not in original:
                root = _find(parent, i)
                messages.setdefault(root, [root]).append(i)
        uses_of = self.uses_of
        # 40 bits are plenty for one user's threads and short enough to type. BLAKE2b, and
        # a copy of a hash primed with the account, as this runs for every conversation.
        primed = hashlib.blake2b(account.encode() + b"\0", digest_size=5)
        found = []
        for i in [i for i, up in enumerate(parent) if up == i]:
            group = messages.get(i)
            if group is None and i not in several:  # by far the most common case
                copy = copies[i]
                uses = uses_of.get(copy.folder_use)
                if uses is None:
                    uses = uses_of[copy.folder_use] = frozenset((copy.folder_use,))
                message = _new_thread_message(copy.facts, account, (copy.folder,), uses, whens[i])
                thread: tuple[ThreadMessage, ...] = (message,)
                ident = copy.facts.message_id or self.ident(i)
            else:
                if group is None:
                    group = [i]
                self.in_order(group)
                thread = tuple(map(self._thread_message, group))
                ident = self.ident(group[0])
            digest = primed.copy()
            digest.update(ident.encode())
            found.append(_new_conversation("t" + digest.hexdigest(), thread))
        return found

    def _thread_message(self, first: int) -> ThreadMessage:
        numbers = self.several.get(first)
        if numbers is None:
            copy = self.copies[first]
            folders: tuple[str, ...] = (copy.folder,)
            uses = self.uses_of.get(copy.folder_use)
            if uses is None:
                uses = self.uses_of[copy.folder_use] = frozenset((copy.folder_use,))
        else:
            group = [self.copies[i] for i in numbers]
            copy = min(group, key=_representative_rank)
            folders = tuple(sorted({c.folder for c in group}))
            uses = frozenset(c.folder_use for c in group)
        return _new_thread_message(copy.facts, self.account, folders, uses, self.whens[first])


class _Open:
    """A conversation met in one subject run: what later messages are matched against."""

    __slots__ = ("last", "members", "people")

    def __init__(self, last: int, people: set[str], members: list[MessageFacts]) -> None:
        self.last, self.people, self.members = last, people, members


def _representative_rank(copy: StoredMessage) -> tuple[int, str, str]:
    # The Sent copy keeps the Bcc; otherwise prefer a copy outside Junk and Trash.
    use = copy.folder_use
    return (0 if use == _SENT else 2 if use in (_JUNK, _TRASH) else 1, copy.folder, copy.facts.key)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = i = parent[parent[i]]  # path halving
    return i


def _union(parent: list[int], a: int, b: int) -> None:
    # The least number becomes the root: _Builder relies on it.
    a, b = _find(parent, a), _find(parent, b)
    if a != b:
        parent[max(a, b)] = min(a, b)


def _thread_index_prefix(value: str) -> bytes | None:
    # Outlook's Thread-Index: 22 bytes (a time stamp and a GUID) name the conversation, and
    # every reply appends 5 bytes. Anything shorter is not a Thread-Index we can use.
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw[:22] if len(raw) >= 22 else None
