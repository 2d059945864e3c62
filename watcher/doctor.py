"""`watcher doctor`: check the whole set-up, one line per check, and say what to fix.

Each check passes, fails (exit code 1), warns, or only informs. The checks follow what the
daemon needs, in order: a valid config, a writable state directory, and per account a
password, a reachable server, verified TLS, a login, the capabilities it uses, the folders
it will read, and who "me" is; then the SMTP login of the digest and the schedule.
Read-only on the mailbox: LIST, STATUS, EXAMINE and FETCH BODY.PEEK only.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import smtplib
import socket
import ssl
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click
from imapclient import IMAPClient

from watcher.config import Account, Settings, default_config_path, load_settings
from watcher.credentials import Secret, secret_of
from watcher.digest import deliver
from watcher.errors import AccountError, ConfigError, DeliveryError, WatcherError
from watcher.identity import Identity
from watcher.logsetup import redact
from watcher.mail.connection import connect, translate_errors
from watcher.mail.folders import STATUS_ITEMS, choose_folders, list_folders, status_from_pairs
from watcher.status import count, schedule
from watcher.store import Store

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"
_MARKS = {OK: "✔", WARN: "!", FAIL: "✘", INFO: "·"}
_WORDS = {OK: "PASS", WARN: "WARN", FAIL: "FAIL", INFO: "INFO"}
RECENT_SENT = 50  # how many of the latest sent messages show which addresses I send from
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


@dataclass(frozen=True, slots=True)
class Discovery:
    """What the mailbox shows about its owner."""

    sent_folder: str | None
    from_addresses: tuple[str, ...]  # most frequent first, lower-case


def discover_mailbox(client: IMAPClient, limit: int = RECENT_SENT) -> Discovery:
    """The Sent folder and the From addresses of its latest `limit` messages (read-only)."""
    sent = next((f for f in list_folders(client) if f.special_use == "\\Sent"), None)
    if sent is None or not sent.selectable:
        return Discovery(None, ())
    exists = int(client.select_folder(sent.name, readonly=True).get(b"EXISTS", 0))  # EXAMINE
    if not exists:
        return Discovery(sent.name, ())
    # Sequence numbers reach the newest messages without a SEARCH over the whole folder.
    client.use_uid = False
    try:
        fetched = client.fetch(
            list(range(max(1, exists - limit + 1), exists + 1)),
            ["BODY.PEEK[HEADER.FIELDS (FROM)]"],
        )
    finally:
        client.use_uid = True
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    counts: Counter[str] = Counter()
    for data in fetched.values():
        for key, value in data.items():
            if isinstance(key, bytes) and key.startswith(b"BODY[") and isinstance(value, bytes):
                headers = [str(h) for h in parser.parsebytes(value).get_all("From", [])]
                counts.update(a.lower() for _n, a in email.utils.getaddresses(headers) if "@" in a)
    return Discovery(sent.name, tuple(a for a, _count in counts.most_common()))


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
    began = time.monotonic()
    try:
        with (
            translate_errors(account),
            socket.create_connection((account.host, account.port), account.timeout_seconds),
        ):
            pass
    except AccountError as exc:
        return Check(FAIL, f"{account.name}: server reachable", str(exc))
    took = (time.monotonic() - began) * 1000
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
        with translate_errors(account):
            context = ssl.create_default_context(
                cafile=str(account.ca_file) if account.ca_file else None
            )
            use_ssl = account.security == "ssl"
            client = IMAPClient(
                account.host, account.port, ssl=use_ssl, ssl_context=context,
                timeout=account.timeout_seconds,
            )  # fmt: skip
            try:
                if not use_ssl:
                    client.starttls(context)
                version = str(client._imap.sock.version())
            finally:
                with suppress(Exception):
                    client.logout()
    except AccountError as exc:
        return Check(FAIL, title, str(exc))
    how = "implicit TLS" if use_ssl else "STARTTLS"
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


def _folders(client: IMAPClient, account: Account) -> Check:
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


def _me(client: IMAPClient, account: Account) -> Check:
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
    if server is None:
        return
    title = "SMTP login"
    try:
        secret = secret_of(server)
        detail = check_smtp_login(server, secret)
    except (AccountError, DeliveryError) as exc:
        yield Check(FAIL, title, str(exc))
        return
    yield Check(OK, title, f"{server.host}:{server.port}: {detail}")


def check_smtp_login(server: Account, secret: Secret | None) -> str:
    """Connect, TLS (verified), EHLO and AUTH as the digest will, then QUIT: nothing is sent.

    Returns what was checked; raises `DeliveryError` (one line with the fix). TO MOVE: smtplib
    belongs in watcher/digest/deliver.py; written on its helpers so it can move unchanged.
    """
    where = f"SMTP {server.host}:{server.port}"
    if server.security not in ("ssl", "starttls"):
        raise DeliveryError(f'{where}: use security = "starttls" or "ssl" in [digest.smtp]')
    context = deliver._tls_context(server.ca_file, where)
    smtp = (
        smtplib.SMTP_SSL(timeout=server.timeout_seconds, context=context)
        if server.security == "ssl"
        else smtplib.SMTP(timeout=server.timeout_seconds)
    )
    smtp._host = server.host  # type: ignore[attr-defined]  # for SNI: see send_smtp
    try:
        code, reply = smtp.connect(server.host, server.port)
        if code != 220:
            raise smtplib.SMTPConnectError(code, reply)
        smtp.ehlo()
        if server.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise DeliveryError(f"{where} does not offer STARTTLS; use its TLS port")
            smtp.starttls(context=context)
            smtp.ehlo()
        version = str(smtp.sock.version())  # type: ignore[union-attr]  # TLS by now
        if secret is not None:
            deliver._login(smtp, server, secret, where)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(deliver._smtp_failure(exc, server, secret)) from None
    else:
        with suppress(smtplib.SMTPException, OSError):
            smtp.quit()
    finally:
        smtp.close()
    how = "implicit TLS" if server.security == "ssl" else "STARTTLS"
    login = f"logged in as {server.username}" if secret is not None else "no login"
    return f"{how}, {version}, certificate verified, {login}"


def _utf8_output() -> bool:
    encoding = str(getattr(sys.stdout, "encoding", None) or "")
    return encoding.lower().replace("-", "") == "utf8"


@click.command("doctor")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The config file (default: as for `watcher --config`).",
)
@click.pass_context
def doctor_command(ctx: click.Context, config_path: Path | None) -> None:
    """Check the config, the password, the servers, the folders and the schedule.

    Exit code 1 when a check fails. Reads the mailbox only; changes nothing there.
    """
    path = config_path or getattr(ctx.obj, "config_path", None) or default_config_path()
    marks = _MARKS if _utf8_output() else _WORDS
    failed = False
    try:
        for check in run_checks(path, datetime.now().astimezone()):
            failed = failed or check.status == FAIL
            click.echo(f"{marks[check.status]} {check.title:<28} {redact(check.detail)}")
            for line in check.lines:
                click.echo(f"      {redact(line)}")
    except WatcherError as exc:  # the store: the only failure not made a check above
        click.echo(f"{marks[FAIL]} {redact(str(exc))}")
        failed = True
    sys.exit(1 if failed else 0)
