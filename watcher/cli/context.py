"""What every command shares: the context object, the shared options, and the one `fail()`.

Library errors become one-line messages here, at the edge: a user error never shows a
traceback. Exit codes: 0 fine, 1 an account or operation failed, 2 the config or an
argument is unusable.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click

from watcher.config.settings import Settings, default_config_path, load_settings
from watcher.errors import ConfigError, UsageError, WatcherError
from watcher.logsetup import redact
from watcher.terminal import printable


def fail(problem: WatcherError | str, code: int | None = None) -> NoReturn:
    """End the command: one line on stderr, redacted and safe to print, and the exit code.

    Without `code`: 2 for an unusable config or argument, 1 for anything else.
    """
    if code is None:
        code = 2 if isinstance(problem, ConfigError | UsageError) else 1
    click.echo(f"error: {printable(redact(str(problem)))}", err=True)
    sys.exit(code)


@dataclass
class CliContext:
    """The group's options, as every command sees them (a command run alone gets defaults)."""

    config_path: Path | None = None
    verbosity: int = 0

    def config_file(self) -> Path:
        """The config file: `--config`, else $WATCHER_CONFIG, else the XDG default."""
        return self.config_path or default_config_path()

    def settings(self) -> Settings:
        return load_settings(self.config_file())


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def _remember_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    # Given to the group and again to a command, the command's wins: the later one is kept.
    if value is not None:
        ctx.ensure_object(CliContext).config_path = value


config_option = click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_remember_config,
    expose_value=False,
    help="The config file (default: $WATCHER_CONFIG, else ~/.config/followup-watcher/config.toml).",
)

account_option = click.option(
    "--account", "account_name", metavar="NAME", help="Only this account's threads."
)

now_option = click.option(
    "--now",
    "now_text",
    metavar="ISO-8601",
    help="Evaluate as of this moment instead of now (e.g. 2026-11-23T08:00).",
)

# Quiet periods, reminders and the look-back reach years either side of `now`; a moment
# near datetime's own limits (year 1, year 9999) would overflow in that arithmetic.
_NOW_YEARS = range(1970, 9000)


def parse_now(value: str | None, settings: Settings) -> datetime:
    """The moment `--now` gives (naive: in the configured zone), else the current time."""
    if value is None:
        return datetime.now(settings.zone)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--now {value!r} is not an ISO-8601 date or time; "
            "give one like 2026-11-23 or 2026-11-23T08:00"
        ) from None
    if moment.year not in _NOW_YEARS:
        raise UsageError(
            f"--now {value!r} is out of range; give a moment in the years "
            f"{_NOW_YEARS.start} to {_NOW_YEARS.stop - 1}, e.g. 2026-11-23T08:00"
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)
