"""`watcher init`: ask for an address, test the login, write a commented config.toml.

Every question has a flag and a default, and a flag given is a question not asked; with
`--host` given, only what has no default is asked (the password, unless a flag gives it), so a
script or CI with every flag never meets a prompt. Nothing is written until the login works:
an untrusted certificate is shown by its SHA-256 fingerprint to accept or reject, a mistyped
password is asked again, and the password goes where the service will find it (the OS
keyring; without one: a command, a systemd credential or a file only you can read), never
into the config. The mailbox is only read: LIST, EXAMINE and a FETCH of the From header of the
Sent folder's latest messages. `--add` appends one more account to an existing config.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from watcher.cli.context import CliContext, config_option, fail, pass_cli
from watcher.cli.providers import Provider, provider_for
from watcher.config.settings import (
    DEFAULT_PORTS,
    SECURITY_CHOICES,
    Account,
    Security,
    Settings,
    load_settings,
    parse_settings,
)
from watcher.credentials import KEYRING_SERVICE, Secret, secret_of, store_in_keyring
from watcher.errors import AuthenticationError, ConfigError, ImapError, WatcherError
from watcher.logsetup import redact, register_secret
from watcher.mail.connection import connect, probe_tls, server_certificate, translate_errors
from watcher.mail.folders import Discovery, discover_mailbox
from watcher.terminal import printable


@dataclass(frozen=True, slots=True)
class Answers:
    """Everything the config file is written from."""

    account: Account
    timezone: str
    digest_at: str
    state_dir: Path | None
    smtp: tuple[str, int, str] | None  # host, port, security
    discovery: Discovery
    webmail: str = ""


_HEADER = """\
# followup-watcher configuration, written by `watcher init` on {today}.
# Every key is explained in config.example.toml; `watcher doctor` checks this file.

# Your time zone: days and the digest time are counted in it.
timezone = {timezone}
lookback_days = 90              # how many days back the first sync reads
sync_interval = 10              # minutes between two reads of new mail (watcher run)
{state_dir}
track = "proposals"             # or "all": every message you send to someone
default_quiet_days = 3          # a thread is due after this many days without a reply

"""

_ACCOUNT = """\
[[accounts]]
name = {name}
host = {host}
port = {port}
security = {security}
username = {username}
addresses = [{address}]
# Sent folder: {sent}.{others}
aliases = [{aliases}]
{ca_file}
{secret}
"""

_DIGEST = """\

[digest]
at = {at}   # local time of the morning digest
to = {address}
{webmail}
{smtp}
"""


def render_config(answers: Answers, today: date) -> str:
    """The config file, commented like config.example.toml; no secret in it."""
    a = answers.account
    smtp = '# delivery = "imap"            # no SMTP server: append the digest to your inbox'
    if answers.smtp:
        host, port, security = answers.smtp
        smtp = "\n".join(
            ["[digest.smtp]                   # with the account's login, over verified TLS"]
            + [f"host = {_toml(host)}", f"port = {port}", f"security = {_toml(security)}"]
            # the same server's certificate
            + ([f"ca_file = {_toml(str(a.ca_file))}"] if a.ca_file and host == a.host else [])
        )
    header = _HEADER.format(
        today=today.isoformat(),
        timezone=_toml(answers.timezone),
        state_dir=f"state_dir = {_toml(str(answers.state_dir))}"
        if answers.state_dir
        else '# state_dir = "~/.local/state/followup-watcher"   # where the store is kept',
    )
    digest = _DIGEST.format(
        at=_toml(answers.digest_at),
        address=_toml(a.addresses[0]),
        webmail=f"webmail = {_toml(answers.webmail)}" if answers.webmail else '# webmail = "gmail"',
        smtp=smtp,
    )
    return header + render_account(a, answers.discovery) + digest


def render_account(account: Account, found: Discovery) -> str:
    """One `[[accounts]]` table: what `--add` appends to an existing config."""
    a = account
    others = [x for x in found.from_addresses if x not in a.own_addresses]
    return _ACCOUNT.format(
        name=_toml(a.name),
        host=_toml(a.host),
        port=a.port,
        security=_toml(a.security),
        username=_toml(a.username),
        address=_toml(a.addresses[0]),
        sent=f'"{found.sent_folder}"' if found.sent_folder else "none found",
        # Found but not taken: an old employer's address must not make old mail "mine".
        others=(
            "\n# Also sent from there, not counted as you (add those that are to aliases):\n# "
            + ", ".join(_toml(x) for x in others)
        )
        if others
        else "",
        aliases=", ".join(_toml(x) for x in a.aliases),
        ca_file=f"ca_file = {_toml(str(a.ca_file))}"
        if a.ca_file
        else '# ca_file = "/path/to/server-ca.pem"   # a self-signed server',
        secret="\n".join(secret_lines(a)),
    )


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def secret_lines(account: Account) -> tuple[str, ...]:
    """How the config tells where the password is: a command, a file, a systemd credential,
    else the OS keyring."""
    if account.oauth2_token_command:
        return (f"oauth2_token_command = {_toml(account.oauth2_token_command)}",)
    if account.password_command:
        return (f"password_command = {_toml(account.password_command)}",)
    if account.password_file:
        return (f"password_file = {_toml(str(account.password_file))}   # chmod 600",)
    if account.credential:
        return (
            f"credential = {_toml(account.credential)}   "
            "# $CREDENTIALS_DIRECTORY/NAME: LoadCredentialEncrypted= in the unit",
        )
    return (f"# The password is in the OS keyring: {KEYRING_SERVICE} / {account.username}",)


def write_config(path: Path, text: str, *, force: bool) -> None:
    """Write `text` owner-only (0600); an existing file is replaced only with `force`."""
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; keep it, or pass --force to replace it")
    write_private(path, text)


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


def local_timezone() -> str:
    """The machine's IANA zone name (where /etc/localtime points), else UTC."""
    name = str(Path("/etc/localtime").resolve()).partition("zoneinfo/")[2]
    return name if name and _is_zone(name) else "UTC"


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _valid(test: Callable[[str], object], what: str) -> Callable[[str], str]:
    """A check for a flag or an answer: the value stripped, else why it cannot be used."""

    def check(value: str) -> str:
        if not test(value.strip()):
            raise click.BadParameter(f"{value!r} is not {what}")
        return value.strip()

    return check


_check_address = _valid(re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+").fullmatch, "an email address")
_check_clock = _valid(re.compile(r"([01]?\d|2[0-3]):[0-5]\d").fullmatch, "a time like 07:30")
_check_zone = _valid(_is_zone, "a time zone name like Europe/Berlin")


def _ask(value: Any, text: str, flag: str, *, asking: bool = True, **options: Any) -> Any:
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


def _checked(check: Callable[[str], str]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    return lambda _ctx, _param, value: None if value is None else check(value)


def _server(address: str, opts: dict[str, Any]) -> tuple[Account, Provider | None, bool]:
    """The account's server settings: flags, else the provider's (confirmed), else asked.

    Returns the account (no secret yet), the provider used, and whether to ask the details.
    """
    provider = provider_for(address)
    host, port, security = opts["host"], opts["port"], opts["security"]
    asking = host is None
    if asking and provider is not None:
        click.echo(f"This looks like {provider.describe()}.")
        if provider.note:
            click.echo(f"Note: {provider.note}.")
        if _ask(None, "Use these settings?", "--host", default="yes", type=click.BOOL):
            host, port, security = provider.imap_host, provider.imap_port, provider.imap_security
        else:
            provider = None
    if host is None:
        host = _ask(None, "IMAP server", "--host")
        security = _ask(security, "Security", "--security", type=click.Choice(SECURITY_CHOICES))
        port = _ask(port, "Port", "--port", default=DEFAULT_PORTS[security], type=int)
    security = cast(Security, security or ("starttls" if port in (143, 1143) else "ssl"))
    username = _ask(opts["username"], "Login name", "--username", asking=asking, default=address)
    domain_label = address.rpartition("@")[2].split(".")[0]
    name = opts["name"] or re.sub(r"[^A-Za-z0-9_.-]", "-", domain_label).strip("-.") or "mail"
    try:
        account = Account(
            name=name,
            addresses=(address,),
            host=host,
            port=port or DEFAULT_PORTS[security],
            security=security,
            username=username,
            ca_file=opts["ca_file"].resolve() if opts["ca_file"] else None,  # daemon's cwd: /
            password_command=opts["password_command"] or "",
            oauth2_token_command=opts["oauth2_token_command"] or "",
        )
    except ConfigError as exc:  # refused before any login: e.g. no TLS to another machine
        fail(f"{exc}; nothing was written", 2)
    return account, provider, asking


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
        value = _ask(None, f"Password for {account.username}", "--password-stdin", hide_input=True)
    register_secret(value)
    return Secret(value, "typed")


def _discover(account: Account, secret: Secret) -> Discovery:
    with connect(account, secret) as client, translate_errors(account):
        return discover_mailbox(client)


def _log_in(account: Account, opts: dict[str, Any]) -> tuple[Secret, Discovery]:
    """The secret that logged in and what the mailbox shows; a password typed at the prompt
    and refused is asked again (PASSWORD_TRIES in all), every other answer kept."""
    for attempt in range(1, PASSWORD_TRIES + 1):
        secret = _secret(account, opts)
        try:
            return secret, _discover(account, secret)
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
def _undone_on_failure() -> Iterator[list[Path]]:
    """Files made on the way (a certificate, a password file): removed if init fails."""
    made: list[Path] = []
    try:
        yield made
    except BaseException:
        for path in made:
            path.unlink(missing_ok=True)
        raise


def _trusted(
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
        trust = asking and _ask(
            None, "(r)eject, (t)rust this certificate", "--trust-fingerprint",
            default="r", type=click.Choice(["r", "t"]),
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


def _keep_password(
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
    choice = _ask(None, "Choice", "--password-command", default="1",
                  type=click.Choice(["1", "2", "3"]))  # fmt: skip
    if choice == "1":
        command = _ask(None, "Password command", "--password-command",
                       default=f"pass show mail/{account.name}")  # fmt: skip
        chosen = replace(account, password_command=command)
        _discover(chosen, secret_of(chosen))  # tested once, there and then
        click.echo("The command's password logs in.")
        return chosen
    if choice == "2":
        name = _ask(None, "Credential name", "--credential", default=f"{account.name}-password")
        return _credential(account, name)
    path = Path(_ask(None, "Password file", "--password-file", default=str(file))).expanduser()
    return _password_file(account, secret, path, made)


def _password_file(account: Account, secret: Secret, path: Path, made: list[Path]) -> Account:
    path = path.resolve()  # the daemon's cwd is /
    write_private(path, secret.value + "\n")
    made.append(path)
    chosen = replace(account, password_file=path)
    _discover(chosen, secret_of(chosen))  # read back through its checks, and logged in with
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


# -- the command --------------------------------------------------------------------------------


_FLAGS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("--email", {"callback": _checked(_check_address)}, "Your email address."),
    ("--name", {}, "A short name for the account (default: from the domain)."),
    ("--host", {}, "IMAP server; given, init asks nothing it has a default for."),
    ("--port", {"type": click.IntRange(1, 65535)}, "IMAP port (default: by --security)."),
    ("--security", {"type": click.Choice(SECURITY_CHOICES)}, "ssl, starttls or none."),
    ("--username", {}, "Login name (default: the address)."),
    ("--ca-file", {"type": click.Path(path_type=Path, dir_okay=False, exists=True)},
     "Trust this certificate (a self-signed server, Proton Mail Bridge)."),
    ("--trust-fingerprint", {}, "Trust the server's certificate if its SHA-256 is this "
     "(AB:CD:...); saved next to the config as ca_file."),
    ("--password-command", {}, "A command that prints the password (stored, not the password)."),
    ("--oauth2-token-command", {}, "A command that prints an OAuth2 access token (XOAUTH2)."),
    ("--password-stdin", {"is_flag": True}, "Read the password from the first line of stdin."),
    ("--password-file", {"type": click.Path(path_type=Path, dir_okay=False)},
     "Keep the password in this file, readable by you only (an existing one is read)."),
    ("--credential", {}, "Keep the password as this systemd credential (commands shown)."),
    ("--no-keyring", {"is_flag": True}, "Do not store the password in the OS keyring."),
    ("--also-me", {"multiple": True, "callback": lambda _c, _p, v: tuple(map(_check_address, v))},
     "Another address of yours (repeatable); Sent's others are asked, default no."),
    ("--smtp-host", {}, 'SMTP server for the digest (- for none: preview or IMAP only).'),
    ("--smtp-port", {"type": click.IntRange(1, 65535)}, "SMTP port (465: SSL, else STARTTLS)."),
    ("--digest-at", {"callback": _checked(_check_clock)}, "Local time of the digest (07:30)."),
    ("--timezone", {"callback": _checked(_check_zone)}, "IANA time zone (default: the local one)."),
    ("--state-dir", {"type": click.Path(path_type=Path, file_okay=False)}, "Keep the store here."),
    ("--add", {"is_flag": True}, "Add an account to the existing config; the rest is kept."),
    ("--force", {"is_flag": True}, "Replace an existing config file."),
)  # fmt: skip


def _with_flags(command: Callable[..., None]) -> Callable[..., None]:
    for flag, extra, text in reversed(_FLAGS):
        command = click.option(flag, help=text, **extra)(command)
    return command


_NEXT_STEPS = """\
  watcher doctor     check the connection, the folders, and who you are
  watcher sync       the first read of your mail (90 days back)
  watcher run        keep watching; or as a service (see systemd/README.md):
                     systemctl --user enable --now watcher.service"""


def _also_me(account: Account, found: Discovery, opts: dict[str, Any], asking: bool) -> Account:
    """The aliases: --also-me, and each other From address of Sent the user says is theirs
    (asked one by one, default no: an old employer's address is not "me" any more)."""
    chosen = [x.lower() for x in opts["also_me"] if x.lower() not in account.addresses]
    for other in found.from_addresses:
        if other in account.addresses or other in chosen or not asking:
            continue
        click.echo(f"Your Sent folder also has mail from {printable(other)}.")
        if _ask(None, "Also count these as you?", "--also-me", default=False, type=click.BOOL):
            chosen.append(other)
    return replace(account, aliases=tuple(dict.fromkeys(chosen)))


def _existing(path: Path, opts: dict[str, Any]) -> Settings | None:
    """The config `--add` adds to (None without --add); refuses to overwrite one without
    --force."""
    if opts["add"]:
        if not path.exists():
            fail(f"{path} does not exist; run `watcher init` without --add first", 2)
        try:
            return load_settings(path)
        except ConfigError as exc:
            fail(f"{exc}; fix it before adding an account", 2)
    if path.exists() and not opts["force"]:
        fail(f"{path} exists; keep it, or pass --force to replace it (--add: add an account)", 2)
    return None


@click.command("init")
@_with_flags
@config_option
@pass_cli
def init_command(obj: CliContext, /, **opts: Any) -> None:
    """Set up an account: test the login, keep the password, write config.toml.

    Asks for what no flag gives. With --host given it asks only for the password, and not
    even that with --password-stdin or --password-command: scripts need no terminal.
    With --add, the account is appended to the existing config, the rest kept as written.
    """
    path = obj.config_file()
    existing = _existing(path, opts)
    address = _ask(opts["email"], "Your email address", "--email", value_proc=_check_address)
    account, provider, asking = _server(address.lower(), opts)
    if existing is not None and account.name in [a.name for a in existing.accounts]:
        fail(f"an account named {account.name!r} is already in {path}; pass --name OTHER", 2)
    try:
        with _undone_on_failure() as made:
            account = _trusted(account, opts, asking, path.parent, made)
            secret, found = _log_in(account, opts)
            _report_login(account, found)
            account = _keep_password(account, secret, opts, path.parent, made)
            account = _also_me(account, found, opts, asking)
            if existing is not None:
                _append_account(path, account, found)
                click.echo(f"\nAdded account {account.name!r} to {path}. Next: watcher doctor")
                return
            answers = _answers(account, provider, found, opts, asking)
            text = render_config(answers, date.today())
            parse_settings(text, path)  # what is written must load: a bad flag fails here
            write_config(path, text, force=opts["force"])
    except (WatcherError, OSError) as exc:
        fail(f"{exc}; nothing was written", 2 if isinstance(exc, ConfigError | OSError) else 1)
    click.echo(f"\nWrote {path} (readable by you only). Next:\n{_NEXT_STEPS}")


def _report_login(account: Account, found: Discovery) -> None:
    click.echo(f"Logged in to {account.host} as {account.username}.")
    # A folder's name and the From of sent mail are foreign text: made safe to print.
    sent = printable(found.sent_folder or "none found (every folder is read anyway)")
    click.echo(f"Sent folder: {sent}")
    if found.from_addresses:
        click.echo(f"You send as: {printable(', '.join(found.from_addresses))}")


def _answers(
    account: Account,
    provider: Provider | None,
    found: Discovery,
    opts: dict[str, Any],
    asking: bool,
) -> Answers:
    smtp_host = _ask(
        opts["smtp_host"], "SMTP server for the digest (- for none)", "--smtp-host",
        asking=asking, default=provider.smtp_host if provider else "-",
    )  # fmt: skip
    smtp_host = "" if smtp_host in (None, "-") else smtp_host
    smtp: tuple[str, int, str] | None = None
    if smtp_host:
        same = provider is not None and provider.smtp_host == smtp_host
        port = _ask(
            opts["smtp_port"], "SMTP port (465: SSL, else STARTTLS)", "--smtp-port",
            asking=asking, default=provider.smtp_port if provider and same else 587,
            type=click.IntRange(1, 65535),
        )  # fmt: skip
        smtp = (smtp_host, port, "ssl" if port == 465 else "starttls")
    zone = _ask(opts["timezone"], "Time zone", "--timezone", asking=asking,
                default=local_timezone(), value_proc=_check_zone)  # fmt: skip
    at = _ask(opts["digest_at"], "Digest time", "--digest-at", asking=asking,
              default="07:30", value_proc=_check_clock)  # fmt: skip
    return Answers(
        account=account,
        timezone=zone,
        digest_at=at,
        state_dir=opts["state_dir"].resolve() if opts["state_dir"] else None,
        smtp=smtp,
        discovery=found,
        webmail=provider.webmail if provider else "",
    )


def _append_account(path: Path, account: Account, found: Discovery) -> None:
    """Append the account's table to the config, every other line kept as written."""
    before = path.read_text(encoding="utf-8")
    text = before.rstrip("\n") + "\n\n" + render_account(account, found)
    parse_settings(text, path)  # a duplicate name or a bad value fails here, nothing written
    write_private(path, text, mode=path.stat().st_mode & 0o777)
