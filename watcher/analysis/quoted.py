"""Answers seen only as a quote: the contact's reply that never reached this mailbox as a
message of its own, but that I quoted in a later message of mine.

Pure code over conversations. A reply may come by another route (a pager, a phone's mail
app, a folder the watcher does not read) and show up only inside my next message: my
follow-up "RE: contract approval" quotes "From: <the contact> ... Subject: Re: contract
approval" above their words, or I forward their answer to a colleague. Such a quote
answers my message when
- it sits in a later message of mine with the same normalized subject (in any
  conversation: the forward to a colleague is a conversation of its own), within
  `QUOTE_WINDOW`;
- its quoted Subject: line has that normalized subject too, as a reply ("Re: ..."): a
  quoted message under the bare subject is the one I answered, or a new one of a series;
- its quoted author is one of my message's contacts: the address, or every part (two at
  least) of their name, as the display name or the address's local part gives it
  ("Roensch, David" for david.roensch@corp.example).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.analysis.conversations import Conversation, ThreadMessage
from watcher.analysis.owntext import split_own
from watcher.analysis.subjects import normalize_subject, split_subject
from watcher.identity import name_key
from watcher.model import Address

QUOTE_WINDOW = 45 * 86_400  # as far as a reply joins by subject (conversations.SUBJECT_WINDOW)
_LOOK_AT = 8  # later messages of mine with the subject, at most, per message followed
_ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+\.[a-z]{2,}", re.IGNORECASE)
_NOTES_UNITS = re.compile(r"/\S*")


@dataclass(frozen=True, slots=True)
class QuotedAnswer:
    """A contact's answer, quoted in a later message of mine."""

    contact: Address
    quoted_in: ThreadMessage  # my message that quotes it
    note: str  # for the verdict's notes


class QuotedAnswers:
    """My messages by normalized subject, to look for quoted answers in."""

    def __init__(self, conversations: Sequence[Conversation]) -> None:
        self._conversations = conversations
        self._by_subject: dict[str, list[ThreadMessage]] | None = None  # on the first `find`

    def _mine(self) -> dict[str, list[ThreadMessage]]:
        if self._by_subject is None:
            self._by_subject = defaultdict(list)
            for conversation in self._conversations:
                for message in conversation.messages:
                    facts = message.facts
                    if facts.is_from_me and facts.body_text and message.when:
                        self._by_subject[normalize_subject(facts.subject)].append(message)
            for messages in self._by_subject.values():
                messages.sort(key=lambda m: m.when or 0)
        return self._by_subject

    def find(self, sent: ThreadMessage, contacts: Sequence[Address]) -> QuotedAnswer | None:
        """A contact's answer to `sent`, quoted in a later message of mine, or None."""
        if not sent.when or not contacts:
            return None
        subject = normalize_subject(sent.facts.subject)
        if not subject:
            return None
        later = [
            m
            for m in self._mine().get(subject, ())
            if sent.when < (m.when or 0) <= sent.when + QUOTE_WINDOW and m.key != sent.key
        ]
        for message in later[:_LOOK_AT]:
            own = split_own(message.facts.body_text)
            quoted_subject, replied = split_subject(own.quoted_subject)
            if not own.quoted_from or not replied or quoted_subject != subject:
                continue
            contact = quoted_contact(own.quoted_from, contacts)
            if contact is not None:
                where = message.facts.subject
                return QuotedAnswer(
                    contact, message, f"{contact[1]}'s answer is quoted in your {where!r}"
                )
        return None


def quoted_contact(author: str, contacts: Sequence[Address]) -> Address | None:
    """The contact a quote header's author line names, or None."""
    named = {a.lower().rstrip(".") for a in _ADDRESS.findall(author)}
    if named:
        return next((c for c in contacts if c[1].lower() in named), None)
    # "David Roensch/ET&S/Enron@ENRON": a Lotus Notes name and its organisation units.
    words = set(name_key(_NOTES_UNITS.sub(" ", author)).split())
    for contact in contacts:
        name, address = contact
        parts = set(name_key(name or address.partition("@")[0]).split())
        if parts and parts <= words:  # name_key: two words at least, or none
            return contact
    return None
