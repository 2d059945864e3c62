"""The `watcher` command: the group, its logging, and every command hung on it.

A thin shell: each command parses, calls the modules, and prints; `cli/context.py` holds
what they share (the context object, `--config`, `--now`, and the one `fail()`).
"""

from __future__ import annotations

import logging

import click

from watcher import __version__
from watcher.cli.context import CliContext, config_option
from watcher.cli.demo import demo_command
from watcher.cli.digest_cmd import digest_command
from watcher.cli.doctor import doctor_command
from watcher.cli.init_cmd import init_command
from watcher.cli.run import run_command
from watcher.cli.status import status_command
from watcher.cli.sync_cmd import sync_command
from watcher.cli.threads import list_command, thread_command
from watcher.logsetup import configure_logging
from watcher.terminal import printable_block


class _TerminalSafeFilter(logging.Filter):
    """Log lines carry folder names and server texts: no control reaches stderr from them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = printable_block(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = printable_block(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.option("-v", "--verbose", count=True, help="More detail in the log (-vv: IMAP traffic too).")
@click.version_option(__version__, prog_name="watcher")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """followup-watcher: find the proposals you sent that got no reply."""
    configure_logging(verbose)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_TerminalSafeFilter())  # after the redacting filter: it runs last
    ctx.ensure_object(CliContext).verbosity = verbose


for _command in (
    sync_command,
    demo_command,
    list_command,
    thread_command,
    digest_command,
    run_command,
    init_command,
    doctor_command,
    status_command,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="watcher")
