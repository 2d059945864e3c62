"""The layout of tests/ (../shared/ARCHITECTURE.md, "Tests"): no test module imports another.

What tests share lives in helper modules that are not test modules (dovecot.py, smtpserver.py,
demomailbox.py, ...) and shared fixtures in conftest.py. A test module imported by another
runs its module code twice under two names, hands its fixtures over by import (the
`# noqa: F401` re-imports this replaced), and ties the two files together so that neither can
change alone. Walks every module of tests/ with `ast`, imports inside functions included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def names_of_test_modules(root: Path = TESTS) -> frozenset[str]:
    return frozenset(path.stem for path in root.glob("test_*.py"))


def imported_modules(source: str) -> Iterator[tuple[int, str]]:
    """(line, top-level module name) of every import in `source`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module.split(".")[0]


def imports_of_test_modules(source: str, names: frozenset[str]) -> list[str]:
    return sorted(
        {f"line {line}: {name}" for line, name in imported_modules(source) if name in names}
    )


def test_no_module_of_tests_imports_a_test_module() -> None:
    names = names_of_test_modules()
    found = {
        path.name: problems
        for path in sorted(TESTS.glob("*.py"))
        if (problems := imports_of_test_modules(path.read_text(encoding="utf-8"), names))
    }
    assert not found, "move what they share into a helper module or conftest.py:\n" + "\n".join(
        f"{module} imports {', '.join(problems)}" for module, problems in found.items()
    )


@pytest.mark.parametrize(
    "source",
    [
        "import test_cli",
        "import test_cli as cli",
        "from test_cli import write_config",
        "from test_cli.sub import x",
        "def helper():\n    from test_cli import write_config",
    ],
    ids=["import", "import-as", "from-import", "from-submodule", "inside-a-function"],
)
def test_the_check_catches_each_form_of_import(source: str) -> None:
    assert imports_of_test_modules(source, frozenset({"test_cli"}))


@pytest.mark.parametrize(
    "source",
    [
        "import dovecot",
        "from smtpserver import InboxDelivery",
        "from watcher.cli import test_helpers",
        "from . import test_cli",  # relative: tests/ is not a package, never written
    ],
    ids=["helper", "from-helper", "package-module", "relative"],
)
def test_helpers_and_the_package_are_not_test_modules(source: str) -> None:
    assert not imports_of_test_modules(source, frozenset({"test_cli", "test_helpers"}))
