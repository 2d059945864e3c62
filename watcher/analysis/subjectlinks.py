"""Conversations, step 3: the subject fallback (see `conversations.py`).

For mail whose threading headers are missing or broken: messages of one normalized subject,
swept by time, each compared only with the open conversations that share a person with it,
a bounded few (`SubjectLinker._sweep_subject`); replies under a generic subject ("Re:") join
only the message their sender got (`SubjectLinker._link_generic_replies`).

`SubjectLinker` is the part of the builder (`conversations._Builder`) that does this.
"""

from __future__ import annotations

from collections import deque
from operator import itemgetter

from watcher.analysis.copies import CopyFinder, _find, _union
from watcher.identity import name_key
from watcher.model import MessageFacts

# A reply without threading headers may come weeks later; beyond this it is a new matter.
SUBJECT_WINDOW = 45 * 86_400
# A reply under a generic subject ("Re:") answers a message this recent, or none.
GENERIC_REPLY_WINDOW = 3 * 86_400
# Recipients of one message remembered for generic-subject replies: a mass mailing to
# thousands is never what a "Re: hi" answers, and must not cost memory per recipient.
_PAIRS_PER_MESSAGE = 50
# Open conversations of one subject a message is compared with, at most (the most recently
# active of those sharing a person with it): thousands of messages with one subject from
# one address (a ticket system) stay linear. Real conversations never come near it.
MAX_CANDIDATES = 64
_ADDRESS = itemgetter(1)  # of a (display name, address) pair
_NAME = itemgetter(0)


class SubjectLinker(CopyFinder):
    """The builder's subject fallback: links messages of one normalized subject."""

    compare_all_up_to = MAX_CANDIDATES  # open conversations; beyond, `_candidates` (tests: 0)
    comparisons: int  # open conversations a message was compared with: for tests
    _my_names: frozenset[str] | None

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
