"""The docs say what the code does: every key the loader accepts is in config.example.toml and
in the README's configuration reference, and the man page is the CLI's current help.

The keys come from the settings dataclasses (`toml_keys`), the loader's own source of truth:
a new setting without its docs fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.config.checks import toml_keys
from watcher.config.digest import DigestSettings, SmtpServer
from watcher.config.settings import Account, Settings
from watcher.config.tracking import Rule

REPO = Path(__file__).resolve().parent.parent
# (the table as the docs write it, its settings class); sub-tables appear as their header.
TABLES = {
    "": Settings,
    "accounts": Account,
    "rules": Rule,
    "digest": DigestSettings,
    "digest.smtp": SmtpServer,
}
SUBTABLES = {"accounts", "rules", "digest", "smtp", "templates"}
_HEADER = re.compile(r"^#?\s*\[\[?([\w.]+)\]\]?", re.MULTILINE)
_KEY = re.compile(r"^#?\s*([a-z0-9_]+)\s*=", re.MULTILINE)


def example_keys() -> dict[str, set[str]]:
    """The keys config.example.toml shows (set or commented out), per table."""
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    found: dict[str, set[str]] = {table: set() for table in TABLES}
    table = ""
    for line in text.splitlines():
        if header := _HEADER.match(line):
            table = header.group(1)
            found.setdefault(table, set())
        elif key := _KEY.match(line):
            found.setdefault(table, set()).add(key.group(1))
    return found


def readme_reference() -> str:
    """The README's "Configuration reference" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## Configuration reference")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_example_config_shows_every_key_the_loader_accepts() -> None:
    shown = example_keys()
    missing = [
        f"[{table}] {key}" if table else key
        for table, cls in TABLES.items()
        for key in sorted(toml_keys(cls) - SUBTABLES)
        if key not in shown.get(table, set())
    ]
    assert not missing, f"config.example.toml does not show: {', '.join(missing)}"


def test_the_example_config_shows_every_table() -> None:
    headers = set(_HEADER.findall((REPO / "config.example.toml").read_text(encoding="utf-8")))
    assert {"accounts", "rules", "digest", "digest.smtp", "digest.templates"} <= headers


def test_the_readme_reference_names_every_key_the_loader_accepts() -> None:
    reference = readme_reference()
    missing = [
        f"[{table}] {key}" if table else key
        for table, cls in TABLES.items()
        for key in sorted(toml_keys(cls) - SUBTABLES)
        if f"`{key}`" not in reference and f"`{key} =" not in reference
    ]
    assert not missing, f"README's configuration reference does not name: {', '.join(missing)}"


def test_the_readme_documents_shell_completion() -> None:
    assert "_WATCHER_COMPLETE=bash_source watcher" in (REPO / "README.md").read_text("utf-8")


def test_the_man_page_is_the_current_help() -> None:
    checked = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "manpage.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("command", ["list", "thread", "digest", "sync", "status", "doctor"])
def test_the_man_page_names_each_command(command: str) -> None:
    page = (REPO / "docs" / "watcher.1").read_text(encoding="utf-8")
    assert f".SS watcher {command} " in page
