"""The real mail in ../shared/corpus/, unpacked once per session (tests skip where it is absent)."""

from __future__ import annotations

import tarfile
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def unpack(archive: str, destination: Path) -> Path:
    """Unpack `archive` (a file name in the corpus folder) below `destination`."""
    source = CORPUS_DIR / archive
    if not source.is_file():
        raise FileNotFoundError(f"{source} is not there")
    with tarfile.open(source, "r:xz") as tar:
        tar.extractall(destination, filter="data")
    return destination


def message_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
