"""`watcher demo`: the whole pipeline on the bundled sample mailbox, no account needed."""

from __future__ import annotations

import tempfile
from datetime import datetime
from importlib import resources
from pathlib import Path

import click

from watcher.analysis.pipeline import analyze, learn_sign_offs
from watcher.cli.context import fail
from watcher.cli.digest_cmd import write_private
from watcher.cli.listing import format_table
from watcher.cli.sync_cmd import run_sync
from watcher.config.digest import DigestSettings
from watcher.config.settings import Account, Settings
from watcher.digest.render import render_html, render_text
from watcher.digest.select import select_digest
from watcher.digest.today import with_commands
from watcher.errors import UsageError, WatcherError
from watcher.service.schedule import next_digest_after_today
from watcher.store.store import Store
from watcher.terminal import printable_block

DEMO_ADDRESS = "maya@lindqvist-studio.example"
DEMO_ALIASES = ("maya.lindqvist@gmail.example",)


@click.command("demo")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the demo's store here (default: a new temporary directory).",
)
def demo_command(state_dir: Path | None) -> None:
    """Run the pipeline on the bundled sample mailbox: no account needed."""
    mailbox = resources.files("watcher") / "demo_mailbox"
    with resources.as_file(mailbox) as mailbox_path:
        state = state_dir or Path(tempfile.mkdtemp(prefix="watcher-demo-"))
        settings = Settings(
            path=None,
            state_dir=state,
            timezone="Europe/Stockholm",
            lookback_days=0,
            digest=DigestSettings(recipient=DEMO_ADDRESS, sender=DEMO_ADDRESS),
            accounts=(
                Account(
                    name="demo",
                    addresses=(DEMO_ADDRESS,),
                    aliases=DEMO_ALIASES,
                    maildir=mailbox_path,
                ),
            ),
        )
        click.echo(f"Demo mailbox of {DEMO_ADDRESS}: {mailbox_path}")
        try:
            run_sync(settings, None)
            with Store.open(settings.store_path) as store:
                now = datetime.now(settings.zone)
                _shift_to_this_morning(store, now, settings)
                analysis = analyze(store, settings, now)
                selection = with_commands(
                    select_digest(
                        analysis.tracked,
                        carried={},
                        settings=settings.digest,
                        now=now,
                        zone=settings.zone,
                        next_digest=next_digest_after_today(
                            settings.digest.at, settings.digest.catch_up_until, settings.zone, now
                        ),
                        sign_offs=learn_sign_offs(analysis.conversations, settings),
                    ),
                    store,
                    settings,
                    analysis,
                )
        except WatcherError as exc:
            fail(exc)
        click.echo(f"\nAll tracked threads as of {now:%a %d %b %H:%M} (watcher list --all):")
        click.echo(format_table(analysis.tracked, settings.zone, now))
        html_path = state / "digest.html"
        try:
            write_private(html_path, render_html(selection.digest))
        except UsageError as exc:
            fail(exc)
        click.echo("\nThis morning's digest (plain-text part):\n")
        click.echo(printable_block(render_text(selection.digest)))
        click.echo(f"\nThe HTML digest: {html_path}")
        click.echo(f"\nStore: {settings.store_path}")


def _shift_to_this_morning(store: Store, now: datetime, settings: Settings) -> None:
    """Move the sample's dates by whole days so that its newest message is from today."""
    newest = max((m.date or 0 for m in store.messages()), default=0)
    if not newest:
        return
    newest_local = datetime.fromtimestamp(newest, settings.zone)
    days = (now.date() - newest_local.date()).days
    if newest_local.replace(year=now.year, month=now.month, day=now.day) > now:
        days -= 1  # before the sample's "this morning" hour: end it yesterday, not later today
    if days:
        with store.transaction():
            store.shift_dates(days * 86400)
