"""`watcher run`: the daemon in the foreground (systemd), or `--once` (cron, timers).

The shell around `service.daemon.Daemon`, which knows nothing of click.
"""

from __future__ import annotations

import click

from watcher.cli.context import CliContext, fail, pass_cli
from watcher.errors import WatcherError
from watcher.service.daemon import Daemon


@click.command("run")
@click.option(
    "--once",
    is_flag=True,
    help="Sync every account once, send the digest if it is due, and exit (cron, timers).",
)
@pass_cli
def run_command(obj: CliContext, once: bool) -> None:
    """Run in the foreground: sync every few minutes, send the digest each morning.

    Meant for systemd (Type=notify, watchdog); SIGTERM or SIGINT stop it cleanly and SIGHUP
    reloads the config. Exit codes: 0 stopped cleanly (--once: every account synced and a due
    digest sent), 1 --once had an account or the digest fail, 2 the config is unusable.
    """
    try:
        daemon = Daemon(obj.settings())
    except WatcherError as exc:
        fail(exc)
    raise SystemExit(daemon.run_once() if once else daemon.run())
