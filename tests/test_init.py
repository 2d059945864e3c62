"""`watcher init` against the test Dovecot: every flag (as CI runs it), the keyring or none,
answers typed at the prompts, a wrong password, an existing config. The mailbox is only read.
"""

from __future__ import annotations

import datetime as dt
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from dovecot import DovecotServer, MailUser
from mailfactory import make_message
from memorykeyring import MemoryKeyring

from watcher.cli.init_cmd import init_command
from watcher.cli.providers import provider_for
from watcher.config.settings import load_settings
from watcher.credentials import KEYRING_SERVICE, secret_of

ALIAS = "maya.lindqvist@old-studio.example"


@pytest.fixture
def user_with_sent_mail(imap_server: DovecotServer, mail_user: MailUser) -> MailUser:
    """A user whose Sent folder has mail from the main address and from an old alias."""
    when = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    for sender in (f"Maya <{mail_user.address}>", f"Maya <{ALIAS}>", mail_user.address):
        message = make_message(from_=sender, to="client@acme.example", subject="Quote", date=when)
        imap_server.append(mail_user, "Sent", message, internal_date=when)
    return mail_user


def flags(server: DovecotServer, user: MailUser, tmp_path: Path, *extra: str) -> list[str]:
    return [
        *("--email", user.address, "--host", server.host, "--port", str(server.port)),
        *("--security", "starttls", "--ca-file", str(server.ca_file), "--username", user.name),
        *("--smtp-host", "127.0.0.1", "--smtp-port", "2525", "--digest-at", "06:45"),
        *("--timezone", "Europe/Stockholm", "--state-dir", str(tmp_path / "state")),
        *("--config", str(tmp_path / "config.toml"), *extra),
    ]


def run_init(args: list[str], stdin: str = "", env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(init_command, args, input=stdin)


def test_every_flag_and_a_keyring(
    imap_server: DovecotServer,
    user_with_sent_mail: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    user = user_with_sent_mail
    before = imap_server.all_folder_states(user)
    args = flags(imap_server, user, tmp_path, "--password-stdin", "--also-me", ALIAS)
    result = run_init(args, user.password)
    assert result.exit_code == 0, result.output
    assert "Sent folder: Sent" in result.stdout
    assert f"You send as: {user.address}, {ALIAS}" in result.stdout
    assert "watcher doctor" in result.stdout and "systemctl --user" in result.stdout
    assert memory_keyring.values == {(KEYRING_SERVICE, user.name): user.password}

    path = tmp_path / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert user.password not in text
    assert '# Sent folder: "Sent"' in text
    settings = load_settings(path)
    (account,) = settings.accounts
    assert (account.host, account.port, account.security) == (
        imap_server.host,
        imap_server.port,
        "starttls",
    )
    assert (account.username, account.ca_file) == (user.name, imap_server.ca_file)
    assert account.addresses == (user.address,) and account.aliases == (ALIAS,)
    assert (settings.timezone, settings.digest.at) == ("Europe/Stockholm", "06:45")
    assert settings.state_dir == tmp_path / "state"
    smtp = settings.digest.smtp
    assert smtp is not None and (smtp.host, smtp.port, smtp.security) == (
        "127.0.0.1",
        2525,
        "starttls",
    )
    assert settings.digest.delivery == "smtp"
    assert smtp.ca_file == imap_server.ca_file  # the same server: its certificate too
    # The daemon finds the password where init put it.
    assert secret_of(account).source == "OS keyring"
    assert imap_server.all_folder_states(user) == before  # read-only


def test_without_a_keyring_and_without_a_terminal_it_names_the_flags(
    imap_server: DovecotServer, user_with_sent_mail: MailUser, no_keyring: None, tmp_path: Path
) -> None:
    # Before: it wrote password_env and said to start a service that could not log in.
    user = user_with_sent_mail
    result = run_init(flags(imap_server, user, tmp_path, "--password-stdin"), user.password)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert "no OS keyring on this machine" in line and "nothing was written" in line
    assert "--password-command CMD, --password-file PATH or --credential NAME" in line
    assert not (tmp_path / "config.toml").exists()


def test_without_a_keyring_a_password_file_only_you_can_read(
    imap_server: DovecotServer, user_with_sent_mail: MailUser, no_keyring: None, tmp_path: Path
) -> None:
    user = user_with_sent_mail
    secret_file = tmp_path / "secrets" / "mail.password"
    args = flags(
        imap_server, user, tmp_path, "--password-stdin", "--password-file", str(secret_file)
    )
    result = run_init(args, user.password)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert secret_file.read_text(encoding="utf-8") == user.password + "\n"
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    assert user.password not in text
    (account,) = load_settings(tmp_path / "config.toml").accounts
    assert account.password_file == secret_file
    assert secret_of(account).source == "password_file"  # what the daemon will read


def test_a_systemd_credential_prints_the_commands_and_the_unit_line(
    imap_server: DovecotServer, user_with_sent_mail: MailUser, no_keyring: None, tmp_path: Path
) -> None:
    user = user_with_sent_mail
    args = flags(imap_server, user, tmp_path, "--password-stdin", "--credential", "mail-pw")
    result = run_init(args, user.password)
    assert result.exit_code == 0, result.output
    assert "systemd-creds encrypt --name=mail-pw - /etc/followup-watcher/" in result.stdout
    assert "LoadCredentialEncrypted=mail-pw:/etc/followup-watcher/" in result.stdout
    (account,) = load_settings(tmp_path / "config.toml").accounts
    assert account.credential == "mail-pw"


def test_no_keyring_flag_and_a_password_command(
    imap_server: DovecotServer,
    user_with_sent_mail: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    user = user_with_sent_mail
    env = {"INIT_TEST_PW": user.password}
    command = ["--password-command", "printenv INIT_TEST_PW", "--no-keyring"]
    result = run_init(flags(imap_server, user, tmp_path, *command), env=env)
    assert result.exit_code == 0, result.output
    assert memory_keyring.values == {}
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    assert 'password_command = "printenv INIT_TEST_PW"' in text
    assert user.password not in text


def test_answers_at_the_prompts(
    imap_server: DovecotServer,
    user_with_sent_mail: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    user = user_with_sent_mail
    answers = [
        "maya@gmail.com",  # the address: Gmail's servers are proposed ...
        "n",  # ... and declined, to reach the test server instead
        imap_server.host,
        "starttls",
        str(imap_server.port),
        user.name,
        user.password,
        "y",  # Sent also has mail from the test user's own address: "also count as you?"
        "y",  # ... and from the old alias
        "-",  # no SMTP server
        "Europe/Berlin",
        "08:15",
    ]
    config = tmp_path / "config.toml"
    args = ["--config", str(config), "--ca-file", str(imap_server.ca_file)]
    result = run_init(args, "\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "imap.gmail.com:993" in result.stdout and "smtp.gmail.com:587" in result.stdout
    assert "app password" in result.stdout
    assert user.password not in result.output
    settings = load_settings(config)
    (account,) = settings.accounts
    assert (account.name, account.addresses, account.username) == (
        "gmail",
        ("maya@gmail.com",),
        user.name,
    )
    assert account.aliases == (user.address, ALIAS)  # found in Sent
    assert (settings.timezone, settings.digest.at, settings.digest.smtp) == (
        "Europe/Berlin",
        "08:15",
        None,
    )
    assert memory_keyring.values == {(KEYRING_SERVICE, user.name): user.password}


def test_a_wrong_password_writes_nothing(
    imap_server: DovecotServer,
    user_with_sent_mail: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    args = flags(imap_server, user_with_sent_mail, tmp_path, "--password-stdin")
    result = run_init(args, "not-the-password\n")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "refused the login" in line
    assert "nothing was written" in line
    assert not (tmp_path / "config.toml").exists()
    assert memory_keyring.values == {}


def test_an_existing_config_is_kept_unless_forced(
    imap_server: DovecotServer,
    user_with_sent_mail: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("# mine\n", encoding="utf-8")
    user = user_with_sent_mail
    result = run_init(flags(imap_server, user, tmp_path, "--password-stdin"), user.password)
    assert result.exit_code == 2
    assert "exists" in result.stderr and "--force" in result.stderr
    assert config.read_text(encoding="utf-8") == "# mine\n"

    args = flags(imap_server, user, tmp_path, "--password-stdin", "--force")
    result = run_init(args, user.password)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert load_settings(config).accounts[0].username == user.name


def test_a_question_without_an_answer_names_its_flag(tmp_path: Path) -> None:
    result = run_init(["--config", str(tmp_path / "config.toml")], stdin="")
    assert result.exit_code == 2
    assert "pass --email" in result.output
    assert not (tmp_path / "config.toml").exists()


@pytest.mark.parametrize(
    ("address", "imap", "smtp"),
    [
        ("me@gmail.com", ("imap.gmail.com", 993, "ssl"), ("smtp.gmail.com", 587)),
        ("Me@Hotmail.co.uk", ("outlook.office365.com", 993, "ssl"), ("smtp.office365.com", 587)),
        ("me@icloud.com", ("imap.mail.me.com", 993, "ssl"), ("smtp.mail.me.com", 587)),
        ("me@yahoo.com", ("imap.mail.yahoo.com", 993, "ssl"), ("smtp.mail.yahoo.com", 465)),
        ("me@gmx.de", ("imap.gmx.net", 993, "ssl"), ("mail.gmx.net", 587)),
        ("me@web.de", ("imap.web.de", 993, "ssl"), ("smtp.web.de", 587)),
        ("me@pm.me", ("127.0.0.1", 1143, "starttls"), ("127.0.0.1", 1025)),
    ],
)
def test_providers_by_domain(
    address: str, imap: tuple[str, int, str], smtp: tuple[str, int]
) -> None:
    provider = provider_for(address)
    assert provider is not None
    assert (provider.imap_host, provider.imap_port, provider.imap_security) == imap
    assert (provider.smtp_host, provider.smtp_port) == smtp
    assert provider.smtp_security == ("ssl" if provider.smtp_port == 465 else "starttls")


def test_unknown_domains_get_no_proposal() -> None:
    assert provider_for("me@example.com") is None
    assert provider_for("not an address") is None


def _without_ca_file(args: list[str], server: DovecotServer) -> list[str]:
    at = args.index("--ca-file")
    args = args[:at] + args[at + 2 :]
    at = args.index("--security")
    args[at + 1] = "ssl"
    args[args.index("--port") + 1] = str(server.ssl_port)
    return args


def test_an_untrusted_certificate_without_a_terminal_names_its_fingerprint(
    imap_server: DovecotServer,
    user_with_sent_mail: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    user = user_with_sent_mail
    args = _without_ca_file(flags(imap_server, user, tmp_path, "--password-stdin"), imap_server)
    result = run_init(args, user.password)
    assert result.exit_code == 2, result.output
    line = result.stderr.splitlines()[-1]
    shown = re.search(r"--trust-fingerprint ([0-9A-F:]{95})", line)
    assert shown is not None and "nothing was written" in line
    assert f"SHA-256 fingerprint: {shown[1]}" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no config, no certificate
    assert memory_keyring.values == {}  # no password was sent

    wrong = run_init([*args, "--trust-fingerprint", "AB" * 32], user.password)
    assert wrong.exit_code == 2
    assert f"has SHA-256 fingerprint {shown[1]}, not the one given" in wrong.stderr

    right = run_init([*args, "--trust-fingerprint", shown[1].lower()], user.password)
    assert right.exit_code == 0, right.output
    (account,) = load_settings(tmp_path / "config.toml").accounts
    assert account.ca_file == tmp_path / "example-server.pem"
    assert stat.S_IMODE(account.ca_file.stat().st_mode) == 0o600


def test_other_sent_addresses_are_not_adopted_without_a_yes(
    imap_server: DovecotServer,
    user_with_sent_mail: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    # Before: every From address found in Sent became an alias, an old employer's too.
    user = user_with_sent_mail
    result = run_init(flags(imap_server, user, tmp_path, "--password-stdin"), user.password)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    assert f'not counted as you (add those that are to aliases):\n# "{ALIAS}"' in text
    (account,) = load_settings(tmp_path / "config.toml").accounts
    assert account.aliases == ()


def test_a_password_typed_wrong_is_asked_again_and_the_answers_kept(
    imap_server: DovecotServer,
    user_with_sent_mail: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    user = user_with_sent_mail
    args = flags(imap_server, user, tmp_path)  # the password is asked at the prompt
    result = run_init(args, f"wrong-1\nwrong-2\n{user.password}\n")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("refused the login") == 2
    assert "Try again (1 left)" in result.stderr
    assert memory_keyring.values == {(KEYRING_SERVICE, user.name): user.password}

    third = run_init([*args, "--force"], "wrong-1\nwrong-2\nwrong-3\n")
    assert third.exit_code == 1
    assert third.stderr.splitlines()[-1].endswith("; nothing was written")


def test_the_unverified_handshake_lives_in_one_module_that_never_logs_in() -> None:
    # init fetches an untrusted certificate to show its fingerprint: the only CERT_NONE.
    package = Path(__file__).resolve().parent.parent / "watcher"
    weakened = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "CERT_NONE" in path.read_text(encoding="utf-8")
    )
    assert weakened == ["mail/certificate.py"]
    source = (package / "mail" / "certificate.py").read_text(encoding="utf-8")
    assert "login(" not in source and "authenticate(" not in source
