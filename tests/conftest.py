"""Shared fixtures: one real, private Dovecot per test session (see tests/dovecot.py), the SMTP
server that delivers into it (smtpserver.py), an empty store, and the keyrings.

Helpers that are not fixtures live in modules of their own beside this one (demomailbox.py,
configs.py, watcherproc.py, ...); a test module never imports another test module
(test_test_layout.py checks).
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from aiosmtpd.controller import Controller
from keyring.backends import fail

# tests/ is not a package: make `import dovecot` / `import mailfactory` work from any cwd.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from dovecot import DovecotServer, DovecotUnavailable, MailUser  # noqa: E402
from memorykeyring import MemoryKeyring  # noqa: E402
from smtpserver import InboxDelivery, inbox_smtp_server  # noqa: E402

from watcher.store.store import Store  # noqa: E402


def running_dovecot(extra_config: str = "") -> Iterator[DovecotServer]:
    """A private Dovecot on 127.0.0.1, stopped afterwards (for fixtures to yield from).

    Skips when Dovecot is missing or does not start, except under CI (``CI`` set), where
    that is a failure.
    """
    try:
        server = DovecotServer.start(extra_config=extra_config)
    except DovecotUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"dovecot not available under CI: {exc}", pytrace=False)
        pytest.skip(f"dovecot not available: {exc.reason}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def imap_server() -> Iterator[DovecotServer]:
    """A private Dovecot on 127.0.0.1 for the whole session."""
    yield from running_dovecot()


@pytest.fixture
def mail_user(imap_server: DovecotServer) -> MailUser:
    """A fresh user with its own, empty mailbox (special-use folders made at first login)."""
    return imap_server.add_user()


@pytest.fixture
def smtp_inbox(
    imap_server: DovecotServer, mail_user: MailUser
) -> Iterator[tuple[Controller, InboxDelivery]]:
    """A real SMTP server (STARTTLS, AUTH) delivering into `mail_user`'s INBOX: smtpserver.py."""
    with inbox_smtp_server(imap_server, mail_user) as running:
        yield running


@pytest.fixture
def fresh_store(tmp_path: Path) -> Iterator[Store]:
    """An empty store at tmp_path/watcher.sqlite3, closed afterwards."""
    store = Store.open(tmp_path / "watcher.sqlite3")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An OS keyring that lives in memory for the test (memorykeyring.py)."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """No OS keyring, as under systemd: passwords come from the environment only."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


# What makes a test need a real server (Dovecot, the SMTP server, a scripted IMAP server, a
# `watcher` process): these fixtures, or these names in the test's own code.
_SERVER_FIXTURES = frozenset({"imap_server", "mail_user", "smtp_inbox"})
_SERVER_NAMES = (
    "DovecotServer",
    "RestartableDovecot",
    "running_dovecot",
    "ScriptedImapServer",
    "Controller(",
    "start_watcher(",
    "watcher(",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "imap: needs a real server (Dovecot, SMTP, a watcher process): conftest.py"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need a real server `imap`: `pytest -m "not imap"` is the fast part."""
    for item in items:
        function = getattr(item, "function", None)
        try:
            source = inspect.getsource(function) if function is not None else ""
        except (OSError, TypeError):
            source = ""
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & _SERVER_FIXTURES or any(name in source for name in _SERVER_NAMES):
            item.add_marker(pytest.mark.imap)
