"""From the store to verdicts: load the messages, rebuild conversations, track, as of `now`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from watcher.analysis.conversations import Conversation, build_conversations
from watcher.analysis.proposals import RememberingClassifier
from watcher.analysis.tracker import NotFollowed, TrackedMessage, assess
from watcher.config.settings import Settings
from watcher.identity import Identity
from watcher.store.store import Store


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
    conversations = build_conversations(store.stored_messages())
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
