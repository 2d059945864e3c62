"""Conversations, step 1: which stored copies are one message (see `conversations.py`).

Copies with the same Message-ID are one message when they agree (sender, normalized subject,
To/Cc addresses, Date within `COPY_DATE_SLACK`); so are copies with the same content
signature, which catches copies with different Message-IDs. Copies that share a Message-ID
but disagree are different messages, each with its own ident (`CopyFinder._variants`). Also
here: the union-find over copy numbers that every step of the builder joins through.

`CopyFinder` is the part of the builder (`conversations._Builder`) that does this; the
builder holds the state, set up in its `__init__`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from operator import attrgetter, itemgetter

from watcher.analysis.subjects import split_subject
from watcher.model import MessageFacts, StoredMessage

# A Date this far after the server's arrival time is a wrong clock, not a real date.
FUTURE_DATE_SLACK = 2 * 86_400
# Copies of one message carry one Date header; without one, the arrival times of copies in
# different folders (Sent, Archive, a Bcc to myself) differ by this much at most.
COPY_DATE_SLACK = 5 * 60
_ADDRESS = itemgetter(1)  # of a (display name, address) pair


class CopyFinder:
    """The builder's copy dedupe: times, "me", copies joined into messages, their idents."""

    # The builder's state (`conversations._Builder.__init__` explains each).
    copies: list[StoredMessage]
    parent: list[int]
    original: dict[int, int]
    several: dict[int, list[int]]
    whens: list[int | None]
    minutes: list[int]
    subjects: dict[str, tuple[str, bool]]
    idents: dict[int, str]
    renamed: dict[int, str]
    shared_people: dict[int, dict[str, list[int]]]
    me: set[str]

    def split(self, subject: str) -> tuple[str, bool]:
        hit = self.subjects.get(subject)
        if hit is None:
            hit = self.subjects[subject] = split_subject(subject)
        return hit

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


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = i = parent[parent[i]]  # path halving
    return i


def _union(parent: list[int], a: int, b: int) -> None:
    a, b = _find(parent, a), _find(parent, b)
    if a != b:
        parent[max(a, b)] = min(a, b)  # the least number is the root: _Builder relies on it
