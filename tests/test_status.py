"""`watcher status`: from the store alone, the last sync and the last error of each account,
what is stored and watched, the last digest and what comes next."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from configs import write_account_config
from dovecot import DovecotServer, MailUser
from mailfactory import make_message

from watcher.cli.status import next_digest, next_sync_time, schedule, status_command
from watcher.config.digest import DigestSettings
from watcher.config.settings import Settings, load_settings
from watcher.mail.sync import sync_accounts
from watcher.store.store import AccountStatus, Store

BERLIN = ZoneInfo("Europe/Berlin")


def test_status_shows_the_last_sync_and_the_last_error(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime.now(dt.UTC)
    sent_at = now - dt.timedelta(days=10)
    proposal = make_message(
        from_=f"Maya <{mail_user.address}>",
        to="Lea Brandt <lea@acme.example>",
        subject="Proposal for the website redesign",
        body="Hi Lea,\n\nplease find our proposal attached: 12,400 EUR, six weeks.\n",
        attachments=[("proposal.pdf", "application/pdf", b"%PDF-1.4 proposal")],
        date=sent_at,
    )
    imap_server.append(mail_user, "Sent", proposal, internal_date=sent_at)
    config = write_account_config(
        tmp_path / "config.toml", imap_server, mail_user, tmp_path / "state"
    )
    settings = load_settings(config)

    synced_at, failed_at = now - dt.timedelta(minutes=30), now - dt.timedelta(minutes=4)
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    with Store.open(settings.store_path) as store:
        assert sync_accounts(settings, store, now=synced_at)[0].error is None
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "not-the-password")
    with Store.open(settings.store_path) as store:
        assert sync_accounts(settings, store, now=failed_at)[0].error is not None
        yesterday = (now - dt.timedelta(days=1)).date()
        with store.transaction():
            store.record_digest_pending(yesterday, mail_user.address, "<d@x>", [])
            store.record_digest_sent(yesterday, mail_user.address)

    result = CliRunner().invoke(status_command, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Store: {settings.store_path} (1 message)"
    synced = synced_at.astimezone(settings.zone)
    assert lines[1] == (
        f"Account work: last synced {synced:%Y-%m-%d %H:%M} (30 min ago); 1 message stored"
    )
    failing = failed_at.astimezone(settings.zone)
    assert lines[2].startswith(f"  failing since {failing:%Y-%m-%d %H:%M} (4 min ago): ")
    assert "refused the login" in lines[2] and "not-the-password" not in lines[2]
    assert lines[3] == "Threads: 1 awaiting a reply, 1 due"
    assert re.fullmatch(rf"Last digest: sent .* to {re.escape(mail_user.address)}", lines[4])
    assert lines[5].startswith("Next sync: ") and "every 10 min" in lines[5]
    assert lines[6].startswith("Next digest: none: [digest] delivery is not set")


def test_status_before_the_first_sync(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    config = write_account_config(
        tmp_path / "config.toml", imap_server, mail_user, tmp_path / "state"
    )
    result = CliRunner().invoke(status_command, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "No store yet" in result.output and "watcher sync" in result.output
    assert not (tmp_path / "state").exists()  # status only reads


def test_status_with_a_broken_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("timezone = 'Mars/Olympus'\n", encoding="utf-8")
    result = CliRunner().invoke(status_command, ["--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: config.toml line 1: timezone")


def _settings(tmp_path: Path, delivery: str = "smtp") -> Settings:
    digest = DigestSettings(
        at="07:30", catch_up_until="12:00", recipient="me@x.example", delivery=delivery
    )
    return Settings(None, tmp_path, "Europe/Berlin", 0, digest=digest)


@pytest.mark.parametrize(
    ("hour", "expected"),
    [
        (6, dt.datetime(2026, 11, 23, 7, 30, tzinfo=BERLIN)),  # later today
        (9, dt.datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)),  # missed: caught up at once
        (13, dt.datetime(2026, 11, 24, 7, 30, tzinfo=BERLIN)),  # too late today: tomorrow
    ],
)
def test_next_digest(tmp_path: Path, hour: int, expected: dt.datetime) -> None:
    now = dt.datetime(2026, 11, 23, hour, 0, tzinfo=BERLIN)
    assert next_digest(_settings(tmp_path), None, now) == expected


def test_next_digest_after_todays_was_sent(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    with Store.open(tmp_path / "store.sqlite3") as store:
        with store.transaction():
            store.record_digest_pending(now.date(), "me@x.example", "<d@x>", [])
            store.record_digest_sent(now.date(), "me@x.example")
        assert next_digest(settings, store, now) == dt.datetime(2026, 11, 24, 7, 30, tzinfo=BERLIN)
    assert next_digest(_settings(tmp_path, delivery=""), None, now) is None
    (_sync, (_label, text)) = schedule(_settings(tmp_path), None, now)
    assert text.startswith("due now: today's is not sent yet")


def test_next_sync_is_the_last_attempt_plus_the_interval(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    last = int((now - dt.timedelta(minutes=4)).timestamp())
    statuses = {"work": AccountStatus("work", last, last, "", None)}
    assert next_sync_time(statuses, settings, now) == now + dt.timedelta(minutes=6)
    long_ago = {"work": AccountStatus("work", last - 3600, None, "down", last - 3600)}
    assert next_sync_time(long_ago, settings, now) == now  # overdue: at once
    assert next_sync_time({}, settings, now) is None


@pytest.mark.parametrize(
    ("last", "now", "shown"),
    [
        # Spring forward: 10 min after 01:55 CET is 03:05 CEST, never a 02:05 that does not exist.
        ("2026-03-29T01:55+01:00", "2026-03-29T01:56+01:00", "2026-03-29 03:05 (in 9 min)"),
        # Fall back: 10 min after 02:55 CEST is 02:05 CET, not 03:05 CET an hour later.
        ("2026-10-25T02:55+02:00", "2026-10-25T02:56+02:00", "2026-10-25 02:05 (in 9 min)"),
    ],
)
def test_next_sync_across_a_dst_change_counts_elapsed_time(
    tmp_path: Path, last: str, now: str, shown: str
) -> None:
    settings = _settings(tmp_path)
    moment = dt.datetime.fromisoformat(now).astimezone(BERLIN)
    with Store.open(tmp_path / "store.sqlite3") as store:
        with store.transaction():
            store.record_sync_success("work", int(dt.datetime.fromisoformat(last).timestamp()))
        ((label, text), _digest) = schedule(settings, store, moment)
    assert (label, text) == ("Next sync", f"{shown} (every 10 min while `watcher run` runs)")


@pytest.mark.parametrize(
    ("now", "shown"),
    [
        # 12 h to 03:00 CEST, though the wall clock moves 13 h (02:00 to 03:00 never happens)
        ("2026-03-28T14:00+01:00", "2026-03-29 03:00 (in 12 h)"),
        ("2026-10-24T14:30+02:00", "2026-10-25 07:30 (in 18 h)"),  # 17 h on the wall clock
    ],
)
def test_next_digest_across_a_dst_change_says_the_real_distance(
    tmp_path: Path, now: str, shown: str
) -> None:
    digest = DigestSettings(
        at="02:30" if "03-" in now else "07:30",
        catch_up_until="12:00",
        recipient="me@x.example",
        delivery="smtp",
    )
    settings = Settings(None, tmp_path, "Europe/Berlin", 0, digest=digest)
    moment = dt.datetime.fromisoformat(now).astimezone(BERLIN)
    (_sync, (label, text)) = schedule(settings, None, moment)
    assert (label, text) == ("Next digest", f"{shown} Europe/Berlin, by smtp")


def test_status_prints_a_stored_server_text_inert_on_one_line(tmp_path: Path) -> None:
    """A last error kept from a hostile server (escape sequences, C1 CSI, a bidi override,
    CR LF) is shown on its one line, every control replaced by a visible U+FFFD."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[[accounts]]\nname = "work"\n'
        'host = "imap.example.com"\naddresses = ["me@example.com"]\n',
        encoding="utf-8",
    )
    hostile = "refused (\x1b]0;pwned\x07 \x1b[2J\x9b8m \u202eliated\r\nfake: line)"
    with Store.open(load_settings(config).store_path) as store, store.transaction():
        store.record_sync_failure("work", int(dt.datetime.now(dt.UTC).timestamp()), hostile)
    result = CliRunner().invoke(status_command, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\r"):
        assert bad not in result.output
    (failing,) = [line for line in result.output.splitlines() if "failing since" in line]
    assert failing.endswith(
        "refused (\ufffd]0;pwned\ufffd \ufffd[2J\ufffd8m \ufffdliated fake: line)"
    )
    assert not any(line.startswith("fake") for line in result.output.splitlines())


def test_status_account_json_and_the_service_line(tmp_path: Path) -> None:
    """--account NAME shows only that account (an unknown name: one line, exit 2); --json is
    one object for scripts; the last line says whether `watcher run` runs (here: not)."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        '[[accounts]]\nname = "work"\nhost = "imap.example.com"\naddresses = ["me@example.com"]\n'
        '[[accounts]]\nname = "home"\nhost = "imap.example.org"\naddresses = ["me@example.org"]\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    before = runner.invoke(status_command, ["--config", str(config), "--json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.output)["service"] == {
        "running": False,
        "pid": None,
        "started_at": None,
    }
    when = int(dt.datetime.now(dt.UTC).timestamp()) - 60
    with Store.open(load_settings(config).store_path) as store, store.transaction():
        store.record_sync_success("work", when)
        store.record_sync_success("home", when)
    result = runner.invoke(status_command, ["--config", str(config), "--account", "home"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("Account ")] == ["Account home"]
    assert lines[-1].startswith("Service: not running")
    data = json.loads(
        runner.invoke(
            status_command, ["--config", str(config), "--json", "--account", "work"]
        ).output
    )
    assert [a["name"] for a in data["accounts"]] == ["work"]
    assert data["accounts"][0]["last_synced"] is not None and data["last_digest_failure"] is None
    assert data["threads"] == {"awaiting": 0, "due": 0, "bounced": 0}
    unknown = runner.invoke(status_command, ["--config", str(config), "--account", "nope"])
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == (
        "error: no account named 'nope' in the config (accounts: work, home)"
    )
