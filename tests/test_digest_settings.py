from __future__ import annotations

import pytest

from watcher.config import parse_settings
from watcher.errors import ConfigError

ACCOUNT = '[[accounts]]\nname = "w"\nhost = "imap.x.example"\naddresses = ["me@x.example"]\n'


def test_defaults_preview_only() -> None:
    digest = parse_settings(ACCOUNT).digest
    assert (digest.at, digest.recipient, digest.sender, digest.delivery) == (
        "07:30",
        "me@x.example",
        "me@x.example",
        "",
    )
    assert not digest.send_when_empty and not digest.drafts


def test_smtp_inherits_the_account_login() -> None:
    settings = parse_settings(
        ACCOUNT.replace("addresses", 'password_command = "pass mail"\naddresses')
        + '\n[digest]\nat = "06:45"\nwebmail = "gmail"\n[digest.smtp]\nhost = "smtp.x.example"\n'
    )
    digest = settings.digest
    assert digest.delivery == "smtp" and digest.at == "06:45"
    assert digest.smtp is not None
    assert (digest.smtp.host, digest.smtp.port, digest.smtp.security) == (
        "smtp.x.example",
        587,
        "starttls",
    )
    assert digest.smtp.password_command == "pass mail"
    assert digest.link_to("<a1@x.example>") == (
        "https://mail.google.com/mail/u/0/#search/rfc822msgid%3Aa1@x.example"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[digest]\nat = "7.30"\n', "digest.at is '7.30'; give a local time as \"HH:MM\""),
        ('[digest]\ndelivery = "smtp"\n', 'digest.delivery is "smtp" but there is no'),
        ('[digest]\ndelivery = "pigeon"\n', 'digest.delivery must be "smtp", "imap"'),
        ('[digest]\nwebmail = "yahoo"\n', "digest.webmail must be one of"),
        ("[digest]\n[digest.smtp]\nport = 25\n", "digest.smtp.host is missing"),
        ('[digest]\n[digest.smtp]\nhost = "h"\nsecurity = "none"\n', "digest.smtp.security"),
        ('[digest]\naccount = "nope"\n', "digest.account names 'nope', which is no account"),
        ('[digest]\ncolour = "red"\n', "digest.colour is not a known setting"),
    ],
)
def test_digest_errors_name_the_key_and_fix(table: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(ACCOUNT + table)
    assert message in str(caught.value)


def test_bad_template_is_named_at_load() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(ACCOUNT + '[digest.templates]\nfirst = "Hi {nmae}"\n')
    assert "digest.templates.first" in str(caught.value)
