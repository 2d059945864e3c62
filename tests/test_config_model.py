"""The settings model: each setting written once, checked when built, the SMTP server a type.

A settings class lists its settings as fields; the TOML keys a table may hold follow from
them, and the same checks run whether the settings come from a file or are built in code
(as `watcher demo` builds them): the same one-line message, with a line number only when
there is a file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher.cli.init_cmd import init_command
from watcher.config.checks import settings_of, toml_keys
from watcher.config.digest import DigestSettings, SmtpServer
from watcher.config.settings import Account, Settings, parse_settings
from watcher.config.tracking import Rule, Tracking
from watcher.errors import ConfigError

ACCOUNT = '[[accounts]]\nname = "work"\nhost = "imap.x.example"\naddresses = ["me@x.example"]\n'
WORK = {"name": "work", "addresses": ("me@x.example",), "host": "imap.x.example"}
# Fields that are not keys of their table: computed, or taken from elsewhere.
NOT_KEYS = {
    Settings: {"path"},
    Rule: {"number"},
    # the account's, unless it has its own login
    SmtpServer: {"name", "oauth2_token_command", "password_file"},
}


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text)
    return str(caught.value)


def _built_error(build: Callable[[], object]) -> str:
    with pytest.raises(ConfigError) as caught:
        build()
    return str(caught.value)


# -- a setting is one field ---------------------------------------------------------------


@pytest.mark.parametrize("cls", [Settings, Tracking, Rule, Account, DigestSettings, SmtpServer])
def test_every_field_is_a_setting_and_its_key_is_allowed(cls: type) -> None:
    fields = {f.name for f in dataclasses.fields(cls)}
    settings = dict(settings_of(cls))
    assert fields - set(settings) == NOT_KEYS.get(cls, set())
    assert {s.key for s in settings.values() if s.kind != "inline"} <= toml_keys(cls)


def test_the_known_keys_are_the_fields() -> None:
    message = _error(ACCOUNT + "colour = 1\n")
    known = message.partition("known here: ")[2].rstrip(")").split(", ")
    assert set(known) == toml_keys(Account)
    top = _error("colour = 1\n" + ACCOUNT).partition("known here: ")[2].rstrip(")").split(", ")
    # The top-level table holds the tracking settings too (track, rules, ...).
    assert (
        set(top)
        == toml_keys(Settings)
        == {
            *("state_dir", "sync_interval", "timezone", "lookback_days", "accounts", "track"),
            *("track_internal", "colleagues", "default_quiet_days", "business_days"),
            *("remind_every", "give_up_after", "keywords", "keyword_prefix", "rules", "digest"),
        }
    )


def test_a_setting_with_another_key_than_its_field() -> None:
    settings = parse_settings("sync_interval = 2.5\n" + ACCOUNT + '[digest]\nto = "A@x.example"\n')
    assert settings.sync_interval_minutes == 2.5
    assert settings.digest.recipient == "a@x.example"
    assert "sync_interval_minutes is not a known setting" in _error(
        "sync_interval_minutes = 2\n" + ACCOUNT
    )


# -- checked when built -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Account(**{**WORK, "port": 0}),
            "accounts.port must be a whole number from 1 to 65535",
        ),
        (
            lambda: Account(**{**WORK, "name": "my work"}),
            "accounts.name must be a short name of letters, digits, '.', '_' or '-' "
            '(e.g. "work")',
        ),
        (
            lambda: Account(name="work", host="h"),
            'accounts.addresses is missing; list your own email addresses, e.g. ["me@example.com"]',
        ),
        (
            lambda: Account(**{**WORK, "security": "none"}),
            "accounts.security is \"none\" (no TLS) for 'imap.x.example', which is not this "
            "machine: the password and your mail would cross the network in clear; use "
            '"ssl" or "starttls", or set allow_insecure = true on this account to accept that',
        ),
        (
            lambda: Account(**{**WORK, "maildir": Path("/m")}),
            "accounts.maildir and host are both set; an account reads one or the other",
        ),
        (
            lambda: Settings(timezone="Mars/Olympus"),
            "timezone is 'Mars/Olympus', not an IANA time zone name such as \"Europe/Berlin\"",
        ),
        (
            lambda: Settings(lookback_days=-1),
            "lookback_days must be 0 (read everything) or a positive number of days, at most 36500",
        ),
        (
            lambda: Settings(accounts=(Account(**WORK), Account(**WORK))),  # type: ignore[arg-type]
            "accounts[2].name 'work' is used twice",
        ),
        (
            lambda: Settings(digest=DigestSettings(account="nope")),
            "digest.account names 'nope', which is no account",
        ),
        (
            lambda: DigestSettings(at="7.30"),
            'digest.at is \'7.30\'; give a local time as "HH:MM", e.g. "07:30"',
        ),
        (
            lambda: DigestSettings(recipient="me@x.example\nBcc: them@y.example"),
            "digest.to contains a line break or other control character ('\\n'); write it "
            "as one line of text",
        ),
        (
            lambda: DigestSettings(webmail="javascript:alert('{message_id}')"),
            'digest.webmail must be "gmail", "outlook", "fastmail", or an http or https URL '
            'with {message_id} in it, e.g. "https://mail.example.com/search?q={message_id}"',
        ),
        (
            lambda: DigestSettings(templates=(("first", "Hi {nmae}"),)),
            "digest.templates.first unknown placeholder {nmae}; use {first_name}, {greeting}, "
            "{subject}, {kind}, {sent_on}, {days}, {attachments}, {about}, {call_days}, {offer}, "
            "{noted}, {noted_on}, {signature}",
        ),
        (
            lambda: SmtpServer(host="smtp.x.example", security="tls"),  # type: ignore[arg-type]
            'digest.smtp.security is \'tls\'; use "starttls" (port 587), "ssl" (port 465), or '
            '"none" for a mail relay on this machine (port 25)',
        ),
        (lambda: SmtpServer(), 'digest.smtp.host is missing; e.g. host = "smtp.example.com"'),
        (
            lambda: Tracking(default_quiet_days=0),
            "default_quiet_days must be a whole number of days, 1 or more (at most 3650)",
        ),
        (
            lambda: Tracking(remind_every=()),
            "remind_every must be a list of positive whole numbers of days (at most 3650), "
            "e.g. [3, 7, 14]",
        ),
        (
            lambda: Rule(number=2, domain="acme.example", kind="invoice"),
            "rules[2].kind must be one of proposal, quote, estimate, offer, contract, agreement",
        ),
        (
            lambda: Rule(number=3),
            "rules[3] matches everything; give it contact, domain, subject or kind",
        ),
    ],
)
def test_settings_built_in_code_are_checked(build: Callable[[], object], message: str) -> None:
    # Before, each of these was accepted, and failed (or misbehaved) only when used.
    assert _built_error(build) == message


@pytest.mark.parametrize(
    ("toml", "line", "build"),
    [
        (ACCOUNT + "port = 0\n", "line 5: accounts[1].port", lambda: Account(**WORK, port=0)),  # type: ignore[arg-type]
        (
            'timezone = "Mars/Olympus"\n' + ACCOUNT,
            "line 1: timezone",
            lambda: Settings(timezone="Mars/Olympus"),
        ),
        (ACCOUNT + "[[rules]]\nignore = true\n", "line 5: rules[1]", lambda: Rule(number=1)),
        (ACCOUNT + "[digest.smtp]\nport = 25\n", "line 5: digest.smtp.host", lambda: SmtpServer()),
        (
            ACCOUNT + '[digest]\nat = "7.30"\n',
            "line 6: digest.at",
            lambda: DigestSettings(at="7.30"),
        ),
    ],
)
def test_the_file_and_the_code_say_the_same(
    toml: str, line: str, build: Callable[[], object]
) -> None:
    built = _built_error(build)
    problem = built.split(" ", 1)[1]
    assert _error(toml) == f"config {line} {problem}"


def test_built_settings_are_cleaned_as_read_ones() -> None:
    account = Account(name="work", addresses=(" Me@X.example",), host="h")
    assert account.addresses == ("me@x.example",)
    assert account.username == "me@x.example"  # the login defaults to the first address
    assert Account(name="w", host="h", username="Me@X.example").addresses == ("me@x.example",)
    rule = Rule(number=1, contact="Ana@Acme.Example ", domain="@Acme.Example")
    assert (rule.contact, rule.domain) == ("ana@acme.example", "acme.example")
    assert Settings(colleagues=("*@Corp.example",)).colleagues == ("*@corp.example",)


# -- the SMTP server is a type of its own ---------------------------------------------------


def test_the_smtp_server_is_not_an_account() -> None:
    settings = parse_settings(
        ACCOUNT.replace("addresses", 'password_command = "pass mail"\naddresses')
        + '[digest.smtp]\nhost = "smtp.x.example"\nsecurity = "ssl"\n'
    )
    smtp = settings.digest.smtp
    assert isinstance(smtp, SmtpServer)
    assert not hasattr(smtp, "include_folders") and not hasattr(smtp, "maildir")
    # The account's login, unless the table gives one of its own.
    assert (smtp.name, smtp.username, smtp.password_command, smtp.port) == (
        "work",
        "me@x.example",
        "pass mail",
        465,
    )
    own = parse_settings(
        ACCOUNT + '[digest.smtp]\nhost = "s.x.example"\nusername = "u"\npassword_env = "PW"\n'
    ).digest.smtp
    assert own is not None
    assert (own.name, own.username, own.password_env, own.password_command) == (
        "work-smtp",
        "u",
        "PW",
        "",
    )


def test_smtp_keys_are_its_own() -> None:
    assert "digest.smtp.maildir is not a known setting" in _error(
        ACCOUNT + '[digest.smtp]\nhost = "s.x.example"\nmaildir = "~/Mail"\n'
    )
    assert toml_keys(SmtpServer) == {
        *("host", "port", "security", "username", "ca_file", "timeout_seconds"),
        *("password_command", "password_env", "credential"),
    }


def test_init_refuses_plain_text_to_another_machine_before_any_login(tmp_path: Path) -> None:
    # Before, init logged in over plain text (the password in clear) and refused afterwards.
    result = CliRunner().invoke(
        init_command,
        [
            *("--email", "me@x.example", "--host", "imap.x.example", "--security", "none"),
            *("--port", "1", "--password-stdin", "--config", str(tmp_path / "c.toml")),
        ],
        input="pw\n",
    )
    assert result.exit_code == 2
    assert re.match(r'error: accounts\.security is "none" \(no TLS\)', result.stderr)
    assert result.stderr.endswith("; nothing was written\n")
    assert not (tmp_path / "c.toml").exists()
