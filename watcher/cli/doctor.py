"""`watcher doctor`: check the whole set-up, one line per check, and say what to fix.

Each check passes, fails (exit code 1), warns, or only informs. The checks follow what the
daemon needs, in order: a valid config, a writable state directory, and per account a
password, a reachable server, verified TLS, a login, the capabilities it uses, the folders
it will read, and who "me" is; then the digest's way out (the SMTP login, a plain relay on
this machine, or the sendmail program) and the schedule. `--json`: the same checks as one
array of {status, title, detail, lines}, for scripts.
Read-only on the mailbox: LIST, STATUS, EXAMINE and FETCH BODY.PEEK only; nothing is sent.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click

from watcher.cli.context import CliContext, config_option, pass_cli
from watcher.cli.status import count, schedule
from watcher.config.digest import sendmail_argv
from watcher.config.settings import Account, Settings, load_settings
from watcher.credentials import Secret, secret_of
from watcher.digest import deliver
from watcher.digest.commandlinks import command_address
from watcher.errors import AccountError, ConfigError, DeliveryError, WatcherError
from watcher.identity import Identity
from watcher.logsetup import redact
from watcher.mail.connection import (
    ImapClient,
    connect,
    probe_reachable,
    probe_tls,
    translate_errors,
)
from watcher.mail.folders import (
    STATUS_ITEMS,
    choose_folders,
    discover_mailbox,
    list_folders,
    status_from_pairs,
)
from watcher.store.store import Store
from watcher.terminal import pad, printable, printable_row

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"
_MARKS = {OK: "✔", WARN: "!", FAIL: "✘", INFO: "·"}
_WORDS = {OK: "PASS", WARN: "WARN", FAIL: "FAIL", INFO: "INFO"}
# The capabilities the sync makes use of, and what each one saves.
USED_CAPABILITIES = {
    "CONDSTORE": "flag and keyword changes found without reading every folder",
    "SPECIAL-USE": "the Sent, Junk and Trash folders found by their flags",
    "LIST-STATUS": "every folder's size in one command",
    "X-GM-EXT-1": "Gmail's own thread ids (Gmail only)",
}


@dataclass(frozen=True, slots=True)
class Check:
    status: str  # OK, WARN, FAIL or INFO
    title: str
    detail: str
    lines: tuple[str, ...] = ()


def run_checks(path: Path, now: datetime) -> Iterator[Check]:
    """Every check in order, each as soon as it is done (a slow server shows where it is)."""
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        yield Check(FAIL, "config", str(exc))
        return
    yield Check(OK, "config", f"{path}: {count(len(settings.accounts), 'account')}")
    yield check_state_dir(settings.state_dir)
    for account in settings.accounts:
        yield from check_account(account)
    yield from check_digest(settings)
    store = Store.open(settings.store_path) if settings.store_path.exists() else None
    try:
        for label, text in schedule(settings, store, now):
            yield Check(INFO, label.lower(), text)
    finally:
        if store is not None:
            store.close()


def check_state_dir(directory: Path) -> Check:
    """Can a file be made there (or, before the first run, where it will be created)?"""
    existing = directory
    try:
        existing = next(p for p in (directory, *directory.parents) if p.exists() or p == p.parent)
        if not existing.is_dir():
            raise NotADirectoryError(0, f"{existing} is not a directory")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return Check(
            FAIL,
            "state directory",
            f"{directory} is not writable ({exc.strerror or exc}); "
            "fix its permissions, or set state_dir in the config",
        )
    made = "" if existing == directory else " (it will be created)"
    return Check(OK, "state directory", f"{directory} is writable{made}")


def check_account(account: Account) -> Iterator[Check]:
    name = account.name
    if account.maildir is not None:
        ok = all((account.maildir / sub).is_dir() for sub in ("cur", "new"))
        detail = f"Maildir {account.maildir}" + ("" if ok else " has no cur/ and new/ folders")
        yield Check(OK if ok else FAIL, f"{name}: maildir", detail)
        return
    secret: Secret | None = None
    try:
        secret = secret_of(account)
        yield Check(OK, f"{name}: credentials", f"from {secret.source}")
    except AccountError as exc:
        yield Check(FAIL, f"{name}: credentials", str(exc))
    for probe in (_probe_reachable, _probe_tls):
        check = probe(account)
        yield check
        if check.status == FAIL:
            return
    if secret is None:
        yield Check(INFO, f"{name}: login", "not tried without a password")
    else:
        yield from _inspect_mailbox(account, secret)


def _probe_reachable(account: Account) -> Check:
    try:
        took = probe_reachable(account)
    except AccountError as exc:
        return Check(FAIL, f"{account.name}: server reachable", str(exc))
    return Check(
        OK, f"{account.name}: server reachable", f"{account.host}:{account.port} ({took:.0f} ms)"
    )


def _probe_tls(account: Account) -> Check:
    """The TLS handshake and certificate check alone, before any password is sent."""
    title = f"{account.name}: TLS verified"
    if account.security == "none":
        return Check(
            WARN, title, 'no TLS (security = "none"): the password crosses the network in clear'
        )
    try:
        version = probe_tls(account)
    except AccountError as exc:
        return Check(FAIL, title, str(exc))
    how = "implicit TLS" if account.security == "ssl" else "STARTTLS"
    return Check(OK, title, f"{how}, {version}, certificate valid for {account.host}")


def _inspect_mailbox(account: Account, secret: Secret) -> Iterator[Check]:
    """Login, capabilities, folders and "me", over one read-only connection."""
    name, found_checks = account.name, []
    step = "login"
    try:
        with connect(account, secret) as client, translate_errors(account):
            found_checks.append(Check(OK, f"{name}: login", f"as {account.username}"))
            step = "capabilities"
            offered = {c.decode().upper() for c in client.capabilities()}
            have = [c for c in USED_CAPABILITIES if c in offered]
            missing = [c for c in USED_CAPABILITIES if c not in offered]
            lines = tuple(
                f"{c:<12} {'yes' if c in offered else 'no '}  {why}"
                for c, why in USED_CAPABILITIES.items()
            )
            detail = (", ".join(have) or "none") + (
                f" (not offered: {', '.join(missing)})" if missing else ""
            )
            found_checks.append(Check(INFO, f"{name}: capabilities", detail, lines))
            step = "folders"
            found_checks.append(_folders(client, account))
            step = "who is me"
            found_checks.append(_me(client, account))
    except AccountError as exc:
        found_checks.append(Check(FAIL, f"{name}: {step}", str(exc)))
    yield from found_checks


def _folders(client: ImapClient, account: Account) -> Check:
    chosen = choose_folders(list_folders(client), account)
    title = f"{account.name}: folders to read"
    if not chosen:
        return Check(FAIL, title, "none: check include_folders and exclude_folders")
    sizes = {}
    for folder in chosen:
        status = folder.status
        if status is None:  # no LIST-STATUS: one STATUS per folder (read-only)
            raw = client.folder_status(folder.name, list(STATUS_ITEMS))
            status = status_from_pairs([x for pair in raw.items() for x in pair])
        sizes[folder.name] = status.messages
    chosen.sort(key=lambda f: (f.name.upper() != "INBOX", f.name.lower()))
    width = max(len(f.name) for f in chosen)
    lines = tuple(f"{f.name:<{width}} {sizes[f.name]:>8}  {f.special_use}" for f in chosen)
    detail = f"{count(len(chosen), 'folder')}, {count(sum(sizes.values()), 'message')} in all"
    if not any(f.special_use == "\\Sent" for f in chosen):
        return Check(
            WARN, title, f"{detail}; no Sent folder: yours are known by address only", lines
        )
    return Check(OK, title, detail, lines)


def _me(client: ImapClient, account: Account) -> Check:
    found = discover_mailbox(client)
    me = Identity(account.own_addresses)
    others = [a for a in found.from_addresses if not me.is_me(a)]
    title, detail = f"{account.name}: who is me", ", ".join(account.own_addresses)
    seen = f"From addresses in {found.sent_folder}: {', '.join(found.from_addresses) or 'none'}"
    if others:
        return Check(WARN, title, f"{detail}; add to aliases: {', '.join(others)}", (seen,))
    return Check(OK, title, detail, (seen,) if found.sent_folder else ())


def check_digest(settings: Settings) -> Iterator[Check]:
    digest, server = settings.digest, settings.digest.smtp
    if not digest.delivery:
        yield Check(INFO, "digest delivery", "not set up: `watcher digest --preview` only")
    elif digest.delivery == "imap":
        yield Check(INFO, "digest delivery", f"appended to INBOX of account {digest.account}")
    elif digest.delivery == "sendmail":
        yield check_sendmail(settings)
    if digest.commands:
        yield check_commands(settings)
    if server is None or digest.delivery == "sendmail":
        return
    # A relay on this machine (security = "none") takes no login: no password is looked up.
    plain = server.security == "none"
    title = "SMTP relay" if plain else "SMTP login"
    try:
        secret = None if plain else secret_of(server)
        detail = deliver.check_smtp_login(server, secret)
    except (AccountError, DeliveryError) as exc:
        yield Check(FAIL, title, str(exc))
        return
    yield Check(OK, title, f"{server.host}:{server.port}: {detail}")


def check_sendmail(settings: Settings) -> Check:
    """The sendmail program is there and executable; it is not run (that would send)."""
    try:
        return Check(OK, "sendmail", deliver.check_sendmail(sendmail_argv(settings.digest)))
    except DeliveryError as exc:
        return Check(FAIL, "sendmail", str(exc))


def check_commands(settings: Settings) -> Check:
    """Command mail must reach a folder the sync reads: the Sent folder it is sent from, or
    the inbox of the address it goes to."""
    address = command_address(settings.digest)
    local, _, domain = address.partition("@")
    plain = f"{local.partition('+')[0]}@{domain}"
    title = "commands by mail"
    reader = next(
        (a.name for a in settings.accounts if plain in {x.lower() for x in a.own_addresses}),
        None,
    )
    if reader is not None:
        return Check(OK, title, f"sent to {address}, read by account {reader}")
    return Check(
        WARN,
        title,
        f"sent to {address}, which no account reads; they are read only from the Sent folder "
        "of a configured account. Set [digest] commands_to to one of your accounts' addresses",
    )


def _utf8_output() -> bool:
    encoding = str(getattr(sys.stdout, "encoding", None) or "")
    return encoding.lower().replace("-", "") == "utf8"


@click.command("doctor")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the checks as one JSON array of {status, title, detail, lines}.",
)
@config_option
@pass_cli
def doctor_command(obj: CliContext, as_json: bool) -> None:
    """Check the config, the password, the servers, the folders and the schedule.

    Exit code 1 when a check fails. Reads the mailbox only; changes nothing there.
    """
    if as_json:
        _print_json(obj.config_file())
    marks = _MARKS if _utf8_output() else _WORDS
    failed = False
    try:
        for check in run_checks(obj.config_file(), datetime.now().astimezone()):
            failed = failed or check.status == FAIL
            # Details and lines carry server texts and folder names: made safe to print.
            title = pad(printable(check.title), 28)
            click.echo(f"{marks[check.status]} {title} {printable(redact(check.detail))}")
            for line in check.lines:
                click.echo(f"      {printable_row(redact(line))}")
    except WatcherError as exc:  # the store: the only failure not made a check above
        click.echo(f"{marks[FAIL]} {printable(redact(str(exc)))}")
        failed = True
    sys.exit(1 if failed else 0)


def _print_json(path: Path) -> None:
    """Every check as one JSON array (printed at the end: a script reads a whole document),
    then exit 1 if one failed. Server texts are redacted as on the terminal."""
    checks: list[Check] = []
    try:
        checks.extend(run_checks(path, datetime.now().astimezone()))
    except WatcherError as exc:  # the store, as in the terminal output
        checks.append(Check(FAIL, "store", str(exc)))
    rows = [
        {
            **dataclasses.asdict(check),
            "detail": redact(check.detail),
            "lines": [redact(line) for line in check.lines],
        }
        for check in checks
    ]
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    sys.exit(1 if any(check.status == FAIL for check in checks) else 0)
