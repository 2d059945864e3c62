"""`watcher init`: ask for an address, test the login, write a commented config.toml.

Every question has a flag, and a flag given is a question not asked; with `--host` given,
only what has no default is asked (the password, unless a flag gives it), so a script or CI
with every flag never meets a prompt. The login is tested before anything is stored or
written, the password goes to the OS keyring (never into the file), and the mailbox is only
read: LIST, EXAMINE and a FETCH of the From header of the Sent folder's latest messages.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
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
    parse_settings,
)
from watcher.credentials import (
    KEYRING_SERVICE,
    Secret,
    default_env_name,
    secret_of,
    store_in_keyring,
)
from watcher.errors import ConfigError, WatcherError
from watcher.logsetup import register_secret
from watcher.mail.connection import connect, translate_errors
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
    secret_lines: tuple[str, ...]  # the account's password lines, comments included
    discovery: Discovery
    webmail: str = ""


_TEMPLATE = """\
# followup-watcher configuration, written by `watcher init` on {today}.
# Every key is explained in config.example.toml; `watcher doctor` checks this file.

# Your time zone: days and the digest time are counted in it.
timezone = {timezone}
lookback_days = 90              # how many days back the first sync reads
sync_interval = 10              # minutes between two reads of new mail (watcher run)
{state_dir}
track = "proposals"             # or "all": every message you send to someone
default_quiet_days = 3          # a thread is due after this many days without a reply

[[accounts]]
name = {name}
host = {host}
port = {port}
security = {security}
username = {username}
addresses = [{address}]
# Sent folder: {sent}. The other From addresses found there are yours too:
aliases = [{aliases}]
{ca_file}
{secret}

[digest]
at = {at}   # local time of the morning digest
to = {address}
{webmail}
{smtp}
"""


def render_config(answers: Answers, today: date) -> str:
    """The config file, commented like config.example.toml; no secret in it."""
    a, found = answers.account, answers.discovery
    ca_file = f"ca_file = {_toml(str(a.ca_file))}" if a.ca_file else ""
    smtp = '# delivery = "imap"            # no SMTP server: append the digest to your inbox'
    if answers.smtp:
        host, port, security = answers.smtp
        smtp = "\n".join(
            ["[digest.smtp]                   # with the account's login, over verified TLS"]
            + [f"host = {_toml(host)}", f"port = {port}", f"security = {_toml(security)}"]
            + ([ca_file] if ca_file and host == a.host else [])  # the same server's certificate
        )
    return _TEMPLATE.format(
        today=today.isoformat(),
        timezone=_toml(answers.timezone),
        state_dir=f"state_dir = {_toml(str(answers.state_dir))}"
        if answers.state_dir
        else '# state_dir = "~/.local/state/followup-watcher"   # where the store is kept',
        name=_toml(a.name),
        host=_toml(a.host),
        port=a.port,
        security=_toml(a.security),
        username=_toml(a.username),
        address=_toml(a.addresses[0]),
        sent=f'"{found.sent_folder}"' if found.sent_folder else "none found",
        aliases=", ".join(_toml(x) for x in found.from_addresses if x not in a.addresses),
        ca_file=ca_file or '# ca_file = "/path/to/server-ca.pem"   # a self-signed server',
        secret="\n".join(answers.secret_lines),
        at=_toml(answers.digest_at),
        webmail=f"webmail = {_toml(answers.webmail)}" if answers.webmail else '# webmail = "gmail"',
        smtp=smtp,
    )


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def secret_lines(account: Account, keyring_problem: str | None) -> tuple[str, ...]:
    """How the config tells where the password is: keyring, a command, or what to set up."""
    if account.oauth2_token_command:
        return (f"oauth2_token_command = {_toml(account.oauth2_token_command)}",)
    if account.password_command:
        return (f"password_command = {_toml(account.password_command)}",)
    if keyring_problem is None:
        return (f"# The password is in the OS keyring: {KEYRING_SERVICE} / {account.username}",)
    return (
        f"# The password is NOT stored: {keyring_problem}. One of:",
        f'# password_command = "pass show mail/{account.name}"   # prints the password',
        f'# credential = "{account.name}"   # systemd: LoadCredentialEncrypted= (see systemd/)',
        f"password_env = {_toml(default_env_name(account))}   # or export this variable",
    )


def write_config(path: Path, text: str, *, force: bool) -> None:
    """Write `text` owner-only (0600); an existing file is replaced only with `force`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; keep it, or pass --force to replace it")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".toml")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        Path(tmp).replace(path)  # atomic: a reader never sees half a config
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


def _secret(account: Account, opts: dict[str, Any]) -> Secret:
    if account.password_command or account.oauth2_token_command:
        return secret_of(account)  # runs the command, as the daemon will
    if opts["password_stdin"]:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise click.UsageError("--password-stdin: standard input had no password line")
    else:
        value = _ask(None, f"Password for {account.username}", "--password-stdin", hide_input=True)
    register_secret(value)
    return Secret(value, "typed")


_FLAGS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("--email", {"callback": _checked(_check_address)}, "Your email address."),
    ("--name", {}, "A short name for the account (default: from the domain)."),
    ("--host", {}, "IMAP server; given, init asks nothing it has a default for."),
    ("--port", {"type": click.IntRange(1, 65535)}, "IMAP port (default: by --security)."),
    ("--security", {"type": click.Choice(SECURITY_CHOICES)}, "ssl, starttls or none."),
    ("--username", {}, "Login name (default: the address)."),
    ("--ca-file", {"type": click.Path(path_type=Path, dir_okay=False, exists=True)},
     "Trust this certificate (a self-signed server, Proton Mail Bridge)."),
    ("--password-command", {}, "A command that prints the password (stored, not the password)."),
    ("--oauth2-token-command", {}, "A command that prints an OAuth2 access token (XOAUTH2)."),
    ("--password-stdin", {"is_flag": True}, "Read the password from the first line of stdin."),
    ("--no-keyring", {"is_flag": True}, "Do not store the password in the OS keyring."),
    ("--smtp-host", {}, 'SMTP server for the digest (- for none: preview or IMAP only).'),
    ("--smtp-port", {"type": click.IntRange(1, 65535)}, "SMTP port (465: SSL, else STARTTLS)."),
    ("--digest-at", {"callback": _checked(_check_clock)}, "Local time of the digest (07:30)."),
    ("--timezone", {"callback": _checked(_check_zone)}, "IANA time zone (default: the local one)."),
    ("--state-dir", {"type": click.Path(path_type=Path, file_okay=False)}, "Keep the store here."),
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


@click.command("init")
@_with_flags
@config_option
@pass_cli
def init_command(obj: CliContext, /, **opts: Any) -> None:
    """Set up an account: test the login, store the password, write config.toml.

    Asks for what no flag gives. With --host given it asks only for the password, and not
    even that with --password-stdin or --password-command: scripts need no terminal.
    """
    path = obj.config_file()
    if path.exists() and not opts["force"]:
        fail(f"{path} exists; keep it, or pass --force to replace it", 2)
    address = _ask(opts["email"], "Your email address", "--email", value_proc=_check_address)
    account, provider, asking = _server(address.lower(), opts)
    try:
        secret = _secret(account, opts)
        with connect(account, secret) as client, translate_errors(account):
            found = discover_mailbox(client)
    except WatcherError as exc:
        fail(f"{exc}; nothing was written", 1)
    click.echo(f"Logged in to {account.host} as {account.username}.")
    # A folder's name and the From of sent mail are foreign text: made safe to print.
    sent = printable(found.sent_folder or "none found (every folder is read anyway)")
    click.echo(f"Sent folder: {sent}")
    if found.from_addresses:
        click.echo(f"You send as: {printable(', '.join(found.from_addresses))}")
    problem: str | None = None
    if secret.source == "typed":
        problem = "--no-keyring was given" if opts["no_keyring"] else None
        problem = problem or store_in_keyring(account.username, secret.value) or None
        click.echo(
            f"The password is in the OS keyring ({KEYRING_SERVICE} / {account.username})."
            if problem is None
            else f"The password was NOT stored: {problem}. The config says how to provide it "
            f"(password_command, a systemd credential, or ${default_env_name(account)})."
        )
    asked = {
        key: _ask(opts[key], text, f"--{key.replace('_', '-')}", asking=asking, **extra)
        for key, text, extra in (
            ("smtp_host", "SMTP server for the digest (- for none)",
             {"default": provider.smtp_host if provider else "-"}),
            ("timezone", "Time zone", {"default": local_timezone(), "value_proc": _check_zone}),
            ("digest_at", "Digest time", {"default": "07:30", "value_proc": _check_clock}),
        )
    }  # fmt: skip
    smtp_host = "" if asked["smtp_host"] in (None, "-") else asked["smtp_host"]
    smtp_port = opts["smtp_port"] or (
        provider.smtp_port if provider and provider.smtp_host == smtp_host else 587
    )
    answers = Answers(
        account=account,
        timezone=asked["timezone"],
        digest_at=asked["digest_at"],
        state_dir=opts["state_dir"].resolve() if opts["state_dir"] else None,
        smtp=(smtp_host, smtp_port, "ssl" if smtp_port == 465 else "starttls")
        if smtp_host
        else None,
        secret_lines=secret_lines(account, problem),
        discovery=found,
        webmail=provider.webmail if provider else "",
    )
    text = render_config(answers, date.today())
    try:
        parse_settings(text, path)  # what is written must load: a bad flag fails here, not later
        write_config(path, text, force=opts["force"])
    except (ConfigError, OSError) as exc:
        fail(f"{exc}; nothing was written", 2)
    click.echo(f"\nWrote {path} (readable by you only). Next:\n{_NEXT_STEPS}")
