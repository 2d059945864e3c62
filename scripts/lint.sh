#!/usr/bin/env bash
# Lint, format and types, as CI runs them before the tests (the README's test command:
# ./scripts/setup.sh --test && ./scripts/lint.sh && .venv/bin/pytest). The import contract
# of ../shared/ARCHITECTURE.md is a test: tests/test_import_contract.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
