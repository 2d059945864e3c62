"""Load `config.toml` once into frozen, typed settings.

Every error names the file, the line where it can be found, the key with its table path, and
the fix, e.g. `config.toml line 12: accounts[1].port must be an integer from 1 to 65535`.
Unknown keys are errors too: a typo must not silently fall back to a default.

Each setting is one field (`watcher.config.checks.setting`): its key, check and default. The
settings check themselves when built, so settings made in code (the demo) meet the same checks.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from watcher.config.checks import (
    LineFinder,
    SettingError,
    TableReader,
    check_ca_file,
    check_non_negative,
    check_port,
    check_positive,
    check_timezone,
    one_line,
    setting,
    toml_keys,
    unsafe_path_problem,
    validate,
)
from watcher.config.digest import SMTP_PORTS, DigestSettings, SmtpServer, is_loopback
from watcher.config.tracking import Rule, Tracking
from watcher.errors import ConfigError
from watcher.identity import is_public_mail_domain

Security = Literal["ssl", "starttls", "none"]
SECURITY_CHOICES: tuple[Security, ...] = ("ssl", "starttls", "none")
DEFAULT_PORTS: dict[str, int] = {"ssl": 993, "starttls": 143, "none": 143}
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def default_config_path() -> Path:
    """`$WATCHER_CONFIG`, else `$XDG_CONFIG_HOME/followup-watcher/config.toml`."""
    explicit = os.environ.get("WATCHER_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "followup-watcher" / "config.toml"


def default_state_dir() -> Path:
    """Under systemd `$STATE_DIRECTORY`, else `$XDG_STATE_HOME/followup-watcher`."""
    systemd_state = os.environ.get("STATE_DIRECTORY")
    if systemd_state:
        return Path(systemd_state.split(":")[0])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "followup-watcher"


# -- the checks of single values -------------------------------------------------------------


def check_account_name(value: str) -> str | None:
    if not value:
        return 'is missing; give each account a short name, e.g. "work"'
    if _ACCOUNT_NAME.match(value):
        return None
    return "must be a short name of letters, digits, '.', '_' or '-' (e.g. \"work\")"


def check_security(value: str) -> str | None:
    if value in SECURITY_CHOICES:
        return None
    return f'is {value!r}; use "ssl" (port 993), "starttls" (port 143) or "none"'


def check_addresses(values: tuple[str, ...]) -> str | None:
    for value in values:
        if not _ADDRESS.match(value):
            return f"has {value!r}, which is not an email address"
    return None


def check_interval(value: float) -> str | None:
    # Fractions are for tests; a real mailbox is polled every few minutes at most.
    return (
        None if 0.05 <= value <= 10080 else "must be a number of minutes, e.g. 10 (at most a week)"
    )


def check_state_dir(value: Path) -> str | None:
    try:
        a_file = value.exists() and not value.is_dir()
    except OSError as exc:  # a name too long for the file system, a loop of links
        text = str(value)
        shown = f"{text[:100]}{'…' if len(text) > 100 else ''}"
        return f"names {shown!r}, which cannot be used ({exc.strerror}); set another directory"
    if a_file:
        return (
            f"names {str(value)!r}, which is a file, not a directory; "
            "set state_dir to a directory (or move the file away)"
        )
    return None


def check_colleagues(patterns: tuple[str, ...]) -> str | None:
    for pattern in patterns:
        problem = _colleague_problem(pattern)
        if problem:
            return f"has {pattern!r}: {problem}"
    return None


def _colleague_problem(pattern: str) -> str | None:
    """Why a `colleagues` entry cannot be right, or None: "*@corp.example", "partner.example"."""
    example = 'write an address pattern such as "*@corp.example" or a domain such as "corp.example"'
    local, at, domain = pattern.lstrip("@").rpartition("@")
    if not domain or any(c.isspace() for c in pattern) or (at and not local):
        return example
    if at and "." not in domain.strip("*?."):  # "*@*" would make everybody a colleague
        return f"matches too much; {example}"
    if not at and not _HOST.match(domain):
        return f"not a domain; {example}"
    if not any(c in domain for c in "*?[") and is_public_mail_domain(domain) and local in ("", "*"):
        return (
            f"{domain} is a public mail provider, where anyone can have an address; "
            f'name your colleagues\' addresses there instead, e.g. "jane@{domain}"'
        )
    return None


def _lower_all(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value.strip().lower() for value in values)


def _all_folders_if_none(values: tuple[str, ...]) -> tuple[str, ...]:
    return values or ("*",)


# -- the settings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    """One mailbox to read: an IMAP server, or a local Maildir."""

    name: str = setting("", check=check_account_name)
    # the user's own addresses, lower-case; the first is the main one (default: the username)
    addresses: tuple[str, ...] = setting((), kind="texts", clean=_lower_all, check=check_addresses)
    aliases: tuple[str, ...] = setting((), kind="texts", clean=_lower_all, check=check_addresses)
    host: str = setting("")
    port: int = setting(993, check=check_port)  # the loader's default: by security
    security: Security = setting("ssl", check=check_security)
    username: str = setting("")  # default: the first address
    maildir: Path | None = setting(None, kind="path")
    include_folders: tuple[str, ...] = setting(("*",), kind="texts", clean=_all_folders_if_none)
    exclude_folders: tuple[str, ...] = setting((), kind="texts")
    ca_file: Path | None = setting(None, kind="path", check=check_ca_file)
    timeout_seconds: float = setting(60.0, check=check_positive)
    password_command: str = setting("", free_text=True)
    # prints a fresh OAuth2 access token (XOAUTH2)
    oauth2_token_command: str = setting("", free_text=True)
    password_env: str = setting("")
    credential: str = setting("")  # name of a systemd credential holding the password
    # a file holding the password, readable by you only (chmod 600)
    password_file: Path | None = setting(None, kind="path")
    # security = "none" to a host that is not this machine
    allow_insecure: bool = setting(False)

    def __post_init__(self) -> None:
        if not self.addresses and not self.is_maildir and _ADDRESS.match(self.username):
            object.__setattr__(self, "addresses", (self.username,))  # cleaned by validate
        validate(self, "accounts")
        if not self.addresses:
            raise SettingError(
                "accounts",
                "addresses",
                'is missing; list your own email addresses, e.g. ["me@example.com"]',
            )
        if not self.is_maildir and not self.username:
            object.__setattr__(self, "username", self.addresses[0])
        problem = self._server_problem()
        if problem:
            raise SettingError("accounts", *problem)

    def _server_problem(self) -> tuple[str, str] | None:
        """Which key is wrong about where the mail is, and why."""
        if self.maildir is not None and self.host:
            return "maildir", "and host are both set; an account reads one or the other"
        if self.maildir is None and not self.host:
            return "host", 'is missing; set host = "imap.example.com" (or maildir = "PATH")'
        if self.security == "none" and not self.allow_insecure and not is_loopback(self.host):
            return "security", (
                f'is "none" (no TLS) for {self.host!r}, which is not this machine: the password '
                'and your mail would cross the network in clear; use "ssl" or "starttls", '
                "or set allow_insecure = true on this account to accept that"
            )
        return None

    @property
    def is_maildir(self) -> bool:
        return self.maildir is not None

    @property
    def own_addresses(self) -> tuple[str, ...]:
        return self.addresses + self.aliases


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration, as read from one file (`path`), or built in code."""

    path: Path | None = None
    state_dir: Path = setting(kind="path", default_factory=default_state_dir, check=check_state_dir)
    timezone: str = setting("UTC", check=check_timezone)
    lookback_days: int = setting(90, check=check_non_negative)
    accounts: tuple[Account, ...] = setting((), kind="table")  # [[accounts]]
    # The top-level keys of what to track: track, default_quiet_days, [[rules]], ...
    tracking: Tracking = setting(kind="inline", nested=Tracking, default_factory=Tracking)
    # More colleagues than the domains I send from: address patterns or bare domains.
    colleagues: tuple[str, ...] = setting(
        (), kind="texts", clean=_lower_all, check=check_colleagues
    )
    sync_interval_minutes: float = setting(10.0, key="sync_interval", check=check_interval)
    digest: DigestSettings = setting(kind="table", default_factory=DigestSettings)

    def __post_init__(self) -> None:
        validate(self, "")
        names = [a.name for a in self.accounts]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise SettingError("", f"accounts[{i + 1}].name", f"{name!r} is used twice")
        if self.digest.account and self.digest.account not in names:
            raise SettingError(
                "", "digest.account", f"names {self.digest.account!r}, which is no account"
            )

    @property
    def store_path(self) -> Path:
        return self.state_dir / "watcher.sqlite3"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def account(self, name: str) -> Account:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts) or "none"
        raise ConfigError(f"no account named {name!r} in the config (accounts: {known})")


# -- reading the file ------------------------------------------------------------------------


def load_settings(path: Path) -> Settings:
    """Read and check the config file; raise `ConfigError` naming the line and the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no config file here; copy config.example.toml there, "
            "or pass --config PATH (or set WATCHER_CONFIG)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
    problem = unsafe_path_problem(path)
    if problem:
        raise ConfigError(one_line(f"{path.name} {problem}"))
    return parse_settings(text, path)


def parse_settings(text: str, path: Path | None = None) -> Settings:
    """Check TOML text and build `Settings`; `path` is only used in messages."""
    label = path.name if path else "config"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(one_line(f"{label}: not valid TOML: {exc}")) from None
    reader = _SettingsReader(data, LineFinder(text), label)
    return reader.settings(path)


# Keys of a mail server that a Maildir account has no use for.
_IMAP_ONLY = (
    *("port", "security", "username", "ca_file", "password_command", "password_file"),
    "allow_insecure",
)
# Keys that give [digest.smtp] a login of its own, rather than the account's.
_SECRET_SOURCES = ("password_command", "password_env", "credential")


class _SettingsReader(TableReader):
    """Builds `Settings` from the parsed TOML: the tables, and the defaults that depend on
    other settings (the port on the security, the digest's address on its account)."""

    def settings(self, path: Path | None) -> Settings:
        data = self.data
        self.check_keys(data, toml_keys(Settings), "")
        values = self.read_values(data, Settings, "")
        raw_accounts = data.get("accounts", [])
        if not isinstance(raw_accounts, list) or not all(isinstance(a, dict) for a in raw_accounts):
            raise self.fail("accounts", "must be written as [[accounts]] tables")
        if not raw_accounts:
            raise ConfigError(
                f"{self.label}: no [[accounts]] table; add one (see config.example.toml)"
            )
        accounts = tuple(self.account(a, i + 1) for i, a in enumerate(raw_accounts))
        values.update(
            path=path, accounts=accounts, tracking=self.tracking(), digest=self.digest(accounts)
        )
        return self.build(Settings, "", values)

    def account(self, table: dict[str, Any], index: int) -> Account:
        where = f"accounts[{index}]"
        self.check_keys(table, toml_keys(Account), where)
        values = self.read_values(table, Account, where)
        if "maildir" in values:
            for key in _IMAP_ONLY:
                if key in table:
                    raise self.fail(
                        f"{where}.{key}", "does not apply to a maildir account; remove it"
                    )
        else:
            values.setdefault("port", DEFAULT_PORTS.get(values.get("security", "ssl"), 993))
        return self.build(Account, where, values)

    def tracking(self) -> Tracking:
        values = self.read_values(self.data, Tracking, "")
        raw_rules = self.data.get("rules", [])
        if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
            raise self.fail("rules", "must be written as [[rules]] tables")
        values["rules"] = tuple(self.rule(r, i + 1) for i, r in enumerate(raw_rules))
        return self.build(Tracking, "", values)

    def rule(self, table: dict[str, Any], number: int) -> Rule:
        where = f"rules[{number}]"
        self.check_keys(table, toml_keys(Rule), where)
        return self.build(Rule, where, {"number": number, **self.read_values(table, Rule, where)})

    def digest(self, accounts: tuple[Account, ...]) -> DigestSettings:
        where = "digest"
        table = self.data.get("digest", {})
        if not isinstance(table, dict):
            raise self.fail(where, "must be a [digest] table")
        self.check_keys(table, toml_keys(DigestSettings), where)
        values = self.read_values(table, DigestSettings, where)
        # An account name that is none is named when the settings are built.
        imap_accounts = [a for a in accounts if not a.is_maildir]
        account = next((a for a in accounts if a.name == values.get("account")), None) or (
            imap_accounts[0] if imap_accounts else accounts[0]
        )
        values["account"] = values.get("account") or account.name
        to = values.get("recipient") or account.addresses[0]
        values["recipient"] = to
        values["sender"] = values.get("sender") or to
        values["templates"] = self.templates(table.get("templates", {}))
        smtp_table = table.get("smtp")
        if smtp_table is not None:
            if not isinstance(smtp_table, dict):
                raise self.fail(f"{where}.smtp", "must be a [digest.smtp] table")
            values["smtp"] = self.smtp(smtp_table, account)
        delivery = values.setdefault("delivery", "smtp" if "smtp" in values else "")
        if delivery in ("smtp", "both") and "smtp" not in values:
            raise self.fail(
                f"{where}.delivery", f'is "{delivery}" but there is no [digest.smtp] table'
            )
        return self.build(DigestSettings, where, values)

    def templates(self, table: object) -> tuple[tuple[str, str], ...]:
        # [digest.templates] holds English texts, [digest.templates.de] German ones: "de.first".
        flat = dict(table) if isinstance(table, dict) else {}
        for key, value in list(flat.items()):
            if isinstance(value, dict):
                del flat[key]
                flat.update({f"{key}.{name}": text for name, text in value.items()})
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in flat.values()):
            raise self.fail("digest.templates", 'must be a table of strings, e.g. first = "..."')
        return tuple(sorted(flat.items()))

    def smtp(self, table: dict[str, Any], account: Account) -> SmtpServer:
        where = "digest.smtp"
        self.check_keys(table, toml_keys(SmtpServer), where)
        values = self.read_values(table, SmtpServer, where)
        values.setdefault("port", SMTP_PORTS.get(values.get("security", ""), 587))
        if values.get("security") == "none":  # a relay on this machine: no login to copy in
            return self.build(SmtpServer, where, values)
        values["username"] = values.get("username") or account.username
        if any(key in table for key in _SECRET_SOURCES):
            values["name"] = f"{account.name}-smtp"
        else:  # Same login as the mail account: one password to manage.
            values.update(
                name=account.name,
                password_command=account.password_command,
                password_env=account.password_env,
                credential=account.credential,
                oauth2_token_command=account.oauth2_token_command,
                password_file=account.password_file,
            )
        return self.build(SmtpServer, where, values)
