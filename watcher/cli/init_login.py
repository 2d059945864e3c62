"""`watcher init`'s login: an untrusted certificate judged by its fingerprint, a password asked
again when refused, and a home for the password that the service can use (the OS keyring;
without one a command, a systemd credential or a file only you can read), each tested by a
login before anything is written.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from watcher.config.settings import Account
from watcher.credentials import KEYRING_SERVICE, Secret, secret_of, store_in_keyring
from watcher.errors import AuthenticationError, ConfigError, ImapError, WatcherError
from watcher.logsetup import redact, register_secret
from watcher.mail.certificate import server_certificate
from watcher.mail.connection import connect, probe_tls, translate_errors
from watcher.mail.folders import Discovery, discover_mailbox
from watcher.terminal import printable


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace `path` with `text` atomically, created owner-only (then given `mode`)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        if mode != 0o600:
            Path(tmp).chmod(mode)
        Path(tmp).replace(path)  # atomic: a reader never sees half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ask(value: Any, text: str, flag: str, *, asking: bool = True, **options: Any) -> Any:
    """The flag's value if given; else the answer to a prompt when `asking`, else the default.

    Standard input that ends before the answer is a usage error naming the flag to pass.
    """
    if value is not None:
        return value
    if not asking:
        return options.get("default")
    try:
        return click.prompt(text, **options)
    except click.Abort:
        raise click.UsageError(
            f"no answer to {text!r} (standard input ended); pass {flag}"
        ) from None


def confirm(text: str, flag: str) -> bool:
    """A yes/no question, "[y/N]": no unless answered yes."""
    try:
        return click.confirm(text, default=False)
    except click.Abort:
        raise click.UsageError(
            f"no answer to {text!r} (standard input ended); pass {flag}"
        ) from None


PASSWORD_TRIES = 3


def _secret(account: Account, opts: dict[str, Any]) -> Secret:
    if account.password_command or account.oauth2_token_command:
        return secret_of(account)  # runs the command, as the daemon will
    if account.password_file is not None and account.password_file.exists():
        return secret_of(account)  # an existing file is used as it is, with its checks
    if opts["password_stdin"]:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise click.UsageError("--password-stdin: standard input had no password line")
    else:
        value = ask(None, f"Password for {account.username}", "--password-stdin", hide_input=True)
    register_secret(value)
    return Secret(value, "typed")


def discover(account: Account, secret: Secret) -> Discovery:
    with connect(account, secret) as client, translate_errors(account):
        return discover_mailbox(client)


def log_in(account: Account, opts: dict[str, Any]) -> tuple[Secret, Discovery]:
    """The secret that logged in and what the mailbox shows; a password typed at the prompt
    and refused is asked again (PASSWORD_TRIES in all), every other answer kept."""
    for attempt in range(1, PASSWORD_TRIES + 1):
        secret = _secret(account, opts)
        try:
            return secret, discover(account, secret)
        except AuthenticationError as exc:
            if secret.source != "typed" or opts["password_stdin"] or attempt == PASSWORD_TRIES:
                raise
            left = PASSWORD_TRIES - attempt
            click.echo(f"{printable(redact(str(exc)))}. Try again ({left} left).", err=True)
    raise AssertionError("unreachable")  # pragma: no cover


# -- an untrusted certificate ------------------------------------------------------------------


def fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as neomutt and openssl show it: "AB:CD:..."."""
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


def _same_fingerprint(given: str, der: bytes) -> bool:
    wanted = re.sub(r"^SHA-?256[:= ]?|[^0-9a-f]", "", given.strip(), flags=re.IGNORECASE)
    return wanted.lower() == hashlib.sha256(der).hexdigest()


def _pem(der: bytes) -> str:
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return "\n".join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----", ""])


@contextmanager
def undone_on_failure() -> Iterator[list[Path]]:
    """Files made on the way (a certificate, a password file): removed if init fails."""
    made: list[Path] = []
    try:
        yield made
    except BaseException:
        for path in made:
            path.unlink(missing_ok=True)
        raise


def trusted(
    account: Account, opts: dict[str, Any], asking: bool, folder: Path, made: list[Path]
) -> Account:
    """The account, with `ca_file` set to the server's own certificate when it is not trusted
    and the user accepts it by its fingerprint (asked, or --trust-fingerprint)."""
    if account.security == "none" or account.ca_file is not None:
        return account
    try:
        probe_tls(account)
        return account
    except ImapError as exc:
        refused = exc
    try:
        der = server_certificate(account)  # only a certificate nobody vouches for gets here
    except ImapError:
        raise refused from None
    where, shown = f"{account.host}:{account.port}", fingerprint(der)
    given = opts["trust_fingerprint"]
    if given is not None and not _same_fingerprint(given, der):
        raise ConfigError(f"the certificate of {where} has SHA-256 fingerprint {shown}, "
                          "not the one given with --trust-fingerprint")  # fmt: skip
    if given is None:
        why = str(refused).partition(": ")[2].partition(";")[0]  # "... (self-signed ...)"
        click.echo(f"Not trusted: {printable(why)}.")
        click.echo(f"SHA-256 fingerprint: {shown}")
        trust = asking and ask(
            None, "(r)eject, (t)rust this certificate", "--trust-fingerprint",
            default="r", type=click.Choice(["r", "t"]), show_choices=False,
        ) == "t"  # fmt: skip
        if not trust:
            raise ConfigError(
                f"the certificate of {where} is not trusted; compare its fingerprint with the "
                f"server's, then pass --trust-fingerprint {shown} (or --ca-file PATH)"
            )
    path = folder / f"{account.name}-server.pem"
    write_private(path, _pem(der))
    made.append(path)
    click.echo(f"Trusted; its certificate is saved as {path}.")
    return replace(account, ca_file=path.resolve())


# -- where the service finds the password --------------------------------------------------------


def keep_password(
    account: Account, secret: Secret, opts: dict[str, Any], folder: Path, made: list[Path]
) -> Account:
    """The account with the password source the service will use, tested where it can be."""
    if secret.source != "typed":
        return account  # a command or a file: the login just used it
    if opts["password_file"] is not None:
        return _password_file(account, secret, opts["password_file"], made)
    if opts["credential"]:
        return _credential(account, opts["credential"])
    problem = "--no-keyring was given" if opts["no_keyring"] else None
    problem = problem or store_in_keyring(account.username, secret.value) or None
    if problem is None:
        click.echo(f"The password is in the OS keyring ({KEYRING_SERVICE} / {account.username}).")
        return account
    if opts["password_stdin"]:  # no terminal to ask at
        raise ConfigError(
            f"the password cannot be kept: {problem}; pass --password-command CMD, "
            "--password-file PATH or --credential NAME"
        )
    click.echo(f"The password cannot go into an OS keyring: {problem}.")
    for _attempt in range(PASSWORD_TRIES):
        try:
            return _chosen_source(account, secret, folder, made)
        except WatcherError as exc:
            click.echo(f"That did not work: {printable(redact(str(exc)))}", err=True)
    raise ConfigError("no way to keep the password worked; see systemd/README.md")


_SOURCES = """\
Where will the service find it?
  1  a command that prints it, like mbsync's PassCmd (e.g. pass show mail/{name})
  2  a systemd credential, encrypted by systemd-creds (for the system unit watcher@.service)
  3  a file only you can read ({file})"""


def _chosen_source(account: Account, secret: Secret, folder: Path, made: list[Path]) -> Account:
    file = folder / f"{account.name}.password"
    click.echo(_SOURCES.format(name=account.name, file=file))
    choice = ask(None, "Choice", "--password-command", default="1",
                  type=click.Choice(["1", "2", "3"]), show_choices=False)  # fmt: skip
    if choice == "1":
        command = ask(None, "Password command", "--password-command",
                       default=f"pass show mail/{account.name}")  # fmt: skip
        chosen = replace(account, password_command=command)
        discover(chosen, secret_of(chosen))  # tested once, there and then
        click.echo("The command's password logs in.")
        return chosen
    if choice == "2":
        name = ask(None, "Credential name", "--credential", default=f"{account.name}-password")
        return _credential(account, name)
    path = Path(ask(None, "Password file", "--password-file", default=str(file))).expanduser()
    return _password_file(account, secret, path, made)


def _password_file(account: Account, secret: Secret, path: Path, made: list[Path]) -> Account:
    path = path.resolve()  # the daemon's cwd is /
    write_private(path, secret.value + "\n")
    made.append(path)
    chosen = replace(account, password_file=path)
    discover(chosen, secret_of(chosen))  # read back through its checks, and logged in with
    click.echo(f"The password is in {path} (readable by you only).")
    return chosen


def _credential(account: Account, name: str) -> Account:
    """A systemd credential: the service reads it from $CREDENTIALS_DIRECTORY. Encrypting
    it needs root, so init shows the commands; the password they encrypt just logged in."""
    user = getpass.getuser()
    cred = f"/etc/followup-watcher/{user}/{name}.cred"
    click.echo(
        "Encrypt the password you just typed as a systemd credential (as root; it is read "
        "without echo):\n"
        f"  systemd-ask-password -n 'Mail password:' | systemd-creds encrypt "
        f"--name={shlex.quote(name)} - {shlex.quote(cred)}\n"
        f"and give it to the service (systemctl edit watcher@{user}.service, under [Service]):\n"
        f"  LoadCredentialEncrypted={name}:{cred}"
    )
    return replace(account, credential=name)
