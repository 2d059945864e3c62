"""The bulk FETCH reader (`watcher.mail.bulkfetch`) against servers that misbehave on purpose.

Dovecot never sends these replies, so a small scripted server on 127.0.0.1 does: it answers
everything up to the first UID FETCH as Dovecot would (one folder, INBOX, three messages) and
then sends a hostile reply, generated lazily so that the test itself stays small. Each test
bounds the memory the sync used with tracemalloc (a bound, not a timing).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dovecot import DovecotServer, MailUser
from hypothesis import given
from hypothesis import strategies as st
from mailfactory import make_message
from scriptedimap import Reply, ScriptedImapServer, answer, ok, once

from watcher.cli.main import cli
from watcher.credentials import Secret
from watcher.errors import ImapError
from watcher.mail import bulkfetch
from watcher.mail.bulkfetch import MAX_LINE, MAX_LITERAL, MAX_REPLY_COST, compact_uid_set
from watcher.mail.imap import sync_imap_account
from watcher.store.store import Store

NOW = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
MEMORY_BOUND = 200 * 1000 * 1000  # what the README promises whatever the server sends


def honest_message(uid: int) -> bytes:
    """One FETCH response as Dovecot sends it for the sync's items."""
    header = (
        f"From: Ana <ana@acme.example>\r\nSubject: message {uid}\r\n"
        f"Message-ID: <m{uid}@acme.example>\r\n\r\n"
    ).encode()
    return (
        (
            b'* %d FETCH (UID %d FLAGS (\\Seen) INTERNALDATE "20-Nov-2026 09:44:25 +0000" '
            b'RFC822.SIZE 300 BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" '
            b"10 1 NIL NIL NIL NIL) BODY[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID)] {%d}\r\n"
            % (uid, uid, len(header))
        )
        + header
        + b")\r\n"
    )


def honest_reply(tag: bytes, _arguments: bytes) -> Iterator[bytes]:
    yield b"".join(honest_message(uid) for uid in (1, 2, 3))
    yield tag + b" OK Fetch completed.\r\n"


# Up to the first UID FETCH, what Dovecot would answer: one folder, INBOX, three messages.
HONEST_REPLIES: dict[str, Reply] = {
    "CAPABILITY": ok("* CAPABILITY IMAP4rev1"),
    "LIST": ok('* LIST () "/" INBOX'),
    "STATUS": ok("* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 7)"),
    "EXAMINE": answer(
        "OK [READ-ONLY] done",
        "* FLAGS (\\Seen)",
        "* 3 EXISTS",
        "* 0 RECENT",
        "* OK [UIDVALIDITY 7] UIDs valid",
        "* OK [UIDNEXT 4] Predicted next UID",
    ),
    "UID SEARCH": ok("* SEARCH 1 2 3"),
    "LOGOUT": ok("* BYE Logging out"),
}


def hostile_server(first_fetch: Reply) -> ScriptedImapServer:
    """A plain-text IMAP server on 127.0.0.1 whose first UID FETCH is answered by
    `first_fetch`, every later one honestly; any command not scripted gets OK."""
    return ScriptedImapServer(
        {**HONEST_REPLIES, "UID FETCH": once(first_fetch, then=honest_reply)},
        greeting=b"* OK [CAPABILITY IMAP4rev1] fake ready\r\n",
        unscripted=ok(),
    )


def sync_measured(server: ScriptedImapServer, store: Store) -> tuple[ImapError | None, int]:
    """Sync the fake account; return the error it ended with (or None) and the peak memory
    the sync allocated."""
    tracemalloc.start()
    try:
        sync_imap_account(
            server.account("hostile", user="maya"),
            Secret("pw", "test"),
            store,
            lookback_days=0,
            now=NOW,
        )
    except ImapError as exc:
        return exc, tracemalloc.get_traced_memory()[1]
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return None, peak


# --- a line that never ends -----------------------------------------------------------------


def endless_line(tag: bytes, _arguments: bytes) -> Iterator[bytes]:
    # 256 MiB, then the server hangs up: "endless" for the reader, finite for a test that
    # must not take the machine down if the limit ever goes missing.
    yield b"* 1 FETCH (UID 1 FLAGS ("
    chunk = b"x" * (1 << 20)
    for _ in range(256):
        yield chunk


def test_a_line_without_end_is_cut_at_the_limit(fresh_store: Store) -> None:
    with hostile_server(endless_line) as server:
        error, peak = sync_measured(server, fresh_store)
    assert error is not None
    assert str(error).startswith(f"account 'hostile': 127.0.0.1:{server.port} sent a reply")
    assert f"a line of over {MAX_LINE >> 20} MiB without an end" in str(error)
    assert "\n" not in str(error)
    assert peak < 16 * MAX_LINE  # a few buffers of one line, not the 256 MiB sent
    assert fresh_store.count_messages() == 0


# --- a literal announced as 99,999,999,999 bytes --------------------------------------------


def huge_literal(tag: bytes, _arguments: bytes) -> Iterator[bytes]:
    yield (
        b"* 1 FETCH (UID 1 FLAGS () BODY[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID)] "
        b"{99999999999}\r\nFrom: a@b.example\r\n"
    )


def test_a_huge_literal_announcement_is_refused_before_reading(fresh_store: Store) -> None:
    with hostile_server(huge_literal) as server:
        error, peak = sync_measured(server, fresh_store)
    assert error is not None
    assert "literal of 99999999999 bytes" in str(error)
    assert f"over the {MAX_LITERAL >> 20} MiB limit" in str(error)
    assert peak < 16 * MAX_LINE


@pytest.mark.parametrize("digits", [11, 5000])
def test_an_absurd_literal_size_is_a_limit_error_not_a_crash(
    fresh_store: Store, digits: int
) -> None:
    def reply(tag: bytes, _arguments: bytes) -> Iterator[bytes]:
        yield b"* 1 FETCH (UID 1 BODY[TEXT] {" + b"9" * digits + b"}\r\n"

    with hostile_server(reply) as server:
        error, _peak = sync_measured(server, fresh_store)
    assert error is not None and "over the" in str(error)


def test_a_huge_literal_fails_that_account_only_without_a_traceback(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    imap_server.append(
        mail_user,
        "INBOX",
        make_message(
            from_="Ana <ana@acme.example>", to=mail_user.address, subject="fine", date=NOW
        ),
    )
    with hostile_server(huge_literal) as server:
        config = tmp_path / "config.toml"
        config.write_text(
            f'state_dir = "{tmp_path / "state"}"\nlookback_days = 0\n\n'
            f'[[accounts]]\nname = "hostile"\nhost = "127.0.0.1"\nport = {server.port}\n'
            'security = "none"\nusername = "maya"\naddresses = ["maya@example.test"]\n'
            'password_env = "TEST_IMAP_PASSWORD"\n\n'
            f'[[accounts]]\nname = "work"\nhost = "{imap_server.host}"\n'
            f'port = {imap_server.port}\nsecurity = "starttls"\nusername = "{mail_user.name}"\n'
            f'addresses = ["{mail_user.address}"]\nca_file = "{imap_server.ca_file}"\n'
            'password_env = "TEST_IMAP_PASSWORD"\n',
            encoding="utf-8",
        )
        config.chmod(0o600)
        result = CliRunner().invoke(
            cli,
            ["--config", str(config), "sync"],
            env={"TEST_IMAP_PASSWORD": mail_user.password},
        )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "hostile" in result.output and "literal of 99999999999 bytes" in result.output
    store = Store.open(tmp_path / "state" / "watcher.sqlite3")
    try:
        assert [m.subject for m in store.messages()] == ["fine"]  # the other account synced
    finally:
        store.close()


def test_a_response_of_endless_tiny_literals_is_cut_at_the_limit(fresh_store: Store) -> None:
    # Each line is short and each literal one byte, but the parser would join them all.
    def reply(tag: bytes, _arguments: bytes) -> Iterator[bytes]:
        yield b"* 1 FETCH (UID 1 X-JUNK ({1}\r\n"
        piece = b"x {1}\r\n"
        for _ in range(200):
            yield piece * 10_000

    with hostile_server(reply) as server:
        error, peak = sync_measured(server, fresh_store)
    assert error is not None
    assert f"a FETCH response with over {MAX_LINE >> 20} MiB of text" in str(error)
    assert peak < 64 * MAX_LINE


@pytest.mark.parametrize(
    ("uid_set", "inside", "outside"),
    [
        ("1:3,5,8:9", [1, 2, 3, 5, 8, 9], [4, 6, 7, 10, 0]),
        ("9:8,2", [2, 8, 9], [1, 3, 10]),  # a range may be written high to low
        ("4:10,2:6", [2, 6, 7, 10], [1, 11]),  # overlapping ranges
        ("1:*", [1, 2**32 - 1], []),
        ("5:*", [3, 5, 99], []),  # `*` may be below 5: every UID is admitted
        ("not a set", [1, 7], []),
    ],
)
def test_uid_set_membership(uid_set: str, inside: list[int], outside: list[int]) -> None:
    wanted = bulkfetch._UidSet(uid_set)
    assert all(uid in wanted for uid in inside)
    assert not any(uid in wanted for uid in outside)


# --- millions of FETCH responses nobody asked for -------------------------------------------

UNSOLICITED = 3_000_000
# Half without a UID (another client's flag change), half about UIDs not asked for.
FLOOD_CHUNK = b"".join(
    b"* %d FETCH (FLAGS (\\Seen))\r\n" % n
    if n & 1
    else b"* %d FETCH (UID %d FLAGS (\\Seen $Forwarded))\r\n" % (n, 100 + n)
    for n in range(1, 20_001)
)

# tracemalloc makes each of three million allocations ~9 times slower: the sync runs in a
# child process instead, which reports its own peak RSS (interpreter and imports included).
SYNC_IN_CHILD = """
import datetime as dt, json, resource, sys
from pathlib import Path
from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.errors import ImapError
from watcher.mail.imap import sync_imap_account
from watcher.store.store import Store

port, path = int(sys.argv[1]), Path(sys.argv[2])
account = Account(name="hostile", addresses=("maya@example.test",), host="127.0.0.1",
                  port=port, security="none", username="maya", timeout_seconds=5.0)
store = Store.open(path)
try:
    sync_imap_account(account, Secret("pw", "test"), store, lookback_days=0,
                      now=dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC))
    error = None
except ImapError as exc:
    error = str(exc)
finally:
    store.close()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"error": error, "peak_rss": rss}))
"""


def unsolicited_flood(tag: bytes, arguments: bytes) -> Iterator[bytes]:
    """Three million FETCH responses about messages not asked for, then the real ones."""
    for _ in range(UNSOLICITED // 20_000):
        yield FLOOD_CHUNK
    yield from honest_reply(tag, arguments)


def test_millions_of_unsolicited_fetch_responses_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "watcher.sqlite3"
    with hostile_server(unsolicited_flood) as server:
        outcome = run_child_sync(server, path)
    assert outcome["error"] is None
    assert outcome["peak_rss"] < MEMORY_BOUND  # was 1.6 GB when every response was kept
    store = Store.open(path)
    try:
        assert sorted(m.subject for m in store.messages()) == [
            "message 1",
            "message 2",
            "message 3",
        ]
    finally:
        store.close()


def run_child_sync(server: ScriptedImapServer, path: Path) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, "-c", SYNC_IN_CHILD, str(server.port), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    outcome: dict[str, Any] = json.loads(child.stdout)
    return outcome


# The costliest shape known: `()` is 2 bytes on the wire and a 56-byte list (plus its slot)
# once parsed. 250,000 of them per response, in FETCH responses about a UID asked for.
EMPTY_LISTS = b"* 1 FETCH (UID 1 X-JUNK (" + b"()" * 250_000 + b"))\r\n"


def test_the_costliest_reply_under_the_limit_stays_under_the_memory_bound(
    tmp_path: Path,
) -> None:
    # As many as fit: each is kept as "1 (UID 1 ...", without "* " and " FETCH".
    count = MAX_REPLY_COST // bulkfetch._line_cost(EMPTY_LISTS[2:].replace(b" FETCH", b""))

    def reply(tag: bytes, arguments: bytes) -> Iterator[bytes]:
        for _ in range(count):
            yield EMPTY_LISTS
        yield from honest_reply(tag, arguments)

    with hostile_server(reply) as server:
        outcome = run_child_sync(server, tmp_path / "watcher.sqlite3")
    assert outcome["error"] is None  # parsed and ignored: X-JUNK means nothing to the sync
    assert outcome["peak_rss"] < MEMORY_BOUND  # 185 MB measured, 49 MB for an honest sync


def test_a_flood_about_the_uids_asked_for_stops_at_the_reply_limit(fresh_store: Store) -> None:
    # Each response costs little on the wire and much once parsed: `()` is 2 bytes, and a
    # 56-byte list. The estimate charges it, so the reply is refused before it is parsed.
    line = b"* 1 FETCH (UID 1 X-JUNK (" + b"()" * 200_000 + b"))\r\n"

    def reply(tag: bytes, _arguments: bytes) -> Iterator[bytes]:
        for _ in range(MAX_REPLY_COST // (len(line) * 32) + 2):
            yield line

    with hostile_server(reply) as server:
        error, peak = sync_measured(server, fresh_store)
    assert error is not None
    assert f"reply over the {MAX_REPLY_COST >> 20} MiB limit" in str(error)
    assert peak < MEMORY_BOUND


# --- UID sets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uids", "expected"),
    [
        ([], ""),
        ([7], "7"),
        ([7, 7, 7], "7"),
        ([1, 2, 3, 5, 7, 8], "1:3,5,7:8"),
        ([8, 7, 5, 3, 2, 1, 2], "1:3,5,7:8"),
        ([1, 3, 5], "1,3,5"),
        ([4294967295, 4294967294], "4294967294:4294967295"),
        (iter(range(1, 20001)), "1:20000"),
    ],
)
def test_compact_uid_set(uids: Any, expected: str) -> None:
    assert compact_uid_set(uids) == expected


def test_compact_uid_set_rejects_non_uids() -> None:
    with pytest.raises(ValueError, match="not a UID"):
        compact_uid_set([0, 1])


def _expand(uid_set: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, uid_set.split(",")):
        low, _, high = part.partition(":")
        out.extend(range(int(low), int(high or low) + 1))
    return out


@given(st.lists(st.integers(min_value=1, max_value=5000), max_size=300))
def test_compact_uid_set_expands_to_the_input_set(uids: list[int]) -> None:
    expanded = _expand(compact_uid_set(uids))
    assert expanded == sorted(set(uids))  # each UID exactly once, in order
