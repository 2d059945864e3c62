from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from watcher.errors import StoreError
from watcher.model import Attachment, MessageFacts
from watcher.store.rows import FACT_COLUMNS, MESSAGE_COLUMNS, from_row, to_row
from watcher.store.store import MIGRATIONS, FolderState, Store

FACTS = MessageFacts(
    key="1:5",
    uid=5,
    message_id="<a@b>",
    references=("<x@y>", "<z@w>"),
    from_=(("Zoë", "zoe@x.example"),),
    to=(("", "me@y.example"),),
    date=1_700_000_000,
    subject="Angebot für Sie",
    flags=("\\Seen", "followup-10d"),
    attachments=(Attachment("Angebot.pdf", "application/pdf", 1234),),
    is_from_me=True,
    body_text="Hallo",
    parse_problems=("Date header odd",),
)


def test_round_trip(fresh_store: Store) -> None:
    with fresh_store.transaction():
        fresh_store.put_messages("acc", "INBOX", [FACTS])
    assert list(fresh_store.messages("acc")) == [FACTS]


def test_upsert_never_duplicates(fresh_store: Store) -> None:
    with fresh_store.transaction():
        fresh_store.put_messages("acc", "INBOX", [FACTS, FACTS])
    with fresh_store.transaction():
        fresh_store.put_messages("acc", "INBOX", [FACTS])
    assert fresh_store.count_messages() == 1


def test_failed_transaction_writes_nothing(fresh_store: Store) -> None:
    with pytest.raises(RuntimeError), fresh_store.transaction():
        fresh_store.put_messages("acc", "INBOX", [FACTS])
        fresh_store.save_folder_state(FolderState("acc", "INBOX", last_uid=5))
        raise RuntimeError("cut")
    assert fresh_store.count_messages() == 0
    assert fresh_store.folder_states("acc") == {}


def test_folder_state_and_forget(fresh_store: Store) -> None:
    state = FolderState("acc", "Sent", "\\Sent", 7, 40, 99, 12, True, 1_700_000_000)
    with fresh_store.transaction():
        fresh_store.save_folder_state(state)
        fresh_store.put_messages("acc", "Sent", [FACTS])
    assert fresh_store.folder_states("acc") == {"Sent": state}
    with fresh_store.transaction():
        assert fresh_store.forget_folder("acc", "Sent") == 1
    assert fresh_store.folder_states("acc") == {}


def test_flags_and_deletes(fresh_store: Store) -> None:
    with fresh_store.transaction():
        fresh_store.put_messages("acc", "INBOX", [FACTS])
        fresh_store.update_flags("acc", "INBOX", [("1:5", ("\\Flagged",), 12)])
    (stored,) = fresh_store.messages()
    assert stored.flags == ("\\Flagged",)
    assert stored.modseq == 12
    with fresh_store.transaction():
        fresh_store.delete_messages("acc", "INBOX", ["1:5"])
    assert fresh_store.count_messages() == 0


def test_migrations_recorded_and_safe_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store.open(path).close()
    with Store.open(path) as store:
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
        assert store.integrity_ok()


def test_files_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "s.sqlite3"
    Store.open(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_state_dir_that_is_a_file_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as caught:
        Store.open(blocker / "s.sqlite3")
    assert str(caught.value) == (
        f"state_dir {blocker} is a file, not a directory; "
        "set state_dir to a directory (or move the file away)"
    )
    with pytest.raises(StoreError) as caught:
        Store.open(blocker / "deeper" / "s.sqlite3")
    assert str(caught.value) == (
        f"state_dir {blocker / 'deeper'} cannot be created: {blocker} is a file, "
        "not a directory; set state_dir to a directory"
    )


# Store.open in a process the file modes apply to: root ignores them, so as root it runs
# without the two capabilities that let it (setpriv drops them for the child).
_OPEN = """
import sys
from pathlib import Path
from watcher.errors import StoreError
from watcher.store.store import Store
try:
    Store.open(Path(sys.argv[1])).close()
except StoreError as exc:
    print(exc)
"""


def _open_as_a_user(path: Path) -> str:
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root ignores file modes, and there is no setpriv to drop that")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}"]
    result = subprocess.run(
        [*prefix, sys.executable, "-c", _OPEN, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("existing_store", [False, True])
def test_a_read_only_state_dir_names_the_directory_and_the_fix(
    tmp_path: Path, existing_store: bool
) -> None:
    # Before: "unable to open database file" or "attempt to write a readonly database".
    state = tmp_path / "state"
    if existing_store:
        Store.open(state / "watcher.sqlite3").close()
    else:
        state.mkdir()
    state.chmod(0o500)
    assert _open_as_a_user(state / "watcher.sqlite3") == (
        f"state_dir {state} is not writable by you; chmod u+w {state} or set state_dir"
    )


def test_a_state_dir_that_cannot_be_created_names_the_parent(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    parent.mkdir(mode=0o500)
    parent.chmod(0o500)
    state = parent / "state"
    assert _open_as_a_user(state / "watcher.sqlite3") == (
        f"state_dir {state} cannot be created: {parent} is not writable by you; "
        f"chmod u+w {parent} or set state_dir"
    )


def test_a_read_only_store_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "state" / "watcher.sqlite3"
    Store.open(path).close()
    path.chmod(0o400)
    assert _open_as_a_user(path) == f"the store {path} is not writable by you; chmod u+w {path}"


def test_stored_messages_carry_folder_and_special_use(fresh_store: Store) -> None:
    with fresh_store.transaction():
        fresh_store.save_folder_state(FolderState("acc", "Spam", "\\Junk"))
        fresh_store.put_messages("acc", "Spam", [FACTS])
        fresh_store.put_messages("acc", "Unknown", [FACTS])
    found = sorted(
        (m.folder, m.folder_use, m.facts == FACTS) for m in fresh_store.stored_messages()
    )
    assert found == [("Spam", "\\Junk", True), ("Unknown", "", True)]


def test_thread_overrides(fresh_store: Store) -> None:
    from datetime import date

    from watcher.model import Override

    snoozed = Override(quiet_days=10, snooze_until=date(2026, 12, 1), muted=True)
    with fresh_store.transaction():
        fresh_store.set_override("t0123456789", snoozed)
        fresh_store.set_override("tabcdef0123", Override(done=True))
    assert fresh_store.overrides() == {"t0123456789": snoozed, "tabcdef0123": Override(done=True)}
    with fresh_store.transaction():
        fresh_store.set_override("t0123456789", Override())  # --reset
    assert list(fresh_store.overrides()) == ["tabcdef0123"]


def test_upgrade_from_the_first_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER)")
    connection.executescript(MIGRATIONS[0][1])
    connection.execute("INSERT INTO migrations VALUES ('0001_initial', 0)")
    connection.commit()
    connection.close()
    with Store.open(path) as store:
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
        assert store.overrides() == {}


def test_classifications_round_trip(fresh_store: Store) -> None:
    from watcher.model import Classification

    found = {"d1": Classification("quote", 4.5, ("keyword 'Angebot' in subject", "price EUR 1"))}
    with fresh_store.transaction():
        fresh_store.save_classifications(found)
    assert fresh_store.classifications() == found


def test_account_status_keeps_when_failures_began(fresh_store: Store) -> None:
    with fresh_store.transaction():
        fresh_store.record_sync_failure("work", 100, "refused")
        fresh_store.record_sync_failure("work", 200, "timed out")
    status = fresh_store.account_statuses()["work"]
    assert (status.failing_since, status.last_attempt, status.last_error) == (100, 200, "timed out")
    with fresh_store.transaction():
        fresh_store.record_sync_success("work", 300)
    status = fresh_store.account_statuses()["work"]
    assert (status.failing_since, status.last_success, status.last_error) == (None, 300, "")


def test_many_threads_opening_a_new_store_at_once(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "s.sqlite3"
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Store.open(path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store.open(path) as store:
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]


# -- rows derived from the fields of MessageFacts -------------------------------------------

# Every field set to something other than its default, with the characters that trip
# encoders up (quotes, non-ASCII, tabs, empty display names).
EVERY_FIELD = MessageFacts(
    key="7:42",
    uid=42,
    message_id="<offer-7@studio.example>",
    in_reply_to="<ask-3@client.example>",
    references=("<ask-1@client.example>", "<ask-3@client.example>"),
    gm_thread_id=1_788_000_000_000_000_001,
    thread_index="AdQx9w==",
    from_=(("Maya Lindqvist", "maya@studio.example"),),
    sender=(("", "assistant@studio.example"),),
    reply_to=(('Maya "M" L.', "maya+offers@studio.example"),),
    to=(("Zoë Ångström", "zoe@client.example"), ("", "ops@client.example")),
    cc=(("Büro", "buero@client.example"),),
    bcc=(("", "archive@studio.example"),),
    date=1_700_000_000,
    internal_date=1_700_000_060,
    subject='Angebot für Sie: "Logo" [v2]',
    flags=("\\Seen", "$Forwarded", "followup-10d"),
    modseq=987_654_321,
    size=48_213,
    auto_submitted="auto-replied",
    x_autoreply="yes",
    x_autorespond="yes",
    precedence="bulk",
    list_id="<offers.studio.example>",
    content_type="multipart/report",
    report_type="delivery-status",
    reported_message_id="<offer-6@studio.example>",
    attachments=(
        Attachment("Angebot ü.pdf", "application/pdf", 1234),
        Attachment("", "image/png", 0),
    ),
    is_from_me=True,
    body_text="Hallo Zoë,\nanbei das Angebot.\n\t– Maya",
    parse_problems=("Date header odd", 'bad charset "x-unknown"'),
)


def _table_columns(path: Path) -> dict[str, str]:
    """The `messages` table's columns after every migration: name -> "TYPE [NOT NULL]"."""
    connection = sqlite3.connect(path)
    try:
        info = connection.execute("PRAGMA table_info(messages)").fetchall()
    finally:
        connection.close()
    return {name: f"{kind}{' NOT NULL' if notnull else ''}" for _, name, kind, notnull, *_ in info}


def test_every_fact_field_has_its_column(tmp_path: Path) -> None:
    """A field added to MessageFacts needs one migration adding its column: this says which."""
    path = tmp_path / "s.sqlite3"
    Store.open(path).close()
    table = _table_columns(path)
    missing = [
        f"ALTER TABLE messages ADD COLUMN {c.name} {c.codec.sql_type}"
        + (" DEFAULT ''" if c.codec.sql_type == "TEXT NOT NULL" else "")
        for c in FACT_COLUMNS
        if c.name not in table
    ]
    assert missing == [], "add a migration to watcher/store/migrations.py: " + "; ".join(missing)
    assert [c.field for c in FACT_COLUMNS] == [f.name for f in fields(MessageFacts)]
    assert {c.name: c.codec.sql_type for c in FACT_COLUMNS} == {
        name: kind for name, kind in table.items() if name not in {"id", "account", "folder"}
    }
    assert set(MESSAGE_COLUMNS) == set(table) - {"id"}


def test_every_field_survives_the_row_and_the_store(fresh_store: Store) -> None:
    defaults = MessageFacts(key="")
    unset = [
        f.name
        for f in fields(MessageFacts)
        if getattr(EVERY_FIELD, f.name) == getattr(defaults, f.name)
    ]
    assert unset == [], "give these fields a non-default value in EVERY_FIELD"
    assert from_row(to_row("acc", "INBOX", EVERY_FIELD)) == EVERY_FIELD
    with fresh_store.transaction():
        fresh_store.put_messages("acc", "INBOX", [EVERY_FIELD, MessageFacts(key="7:43", uid=43)])
    assert list(fresh_store.messages("acc")) == [EVERY_FIELD, MessageFacts(key="7:43", uid=43)]
    (stored, _) = fresh_store.stored_messages("acc")
    assert stored.facts == EVERY_FIELD


# How the columns that existed before the rows were derived from the fields encode
# EVERY_FIELD: stores already on disk must read the same.
ENCODED = {
    "account": "acc",
    "folder": "INBOX",
    "key": "7:42",
    "uid": 42,
    "message_id": "<offer-7@studio.example>",
    "in_reply_to": "<ask-3@client.example>",
    "refs": "<ask-1@client.example> <ask-3@client.example>",
    "gm_thread_id": 1788000000000000001,
    "thread_index": "AdQx9w==",
    "from_addrs": '[["Maya Lindqvist", "maya@studio.example"]]',
    "sender_addrs": '[["", "assistant@studio.example"]]',
    "reply_to_addrs": '[["Maya \\"M\\" L.", "maya+offers@studio.example"]]',
    "to_addrs": '[["Zoë Ångström", "zoe@client.example"], ["", "ops@client.example"]]',
    "cc_addrs": '[["Büro", "buero@client.example"]]',
    "bcc_addrs": '[["", "archive@studio.example"]]',
    "date": 1700000000,
    "internal_date": 1700000060,
    "subject": 'Angebot für Sie: "Logo" [v2]',
    "flags": "\\Seen $Forwarded followup-10d",
    "modseq": 987654321,
    "size": 48213,
    "auto_submitted": "auto-replied",
    "x_autoreply": "yes",
    "x_autorespond": "yes",
    "precedence": "bulk",
    "list_id": "<offers.studio.example>",
    "content_type": "multipart/report",
    "report_type": "delivery-status",
    "reported_message_id": "<offer-6@studio.example>",
    "attachments": '[["Angebot ü.pdf", "application/pdf", 1234], ["", "image/png", 0]]',
    "is_from_me": 1,
    "body_text": "Hallo Zoë,\nanbei das Angebot.\n\t– Maya",
    "parse_problems": '["Date header odd", "bad charset \\"x-unknown\\""]',
}
# The same columns for MessageFacts(key="k"): the rest are "".
ENCODED_EMPTY = (
    {"account": "acc", "folder": "INBOX", "key": "k", "is_from_me": 0}
    | dict.fromkeys(("uid", "gm_thread_id", "date", "internal_date", "modseq", "size"))
    | dict.fromkeys(("from_addrs", "sender_addrs", "reply_to_addrs", "to_addrs"), "[]")
    | dict.fromkeys(("cc_addrs", "bcc_addrs", "attachments", "parse_problems"), "[]")
)


def test_rows_already_stored_keep_their_encoding() -> None:
    for facts, expected in (
        (EVERY_FIELD, ENCODED),
        (MessageFacts(key="k"), {name: ENCODED_EMPTY.get(name, "") for name in ENCODED}),
    ):
        row = dict(zip(MESSAGE_COLUMNS, to_row("acc", "INBOX", facts), strict=True))
        assert {name: value for name, value in row.items() if name in expected} == expected
        # A row stored before any newer column was added reads back as the same facts.
        assert from_row(tuple(expected.get(name, row[name]) for name in row)) == facts


def test_a_field_type_without_a_codec_is_named() -> None:
    from watcher.store.rows import _column

    with pytest.raises(TypeError) as caught:
        _column("labels", dict[str, str])
    assert str(caught.value) == (
        "MessageFacts.labels: the store has no codec for dict[str, str]; add one to _CODECS"
        " in watcher/store/rows.py"
    )
