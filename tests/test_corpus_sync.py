"""Real-world mail from ../shared/corpus/ goes through the IMAP sync without a crash."""

from __future__ import annotations

import datetime as dt
import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from pathlib import Path

import pytest
from corpus import message_files, unpack
from dovecot import DovecotServer

from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.mail.imap import sync_imap_account
from watcher.store.store import Store

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    try:
        unpack("cpython-test-email.tar.xz", root)
        unpack("spamassassin-ham.tar.xz", root)
    except FileNotFoundError as exc:
        pytest.skip(f"corpus not available: {exc}")
    return root


@pytest.mark.parametrize(
    ("folders", "minimum"),
    [(("cpython-test_email",), 47), (("easy-ham-1", "easy-ham-2", "hard-ham-1"), 4150)],
    ids=["cpython-test-email", "spamassassin-ham"],
)
def test_corpus_syncs_without_a_crash(
    imap_server: DovecotServer,
    corpus_root: Path,
    tmp_path: Path,
    folders: tuple[str, ...],
    minimum: int,
) -> None:
    user = imap_server.add_user()
    expected: dict[tuple[str, int], tuple[str, str]] = {}
    for folder in folders:
        files = message_files(corpus_root / folder)
        raws = [f.read_bytes() for f in files]
        uids = imap_server.append_many(user, folder, raws)
        for uid, raw in zip(uids, raws, strict=True):
            expected[folder, uid] = _stdlib_view(raw)
    appended = len(expected)
    assert appended >= minimum
    account = Account(
        name="corpus",
        addresses=("jm@jmason.org",),  # a frequent sender in the ham: some mail is "mine"
        host=imap_server.host,
        port=imap_server.port,
        security="starttls",
        username=user.name,
        ca_file=Path(imap_server.ca_file),
    )
    with Store.open(tmp_path / "s.sqlite3") as store:
        report = sync_imap_account(
            account, Secret(user.password, "test"), store, lookback_days=0, now=NOW
        )
        assert report.new == appended
        assert store.count_messages() == appended
        assert store.integrity_ok()
        ours = {
            (folder, m.uid): (m.message_id, m.from_[0][1] if m.from_ else "")
            for folder in folders
            for m in store.messages(folder=folder)
        }
    # The fast header path must agree with the standard library's parser on real mail.
    same_id = sum(ours[k][0] == v[0] for k, v in expected.items())
    same_from = sum(ours[k][1] == v[1] for k, v in expected.items())
    assert same_id >= 0.99 * appended, (same_id, appended)
    assert same_from >= 0.98 * appended, (same_from, appended)
    assert sum(bool(v[0]) for v in expected.values()) > 0  # the comparison compared something


def _stdlib_view(raw: bytes) -> tuple[str, str]:
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    ids = re.findall(r"<[^<>\s]+>", str(headers.get("message-id", "")))
    addresses = [a for _, a in getaddresses([str(headers.get("from", ""))]) if a]
    return (ids[0] if ids else "", addresses[0].lower() if addresses else "")
