"""Shared fixtures: one real, private Dovecot per test session (see tests/dovecot.py)."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/ is not a package: make `import dovecot` / `import mailfactory` work from any cwd.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from dovecot import DovecotServer, DovecotUnavailable, MailUser  # noqa: E402


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
