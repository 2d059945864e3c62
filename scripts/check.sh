#!/usr/bin/env bash
# Everything CI checks, in the order that fails fastest: lint, format, types, then every test
# (the import contract of ../shared/ARCHITECTURE.md is tests/test_import_contract.py).
# Arguments go to pytest: ./scripts/check.sh -m "not imap" for the fast part.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest "$@"
