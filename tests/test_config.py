from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config.settings import load_settings, parse_settings
from watcher.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent

MINIMAL = """
[[accounts]]
name = "work"
host = "imap.example.com"
addresses = ["Me@Example.com"]
"""


def test_example_config_loads() -> None:
    settings = load_settings(REPO / "config.example.toml")
    account = settings.account("work")
    assert account.host == "imap.example.com"
    assert account.port == 993
    assert settings.timezone == "Europe/Berlin"
    assert settings.lookback_days == 90


def test_defaults_and_normalisation() -> None:
    settings = parse_settings(MINIMAL)
    account = settings.accounts[0]
    assert account.addresses == ("me@example.com",)
    assert account.username == "me@example.com"
    assert account.security == "ssl"
    assert account.include_folders == ("*",)
    assert settings.lookback_days == 90


def test_starttls_defaults_to_port_143() -> None:
    settings = parse_settings(MINIMAL + 'security = "starttls"\n')
    assert settings.accounts[0].port == 143


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, Path("/etc/config.toml"))
    return str(caught.value)


def test_bad_value_names_line_key_and_fix() -> None:
    message = _error(MINIMAL + "port = 0\n")
    assert message == "config.toml line 6: accounts[1].port must be a whole number from 1 to 65535"


def test_unknown_key_is_an_error_with_its_line() -> None:
    message = _error("lookback_days = 5\nlookbak = 3\n" + MINIMAL)
    assert message.startswith("config.toml line 2: lookbak is not a known setting")


def test_password_in_config_is_refused() -> None:
    message = _error(MINIMAL + 'password = "hunter2"\n')
    assert "accounts[1].password is not a known setting" in message
    assert "hunter2" not in message


def test_wrong_type_says_what_is_wanted() -> None:
    assert "must be a whole number" in _error('lookback_days = "ninety"\n' + MINIMAL)
    assert "must be a whole number" in _error(MINIMAL + "port = true\n")


def test_bad_timezone_and_security() -> None:
    assert "not an IANA time zone" in _error('timezone = "Mars/Olympus"\n' + MINIMAL)
    assert '"ssl" (port 993)' in _error(MINIMAL + 'security = "tls"\n')


def test_invalid_toml_is_one_line() -> None:
    message = _error("[[accounts]\nname=")
    assert message.startswith("config.toml: not valid TOML:")
    assert "\n" not in message


def test_second_account_errors_point_at_it() -> None:
    text = MINIMAL + '\n[[accounts]]\nname = "home"\nhost = "h"\naddresses = ["x"]\n'
    assert _error(text) == (
        "config.toml line 10: accounts[2].addresses has 'x', which is not an email address"
    )


def test_duplicate_account_names() -> None:
    assert "'work' is used twice" in _error(MINIMAL + MINIMAL)


def test_maildir_account() -> None:
    settings = parse_settings('[[accounts]]\nname = "l"\nmaildir = "~/Mail"\naddresses = ["a@b.c"]')
    assert settings.accounts[0].is_maildir
    assert "does not apply to a maildir" in _error(
        '[[accounts]]\nname = "l"\nmaildir = "~/Mail"\naddresses = ["a@b.c"]\nport = 1'
    )


def test_no_accounts() -> None:
    assert "no [[accounts]] table" in _error("lookback_days = 3\n")


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"copy config\.example\.toml"):
        load_settings(tmp_path / "nope.toml")


def test_ca_file_must_exist(tmp_path: Path) -> None:
    assert "not a readable file" in _error(MINIMAL + f'ca_file = "{tmp_path}/missing.pem"\n')


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('username = "me\\u0000@example.com"', "accounts[1].username"),
        ('aliases = ["me@example.com\\u001b]8;;http://evil/\\u0007"]', "accounts[1].aliases"),
        ('include_folders = ["INBOX\\r\\nA1 DELETE INBOX"]', "accounts[1].include_folders"),
        ('password_env = "PW\\u007f"', "accounts[1].password_env"),
    ],
)
def test_control_characters_are_refused_in_any_setting(line: str, key: str) -> None:
    message = _error(MINIMAL + line + "\n")
    assert message.startswith(f"config.toml line 6: {key} contains a line break or other control")


def test_commands_and_patterns_may_hold_any_character() -> None:
    settings = parse_settings(
        MINIMAL + 'password_command = "pass show mail\\n"\n'
        '[[rules]]\nsubject = "quote\\tQ[0-9]+"\nkind = "proposal"\n'
    )
    assert settings.accounts[0].password_command == "pass show mail\n"


def test_state_dir_naming_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("", encoding="utf-8")
    assert _error(f'state_dir = "{tmp_path / "state"}"\n' + MINIMAL) == (
        f"config.toml line 1: state_dir names '{tmp_path / 'state'}', which is a file, not a "
        "directory; set state_dir to a directory (or move the file away)"
    )


def test_colleagues_and_track_internal() -> None:
    settings = parse_settings(
        'colleagues = ["*@Corp.example", "@partner.example", "jo@gmail.com"]\n'
        "track_internal = true\n"
        + MINIMAL
        + '\n[[rules]]\ndomain = "finance.corp.example"\ntrack_internal = false\n'
    )
    assert settings.colleagues == ("*@corp.example", "@partner.example", "jo@gmail.com")
    assert settings.tracking.track_internal
    assert settings.tracking.rules[0].track_internal is False
    assert parse_settings(MINIMAL).colleagues == ()
    assert not parse_settings(MINIMAL).tracking.track_internal


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('["gmail.com"]', "gmail.com is a public mail provider, where anyone can have an address"),
        ('["*@hotmail.co.uk"]', "hotmail.co.uk is a public mail provider"),
        ('["*@*"]', "matches too much"),
        ('["corp"]', "not a domain"),
        ('["a b@corp.example"]', 'write an address pattern such as "*@corp.example"'),
        ('["jane@"]', 'write an address pattern such as "*@corp.example"'),
        ('"corp.example"', None),  # one string is a list of one
        ("[1]", "must be a list of strings"),
    ],
)
def test_colleagues_errors_name_the_entry_and_the_fix(value: str, problem: str | None) -> None:
    text = f"colleagues = {value}\n" + MINIMAL
    if problem is None:
        assert parse_settings(text).colleagues == ("corp.example",)
        return
    message = _error(text)
    assert message.startswith("config.toml line 1: colleagues ")
    assert problem in message
    assert "\n" not in message


def test_track_internal_must_be_true_or_false() -> None:
    message = _error('track_internal = "yes"\n' + MINIMAL)
    assert message == "config.toml line 1: track_internal must be true or false"
    message = _error(MINIMAL + '[[rules]]\ndomain = "a.example"\ntrack_internal = 1\n')
    assert message == "config.toml line 8: rules[1].track_internal must be true or false"
