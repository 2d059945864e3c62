"""Whatever order the mail arrives in, the verdicts are the same (a property, on real mail)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.analysis.conversations import build_conversations
from watcher.analysis.tracker import track
from watcher.config.tracking import Tracking
from watcher.identity import Identity
from watcher.mail.maildir import find_folders
from watcher.mail.parse import facts_from_raw
from watcher.model import StoredMessage

DEMO = Path(str(resources.files("watcher") / "demo_mailbox"))
ME = Identity(["maya@lindqvist-studio.example", "maya.lindqvist@gmail.example"])
ZONE = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 23, 8, tzinfo=ZONE)


@cache
def demo_messages() -> tuple[StoredMessage, ...]:
    found = []
    for folder in find_folders(DEMO):
        for path in sorted((folder.path / "cur").iterdir()):
            if path.name.startswith("."):
                continue
            facts = facts_from_raw(
                path.read_bytes(),
                key=path.name.split(":")[0],
                identity=ME,
                in_sent_folder=folder.special_use == "\\Sent",
            )
            found.append(StoredMessage("demo", folder.name, folder.special_use, facts))
    return tuple(found)


def verdicts(messages: list[StoredMessage]) -> list[tuple[object, ...]]:
    tracked = track(
        build_conversations(messages),
        identity=ME,
        tracking=Tracking(),
        overrides={},
        now=NOW,
        zone=ZONE,
    )
    return [
        (t.thread_id, t.message.facts.message_id, t.state, t.due, t.since, t.reasons, t.notes)
        for t in tracked
    ]


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(33)))
def test_shuffled_arrival_never_changes_the_verdicts(order: list[int]) -> None:
    messages = list(demo_messages())
    assert len(messages) == 33
    expected = verdicts(messages)
    assert len(expected) >= 10  # the comparison compares something
    assert verdicts([messages[i] for i in order]) == expected
