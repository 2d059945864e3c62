"""The real mail in ../shared/corpus/, unpacked once per session (tests skip where it is absent)."""

from __future__ import annotations

import tarfile
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def extract(
    tar: tarfile.TarFile, destination: Path, members: list[tarfile.TarInfo] | None = None
) -> None:
    """`extractall` with the "data" filter where this Python has it (3.11.4+; Debian 12's
    3.11.2 has not): the corpus is ours, the filter is a belt on top."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(destination, members=members, filter="data")
    else:  # pragma: no cover - old 3.11 only
        tar.extractall(destination, members=members)  # noqa: S202


def unpack(archive: str, destination: Path) -> Path:
    """Unpack `archive` (a file name in the corpus folder) below `destination`."""
    source = CORPUS_DIR / archive
    if not source.is_file():
        raise FileNotFoundError(f"{source} is not there")
    with tarfile.open(source, "r:xz") as tar:
        extract(tar, destination)
    return destination


def message_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
