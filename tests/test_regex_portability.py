"""Regexes that work on every Python the product runs on, Debian 12's 3.11.2 included.

Debian 12 ships Python 3.11.2, where a possessive quantifier around a group with an
alternation (`(?:a++|b)*+`) matches nothing (fixed in later 3.11 releases). The RFC 2047
decoder used one, and on a pipx install on Debian 12 every encoded subject and name stayed
as `=?UTF-8?Q?...?=`. The tests run on whatever Python the venv has, so this checks the
source instead, and the decoder under the system Python when that is another one.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "watcher"
# A quantifier followed by "+": possessive (Python 3.11+). Atomic groups `(?>...)` do the same
# job and work on 3.11.2.
_POSSESSIVE = re.compile(r"(?<!\\)(?:[*+?}])\+")


def _patterns() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "compile"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append((f"{path.name}:{node.lineno}", node.args[0].value))
    return found


def test_no_regex_uses_a_possessive_quantifier() -> None:
    patterns = _patterns()
    assert len(patterns) > 50  # the walk finds the package's regexes
    offenders = [where for where, pattern in patterns if _POSSESSIVE.search(pattern)]
    assert offenders == []


def test_the_check_sees_a_possessive_quantifier() -> None:
    assert _POSSESSIVE.search(r"(?:[^?=]++|\?(?!=))*+")
    assert not _POSSESSIVE.search(r"(?>(?:[^?=]+|\?(?!=))*)[a-z]+\+")


def test_encoded_words_decode_under_the_system_python_too() -> None:
    system = shutil.which("python3", path="/usr/bin")
    if system is None or Path(system).resolve() == Path(sys.executable).resolve():
        pytest.skip("no other system Python here")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from watcher.mail.headers import decode_words;"
        "print(decode_words('=?UTF-8?Q?Estudio_A?= =?UTF-8?Q?=C3=B1il?='))"
    )
    result = subprocess.run(
        [system, "-c", code, str(PACKAGE.parent)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0 and "ModuleNotFoundError" in result.stderr:
        pytest.skip(f"the system Python lacks a dependency: {result.stderr.splitlines()[-1]}")
    assert result.stdout.strip() == "Estudio Añil", result.stderr
