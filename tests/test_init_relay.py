"""`watcher init` sets up a local mail relay without a hand edit: `--smtp-host localhost`
(plain SMTP on port 25, no login) or `--smtp-host sendmail`; the config it writes loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from dovecot import DovecotServer, MailUser
from memorykeyring import MemoryKeyring

from watcher.cli.init_cmd import init_command
from watcher.config.settings import load_settings


def _init(server: DovecotServer, user: MailUser, tmp_path: Path, *smtp: str) -> Path:
    config = tmp_path / "config.toml"
    args = [
        *("--email", user.address, "--host", server.host, "--port", str(server.port)),
        *("--security", "starttls", "--ca-file", str(server.ca_file), "--username", user.name),
        *smtp,
        *("--digest-at", "06:45", "--timezone", "Europe/Stockholm"),
        *("--state-dir", str(tmp_path / "state"), "--config", str(config), "--password-stdin"),
    ]
    result = CliRunner().invoke(init_command, args, input=user.password)
    assert result.exit_code == 0, result.output
    return config


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_a_relay_on_this_machine_is_plain_smtp_on_port_25(
    imap_server: DovecotServer,
    mail_user: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    host: str,
) -> None:
    settings = load_settings(_init(imap_server, mail_user, tmp_path, "--smtp-host", host))
    smtp = settings.digest.smtp
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.security, smtp.username) == (host, 25, "none", "")
    assert settings.digest.delivery == "smtp"


def test_sendmail_hands_the_digest_to_this_machines_mail_system(
    imap_server: DovecotServer,
    mail_user: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    settings = load_settings(_init(imap_server, mail_user, tmp_path, "--smtp-host", "sendmail"))
    assert settings.digest.delivery == "sendmail"
    assert settings.digest.smtp is None


def test_another_port_on_this_machine_keeps_tls(
    imap_server: DovecotServer,
    mail_user: MailUser,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    config = _init(
        imap_server, mail_user, tmp_path, "--smtp-host", "127.0.0.1", "--smtp-port", "587"
    )
    smtp = load_settings(config).digest.smtp
    assert smtp is not None and smtp.security == "starttls"
