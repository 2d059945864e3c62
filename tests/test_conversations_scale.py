"""The subject fallback at scale: the same conversations as the plain sweep, bounded work.

The sweep compares a message only with open conversations that share a person with it (and
a bounded number of them). These tests hold it to the plain sweep that compared every
message with every open conversation (kept here as the reference), and count comparisons
rather than time: how fast it runs is for bench/conversations.py.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.analysis.conversations import Conversation, _Builder
from watcher.analysis.copies import _find, _union
from watcher.analysis.subjectlinks import MAX_CANDIDATES, SUBJECT_WINDOW
from watcher.model import MessageFacts, StoredMessage

DAY = 86_400
T0 = 1_790_000_000
ME = "me@studio.example"
PEOPLE = [ME, "ann@acme.example", "bob@acme.example", "cy@other.example", "dee@x.example"]
SUBJECTS = ["Proposal", "Re: Proposal", "RE: proposal", "Fwd: Proposal", "Quote 7"]


class _PlainSweep(_Builder):
    """The sweep as it was: every message against every open conversation (quadratic)."""

    def _sweep_subject(self, run: list[int]) -> None:
        parent, copies, whens = self.parent, self.copies, self.whens
        open_by_root: dict[int, tuple[int, set[str], list[MessageFacts]]] = {}
        for first in run:
            facts = copies[first].facts
            when: int = whens[first]  # type: ignore[assignment]
            people = self.people(facts)
            root, members, joined = _find(parent, first), [facts], []
            for other_root, (last, others, earlier) in list(open_by_root.items()):
                if last < when - SUBJECT_WINDOW and other_root != root:
                    del open_by_root[other_root]
                elif other_root == root or (
                    not people.isdisjoint(others) and self._plain_follows_up(facts, earlier)
                ):
                    joined.append(other_root)
            for other_root in joined:
                _, others, earlier = open_by_root.pop(other_root)
                people |= others
                members += earlier
                _union(parent, other_root, first)
            open_by_root[_find(parent, first)] = (when, people, members)

    def _plain_follows_up(self, facts: MessageFacts, earlier: list[MessageFacts]) -> bool:
        if self.split(facts.subject)[1] or not (facts.in_reply_to or facts.references):
            return True
        sender = facts.from_[0][1] if facts.from_ else ""
        return any(sender == a for f in earlier for _, a in f.to + f.cc + f.bcc)


class _AlwaysIndexed(_Builder):
    """The sweep through the index by person even with few conversations open."""

    compare_all_up_to = 0


def _outcome(conversations: list[Conversation]) -> list[tuple[str, tuple[str, ...]]]:
    found = [(c.thread_id, tuple(m.facts.key for m in c.messages)) for c in conversations]
    return sorted(found)


def _one_subject_mailbox(seed: int) -> list[StoredMessage]:
    """Many messages, few subjects and people, over a few windows: the sweep's hard cases.

    Drawn from a seeded generator rather than by hypothesis, field by field: as fast for
    hundreds of mailboxes, and a failure names its seed.
    """
    rng = random.Random(seed)
    copies = []
    for n in range(rng.randint(1, 60)):
        sender = rng.choice(PEOPLE)
        cited = ["", f"<elsewhere-{n}@x>", f"<m{max(n - 1, 0)}@x>", "<gone@x>"]
        facts = MessageFacts(
            key=f"m{n}",
            message_id=rng.choice([f"<m{n}@x>", f"<m{n}@x>", ""]),
            in_reply_to=rng.choice(cited),
            from_=(("", sender),),
            to=tuple(("", a) for a in rng.sample(PEOPLE, rng.randint(1, 3))),
            cc=tuple(("", a) for a in rng.sample(PEOPLE, rng.randint(0, 1))),
            bcc=tuple(("", a) for a in rng.sample(PEOPLE, rng.randint(0, 1))),
            subject=rng.choice(SUBJECTS),
            date=T0 + rng.randint(0, 150) * DAY // 2,  # ties, and several windows
            is_from_me=sender == ME,
        )
        copies.append(StoredMessage("work", "Sent" if sender == ME else "INBOX", "", facts))
    return copies


@settings(max_examples=1000, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_the_indexed_sweep_finds_the_conversations_the_plain_sweep_found(seed: int) -> None:
    copies = _one_subject_mailbox(seed)
    expected = _PlainSweep("work", copies).conversations()
    assert _outcome(_AlwaysIndexed("work", copies).conversations()) == _outcome(expected)
    assert _outcome(_Builder("work", copies).conversations()) == _outcome(expected)


def _one_subject(count: int, sender: str | None, *, headers: bool) -> list[StoredMessage]:
    """`count` messages with one subject within one window, from `sender` (else each from
    someone new), to me; with headers, each points elsewhere (a new matter)."""
    mine = MessageFacts(key="mine", message_id="<mine@x>", from_=(("", ME),), is_from_me=True)
    copies = [StoredMessage("work", "Sent", "\\Sent", mine)]
    for n in range(count):
        facts = MessageFacts(
            key=str(n),
            message_id=f"<{n}@x>",
            in_reply_to=f"<ticket-{n}@vendor>" if headers else "",
            from_=(("", sender or f"p{n}@web.example"),),
            to=(("", ME), ("", f"ticket-{n}@vendor.example")),
            subject="Website enquiry",
            date=T0 + n * 600,
        )
        copies.append(StoredMessage("work", "INBOX", "", facts))
    return copies


def test_distinct_senders_under_one_subject_are_never_compared() -> None:
    # A contact form or a spam wave: 3,000 strangers, one subject. The plain sweep made
    # 4.5 million comparisons here; now only the first few meet all open conversations.
    builder = _Builder("work", _one_subject(3000, None, headers=False))
    assert len(builder.conversations()) == 3001
    assert builder.comparisons <= MAX_CANDIDATES**2


def test_one_sender_of_many_new_matters_costs_a_bounded_few_comparisons_each() -> None:
    # A ticket system: one sender, one subject, each ticket its own matter.
    builder = _Builder("work", _one_subject(3000, "tickets@vendor.example", headers=True))
    assert len(builder.conversations()) == 3001
    assert 0 < builder.comparisons <= 3000 * MAX_CANDIDATES


def test_one_conversation_that_keeps_growing_costs_one_comparison_a_message() -> None:
    # A form mailer without threading headers: every message follows up the one before.
    builder = _Builder("work", _one_subject(3000, "noreply@site.example", headers=False))
    assert len(builder.conversations()) == 2
    assert builder.comparisons == 2999


def test_replies_to_a_large_mail_merge_each_join_the_copy_sent_to_their_author() -> None:
    shared = "<merge@mailer.example>"
    clients = [f"c{n}@client{n}.example" for n in range(500)]
    copies = []
    for n, client in enumerate(clients):
        sent = MessageFacts(
            key=f"s{n}",
            message_id=shared,
            from_=(("", ME),),
            to=(("", client),),
            subject="Spring offer",
            date=T0,
            is_from_me=True,
        )
        reply = MessageFacts(
            key=f"r{n}",
            message_id=f"<r{n}@x>",
            in_reply_to=shared,
            from_=(("", client),),
            to=(("", ME),),
            subject="Sounds good",
            date=T0 + DAY + n,
        )
        copies += [
            StoredMessage("work", "Sent", "\\Sent", sent),
            StoredMessage("work", "INBOX", "", reply),
        ]
    found = _outcome(_Builder("work", copies).conversations())
    assert sorted(keys for _, keys in found) == sorted((f"s{n}", f"r{n}") for n in range(500))
