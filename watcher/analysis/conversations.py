"""Rebuild conversations from the stored copies of messages: pure code, no I/O.

The store holds one row per copy of a message per folder. The steps, each linear in the number
of copies (dict look-ups and a union-find, never a comparison of every message with every
other), per account (conversations never span accounts):

1. Dedupe: copies with the same Message-ID are one message when they agree (sender, normalized
   subject, To/Cc addresses, Date within `COPY_DATE_SLACK`); so are copies with the same
   content signature (From, Date to the minute, normalized subject, To/Cc addresses), which
   catches copies with different Message-IDs (Enron's overlapping sent folders). Copies that
   share a Message-ID but disagree are different messages (mail merge, "send again", a
   newsletter reusing its id): each keeps its own `ThreadMessage.ident`. (`copies.py`)
2. Headers: messages citing the same id in Message-ID, In-Reply-To or References (JWZ: a
   missing parent still joins its children), sharing a Gmail thread id or the conversation
   part of an Outlook Thread-Index, are one conversation; so are a bounce or read receipt and
   the message it reports on (a bounce carries no threading headers, only that Message-ID).
   A citation of a Message-ID that several messages share joins one of them (`_pick_cited`).
3. Subject fallback, for mail whose threading headers are missing or broken: bucket by
   normalized subject, sweep each bucket by time, comparing a message only with the open
   conversations that share a person with it, a bounded few. (`subjectlinks.py`)
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
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from operator import attrgetter, itemgetter

from watcher.analysis.copies import _find, _union
from watcher.analysis.signals import Bounce, automatic_reason, bounce_of
from watcher.analysis.subjectlinks import SubjectLinker
from watcher.model import MessageFacts, StoredMessage

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


class _Builder(SubjectLinker):
    """The conversations of one account: a union-find over the copies, fed by one scan.

    What is known about each copy sits in lists indexed by its number: at this scale an
    object per message costs more than the work done with it. A message is known by its
    least-numbered copy (its "first"); the least-numbered message is the union-find's root.
    """

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


def _representative_rank(copy: StoredMessage) -> tuple[int, str, str]:
    # The Sent copy keeps the Bcc; otherwise prefer a copy outside Junk and Trash.
    use = copy.folder_use
    return (0 if use == _SENT else 2 if use in (_JUNK, _TRASH) else 1, copy.folder, copy.facts.key)


def _thread_index_prefix(value: str) -> bytes | None:
    # Outlook's Thread-Index: 22 bytes (a time stamp and a GUID) name the conversation, and
    # every reply appends 5 bytes. Anything shorter is not a Thread-Index we can use.
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw[:22] if len(raw) >= 22 else None
