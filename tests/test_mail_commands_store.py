"""Commands by mail through a real store: applied once to the thread, remembered, re-applied
by a rebuilt store, ignored ones counted, and the CLI's snooze words and sources."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from watcher.analysis.actions import DONE, SNOOZE, Action
from watcher.analysis.commandcodes import command_code
from watcher.analysis.pipeline import analyze
from watcher.analysis.tracker import AWAITING
from watcher.cli.doctor import check_commands
from watcher.cli.main import cli
from watcher.config.settings import Settings, parse_settings
from watcher.errors import StoreError
from watcher.model import APPLIED, REPLAYED, MessageFacts
from watcher.store.files import COMMAND_KEY_NAME, command_key
from watcher.store.store import Store

ME = "maya@corp.example"
CLIENT = "ana@acme.example"
ZONE = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 12, 3, 9, tzinfo=ZONE)


def _settings(state: Path) -> Settings:
    return parse_settings(
        f'state_dir = "{state}"\ntimezone = "Europe/Berlin"\n'
        f'[[accounts]]\nname = "w"\nhost = "h"\naddresses = ["{ME}"]\n'
    )


def _at(day: int, hour: int = 9, month: int = 11) -> int:
    return int(dt.datetime(2026, month, day, hour, tzinfo=ZONE).timestamp())


PROPOSAL = MessageFacts(
    key="1:1",
    uid=1,
    message_id="<proposal@corp.example>",
    from_=(("Maya", ME),),
    to=(("Ana", CLIENT),),
    subject="Proposal for the Acme website",
    date=_at(10),
    body_text="Hi Ana, here is our proposal. Total EUR 12,400. Please sign.",
    is_from_me=True,
)


def _command(settings: Settings, thread_id: str, action: Action, uid: int, **facts: object):
    key = command_key(settings.store_path.parent)
    code = command_code(key, thread_id, action.text, dt.date(2026, 12, 3))
    fields: dict[str, object] = {
        "key": f"1:{uid}",
        "uid": uid,
        "message_id": f"<command-{uid}@phone>",
        "from_": (("Maya", ME),),
        "to": (("", ME),),
        "subject": f"[followup {thread_id}] {action.text} · {code}",
        "date": _at(3, 8, month=12),
        "is_from_me": True,
    }
    fields.update(facts)
    return MessageFacts(**fields)  # type: ignore[arg-type]


def _thread_id(store: Store, settings: Settings) -> str:
    (tracked,) = analyze(store, settings, NOW).tracked
    assert tracked.state == AWAITING and tracked.due
    return tracked.thread_id


def test_a_command_mail_snoozes_the_thread_once_and_is_never_a_conversation(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path / "state")
    with Store.open(settings.store_path) as store:
        with store.transaction():
            store.put_messages("w", "Sent", [PROPOSAL])
        thread_id = _thread_id(store, settings)
        command = _command(settings, thread_id, Action(SNOOZE, days=7), 2)
        with store.transaction():
            store.put_messages("w", "Sent", [command])
            store.put_messages("w", "INBOX", [command])  # the copy that came back
        analysis = analyze(store, settings, NOW)
        assert [c.thread_id for c in analysis.conversations] == [thread_id]
        assert store.overrides()[thread_id].snooze_until == dt.date(2026, 12, 10)
        (tracked,) = analysis.tracked
        assert not tracked.due
        # Reset from the CLI: the same mail is not applied again.
        with store.transaction():
            store.set_override(thread_id, store.overrides()[thread_id].__class__())
        analyze(store, settings, NOW)
        assert thread_id not in store.overrides()
        assert [c.state for c in store.commands.for_thread(thread_id)] == [APPLIED]


def test_a_rebuilt_store_reapplies_the_commands_from_the_mailbox(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "state")
    with Store.open(settings.store_path) as store:
        with store.transaction():
            store.put_messages("w", "Sent", [PROPOSAL])
        thread_id = _thread_id(store, settings)
    done = _command(settings, thread_id, Action(DONE), 2)
    settings.store_path.unlink()  # rebuilt from scratch; the key next to it stays
    with Store.open(settings.store_path) as store:
        with store.transaction():
            store.put_messages("w", "Sent", [PROPOSAL, done])
        analyze(store, settings, NOW)
        assert store.overrides()[thread_id].done


def test_forged_and_replayed_commands_change_nothing_and_are_counted(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "state")
    with Store.open(settings.store_path) as store:
        with store.transaction():
            store.put_messages("w", "Sent", [PROPOSAL])
        thread_id = _thread_id(store, settings)
        snooze = _command(settings, thread_id, Action(SNOOZE, days=14), 2)
        forged = _command(
            settings, thread_id, Action(DONE), 3, from_=(("Maya", "maya@evil.example"),)
        )
        wrong = _command(settings, thread_id, Action(DONE), 4)
        wrong = MessageFacts(**{**_facts(wrong), "subject": wrong.subject[:-4] + "ZZZZ"})
        replay = _command(settings, thread_id, Action(SNOOZE, days=14), 5, date=_at(9, month=12))
        with store.transaction():
            store.put_messages("w", "INBOX", [snooze, forged, wrong, replay])
        analyze(store, settings, NOW)
        override = store.overrides()[thread_id]
        assert not override.done
        assert override.snooze_until == dt.date(2026, 12, 17)  # the first one's, not the replay's
        states = [c.state for c in store.commands.for_thread(thread_id)]
        assert states == [APPLIED, REPLAYED]
        assert store.commands.ignored_count() == 2
        result = CliRunner().invoke(cli, ["--config", str(_config_file(tmp_path)), "status"])
        assert "Commands by mail: 2 mails ignored" in result.output


def _facts(facts: MessageFacts) -> dict[str, object]:
    return {name: getattr(facts, name) for name in MessageFacts.__slots__}


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path / "state"}"\ntimezone = "Europe/Berlin"\n'
        f'[[accounts]]\nname = "w"\nhost = "h"\naddresses = ["{ME}"]\n'
    )
    path.chmod(0o600)
    return path


def test_the_thread_command_shows_the_mail_as_the_source_and_takes_relative_snoozes(
    tmp_path: Path,
) -> None:
    config = _config_file(tmp_path)
    settings = _settings(tmp_path / "state")
    with Store.open(settings.store_path) as store:
        with store.transaction():
            store.put_messages("w", "Sent", [PROPOSAL])
        thread_id = _thread_id(store, settings)
        with store.transaction():
            store.put_messages("w", "Sent", [_command(settings, thread_id, Action(DONE), 2)])
    runner = CliRunner()
    now = ["--now", "2026-12-03T09:00"]
    shown = runner.invoke(cli, ["--config", str(config), "thread", thread_id, *now])
    assert "Set by your mail of Thu 3 Dec 08:00: done" in shown.output
    snoozed = runner.invoke(
        cli, ["--config", str(config), "thread", thread_id, "--snooze", "1w", *now]
    )
    assert "snoozed until 2026-12-10" in snoozed.output
    monday = runner.invoke(
        cli, ["--config", str(config), "thread", thread_id, "--snooze-until", "monday", *now]
    )
    assert "snoozed until 2026-12-07" in monday.output
    bad = runner.invoke(
        cli, ["--config", str(config), "thread", thread_id, "--snooze-until", "someday", *now]
    )
    assert bad.exit_code == 2
    assert bad.output.count("\n") == 1 and "--snooze-until" in bad.output


def test_the_command_key_is_private_and_made_once(tmp_path: Path) -> None:
    first = command_key(tmp_path)
    assert command_key(tmp_path) == first and len(first) == 32
    path = tmp_path / COMMAND_KEY_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(StoreError, match="can be read by others"):
        command_key(tmp_path)


def test_doctor_says_whether_command_mail_reaches_a_folder_that_is_read(tmp_path: Path) -> None:
    read = _settings(tmp_path)
    check = check_commands(read)
    assert (check.status, check.detail) == ("ok", f"sent to {ME}, read by account w")
    elsewhere = parse_settings(
        f'state_dir = "{tmp_path}"\n[digest]\nto = "me@home.example"\n'
        f'[[accounts]]\nname = "w"\nhost = "h"\naddresses = ["{ME}"]\n'
    )
    check = check_commands(elsewhere)
    assert check.status == "warn" and "commands_to" in check.detail


def test_a_command_from_the_digest_recipient_counts(tmp_path: Path) -> None:
    settings = parse_settings(
        f'state_dir = "{tmp_path / "state"}"\ntimezone = "Europe/Berlin"\n'
        '[digest]\nto = "maya@home.example"\n'
        f'[[accounts]]\nname = "w"\nhost = "h"\naddresses = ["{ME}"]\n'
    )
    with Store.open(settings.store_path) as store:
        with store.transaction():
            store.put_messages("w", "Sent", [PROPOSAL])
        thread_id = _thread_id(store, settings)
        command = _command(
            settings, thread_id, Action(DONE), 2, from_=(("Maya", "maya@home.example"),)
        )
        with store.transaction():
            store.put_messages("w", "INBOX", [command])
        analyze(store, settings, NOW)
        assert store.overrides()[thread_id].done
