"""From the store to verdicts: load the messages, apply the commands by mail among them,
rebuild conversations from the rest, track, as of `now`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from watcher.analysis.actions import parse_action
from watcher.analysis.answers import is_mine, recipients
from watcher.analysis.commandmail import KnownDigest, is_command_mail, read_commands
from watcher.analysis.conversations import Conversation, ThreadMessage, build_conversations
from watcher.analysis.language import language_of
from watcher.analysis.owntext import own_text
from watcher.analysis.proposals import RememberingClassifier
from watcher.analysis.tracker import NotFollowed, TrackedMessage, assess
from watcher.analysis.voice import SignOffBook, sign_off_of
from watcher.config.settings import Settings
from watcher.identity import Identity
from watcher.model import APPLIED, IGNORED, MailCommand, Override, StoredMessage
from watcher.store.files import command_key
from watcher.store.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Analysis:
    conversations: list[Conversation]
    tracked: list[TrackedMessage]
    not_followed: list[NotFollowed] = field(default_factory=list)

    def conversation(self, thread_id: str) -> Conversation | None:
        for conversation in self.conversations:
            if conversation.thread_id == thread_id:
                return conversation
        return None

    def not_followed_in(self, thread_id: str) -> list[NotFollowed]:
        """My messages in this conversation that look like proposals but are not followed."""
        return [n for n in self.not_followed if n.thread_id == thread_id]


def identity_of(settings: Settings) -> Identity:
    """Me across all accounts: mail between my own accounts is never "someone else"; and my
    colleagues, from my addresses' domains and the `colleagues` setting."""
    return Identity(
        (address for account in settings.accounts for address in account.own_addresses),
        colleagues=settings.colleagues,
    )


def analyze(store: Store, settings: Settings, now: datetime) -> Analysis:
    """Verdicts as of `now`; classifications new in this run are remembered in the store."""
    command_mail: list[StoredMessage] = []
    conversations = build_conversations(_without_commands(store.stored_messages(), command_mail))
    apply_mail_commands(store, settings, command_mail)
    classifier = RememberingClassifier(store.classifications(), settings.tracking.keywords)
    assessment = assess(
        conversations,
        identity=identity_of(settings),
        tracking=settings.tracking,
        overrides=store.overrides(),
        now=now,
        zone=settings.zone,
        classify=classifier,
    )
    if classifier.fresh:
        with store.transaction():
            store.save_classifications(classifier.fresh)
    return Analysis(conversations, assessment.tracked, assessment.not_followed)


def _commanders(settings: Settings) -> Identity:
    """Who may send commands: my addresses, and the digest's recipient (it is mine too, even
    when no account reads it: a reply from there is saved in a Sent folder that one does)."""
    addresses = [a for account in settings.accounts for a in account.own_addresses]
    if settings.digest.recipient:
        addresses.append(settings.digest.recipient)
    return Identity(addresses)


def _without_commands(
    messages: Iterator[StoredMessage], commands: list[StoredMessage]
) -> Iterator[StoredMessage]:
    """The messages, less the command mail (collected in `commands`): never a conversation."""
    for message in messages:
        if is_command_mail(message):
            commands.append(message)
        else:
            yield message


def apply_mail_commands(
    store: Store, settings: Settings, messages: list[StoredMessage]
) -> list[MailCommand]:
    """Read the command mail not read before, apply what verifies (once per Message-ID and
    line) to the threads' overrides, and remember all of it; returns what was new."""
    if not messages:
        return []
    log = store.commands
    found = read_commands(
        messages,
        identity=_commanders(settings),
        key=command_key(settings.store_path.parent),
        digests={m: KnownDigest(day, cards) for m, (day, cards) in log.digests().items()},
        seen=log.seen(),
        applied=log.replay_keys(),
        zone=settings.zone,
    )
    if not found:
        return []
    overrides = store.overrides()
    with store.transaction():
        for command in found:
            if command.state != APPLIED:
                continue
            current = overrides.get(command.thread_id, Override())
            given_on = datetime.fromtimestamp(command.sent_at, settings.zone).date()
            updated = parse_action(command.action).applied_to(current, given_on)
            overrides[command.thread_id] = updated
            store.set_override(command.thread_id, updated)
        log.record(found)
    for command in found:
        if command.state == IGNORED:  # once: it is remembered, and never read again
            logger.warning("ignored a command mail (%s)", command.detail)
        elif command.state == APPLIED:
            logger.info("applied by mail: %s %s", command.action, command.thread_id)
    return found


# How many of my latest messages the sign-off is learnt from: enough for the contacts of a
# year, few enough that the digest does not wait for a language check of the whole mailbox.
SIGN_OFF_MESSAGES = 400


def learn_sign_offs(conversations: list[Conversation], settings: Settings) -> SignOffBook:
    """How I sign my mail, per contact and language, from my latest messages (for the
    suggested follow-ups; only the digest needs it, so `analyze` does not build it)."""
    identity = identity_of(settings)
    mine = [
        message
        for conversation in conversations
        for message in conversation.messages
        if message.facts.body_text and is_mine(message, identity)
    ]
    mine.sort(key=_when, reverse=True)
    my_names = sorted(
        {name for m in mine for name, address in m.facts.from_ if name and identity.is_me(address)}
    )
    book = SignOffBook()
    for message in mine[:SIGN_OFF_MESSAGES]:
        sign_off = sign_off_of(message.facts.body_text, my_names)
        if sign_off is None:
            continue
        language = language_of(own_text(message.facts.body_text))
        for _, address in recipients(message, identity):
            book.add(address, language, sign_off, _when(message))
    return book


def _when(message: ThreadMessage) -> int:
    return message.when or 0
