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

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from watcher.cli.context import CliContext, config_option, fail, pass_cli
from watcher.cli.init_login import (
    ask,
    confirm,
    keep_password,
    log_in,
    trusted,
    undone_on_failure,
    write_private,
)
from watcher.cli.providers import Provider, provider_for
from watcher.config.digest import is_loopback
from watcher.config.settings import (
    DEFAULT_PORTS,
    SECURITY_CHOICES,
    Account,
    Security,
    Settings,
    load_settings,
    parse_settings,
)
from watcher.credentials import KEYRING_SERVICE
from watcher.errors import ConfigError, WatcherError
from watcher.mail.folders import Discovery
from watcher.terminal import printable

# `--smtp-host sendmail`: the digest is handed to this machine's sendmail instead of SMTP.
SENDMAIL = "sendmail"


@dataclass(frozen=True, slots=True)
class Answers:
    """Everything the config file is written from."""

    account: Account
    timezone: str
    digest_at: str
    state_dir: Path | None
    smtp: tuple[str, int, str] | None  # host, port, security; (SENDMAIL, 0, "") for sendmail
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
    if answers.smtp and answers.smtp[0] == SENDMAIL:
        smtp = 'delivery = "sendmail"          # handed to /usr/sbin/sendmail -t -oi, as cron does'
    elif answers.smtp and answers.smtp[2] == "none":
        host, port, _ = answers.smtp
        relay = "[digest.smtp]                   # this machine's mail relay: plain SMTP, no login"
        smtp = "\n".join((relay, f"host = {_toml(host)}", f"port = {port}", 'security = "none"'))
    elif answers.smtp:
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
        if ask(None, "Use these settings?", "--host", default="yes", type=click.BOOL):
            host, port, security = provider.imap_host, provider.imap_port, provider.imap_security
        else:
            provider = None
    if host is None:
        host = ask(None, "IMAP server", "--host")
        security = ask(security, "Security", "--security", type=click.Choice(SECURITY_CHOICES))
        port = ask(port, "Port", "--port", default=DEFAULT_PORTS[security], type=int)
    security = cast(Security, security or ("starttls" if port in (143, 1143) else "ssl"))
    username = ask(opts["username"], "Login name", "--username", asking=asking, default=address)
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
    (
        "--smtp-host",
        {},
        "SMTP server for the digest (- for none: preview or IMAP only; localhost: this "
        "machine's relay, plain SMTP on port 25; sendmail: /usr/sbin/sendmail).",
    ),
    (
        "--smtp-port",
        {"type": click.IntRange(1, 65535)},
        "SMTP port (465: SSL; 25 on localhost: plain, no login; else STARTTLS).",
    ),
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
        if confirm("Also count these as you?", "--also-me"):
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
    address = ask(opts["email"], "Your email address", "--email", value_proc=_check_address)
    account, provider, asking = _server(address.lower(), opts)
    if existing is not None and account.name in [a.name for a in existing.accounts]:
        fail(f"an account named {account.name!r} is already in {path}; pass --name OTHER", 2)
    try:
        with undone_on_failure() as made:
            account = trusted(account, opts, asking, path.parent, made)
            secret, found = log_in(account, opts)
            _report_login(account, found)
            account = keep_password(account, secret, opts, path.parent, made)
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
    smtp_host = ask(
        opts["smtp_host"],
        "SMTP server for the digest (- for none, localhost for this machine's relay, "
        "sendmail for /usr/sbin/sendmail)",
        "--smtp-host", asking=asking, default=provider.smtp_host if provider else "-",
    )  # fmt: skip
    smtp_host = "" if smtp_host in (None, "-") else smtp_host
    smtp: tuple[str, int, str] | None = None
    if smtp_host == SENDMAIL:
        smtp = (SENDMAIL, 0, "")
    elif smtp_host:
        same = provider is not None and provider.smtp_host == smtp_host
        local = is_loopback(smtp_host)
        port = ask(
            opts["smtp_port"], "SMTP port (465: SSL, 25 on this machine: plain, else STARTTLS)",
            "--smtp-port", asking=asking,
            default=25 if local else provider.smtp_port if provider and same else 587,
            type=click.IntRange(1, 65535),
        )  # fmt: skip
        # A relay on this machine takes plain SMTP without a login (Postfix, Exim, nullmailer).
        security = "none" if local and port == 25 else "ssl" if port == 465 else "starttls"
        smtp = (smtp_host, port, security)
    zone = ask(opts["timezone"], "Time zone", "--timezone", asking=asking,
                default=local_timezone(), value_proc=_check_zone)  # fmt: skip
    at = ask(opts["digest_at"], "Digest time", "--digest-at", asking=asking,
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
