"""The import contract of ../shared/ARCHITECTURE.md: data flows one way through the stages.

Walks every module of the package with `ast` (imports inside functions and under
`TYPE_CHECKING` count too: they still tie the stages together) and checks the "never" rules.
A rule broken on purpose, for now, is listed in `KNOWN` with the reason; the test also fails
when a listed exception is no longer needed, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "watcher"
LEAVES = {"watcher.errors", "watcher.model", "watcher.logsetup", "watcher.identity"}
LEAVES |= {"watcher.terminal"}  # text made safe for a terminal: used by cli/ and digest/
STAGES = ("config", "mail", "store", "analysis", "digest", "service", "cli")
# Each foreign library behind its boundary: the modules (or packages) that may import it.
LIBRARIES = {
    "sqlite3": ("watcher.store",),
    "imapclient": ("watcher.mail", "watcher.digest.deliver"),  # deliver: the IMAP append
    "smtplib": ("watcher.digest.deliver",),
    "keyring": ("watcher.credentials",),
    "jinja2": ("watcher.digest.render",),
    "apscheduler": ("watcher.service",),
    "click": ("watcher.cli",),
}
# (importer, imported) pairs that break a rule today, and why they are allowed for now.
KNOWN: dict[tuple[str, str], str] = {}


def modules() -> Iterator[tuple[str, set[str]]]:
    """(module name, every module it imports, with `from x import y` also as x.y)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                if node.module.startswith("watcher"):
                    found.update(f"{node.module}.{alias.name}" for alias in node.names)
        yield ".".join(parts), found


def within(module: str, *homes: str) -> bool:
    return any(module == home or module.startswith(home + ".") for home in homes)


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in STAGES else ""


def problems(importer: str, imported: str) -> Iterator[str]:
    """Every rule `importer` breaks by importing `imported`."""
    library = imported.split(".")[0]
    if library in LIBRARIES and not within(importer, *LIBRARIES[library]):
        yield f"{library} stays behind {', '.join(LIBRARIES[library])}"
    if not imported.startswith("watcher.") or within(imported, importer):
        return
    here, there = stage(importer), stage(imported)
    if importer in LEAVES:
        yield "errors, model, logsetup, identity and terminal import nothing from watcher"
    if here == "config" and not (there == "config" or within(imported, *LEAVES)):
        yield "config/ imports only errors, model and identity"
    if here == "store" and not (
        there == "store" or within(imported, "watcher.errors", "watcher.model")
    ):
        yield "store/ imports only errors and model"
    if here == "mail" and there in ("analysis", "digest", "service", "cli"):
        yield "mail/ never imports analysis/, digest/, service/, cli/"
    if here == "analysis" and there in ("mail", "digest", "service", "cli"):
        yield "analysis/ never imports mail/, digest/, service/, cli/"
    if here == "analysis" and there == "store" and importer != "watcher.analysis.pipeline":
        yield "only analysis/pipeline.py touches store/"
    if here == "digest" and there in ("service", "cli"):
        yield "digest/ never imports service/ or cli/"
    pure = ("select", "suggest", "render", "model")
    if here == "digest" and importer.rsplit(".", 1)[1] in pure and there == "store":
        yield "digest's select, suggest, render and model never touch store/"
    if here == "service" and there == "cli":
        yield "service/ never imports cli/"
    if there == "cli" and here != "cli" and importer != "watcher.__main__":
        yield "nothing imports cli/"


def broken() -> dict[tuple[str, str], list[str]]:
    found = {}
    for importer, imported in modules():
        for name in imported:
            rules = list(problems(importer, name))
            if rules:
                found[(importer, name)] = rules
    return found


def test_no_module_breaks_the_import_contract() -> None:
    unexpected = {pair: rules for pair, rules in broken().items() if pair not in KNOWN}
    assert not unexpected, "\n".join(
        f"{importer} imports {imported}: {'; '.join(rules)}"
        for (importer, imported), rules in sorted(unexpected.items())
    )


def test_every_known_exception_is_still_needed() -> None:
    stale = set(KNOWN) - set(broken())
    assert not stale, f"no longer needed, remove from KNOWN: {sorted(stale)}"


@pytest.mark.parametrize(
    ("importer", "imported", "rule"),
    [
        ("watcher.store.store", "watcher.analysis.rules", "store/ imports only"),
        ("watcher.analysis.tracker", "watcher.digest.select", "analysis/ never imports"),
        ("watcher.analysis.tracker", "watcher.store.store", "only analysis/pipeline.py"),
        ("watcher.digest.select", "watcher.service.schedule", "digest/ never imports"),
        ("watcher.digest.render", "watcher.store.store", "never touch store/"),
        ("watcher.service.daemon", "click", "click stays behind watcher.cli"),
        ("watcher.mail.imap", "watcher.analysis.classify", "mail/ never imports"),
        ("watcher.model", "watcher.identity", "import nothing from watcher"),
        ("watcher.config.settings", "watcher.digest.model", "config/ imports only"),
        ("watcher.digest.today", "watcher.cli.main", "nothing imports cli/"),
        ("watcher.analysis.conversations", "sqlite3", "sqlite3 stays behind watcher.store"),
    ],
)
def test_each_rule_catches_what_it_forbids(importer: str, imported: str, rule: str) -> None:
    assert any(rule in found for found in problems(importer, imported))


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("watcher.analysis.pipeline", "watcher.store.store"),
        ("watcher.digest.send", "watcher.store.store"),
        ("watcher.mail.imap", "watcher.store.store"),
        ("watcher.cli.main", "watcher.service.daemon"),
        ("watcher.__main__", "watcher.cli.main"),
        ("watcher.store.rows", "watcher.model"),
        ("watcher.mail.connection", "imapclient"),
    ],
)
def test_what_the_flow_allows_passes(importer: str, imported: str) -> None:
    assert not list(problems(importer, imported))
