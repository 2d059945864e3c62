"""The `watcher` command as a user runs it: a real process, real config files, real exit codes."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from configs import write_account_config
from dovecot import DovecotServer, MailUser
from mailfactory import make_message
from scriptedimap import ScriptedImapServer, answer, ok

from watcher.cli.doctor import doctor_command
from watcher.cli.main import cli
from watcher.cli.run import run_command
from watcher.cli.status import status_command

REPO = Path(__file__).resolve().parent.parent


def run_watcher(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def test_demo_runs_without_an_account(tmp_path: Path) -> None:
    result = run_watcher("demo", "--state-dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "demo: 33 new messages this run" in result.stdout
    assert "Sent" in result.stdout
    lines = result.stdout.splitlines()
    assert any("Website proposal for Acme Outdoor" in x and "awaiting" in x for x in lines)
    assert any("Wisla Ceramics" in x and "bounced" in x for x in lines)
    assert any("(reply in spam)" in x for x in lines)
    assert "Traceback" not in result.stderr


def test_broken_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[accounts]]\nname = "w"\nhost = "h"\naddresses = ["a@b.c"]\nport = "x"\n')
    result = run_watcher("--config", str(config), "sync")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: config.toml line 5: accounts[1].port must be a whole number"
    )


def test_missing_config_names_the_fix(tmp_path: Path) -> None:
    result = run_watcher("sync", env={"WATCHER_CONFIG": str(tmp_path / "none.toml")})
    assert result.returncode == 2
    assert "copy config.example.toml there" in result.stderr
    assert "Traceback" not in result.stderr


def test_sync_then_wrong_password(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    imap_server.append(
        mail_user,
        "INBOX",
        make_message(
            from_="a@acme.example",
            to=mail_user.address,
            subject="hi",
            date=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        ),
    )
    config = write_account_config(
        tmp_path / "config.toml", imap_server, mail_user, tmp_path / "state"
    )
    good = run_watcher(
        "--config", str(config), "sync", env={"TEST_IMAP_PASSWORD": mail_user.password}
    )
    assert good.returncode == 0, good.stderr
    assert "work: 1 new messages this run; the store holds 1 messages" in good.stdout
    assert "INFO work: synced" not in good.stderr  # the summary once, not again as a log line
    assert mail_user.password not in good.stdout + good.stderr
    bad = run_watcher("--config", str(config), "sync", env={"TEST_IMAP_PASSWORD": "nope-nope"})
    assert bad.returncode == 1
    assert "refused the login" in bad.stdout
    assert "Traceback" not in bad.stderr + bad.stdout


def test_no_password_anywhere_names_the_sources(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    config = write_account_config(
        tmp_path / "config.toml", imap_server, mail_user, tmp_path / "state"
    )
    env = {"TEST_IMAP_PASSWORD": "", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = run_watcher("--config", str(config), "sync", env=env)
    assert result.returncode == 1
    assert "no password found; set password_command" in result.stdout
    assert "password_file" in result.stdout and "credential" in result.stdout
    assert "TEST_IMAP_PASSWORD" in result.stdout


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        assert command.help, f"`watcher {name}` has no help text"
        assert f"`watcher {name}" in readme, f"`watcher {name}` is not in the README"


# -- foreign text on the terminal (escape sequences, bidi, line breaks) -------------------------

SENT_AT = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)
NOW = "2026-11-23T08:00"
# Raw in the header (a server passes bytes on), and RFC 2047 / 2231 encoded (the decoder
# makes controls of them): OSC 0 (title), OSC 8 (link), clear screen, hidden text, C1 CSI,
# a bidi override and an encoded CR LF that would start a fake table row.
HOSTILE_SUBJECT = (
    b"Proposal \x1b]0;pwned\x07\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
    b" \x1b[2J\x1b[8mhidden\x1b[0m =?utf-8?q?=C2=9B31m_=E2=80=AEfdp.exe_=0D=0Afake_row?="
)
HOSTILE_NAME = b'"=?utf-8?q?Lea=1B]0;title=07_=E2=80=AEtdnarB=E2=80=AC_=C2=9B2J?="'
HOSTILE_FILE = b"filename*=utf-8''offer%1B%5B2J%E2%80%AE%0D%0Afdp.exe.pdf"
# Dovecot refuses control characters in a new folder name, not bidi controls.
HOSTILE_FOLDER = "Old mail\u202eliam\u2066"
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def hostile_mail(user: MailUser) -> tuple[bytes, bytes]:
    """A proposal with hostile subject, recipient name and attachment name, and an
    out-of-office answer to it (automatic: the proposal stays awaiting)."""
    proposal = make_message(
        from_=f"Maya <{user.address}>",
        to="XNAMEX <lea@acme.example>",
        subject="XSUBJECTX",
        body="Hi Lea,\n\nplease find our proposal attached: 12,400 EUR, six weeks.\n",
        attachments=[("XFILEX.pdf", "application/pdf", b"%PDF-1.4 proposal")],
        date=SENT_AT,
        message_id="<hostile-proposal@example.test>",
    )
    proposal = (
        proposal.replace(b"XSUBJECTX", HOSTILE_SUBJECT)
        .replace(b"XNAMEX", HOSTILE_NAME)
        .replace(b'filename="XFILEX.pdf"', HOSTILE_FILE)
    )
    away = make_message(
        from_=b"=?utf-8?q?Lea=1B[8m=C2=9B?= <lea@acme.example>".decode(),
        to=user.address,
        subject="Out of office",
        date=SENT_AT + dt.timedelta(minutes=5),
        in_reply_to="<hostile-proposal@example.test>",
        headers={"Auto-Submitted": "auto-replied"},
    )
    return proposal, away


def assert_terminal_safe(text: str) -> None:
    for bad in ("\x1b", "\x9b", "\x07", "\r", "\x00", "\x7f", *BIDI):
        assert bad not in text, f"{bad!r} reaches the terminal: {text!r}"


def invoke(*args: str, password: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env={"TEST_IMAP_PASSWORD": password})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.fixture
def hostile_config(imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path) -> Path:
    proposal, away = hostile_mail(mail_user)
    imap_server.append(mail_user, "Sent", proposal, internal_date=SENT_AT)
    imap_server.append(mail_user, HOSTILE_FOLDER, away, internal_date=SENT_AT)
    return write_account_config(
        tmp_path / "config.toml", imap_server, mail_user, tmp_path / "state"
    )


def test_foreign_text_never_reaches_the_terminal_raw(
    hostile_config: Path, mail_user: MailUser
) -> None:
    config = ("--config", str(hostile_config))
    synced = invoke(*config, "sync", "-v", password=mail_user.password)
    assert synced.exit_code == 0, synced.output
    assert_terminal_safe(synced.output)
    assert "Old mail\ufffdliam\ufffd" in synced.stdout  # the folder table (-v), inert

    listed = invoke(*config, "list", "--all", "--now", NOW, password=mail_user.password)
    assert listed.exit_code == 0, listed.output
    assert_terminal_safe(listed.output)
    header, row, *rest = listed.stdout.splitlines()
    assert not rest, listed.stdout  # one row: the CR LF in the subject made no second one
    assert row.startswith(row.split()[0]) and "awaiting" in row
    assert row.index("Proposal \ufffd]0;pwned\ufffd") == header.index("SUBJECT")
    assert row.index("Lea\ufffd]0;title\ufffd") == header.index("CONTACT")
    thread_id = row.split()[0]

    shown = invoke(*config, "thread", thread_id, "--now", NOW, password=mail_user.password)
    assert shown.exit_code == 0, shown.output
    assert_terminal_safe(shown.output)
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"Thread {thread_id} · 2 messages")
    assert "offer\ufffd[2J\ufffd fdp.exe.pdf" in lines[1]  # the attachment name, one line
    assert "Old mail\ufffdliam\ufffd" in lines[2] and "out-of-office" in lines[2]
    assert lines[3] == ""
    assert lines[4].startswith('Your message "Proposal \ufffd]0;pwned\ufffd')

    preview = invoke(*config, "digest", "--now", NOW, password=mail_user.password)
    assert preview.exit_code == 0, preview.output
    assert_terminal_safe(preview.output)
    assert "Proposal \ufffd]0;pwned\ufffd" in preview.stdout

    status = invoke(*config, "status", password=mail_user.password)
    assert status.exit_code == 0, status.output
    assert_terminal_safe(status.output)


def test_json_output_is_json_with_every_control_escaped(
    hostile_config: Path, mail_user: MailUser
) -> None:
    config = ("--config", str(hostile_config))
    assert invoke(*config, "sync", password=mail_user.password).exit_code == 0
    listed = invoke(*config, "list", "--all", "--json", "--now", NOW, password=mail_user.password)
    assert listed.exit_code == 0, listed.output
    assert_terminal_safe(listed.stdout)
    (item,) = json.loads(listed.stdout)
    # The data is all there, exactly: only its spelling in the JSON text is escaped.
    assert "\x1b]0;pwned\x07" in item["subject"] and "\x9b31m \u202efdp.exe" in item["subject"]
    assert item["contacts"][0]["name"].startswith("Lea\x1b]0;title\x07 \u202etdnarB")
    assert item["attachments"] == ["offer\x1b[2J\u202e\r\nfdp.exe.pdf"]


# Dovecot never puts controls in its texts; a hostile or broken server may.
HOSTILE_SERVER_TEXT = b"\x1b]0;pwned\x07\x1b[2J\x1b[8mhidden \xc2\x9b31m \xe2\x80\xaeliated\r oops"


@pytest.fixture
def rude_server() -> Iterator[ScriptedImapServer]:
    """A plain-text IMAP server on 127.0.0.1 that refuses every login with a hostile text."""
    with ScriptedImapServer(
        {
            "LOGIN": answer(b"NO [AUTHENTICATIONFAILED] " + HOSTILE_SERVER_TEXT),
            "LOGOUT": answer(b"OK bye", b"* BYE " + HOSTILE_SERVER_TEXT),
            "CAPABILITY": ok("* CAPABILITY IMAP4rev1"),
        },
        greeting=b"* OK [CAPABILITY IMAP4rev1] " + HOSTILE_SERVER_TEXT + b"\r\n",
        unscripted=answer(b"BAD " + HOSTILE_SERVER_TEXT),
    ) as server:
        yield server


def test_server_text_reaches_the_terminal_only_inert(
    rude_server: ScriptedImapServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[[accounts]]\nname = "work"\nhost = "127.0.0.1"\n'
        f'port = {rude_server.port}\nsecurity = "none"\nusername = "maya"\n'
        'addresses = ["maya@example.test"]\npassword_env = "TEST_IMAP_PASSWORD"\n',
        encoding="utf-8",
    )
    args = ("--config", str(config))
    synced = invoke(*args, "sync", password="not-the-password")
    assert synced.exit_code == 1
    assert_terminal_safe(synced.output)
    (line,) = synced.stdout.splitlines()  # the CR in the server's text broke no line
    assert line.startswith("work: not synced:") and "]0;pwned" in line

    for command in ("status", "doctor"):
        shown = invoke(*args, command, password="not-the-password")
        assert_terminal_safe(shown.output)
        assert "]0;pwned" in shown.stdout, shown.stdout


# -- user errors on the command line: one line, the fix, no traceback --------------------------


@pytest.fixture
def demo_config(tmp_path: Path) -> Path:
    """A config reading the bundled sample mailbox, synced: no server needed."""
    config = tmp_path / "demo.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\nlookback_days = 0\n[[accounts]]\nname = "demo"\n'
        f'maildir = "{REPO / "watcher" / "demo_mailbox"}"\n'
        'addresses = ["maya@lindqvist-studio.example"]\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    assert CliRunner().invoke(cli, ["--config", str(config), "sync"]).exit_code == 0
    return config


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    assert "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and not result.stdout, result.output
    return line


def _unwritable(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        return locked / "digest.html"
    # Root writes anywhere permissions allow; sysfs creates no file for anyone.
    target = Path("/sys/watcher-digest-test.html")
    with contextlib.suppress(OSError):
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
        target.unlink()
        pytest.skip("no unwritable directory on this machine")
    return target


@pytest.mark.parametrize(
    ("where", "fix"),
    [
        ("missing", "its directory does not exist; create it or give another path"),
        ("under a file", "a part of its directory is a file; give another path"),
        ("unwritable", "permission denied; give a path you can write to"),
    ],
)
def test_html_digest_to_a_bad_path_is_one_line_with_the_fix(
    demo_config: Path, tmp_path: Path, where: str, fix: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    path = {
        "missing": tmp_path / "no" / "such" / "digest.html",
        "under a file": tmp_path / "a-file" / "digest.html",
        "unwritable": _unwritable(tmp_path) if where == "unwritable" else tmp_path,
    }[where]
    result = CliRunner().invoke(cli, ["--config", str(demo_config), "digest", "--html", str(path)])
    assert one_line_error(result) == f"error: cannot write the HTML digest to {path}: {fix}"


def test_html_digest_is_readable_by_its_owner_only(demo_config: Path, tmp_path: Path) -> None:
    fresh, existing = tmp_path / "fresh.html", tmp_path / "existing.html"
    existing.write_text("an old digest, long and public " * 100)
    existing.chmod(0o644)
    old_umask = os.umask(0)  # what a careless shell may have: the file must not follow it
    try:
        for path in (fresh, existing):
            args = ["--config", str(demo_config), "digest", "--html", str(path)]
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, result.output
            assert f"HTML digest written to {path}" in result.stdout
    finally:
        os.umask(old_umask)
    for path in (fresh, existing):
        assert path.stat().st_mode & 0o777 == 0o600, path
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") or text.lstrip().startswith("<"), text[:80]
        assert "an old digest" not in text  # replaced, not appended to


def test_html_digest_into_a_pipe_still_works(demo_config: Path) -> None:
    result = run_watcher("--config", str(demo_config), "digest", "--html", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    assert "</html>" in result.stdout  # a pipe is written to, not chmod-ed or truncated


@pytest.mark.parametrize("moment", ["9999-12-31T23:59", "0001-01-01", "9000-01-01T00:00"])
@pytest.mark.parametrize("command", [["list"], ["list", "--json"], ["thread", "t"], ["digest"]])
def test_now_out_of_range_is_one_line_with_the_fix(
    demo_config: Path, command: list[str], moment: str
) -> None:
    result = CliRunner().invoke(cli, ["--config", str(demo_config), *command, "--now", moment])
    assert one_line_error(result) == (
        f"error: --now {moment!r} is out of range; give a moment in the years 1970 to 8999, "
        "e.g. 2026-11-23T08:00"
    )


def test_now_at_the_ends_of_the_range_works_for_every_command(demo_config: Path) -> None:
    config = ["--config", str(demo_config)]
    listed = CliRunner().invoke(cli, [*config, "list", "--all", "--json"])
    thread_id = json.loads(listed.stdout)[0]["thread_id"]
    for moment in ("8999-12-31T23:59", "1970-01-01T00:00", "8999-12-31T23:59+14:00"):
        for command in (["list", "--all"], ["thread", thread_id], ["digest"]):
            result = CliRunner().invoke(cli, [*config, *command, "--now", moment])
            assert result.exit_code == 0, (command, moment, result.output, result.exception)


def test_now_that_is_no_date_is_one_line_with_an_example(demo_config: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(demo_config), "list", "--now", "tomorrow"])
    assert one_line_error(result) == (
        "error: --now 'tomorrow' is not an ISO-8601 date or time; "
        "give one like 2026-11-23 or 2026-11-23T08:00"
    )


# -- one CLI package: one fail(), one --config, the group on top --------------------------------

CLI_PACKAGE = REPO / "watcher" / "cli"


def cli_sources() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(CLI_PACKAGE.glob("*.py"))}


def test_fail_and_the_config_option_are_written_once() -> None:
    sources = cli_sources()
    fails = [name for name, text in sources.items() if re.search(r"^def _?fail\(", text, re.M)]
    configs = [name for name, text in sources.items() for _ in re.finditer('"--config"', text)]
    assert fails == ["context.py"]
    assert configs == ["context.py"]


def test_no_command_module_imports_the_group_and_none_is_too_long() -> None:
    for name, text in cli_sources().items():
        assert name == "main.py" or "watcher.cli.main" not in text, name
        assert len(text.splitlines()) <= 500, name


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["status"], "error: config.toml line 1: lookback_days must be a whole number"),
        (["doctor"], "config.toml line 1: lookback_days must be a whole number"),
        (["init", "--email", "a@b.example"], "exists; keep it, or pass --force to replace it"),
    ],
)
def test_config_before_or_after_the_command_is_the_same_file(
    command: list[str], expected: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("lookback_days = 'x'\n", encoding="utf-8")
    before = CliRunner().invoke(cli, ["--config", str(config), *command])
    after = CliRunner().invoke(cli, [command[0], "--config", str(config), *command[1:]])
    assert expected in before.output
    assert before.exit_code == (1 if command == ["doctor"] else 2)
    assert (after.exit_code, after.output) == (before.exit_code, before.output)


@pytest.mark.parametrize(
    ("command", "code"), [(run_command, 2), (status_command, 2), (doctor_command, 1)]
)
def test_a_command_run_alone_finds_its_config_as_under_the_group(
    command: click.Command, code: int, tmp_path: Path
) -> None:
    missing = tmp_path / "none.toml"
    result = CliRunner().invoke(command, [], env={"WATCHER_CONFIG": str(missing)})
    assert (result.exit_code, type(result.exception)) == (code, SystemExit), result.exception
    assert str(missing) in result.output and "copy config.example.toml there" in result.output
