"""`watcher digest`: show, write or send the morning digest."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import replace
from pathlib import Path

import click

from watcher.cli.context import CliContext, fail, now_option, parse_now, pass_cli
from watcher.digest.model import Digest, DigestItem
from watcher.digest.render import render_html, render_text
from watcher.digest.send import send_digest
from watcher.digest.today import select_for
from watcher.errors import UsageError, WatcherError
from watcher.service.schedule import next_digest_after_today
from watcher.store.store import Store
from watcher.terminal import printable, printable_block

_HTML_FIX = {
    errno.ENOENT: "its directory does not exist; create it or give another path",
    errno.ENOTDIR: "a part of its directory is a file; give another path",
    errno.EISDIR: "it is a directory; give a file name",
    errno.EACCES: "permission denied; give a path you can write to",
    errno.EPERM: "permission denied (the file is not yours?); give a path you can write to",
    errno.EROFS: "the file system is read-only; give a path you can write to",
}


def write_private(path: Path, text: str) -> None:
    """Write the HTML digest readable by its owner only, like the store: created 0600, and an
    existing file made private before anything new is written into it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            if stat.S_ISREG(os.fstat(fd).st_mode):  # not for /dev/stdout or a pipe
                os.fchmod(fd, 0o600)
                os.ftruncate(fd, 0)
            out.write(text)
    except OSError as exc:
        fix = _HTML_FIX.get(exc.errno or 0, f"{exc.strerror or exc}; give another path")
        raise UsageError(f"cannot write the HTML digest to {path}: {fix}") from exc


def only_account(digest: Digest, account: str | None) -> Digest:
    """The digest with only `account`'s cards (None: all of them), for a look at one account.

    The command links number cards by position, so a filtered digest shows none: a reply to
    it would name the wrong card.
    """
    if account is None:
        return digest

    def keep(items: tuple[DigestItem, ...]) -> tuple[DigestItem, ...]:
        return tuple(item for item in items if item.account == account)

    groups = tuple(replace(g, items=keep(g.items)) for g in digest.groups)
    return replace(
        digest,
        alarms=keep(digest.alarms),
        groups=tuple(g for g in groups if g.items),
        commands=None,
    )


@click.command("digest")
@click.option("--preview", is_flag=True, help="Print the plain-text digest (the default).")
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the HTML digest to this file.",
)
@click.option("--send", is_flag=True, help="Deliver today's digest (at most once a day).")
@click.option(
    "--account",
    "account_name",
    metavar="NAME",
    help="Show only this account's threads (not with --send: the digest sent covers all).",
)
@now_option
@pass_cli
def digest_command(
    obj: CliContext,
    preview: bool,
    html_path: Path | None,
    send: bool,
    account_name: str | None,
    now_text: str | None,
) -> None:
    """Show, write or send the morning digest of threads that have gone quiet."""
    try:
        settings = obj.settings()
        if account_name is not None:
            settings.account(account_name)  # an unknown name is a one-line error
            if send:
                raise UsageError(
                    "--account shows one account's part of the digest; the digest sent "
                    "covers every account: drop --account to send it"
                )
        now = parse_now(now_text, settings)
        with Store.open(settings.store_path) as store:
            selection = select_for(
                store,
                settings,
                now,
                next_digest=next_digest_after_today(
                    settings.digest.at, settings.digest.catch_up_until, settings.zone, now
                ),
            )
            shown = only_account(selection.digest, account_name)
            if html_path is not None:
                write_private(html_path, render_html(shown))
                click.echo(f"HTML digest written to {html_path} (readable by you only)")
            if preview or not (send or html_path):
                click.echo(printable_block(render_text(shown)))
            if send:
                outcome = send_digest(selection, settings, store)
                click.echo(printable(outcome.message))
    except WatcherError as exc:
        fail(exc)
