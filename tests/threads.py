"""Hand-built messages and conversations for the tracker and digest tests: my proposals to a
client on calendar days of November 2026 in Berlin, judged at a fixed `now`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from watcher.analysis.conversations import Conversation, ThreadMessage
from watcher.analysis.rules import Override
from watcher.analysis.tracker import TrackedMessage, track
from watcher.config.tracking import Tracking
from watcher.identity import Identity
from watcher.model import Attachment, MessageFacts

ME = "maya@studio.example"
CLIENT = "ana@acme.example"
ZONE = ZoneInfo("Europe/Berlin")
IDENTITY = Identity([ME])
PDF = (Attachment("Proposal_Acme_v2.pdf", "application/pdf", 2000),)


def at(day: int, hour: int = 9, month: int = 11) -> int:
    return int(datetime(2026, month, day, hour, tzinfo=ZONE).timestamp())


def message(
    sender: str,
    when: int,
    subject: str = "Proposal for the Acme website",
    *,
    to: str = CLIENT,
    folder: str = "INBOX",
    use: str = "",
    **facts: object,
) -> ThreadMessage:
    fields: dict[str, object] = {
        "key": f"{sender}-{when}-{subject}",
        "message_id": f"<{abs(hash((sender, when, subject)))}@x>",
        "from_": (("", sender),),
        "to": (("", to),),
        "subject": subject,
        "date": when,
    }
    fields.update(facts)
    return ThreadMessage(
        facts=MessageFacts(**fields),  # type: ignore[arg-type]
        account="work",
        folders=(folder,),
        folder_uses=frozenset({use}) if use else frozenset(),
        when=when,
    )


def proposal(when: int, **facts: object) -> ThreadMessage:
    facts.setdefault("attachments", PDF)
    facts.setdefault("body_text", "Hi Ana, here is our proposal. Total EUR 12,400.")
    return message(ME, when, folder="Sent", use="\\Sent", **facts)


def verdicts(
    *conversations: Conversation,
    now: datetime | None = None,
    tracking: Tracking | None = None,
    overrides: dict[str, Override] | None = None,
) -> list[TrackedMessage]:
    return track(
        conversations,
        identity=IDENTITY,
        tracking=tracking or Tracking(),
        overrides=overrides or {},
        now=now or datetime(2026, 11, 23, 8, tzinfo=ZONE),
        zone=ZONE,
    )


def thread(*messages: ThreadMessage, thread_id: str = "t0000000001") -> Conversation:
    return Conversation(
        thread_id=thread_id, messages=tuple(sorted(messages, key=lambda m: m.when or 0))
    )


# The digest's suggested follow-up, sent from its mailto link by a client that does not
# thread it: "Re: <subject>", no In-Reply-To, and words the classifier takes for a proposal.
FOLLOW_UP = (
    "Hi Ana, I sent you the proposal on 10 November. Did you have a chance to review the "
    "proposal? Let me know what you think."
)


def unthreaded_nudge(when: int, *, to: str = CLIENT, **facts: object) -> ThreadMessage:
    facts.setdefault("body_text", FOLLOW_UP)
    return message(
        ME, when, "Re: Proposal for the Acme website", to=to, folder="Sent", use="\\Sent", **facts
    )
