"""Load `config.toml` once into frozen, typed settings.

Every error names the file, the line where it can be found, the key with its table path, and
the fix, e.g. `config.toml line 12: accounts[1].port must be an integer from 1 to 65535`.
Unknown keys are errors too: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watcher.config.checks import (
    MAX_DAYS,
    LineFinder,
    TableReader,
    check_days,
    check_non_negative,
    check_positive,
    one_line,
    unsafe_path_problem,
)
from watcher.config.digest import TEMPLATE_NAMES, WEBMAILS, DigestSettings, check_template
from watcher.config.tracking import KINDS, Rule, Tracking
from watcher.errors import ConfigError
from watcher.identity import is_public_mail_domain

Security = Literal["ssl", "starttls", "none"]
SECURITY_CHOICES: tuple[Security, ...] = ("ssl", "starttls", "none")
DEFAULT_PORTS: dict[str, int] = {"ssl": 993, "starttls": 143, "none": 143}
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Account:
    """One mailbox to read: an IMAP server, or a local Maildir."""

    name: str
    addresses: tuple[str, ...]  # the user's own addresses, lower-case; the first is the main one
    aliases: tuple[str, ...] = ()
    host: str = ""
    port: int = 993
    security: Security = "ssl"
    username: str = ""
    maildir: Path | None = None
    include_folders: tuple[str, ...] = ("*",)
    exclude_folders: tuple[str, ...] = ()
    ca_file: Path | None = None
    timeout_seconds: float = 60.0
    password_command: str = ""
    oauth2_token_command: str = ""  # prints a fresh OAuth2 access token (XOAUTH2)
    password_env: str = ""
    credential: str = ""  # name of a systemd credential holding the password
    allow_insecure: bool = False  # security = "none" to a host that is not this machine

    @property
    def is_maildir(self) -> bool:
        return self.maildir is not None

    @property
    def own_addresses(self) -> tuple[str, ...]:
        return self.addresses + self.aliases


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration, as read from one file."""

    path: Path | None
    state_dir: Path
    timezone: str
    lookback_days: int
    accounts: tuple[Account, ...] = field(default=())
    tracking: Tracking = field(default_factory=Tracking)
    # More colleagues than the domains I send from: address patterns or bare domains.
    colleagues: tuple[str, ...] = ()
    sync_interval_minutes: float = 10.0
    digest: DigestSettings = field(default_factory=lambda: DigestSettings())

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


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (a loopback address or a `localhost` name)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_settings(text: str, path: Path | None = None) -> Settings:
    """Check TOML text and build `Settings`; `path` is only used in messages."""
    label = path.name if path else "config"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(one_line(f"{label}: not valid TOML: {exc}")) from None
    reader = _SettingsReader(data, LineFinder(text), label)
    return reader.settings(path)


class _SettingsReader(TableReader):
    """Builds `Settings` from the parsed TOML."""

    # Shell commands the user wrote for themselves, and a regular expression: these may
    # hold any character. Every other string is one line of text.
    free_text = frozenset({"password_command", "oauth2_token_command", "subject"})

    def settings(self, path: Path | None) -> Settings:
        data = self.data
        self.check_keys(data, _TOP_KEYS, "")
        state_dir_text = self.get(data, "state_dir", "", str, "")
        state_dir = Path(state_dir_text).expanduser() if state_dir_text else default_state_dir()
        if state_dir.exists() and not state_dir.is_dir():
            raise self.fail(
                "state_dir",
                f"names {str(state_dir)!r}, which is a file, not a directory; "
                "set state_dir to a directory (or move the file away)",
            )
        timezone = self.get(data, "timezone", "", str, "UTC", _check_timezone)
        lookback = self.get(data, "lookback_days", "", int, 90, check_non_negative)
        interval = self.get(data, "sync_interval", "", float, 10.0, _check_interval)
        raw_accounts = data.get("accounts", [])
        if not isinstance(raw_accounts, list) or not all(isinstance(a, dict) for a in raw_accounts):
            raise self.fail("accounts", "must be written as [[accounts]] tables")
        if not raw_accounts:
            raise ConfigError(
                f"{self.label}: no [[accounts]] table; add one (see config.example.toml)"
            )
        accounts = tuple(self.account(a, i + 1) for i, a in enumerate(raw_accounts))
        names = [a.name for a in accounts]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise self.fail(f"accounts[{i + 1}].name", f"{name!r} is used twice")
        return Settings(
            path=path,
            state_dir=state_dir,
            timezone=timezone,
            lookback_days=lookback,
            sync_interval_minutes=interval,
            accounts=accounts,
            tracking=self.tracking(),
            colleagues=self.colleagues(),
            digest=self.digest(accounts),
        )

    def digest(self, accounts: tuple[Account, ...]) -> DigestSettings:
        where = "digest"
        table = self.data.get("digest", {})
        if not isinstance(table, dict):
            raise self.fail(where, "must be a [digest] table")
        self.check_keys(table, _DIGEST_KEYS, where)
        imap_accounts = [a for a in accounts if not a.is_maildir]
        account_name = self.get(table, "account", where, str, "")
        if account_name and account_name not in {a.name for a in accounts}:
            raise self.fail(f"{where}.account", f"names {account_name!r}, which is no account")
        account = next((a for a in accounts if a.name == account_name), None) or (
            imap_accounts[0] if imap_accounts else accounts[0]
        )
        to = self.get(table, "to", where, str, "") or account.addresses[0]
        templates = table.get("templates", {})
        if not isinstance(templates, dict) or not all(
            isinstance(v, str) for v in templates.values()
        ):
            raise self.fail(f"{where}.templates", 'must be a table of strings, e.g. first = "..."')
        self.check_keys(templates, set(TEMPLATE_NAMES), f"{where}.templates")
        for name, text in templates.items():
            problem = check_template(text)
            if problem:
                raise self.fail(f"{where}.templates.{name}", problem)
        smtp_table = table.get("smtp")
        smtp = None
        if smtp_table is not None:
            if not isinstance(smtp_table, dict):
                raise self.fail(f"{where}.smtp", "must be a [digest.smtp] table")
            smtp = self.smtp(smtp_table, account)
        delivery = self.get(table, "delivery", where, str, "smtp" if smtp else "", _check_delivery)
        if delivery in ("smtp", "both") and smtp is None:
            raise self.fail(
                f"{where}.delivery", f'is "{delivery}" but there is no [digest.smtp] table'
            )
        return DigestSettings(
            at=self.get(table, "at", where, str, "07:30", _check_clock),
            catch_up_until=self.get(table, "catch_up_until", where, str, "12:00", _check_clock),
            recipient=to.lower(),
            sender=self.get(table, "from", where, str, "") or to,
            account=account.name,
            delivery=delivery,
            send_when_empty=self.get(table, "send_when_empty", where, bool, False),
            webmail=self.get(table, "webmail", where, str, "", _check_webmail),
            drafts=self.get(table, "drafts", where, bool, False),
            templates=tuple(sorted(templates.items())),
            smtp=smtp,
        )

    def smtp(self, table: dict[str, Any], account: Account) -> Account:
        where = "digest.smtp"
        self.check_keys(table, _SMTP_KEYS, where)
        host = self.get(table, "host", where, str, "")
        if not host:
            raise self.fail(f"{where}.host", 'is missing; e.g. host = "smtp.example.com"')
        security = self.get(table, "security", where, str, "starttls", _check_smtp_security)
        ca_file = self.ca_file(table, where)
        own_secret = any(k in table for k in ("password_command", "password_env", "credential"))
        # Same login as the mail account unless told otherwise: one password to manage.
        source = account if not own_secret else None
        return Account(
            name=f"{account.name}-smtp" if own_secret else account.name,
            addresses=account.addresses,
            host=host,
            port=self.get(
                table, "port", where, int, 465 if security == "ssl" else 587, _check_port
            ),
            security=security,  # type: ignore[arg-type]  # checked by _check_smtp_security
            username=self.get(table, "username", where, str, "") or account.username,
            ca_file=ca_file,
            timeout_seconds=self.get(table, "timeout_seconds", where, float, 60.0, check_positive),
            password_command=source.password_command
            if source
            else self.get(table, "password_command", where, str, ""),
            password_env=source.password_env
            if source
            else self.get(table, "password_env", where, str, ""),
            credential=source.credential
            if source
            else self.get(table, "credential", where, str, ""),
            oauth2_token_command=source.oauth2_token_command if source else "",
        )

    def ca_file(self, table: dict[str, Any], where: str) -> Path | None:
        text = self.get(table, "ca_file", where, str, "")
        if not text:
            return None
        path = Path(text).expanduser()
        try:
            readable = path.is_file()
        except OSError as exc:  # a name too long for the file system, a loop of links
            readable = False
            text = f"{text[:100]}{'…' if len(text) > 100 else ''} ({exc.strerror})"
        if not readable:
            raise self.fail(f"{where}.ca_file", f"names {text!r}, which is not a readable file")
        # Whoever could replace it could pose as the server and read the password.
        problem = unsafe_path_problem(path)
        if problem:
            raise self.fail(f"{where}.ca_file", problem)
        return path

    def tracking(self) -> Tracking:
        data = self.data
        defaults = Tracking()
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
            raise self.fail("rules", "must be written as [[rules]] tables")
        return Tracking(
            track=self.get(data, "track", "", str, defaults.track, _check_track),
            default_quiet_days=self.get(
                data, "default_quiet_days", "", int, defaults.default_quiet_days, check_days
            ),
            business_days=self.get(data, "business_days", "", bool, defaults.business_days),
            remind_every=self.days_list(data, "remind_every", "") or defaults.remind_every,
            give_up_after=self.get(
                data, "give_up_after", "", int, defaults.give_up_after, check_days
            ),
            keywords=self.strings(data, "keywords", ""),
            track_internal=self.get(data, "track_internal", "", bool, defaults.track_internal),
            keyword_prefix=self.get(data, "keyword_prefix", "", str, defaults.keyword_prefix),
            rules=tuple(self.rule(r, i + 1) for i, r in enumerate(raw_rules)),
        )

    def colleagues(self) -> tuple[str, ...]:
        found = []
        for text in self.strings(self.data, "colleagues", ""):
            pattern = text.strip().lower()
            problem = _colleague_problem(pattern)
            if problem:
                raise self.fail("colleagues", f"has {text!r}: {problem}")
            found.append(pattern)
        return tuple(found)

    def days_list(self, table: dict[str, Any], key: str, where: str) -> tuple[int, ...] | None:
        if key not in table:
            return None
        value = table[key]
        ok = (
            isinstance(value, list)
            and value
            and all(
                isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_DAYS for v in value
            )
        )
        if not ok:
            path = f"{where}.{key}" if where else key
            raise self.fail(
                path,
                f"must be a list of positive whole numbers of days (at most {MAX_DAYS}), "
                "e.g. [3, 7, 14]",
            )
        return tuple(value)

    def rule(self, table: dict[str, Any], number: int) -> Rule:
        where = f"rules[{number}]"
        self.check_keys(table, _RULE_KEYS, where)
        pattern_text = self.get(table, "subject", where, str, "")
        try:
            pattern = re.compile(pattern_text, re.IGNORECASE) if pattern_text else None
        except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999}, ((((...
            raise self.fail(
                f"{where}.subject", f"is not a valid regular expression ({exc})"
            ) from None
        rule = Rule(
            number=number,
            contact=self.get(table, "contact", where, str, "").strip().lower(),
            domain=self.get(table, "domain", where, str, "").strip().lower().lstrip("@"),
            subject=pattern,
            kind=self.get(table, "kind", where, str, "", _check_kind),
            quiet_days=self.optional(table, "quiet_days", where, int, check_days),
            business_days=self.optional(table, "business_days", where, bool),
            remind_every=self.days_list(table, "remind_every", where),
            give_up_after=self.optional(table, "give_up_after", where, int, check_days),
            ignore=self.get(table, "ignore", where, bool, False),
            track_internal=self.optional(table, "track_internal", where, bool),
            track=self.optional(table, "track", where, bool),
        )
        if not (rule.contact or rule.domain or rule.subject or rule.kind):
            raise self.fail(where, "matches everything; give it contact, domain, subject or kind")
        return rule

    def account(self, table: dict[str, Any], index: int) -> Account:
        where = f"accounts[{index}]"
        self.check_keys(table, _ACCOUNT_KEYS, where)
        for secret_key in ("password", "pass", "secret", "token"):
            if secret_key in table:  # pragma: no cover - check_keys already refuses them
                raise self.fail(f"{where}.{secret_key}", "passwords do not go in the config")
        name = self.get(table, "name", where, str, "", _check_account_name)
        if not name:
            raise self.fail(
                f"{where}.name", 'is missing; give each account a short name, e.g. "work"'
            )
        addresses = tuple(a.strip().lower() for a in self.strings(table, "addresses", where))
        aliases = tuple(a.strip().lower() for a in self.strings(table, "aliases", where))
        for key, values in (("addresses", addresses), ("aliases", aliases)):
            for value in values:
                if not _ADDRESS.match(value):
                    raise self.fail(
                        f"{where}.{key}", f"has {value!r}, which is not an email address"
                    )
        maildir_text = self.get(table, "maildir", where, str, "")
        host = self.get(table, "host", where, str, "")
        if maildir_text and host:
            raise self.fail(
                f"{where}.maildir", "and host are both set; an account reads one or the other"
            )
        username = self.get(table, "username", where, str, "")
        if not addresses:
            if _ADDRESS.match(username):
                addresses = (username.lower(),)
            else:
                raise self.fail(
                    f"{where}.addresses",
                    'is missing; list your own email addresses, e.g. ["me@example.com"]',
                )
        include = self.strings(table, "include_folders", where) or ("*",)
        exclude = self.strings(table, "exclude_folders", where)
        if maildir_text:
            for key in (
                "port",
                "security",
                "username",
                "ca_file",
                "password_command",
                "allow_insecure",
            ):
                if key in table:
                    raise self.fail(
                        f"{where}.{key}", "does not apply to a maildir account; remove it"
                    )
            return Account(
                name=name,
                addresses=addresses,
                aliases=aliases,
                maildir=Path(maildir_text).expanduser(),
                include_folders=include,
                exclude_folders=exclude,
            )
        if not host:
            raise self.fail(
                f"{where}.host", 'is missing; set host = "imap.example.com" (or maildir = "PATH")'
            )
        security = self.get(table, "security", where, str, "ssl", _check_security)
        allow_insecure = self.get(table, "allow_insecure", where, bool, False)
        if security == "none" and not allow_insecure and not is_loopback(host):
            raise self.fail(
                f"{where}.security",
                f'is "none" (no TLS) for {host!r}, which is not this machine: the password '
                'and your mail would cross the network in clear; use "ssl" or "starttls", '
                "or set allow_insecure = true on this account to accept that",
            )
        port = self.get(table, "port", where, int, DEFAULT_PORTS[security], _check_port)
        if not username:
            username = addresses[0]
        ca_file = self.ca_file(table, where)
        timeout = self.get(table, "timeout_seconds", where, float, 60.0, check_positive)
        return Account(
            name=name,
            addresses=addresses,
            aliases=aliases,
            host=host,
            port=port,
            security=security,  # type: ignore[arg-type]  # checked by _check_security
            username=username,
            include_folders=include,
            exclude_folders=exclude,
            ca_file=ca_file,
            timeout_seconds=timeout,
            password_command=self.get(table, "password_command", where, str, ""),
            oauth2_token_command=self.get(table, "oauth2_token_command", where, str, ""),
            password_env=self.get(table, "password_env", where, str, ""),
            credential=self.get(table, "credential", where, str, ""),
            allow_insecure=allow_insecure,
        )


_TOP_KEYS = {
    "state_dir",
    "sync_interval",
    "timezone",
    "lookback_days",
    "accounts",
    "track",
    "track_internal",
    "colleagues",
    "default_quiet_days",
    "business_days",
    "remind_every",
    "give_up_after",
    "keywords",
    "keyword_prefix",
    "rules",
    "digest",
}
_DIGEST_KEYS = {
    "at",
    "catch_up_until",
    "to",
    "from",
    "account",
    "delivery",
    "send_when_empty",
    "webmail",
    "drafts",
    "templates",
    "smtp",
}
_SMTP_KEYS = {
    "host",
    "port",
    "security",
    "username",
    "ca_file",
    "timeout_seconds",
    "password_command",
    "password_env",
    "credential",
}
_RULE_KEYS = {
    "contact",
    "domain",
    "subject",
    "kind",
    "quiet_days",
    "business_days",
    "remind_every",
    "give_up_after",
    "ignore",
    "track_internal",
    "track",
}

_ACCOUNT_KEYS = {
    "name",
    "host",
    "port",
    "security",
    "username",
    "addresses",
    "aliases",
    "maildir",
    "include_folders",
    "exclude_folders",
    "ca_file",
    "timeout_seconds",
    "password_command",
    "oauth2_token_command",
    "password_env",
    "credential",
    "allow_insecure",
}


def _check_interval(value: float) -> str | None:
    # Fractions are for tests; a real mailbox is polled every few minutes at most.
    return (
        None if 0.05 <= value <= 10080 else "must be a number of minutes, e.g. 10 (at most a week)"
    )


def _check_clock(value: str) -> str | None:
    hours, colon, minutes = value.partition(":")
    ok = colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
    if ok and int(hours) < 24 and int(minutes) < 60:
        return None
    return f'is {value!r}; give a local time as "HH:MM", e.g. "07:30"'


def _check_delivery(value: str) -> str | None:
    if value in ("smtp", "imap", "both"):
        return None
    return 'must be "smtp", "imap" (append to your inbox) or "both"'


def _check_smtp_security(value: str) -> str | None:
    if value in ("ssl", "starttls"):
        return None
    return f'is {value!r}; use "starttls" (port 587) or "ssl" (port 465)'


def _check_webmail(value: str) -> str | None:
    if not value or value in WEBMAILS:
        return None
    # It becomes a link in the digest: a javascript: or data: link would run where clicked.
    try:
        url = urlsplit(value)
    except ValueError:  # "https://[::1/..."
        url = urlsplit("")
    if url.scheme in ("http", "https") and url.netloc and "{message_id}" in value:
        return None
    names = ", ".join(f'"{w}"' for w in WEBMAILS)
    return (
        f"must be {names}, or an http or https URL with {{message_id}} in it, "
        'e.g. "https://mail.example.com/search?q={message_id}"'
    )


def _check_track(value: str) -> str | None:
    return None if value in ("proposals", "all") else 'must be "proposals" or "all"'


_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


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


def _check_kind(value: str) -> str | None:
    return None if value in KINDS else f"must be one of {', '.join(KINDS)}"


def _check_timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f'is {value!r}, not an IANA time zone name such as "Europe/Berlin"'
    return None


def _check_port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a whole number from 1 to 65535"


def _check_security(value: str) -> str | None:
    if value in SECURITY_CHOICES:
        return None
    return f'is {value!r}; use "ssl" (port 993), "starttls" (port 143) or "none"'


def _check_account_name(value: str) -> str | None:
    if _ACCOUNT_NAME.match(value):
        return None
    return "must be a short name of letters, digits, '.', '_' or '-' (e.g. \"work\")"
