from __future__ import annotations

import pytest

from watcher.config.settings import parse_settings
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
        ('[digest]\nwebmail = "yahoo"\n', 'digest.webmail must be "gmail"'),
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


@pytest.mark.parametrize(
    ("key", "value", "found"),
    [
        ("to", "me@x.example\\nBcc: them@y.example", "\\n"),
        ("to", "me@x.example\\r", "\\r"),
        ("from", "Me <me@x.example>\\u0085", "\\x85"),
        ("from", "Me \\u001b[2J<me@x.example>", "\\x1b"),
        ("from", "me@x.example\\u2028", "\\u2028"),
        ("webmail", "https://m.example/{message_id}\\t", "\\t"),
    ],
)
def test_a_control_character_in_a_header_setting_is_refused_at_load(
    key: str, value: str, found: str
) -> None:
    # Before, a line break in `to` loaded, and each morning's digest then failed on its
    # From header and stayed pending for ever.
    with pytest.raises(ConfigError) as caught:
        parse_settings(ACCOUNT + f'[digest]\n{key} = "{value}"\n')
    assert str(caught.value) == (
        f"config line 6: digest.{key} contains a line break or other control character "
        f"('{found}'); write it as one line of text"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert('{message_id}')",
        "JavaScript:void(0)//{message_id}",
        "data:text/html,{message_id}",
        "//mail.example.com/search?q={message_id}",
        "https:///search?q={message_id}",
        "file:///home/me/{message_id}",
        "mail.example.com/search?q={message_id}",
        "https://[::1/{message_id}",
    ],
)
def test_webmail_must_be_an_http_link(url: str) -> None:
    # It becomes a link in the digest: a javascript: or data: one runs code where clicked.
    with pytest.raises(ConfigError) as caught:
        parse_settings(ACCOUNT + f'[digest]\nwebmail = "{url}"\n')
    assert str(caught.value) == (
        'config line 6: digest.webmail must be "gmail", "outlook", "fastmail", or an http or '
        "https URL with {message_id} in it, e.g. "
        '"https://mail.example.com/search?q={message_id}"'
    )


@pytest.mark.parametrize(
    "url", ["https://mail.example.com/search?q={message_id}", "HTTP://intranet/m/{message_id}"]
)
def test_webmail_url_template(url: str) -> None:
    digest = parse_settings(ACCOUNT + f'[digest]\nwebmail = "{url}"\n').digest
    assert digest.link_to("<a1@x.example>") == url.replace("{message_id}", "a1@x.example")


def test_bad_template_is_named_at_load() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(ACCOUNT + '[digest.templates]\nfirst = "Hi {nmae}"\n')
    assert "digest.templates.first" in str(caught.value)
