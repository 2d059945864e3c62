"""What a sync did, and how it is told: a progress bar on a first sync, else log lines."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

logger = logging.getLogger(__name__)


class Progress(Protocol):
    """Told how many messages a first sync will read, then as they are read."""

    def start(self, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


@dataclass(slots=True)
class FolderReport:
    name: str
    new: int = 0
    flag_changes: int = 0
    removed: int = 0
    rescanned: bool = False
    problems: int = 0


@dataclass(slots=True)
class SyncReport:
    account: str
    folders_checked: int = 0
    folders: list[FolderReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders)

    @property
    def flag_changes(self) -> int:
        return sum(f.flag_changes for f in self.folders)

    @property
    def removed(self) -> int:
        return sum(f.removed for f in self.folders)

    @property
    def problems(self) -> int:
        return sum(f.problems for f in self.folders)


def log_folder_report(account: str, report: FolderReport, *, quiet: bool) -> None:
    """One line per folder that changed; DEBUG while a progress bar owns the terminal."""
    if not (report.new or report.flag_changes or report.removed or report.rescanned):
        return
    logger.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s: %s: %d new, %d flag changes, %d removed%s%s",
        account,
        report.name,
        report.new,
        report.flag_changes,
        report.removed,
        ", rescanned" if report.rescanned else "",
        f", {report.problems} unreadable (kept with a reason)" if report.problems else "",
    )
