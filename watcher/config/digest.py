"""The `[digest]` and `[digest.smtp]` tables of config.toml, as frozen settings.

The digest (`watcher.digest`) renders, suggests and sends with these; the settings live here
so that the config loader needs nothing from the digest.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from watcher.config.checks import (
    SettingError,
    check_ca_file,
    check_clock,
    check_port,
    check_positive,
    control_character_problem,
    setting,
    unknown_key_problem,
    validate,
)

SmtpSecurity = Literal["ssl", "starttls", "none"]
# The port of [digest.smtp] when none is set, by its security: submission, SMTPS, or a relay's.
SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DELIVERIES = ("smtp", "imap", "both", "sendmail")
SENDMAIL_COMMAND = "/usr/sbin/sendmail -t -oi"

# Webmail links to the original thread, by the Message-ID of my sent message.
WEBMAILS = {
    "gmail": "https://mail.google.com/mail/u/0/#search/rfc822msgid%3A{message_id}",
    "outlook": "https://outlook.office.com/mail/search?q={message_id}",
    "fastmail": "https://app.fastmail.com/mail/search:msgid%3A{message_id}",
}
# Suggested follow-up texts the user can replace: in [digest.templates] (English) or
# [digest.templates.<language>], with a `signature` of its own there.
TEMPLATE_NAMES = ("first", "reminder", "long_quiet", "last")
# The languages of the built-in texts (digest/suggestions/<language>.toml); config/ cannot
# import analysis/, so this repeats analysis.language.LANGUAGES (a test keeps them equal).
TEMPLATE_LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "pt", "sv")
# Placeholders a user template may use (digest/suggest.py says what each stands for).
PLACEHOLDERS = (
    *("first_name", "greeting", "subject", "kind", "sent_on", "days", "attachments"),
    *("about", "call_days", "offer", "noted", "noted_on", "signature"),
)
_SIGNATURE_LINES = 6
# What `digest.suggest` fills in for one proposal, with the same types: a template that takes
# these takes every real one.
_SAMPLE = {
    "first_name": "Ana",
    "greeting": "Hi Ana,",
    "subject": "Website",
    "kind": "proposal",
    "sent_on": "12 November",
    "days": 12,
    "attachments": "Proposal.pdf",
    "about": "the proposal (Proposal.pdf)",
    "call_days": "Thursday or Friday",
    "offer": "If the timing is the issue, I'm happy to move the start date.",
    "noted": " or my note of 20 November",
    "noted_on": "20 November",
    "signature": "Best,\nMaya",
}


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").strip("\n")


def check_signature(text: str) -> str | None:
    """Why a sign-off cannot close a follow-up, or None: a few lines of text."""
    lines = text.replace("\r\n", "\n").strip("\n").split("\n")
    for line in lines:
        problem = control_character_problem(line)
        if problem:
            return problem
    if len(lines) > _SIGNATURE_LINES:
        return (
            f"has {len(lines)} lines; a sign-off is a closing and a name "
            f'(at most {_SIGNATURE_LINES} lines), e.g. "Best,\\nMaya"'
        )
    return None


def template_key_problem(name: str) -> str | None:
    """Why `name` is no key of [digest.templates] ("first", "de.first", "de.signature"), or None."""
    language, dot, text = name.rpartition(".")
    if dot and language not in TEMPLATE_LANGUAGES:
        known = ", ".join(TEMPLATE_LANGUAGES)
        return f"is not a language of the texts ({known}): write [digest.templates.de] etc."
    if text not in (*TEMPLATE_NAMES, "signature"):
        return unknown_key_problem({*TEMPLATE_NAMES, "signature"})
    return None


def check_smtp_host(value: str) -> str | None:
    return None if value else 'is missing; e.g. host = "smtp.example.com"'


def check_smtp_security(value: str) -> str | None:
    if value in SMTP_PORTS:
        return None
    return (
        f'is {value!r}; use "starttls" (port 587), "ssl" (port 465), or "none" for a mail '
        "relay on this machine (port 25)"
    )


def check_delivery(value: str) -> str | None:
    if not value or value in DELIVERIES:
        return None
    return (
        'must be "smtp", "imap" (append to your inbox), "both", or "sendmail" '
        "(hand it to this machine's mail system)"
    )


def check_sendmail_command(value: str) -> str | None:
    try:
        words = shlex.split(value)
    except ValueError as exc:  # an unclosed quote
        return f"cannot be split into words ({exc}); e.g. {SENDMAIL_COMMAND!r}"
    return None if words else f"is empty; e.g. {SENDMAIL_COMMAND!r}"


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (a loopback address or a `localhost` name)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_commands_to(value: str) -> str | None:
    if not value or re.fullmatch(r"[^\s@<>,;:\"()\[\]\\]+@[a-z0-9.-]+\.[a-z]{2,}", value, re.I):
        return None
    return 'must be one plain address, e.g. "you+followup@example.com" (or "" for automatic)'


def check_webmail(value: str) -> str | None:
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


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """The `[digest.smtp]` table: where the digest is submitted, over verified TLS, or in
    plain SMTP without a login to a mail relay on this machine (`security = "none"`).

    Without a password source of its own it logs in as the digest's account does (one
    password to manage): the loader copies that account's name and sources in, except for
    "none" (a local relay takes no login).
    """

    host: str = setting("", check=check_smtp_host)
    port: int = setting(587, check=check_port)  # the loader's default: SMTP_PORTS
    security: SmtpSecurity = setting("starttls", check=check_smtp_security)
    username: str = setting("")
    ca_file: Path | None = setting(None, kind="path", check=check_ca_file)
    timeout_seconds: float = setting(60.0, check=check_positive)
    password_command: str = setting("", free_text=True)
    password_env: str = setting("")
    credential: str = setting("")  # name of a systemd credential holding the password
    # Not keys of [digest.smtp]: the name in messages and credentials, the account's token
    # and password file (copied in by the loader).
    name: str = "smtp"
    oauth2_token_command: str = ""
    password_file: Path | None = None

    def __post_init__(self) -> None:
        validate(self, "digest.smtp")
        if self.security == "none":
            problem = self._plain_problem()
            if problem:
                raise SettingError("digest.smtp", *problem)

    def _plain_problem(self) -> tuple[str, str] | None:
        """Which key makes plain SMTP unsafe, and why: only to this machine, and no login
        (a password in clear text, even on loopback, is one any local process may read)."""
        if not is_loopback(self.host):
            return "security", (
                f'is "none" (plain SMTP) for {self.host!r}, which is not this machine: the '
                'digest would cross the network in clear; use "starttls" or "ssl", or a mail '
                'relay on this machine (host = "localhost")'
            )
        login = ("username", "password_command", "password_env", "credential")
        given = [key for key in login if getattr(self, key)]
        if given:
            return given[0], (
                'is set, but security = "none" is for a relay on this machine, which takes no '
                'login (the password would go in clear): remove it, or use "starttls" or "ssl"'
            )
        return None


@dataclass(frozen=True, slots=True)
class DigestSettings:
    at: str = setting("07:30", check=check_clock)  # local time of the morning digest
    # a daemon that was down sends the day's digest until then
    catch_up_until: str = setting("12:00", check=check_clock)
    recipient: str = setting("", key="to", clean=str.lower)
    sender: str = setting("", key="from")
    # the IMAP account used for appending and the exactly-once check (drafts go to each
    # thread's own account)
    account: str = setting("")
    # "smtp", "imap", "both", "sendmail"; "" = not configured (preview only)
    delivery: str = setting("", check=check_delivery)
    # With delivery = "sendmail": the command the message is piped to (split like a shell
    # would, never run by one); the recipients come from the message (-t).
    sendmail_command: str = setting(SENDMAIL_COMMAND, check=check_sendmail_command)
    send_when_empty: bool = setting(False)
    webmail: str = setting("", check=check_webmail)
    drafts: bool = setting(False)
    # One-tap Done / Snooze / Mute / Not a proposal links on every card, and commands in a
    # reply to the digest; `commands_to`: where the command mail goes ("" = you, with
    # "+followup" where your provider delivers plus-addresses).
    commands: bool = setting(True)
    commands_to: str = setting("", clean=str.lower, check=check_commands_to)
    # The sign-off of every suggested follow-up ("Best,\nMaya"), unless a language has its own
    # (`signature` in [digest.templates.<language>]); "" = learned from my sent mail.
    signature: str = setting("", free_text=True, clean=_lines, check=check_signature)
    # (name, text): "first", "de.first", "de.signature", ...
    templates: tuple[tuple[str, str], ...] = setting((), kind="table")
    smtp: SmtpServer | None = setting(None, kind="table")

    def __post_init__(self) -> None:
        validate(self, "digest")
        for name, text in self.templates:
            problem = template_key_problem(name)
            if problem is None:
                last = name.rpartition(".")[2]
                problem = check_signature(text) if last == "signature" else check_template(text)
            if problem:
                raise SettingError("digest", f"templates.{name}", problem)

    def link_to(self, message_id: str) -> str:
        """A link that opens the original thread in the configured webmail, or ""."""
        template = WEBMAILS.get(self.webmail, self.webmail)
        if not template or not message_id:
            return ""
        from urllib.parse import quote

        return template.replace("{message_id}", quote(message_id.strip("<>"), safe="@"))


def sendmail_argv(settings: DigestSettings) -> list[str]:
    """`sendmail_command` as the argument list it is run with."""
    return shlex.split(settings.sendmail_command)


def check_template(text: str) -> str | None:
    """Why a follow-up template cannot be used, or None: for the config loader to report."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"{exc} (write {{{{ and }}}} for literal braces)"
    for _, field, spec, _ in fields:
        if field is None:
            continue
        if spec and "{" in spec:
            return f"nested placeholders are not supported: {{{field}:{spec}}}"
        if field not in PLACEHOLDERS:
            # Attribute and index access ("{subject.__class__}") is refused too.
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            return f"unknown placeholder {{{field}}}; use {known}"
    try:
        text.format_map(_SAMPLE)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return f"cannot be filled in: {exc}"
    return None
