"""The CLI on a real terminal: tables that fit, one line per sync, several accounts, JSON."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mailfactory import make_message
from threads import at, proposal, thread, verdicts

from watcher.cli.listing import format_table
from watcher.cli.main import cli
from watcher.cli.sync_cmd import _ProgressBar
from watcher.config.tracking import Tracking
from watcher.terminal import display_width

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T08:00"
OTHER = "sam@northwind.example"
OTHER_SUBJECT = "Quote for the Northwind warehouse shelving"


def run(config: Path, *args: str, columns: int | None = None) -> Result:
    env = {"COLUMNS": str(columns)} if columns else {}
    return CliRunner().invoke(cli, ["--config", str(config), *args], env=env)


def _other_maildir(root: Path) -> Path:
    """A second account's mailbox: one quote of mine, unanswered since 10 November."""
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    quote = make_message(
        from_=f"Sam Okafor <{OTHER}>",
        to="buyer@warehouse.example",
        subject=OTHER_SUBJECT,
        date=dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC),
        body="Hello,\n\nplease find our quote attached: EUR 8,200 for the shelving.\n",
        attachments=[("Quote_Northwind.pdf", "application/pdf", b"%PDF-1.4 quote")],
    )
    (root / "cur" / "1794300000.M1P1.other:2,S").write_bytes(quote)
    return root


@pytest.fixture
def two_accounts(tmp_path: Path) -> Path:
    """The bundled sample mailbox and a second account with one quote, both synced."""
    config = tmp_path / "two.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\nlookback_days = 0\n'
        f'[[accounts]]\nname = "demo"\nmaildir = "{REPO / "watcher" / "demo_mailbox"}"\n'
        'addresses = ["maya@lindqvist-studio.example"]\n'
        f'[[accounts]]\nname = "north"\nmaildir = "{_other_maildir(tmp_path / "north")}"\n'
        f'addresses = ["{OTHER}"]\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    synced = run(config, "sync")
    assert synced.exit_code == 0, synced.output
    return config


# -- the first scan: years-old threads are not news ------------------------------------------


def test_a_thread_quiet_over_twice_give_up_after_is_never_due() -> None:
    old = verdicts(thread(proposal(at(1, month=9))), tracking=Tracking(give_up_after=30))
    (result,) = old
    assert result.quiet_days > 60
    assert not result.due
    assert any("twice give_up_after (60 days)" in note for note in result.notes)


def test_a_thread_quiet_exactly_twice_give_up_after_is_still_due() -> None:
    now = dt.datetime.fromtimestamp(at(10), dt.UTC) + dt.timedelta(days=60)
    (result,) = verdicts(thread(proposal(at(10))), now=now, tracking=Tracking(give_up_after=30))
    assert (result.quiet_days, result.due) == (60, True)


# -- `list` fits the terminal ----------------------------------------------------------------


def test_list_table_fits_80_columns_and_the_subject_stays() -> None:
    tracked = verdicts(thread(proposal(at(11), subject="Proposal for the Acme website " * 3)))
    now = dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC)
    zone = dt.UTC
    wide = format_table(tracked, zone, now)  # type: ignore[arg-type]
    narrow = format_table(tracked, zone, now, width=80, show_account=True)  # type: ignore[arg-type]
    assert max(display_width(line) for line in wide.splitlines()) > 80
    lines = narrow.splitlines()
    assert all(display_width(line) <= 80 for line in lines), narrow
    assert "SUBJECT" in lines[0] and "ACCOUNT" in lines[0]
    assert "Proposal for the" in lines[1] and "work" in lines[1]
    assert "due" in lines[1]


def test_list_at_80_columns_on_the_command_line(two_accounts: Path) -> None:
    listed = run(two_accounts, "list", "--all", "--now", NOW, columns=80)
    assert listed.exit_code == 0, listed.output
    table = [line for line in listed.stdout.splitlines() if not line.startswith("(")]
    assert all(display_width(line) <= 80 for line in table), listed.stdout
    assert "ACCOUNT" in table[0]
    assert any("north" in line and "Quote for" in line for line in table)
    ids = {
        item["thread_id"]
        for item in json.loads(run(two_accounts, "list", "--all", "--json").stdout)
    }
    assert {line.split()[0] for line in table[1:]} <= ids  # whole ids: `watcher thread` takes them


# -- several accounts: --account, and the account column -------------------------------------


def test_list_account_shows_one_account_without_the_column(two_accounts: Path) -> None:
    listed = run(two_accounts, "list", "--all", "--account", "north", "--now", NOW)
    assert listed.exit_code == 0, listed.output
    assert "ACCOUNT" not in listed.stdout
    assert OTHER_SUBJECT[:20] in listed.stdout
    assert "Acme" not in listed.stdout
    as_json = run(two_accounts, "list", "--all", "--json", "--account", "north", "--now", NOW)
    assert {item["account"] for item in json.loads(as_json.stdout)} == {"north"}


def test_an_unknown_account_is_one_line_with_the_names(two_accounts: Path) -> None:
    for command in (["list"], ["digest"], ["thread", "t000"]):
        result = run(two_accounts, *command, "--account", "nope")
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == (
            "error: no account named 'nope' in the config (accounts: demo, north)"
        )


def test_digest_account_previews_that_account_only(two_accounts: Path) -> None:
    whole = run(two_accounts, "digest", "--now", NOW)
    north = run(two_accounts, "digest", "--account", "north", "--now", NOW)
    assert whole.exit_code == north.exit_code == 0, north.output
    assert OTHER_SUBJECT in whole.stdout and OTHER_SUBJECT in north.stdout
    assert "Acme" in whole.stdout and "Acme" not in north.stdout


def test_digest_account_is_not_for_sending(two_accounts: Path) -> None:
    result = run(two_accounts, "digest", "--send", "--account", "north", "--now", NOW)
    assert result.exit_code == 2
    assert "drop --account to send it" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_thread_account_and_json(two_accounts: Path) -> None:
    listed = json.loads(run(two_accounts, "list", "--all", "--json", "--now", NOW).stdout)
    north_id = next(item["thread_id"] for item in listed if item["account"] == "north")
    demo_id = next(item["thread_id"] for item in listed if item["account"] == "demo")
    shown = run(two_accounts, "thread", north_id, "--json", "--account", "north", "--now", NOW)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["thread_id"] == north_id
    assert [m["subject"] for m in data["messages"]] == [OTHER_SUBJECT]
    assert data["messages"][0]["from"] == {"name": "Sam Okafor", "address": OTHER}
    (tracked,) = data["tracked"]
    assert (tracked["account"], tracked["state"], tracked["due"]) == ("north", "awaiting", True)
    assert data["not_followed"] == [] and data["set_by_mail"] == []
    elsewhere = run(two_accounts, "thread", demo_id, "--account", "north", "--now", NOW)
    assert elsewhere.exit_code == 2
    assert "in account 'north'" in elsewhere.stderr


# -- sync: one line by default, the folders with -v, errors only with -q ----------------------


def test_sync_prints_one_line_per_account_by_default(two_accounts: Path) -> None:
    result = run(two_accounts, "sync")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["demo", "north"]
    assert "0 new messages this run; the store holds 33 messages" in lines[0]


def test_sync_verbose_adds_the_folder_table(two_accounts: Path) -> None:
    for flags in (["sync", "-v"], ["sync", "--verbose"]):
        result = run(two_accounts, *flags)
        assert result.exit_code == 0, result.output
        assert any(
            line.split() == ["folder", "messages", "by", "you", "unreadable"]
            for line in result.stdout.splitlines()
        )


def test_sync_quiet_prints_nothing_but_errors(two_accounts: Path, tmp_path: Path) -> None:
    assert run(two_accounts, "sync", "-q").output == ""
    broken = tmp_path / "broken.toml"
    broken.write_text(
        two_accounts.read_text().replace(str(tmp_path / "north"), str(tmp_path / "gone")),
        encoding="utf-8",
    )
    broken.chmod(0o600)
    result = run(broken, "sync", "-q")
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()  # the account's ERROR line, once
    assert line.startswith("ERROR account 'north': maildir ") and "does not exist" in line


# -- the progress bar moves with the first batch ----------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_counts_from_the_first_batch() -> None:
    screen = _Terminal()
    bar = _ProgressBar("Reading work", file=screen)
    bar.start(22_176)
    bar.advance(500)  # one FETCH batch: under one cell of the bar
    assert "500/22176" in screen.getvalue()
    bar.close()
