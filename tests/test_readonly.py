"""The read-only guarantee: the watcher sends the IMAP server read-only commands only.

Every byte the watcher processes send goes through a recording TCP proxy (tests/imaprecorder.py)
in plain text (`security = "none"` to 127.0.0.1: loopback, so allowed, and nothing is hidden
behind STARTTLS). Recorded: two syncs (the first and an incremental one), a digest that fails
on SMTP and the one after it (which first looks in the INBOX for the earlier attempt, then
sends by SMTP; IMAP delivery off), `watcher doctor`, `list` and `status`. Every tagged command
must be in the read-only set, no FETCH may ask for a section without `.PEEK` (that would set
\\Seen), and afterwards every folder has the same UIDVALIDITY, UIDNEXT, message count, flags
and HIGHESTMODSEQ as before.

Two controls prove the recorder can fail: a client doing SELECT, STORE and APPEND through the
same proxy is caught, and a command written inside an APPENDed message is not mistaken for one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from demomailbox import seed_demo
from dovecot import DovecotServer, MailUser
from imaprecorder import Command, RecordingProxy, collecting_smtp, parse_commands
from smtpserver import SMTP_PASSWORD, SMTP_USER
from watcherproc import finish, watcher

NOW = "2026-11-23T08:00"
READ_ONLY = frozenset(
    {
        *("CAPABILITY", "LOGIN", "AUTHENTICATE", "ENABLE", "ID", "LIST", "STATUS"),
        *("EXAMINE", "SEARCH", "FETCH", "UID FETCH", "UID SEARCH", "NOOP", "IDLE", "DONE"),
        *("LOGOUT", "STARTTLS", "NAMESPACE"),
    }
)
# FETCH items that set \\Seen: a section without .PEEK, RFC822 and RFC822.TEXT.
_SETS_SEEN = re.compile(r"\b(?:BODY|BINARY)\[|\bRFC822(?:\.TEXT)?\b(?!\.)", re.IGNORECASE)


@pytest.fixture
def proxy(imap_server: DovecotServer) -> RecordingProxy:
    with RecordingProxy((imap_server.host, imap_server.port)) as recorder:
        yield recorder  # type: ignore[misc]


def write_proxied_config(
    path: Path, proxy: RecordingProxy, server: DovecotServer, user: MailUser, smtp_port: int
) -> Path:
    path.write_text(
        f"""
state_dir = "{path.parent / "state"}"
timezone = "Europe/Stockholm"
lookback_days = 0

[[accounts]]
name = "maya"
host = "127.0.0.1"
port = {proxy.port}
security = "none"
username = "{user.name}"
addresses = ["maya@lindqvist-studio.example"]
aliases = ["maya.lindqvist@gmail.example"]
password_env = "TEST_IMAP_PASSWORD"

[digest]
to = "maya@lindqvist-studio.example"
delivery = "smtp"

[digest.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
ca_file = "{server.ca_file}"
username = "{SMTP_USER}"
password_env = "TEST_SMTP_PASSWORD"
""",
        encoding="utf-8",
    )
    return path


def violations(commands: list[Command]) -> list[str]:
    found = []
    for command in commands:
        if command.name == "+":
            continue  # an AUTHENTICATE response line
        sets_seen = command.name.endswith("FETCH") and _SETS_SEEN.search(command.line)
        if command.name not in READ_ONLY or sets_seen:
            found.append(command.line[:200])
    return found


def test_sync_digest_and_doctor_send_read_only_commands_and_change_nothing(
    imap_server: DovecotServer, mail_user: MailUser, proxy: RecordingProxy, tmp_path: Path
) -> None:
    seed_demo(imap_server, mail_user)
    before = imap_server.all_folder_states(mail_user)
    server_key = (imap_server.ca_file, imap_server.key_file)
    with collecting_smtp(*server_key, SMTP_USER, SMTP_PASSWORD) as smtp:
        closed = write_proxied_config(tmp_path / "closed.toml", proxy, imap_server, mail_user, 1)
        config = write_proxied_config(tmp_path / "c.toml", proxy, imap_server, mail_user, smtp.port)
        runs = [
            (config, ("sync",), 0),
            (config, ("-v", "sync"), 0),  # incremental: STATUS, and only changed folders
            (closed, ("digest", "--send", "--now", NOW), 1),  # SMTP refused: recorded failed
            (config, ("digest", "--send", "--now", NOW), 0),  # looks in INBOX, then SMTP
            (config, ("digest", "--send", "--now", NOW), 0),  # sent already
            (config, ("doctor",), None),
            (config, ("list", "--all", "--now", NOW), 0),
            (config, ("status",), None),
        ]
        for path, args, expected in runs:
            code, out, err = finish(watcher(path, mail_user, *args))
            assert "Traceback" not in err, err
            if expected is not None:
                assert code == expected, (args, out, err)
            assert "without TLS" not in err  # 127.0.0.1 is loopback: no warning
        assert len(smtp.messages) == 1  # the digest went by SMTP, once
    after = imap_server.all_folder_states(mail_user)
    assert after == before

    recordings = proxy.recordings()
    assert len(recordings) >= 5  # sync x2, the INBOX check, doctor's probe and its login
    assert not any(r.encrypted for r in recordings)  # the whole conversation was readable
    commands = [c for r in recordings for c in r.commands]
    names = {c.name for c in commands}
    assert {"LOGIN", "LIST", "EXAMINE", "UID FETCH", "LOGOUT"} <= names, names
    assert "SELECT" not in names
    assert violations(commands) == []


def test_the_recorder_catches_writes_and_skips_literals(
    imap_server: DovecotServer, mail_user: MailUser, proxy: RecordingProxy
) -> None:
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=proxy.port, ssl=False, timeout=10)
    client.login(mail_user.name, mail_user.password)
    client.append("INBOX", b"Subject: x\r\n\r\nA9 DELETE INBOX\r\nA10 EXPUNGE\r\n")
    client.select_folder("INBOX")
    client.add_flags(client.search("ALL"), ["\\Flagged"])
    client.fetch(client.search("ALL"), ["BODY[]"])
    client.logout()
    commands = proxy.commands()
    names = [c.name for c in commands]
    assert "DELETE" not in names and "EXPUNGE" not in names  # inside the literal: data
    found = violations(commands)
    assert any(" APPEND " in f for f in found)
    assert any(" SELECT " in f for f in found)
    assert any(" UID STORE " in f for f in found)
    assert any("BODY[]" in f for f in found)


def test_parse_commands_reads_literals_idle_authenticate_and_tls() -> None:
    stream = (
        b"a1 CAPABILITY\r\n"
        b"a2 AUTHENTICATE PLAIN\r\nAGZvbwBiYXI=\r\n"
        b"a3 LOGIN {3+}\r\nfoo {5}\r\nx\r\ny \r\n"
        b"a4 UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (FROM)])\r\n"
        b"a5 IDLE\r\nDONE\r\n"
        b"a6 APPEND INBOX {12}\r\na7 STORE 1\r\n\r\n"
        b"a8 STARTTLS\r\n\x16\x03\x01\x02\x00garbage"
    )
    recording = parse_commands(stream)
    names = [c.name for c in recording.commands]
    assert names == [
        "CAPABILITY",
        "AUTHENTICATE",
        "+",
        "LOGIN",
        "UID FETCH",
        "IDLE",
        "DONE",
        "APPEND",
        "STARTTLS",
    ]
    assert recording.encrypted
    assert recording.commands[3].line == "a3 LOGIN {3+}<literal 3 bytes> {5}<literal 5 bytes>"
