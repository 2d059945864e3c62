"""delivery = "both": when SMTP fails (a changed password, a server down), the copy put in
the inbox still arrives and says why the mail did not come; the digest counts as sent once."""

from __future__ import annotations

import email.policy
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

from configs import write_digest_config
from demomailbox import NOW, seed_demo
from dovecot import DovecotServer, MailUser
from watcherproc import finish, watcher


def _both(config: Path) -> Path:
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('webmail = "fastmail"', 'webmail = "fastmail"\ndelivery = "both"'),
        encoding="utf-8",
    )
    return config


def _digests(server: DovecotServer, user: MailUser) -> list[EmailMessage]:
    with server.connect(user) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["HEADER", "X-Followup-Watcher", "digest"])
        fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
    found = []
    for data in fetched.values():
        message = message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def test_when_smtp_fails_the_inbox_copy_arrives_and_says_why(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    seed_demo(imap_server, mail_user)
    closed_port = 1
    config = _both(
        write_digest_config(
            tmp_path / "c.toml", imap_server, mail_user, closed_port, tmp_path / "s"
        )
    )
    assert finish(watcher(config, mail_user, "sync"))[0] == 0
    code, out, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0, err
    assert "digest sent" in out
    assert "could not be sent by SMTP" in err
    (digest,) = _digests(imap_server, mail_user)
    text = digest.get_body(preferencelist=("plain",))
    assert text is not None
    assert "This digest could not be sent by SMTP" in str(text.get_content())
    # Sent once: a second run sends nothing.
    code, out, _ = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0 and "was sent already" in out
    assert len(_digests(imap_server, mail_user)) == 1
