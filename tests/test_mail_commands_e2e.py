"""Commands by mail end to end, as a user would act on the digest from a phone.

The demo mailbox on a real Dovecot, the digest sent by `watcher digest --send` through a real
SMTP server on loopback that delivers into the mailbox, and each "tap" a real mail: the
`mailto:` link of the digest's HTML turned into a message, submitted over SMTP to myself
(delivered into the INBOX) and saved into Sent as a mail client does. Then `watcher sync`
and the verdict as `watcher list --json` gives it.
"""

from __future__ import annotations

import email.policy
import json
import re
import smtplib
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import make_msgid
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from aiosmtpd.controller import Controller
from configs import MAYA, write_digest_config
from demomailbox import NOW, seed_demo
from dovecot import DovecotServer, MailUser
from smtpserver import SMTP_PASSWORD, SMTP_USER, InboxDelivery
from watcherproc import finish, watcher

from watcher.config.settings import load_settings

LATER = "2026-11-23T09:00"
_LINK = re.compile(r'href="(mailto:[^"]+)"')


class Phone:
    """The user's mail client: sends mail to themselves over SMTP and keeps a copy in Sent."""

    def __init__(self, server: DovecotServer, user: MailUser, smtp_port: int) -> None:
        self.server, self.user, self.port = server, user, smtp_port

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        *,
        sender: str = MAYA,
        in_reply_to: str = "",
        when: str = "Mon, 23 Nov 2026 08:12:00 +0100",
    ) -> bytes:
        message = EmailMessage(policy=email.policy.SMTP)
        message["From"] = f"Maya Lindqvist <{sender}>"
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = when
        message["Message-ID"] = make_msgid(domain="phone.example")
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to
            message["References"] = in_reply_to
        message.set_content(body)
        raw = message.as_bytes()
        context = ssl.create_default_context(cafile=str(self.server.ca_file))
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.starttls(context=context)
            smtp.login(SMTP_USER, SMTP_PASSWORD)
            smtp.send_message(message, from_addr=sender, to_addrs=[to])
        self.server.append(self.user, "Sent", raw)
        return raw

    def tap(self, link: str, **options: str) -> bytes:
        """Send the mail a `mailto:` link opens, unchanged."""
        url = urlsplit(link)
        fields = {k.lower(): v[0] for k, v in parse_qs(url.query).items()}
        return self.send(unquote(url.path), fields["subject"], fields.get("body", ""), **options)


@pytest.fixture
def digest_sent(
    imap_server: DovecotServer,
    mail_user: MailUser,
    smtp_inbox: tuple[Controller, InboxDelivery],
    tmp_path: Path,
) -> Iterator[tuple[Path, EmailMessage, Phone]]:
    controller, handler = smtp_inbox
    seed_demo(imap_server, mail_user)
    config = write_digest_config(
        tmp_path / "c.toml", imap_server, mail_user, controller.port, tmp_path / "s"
    )
    assert finish(watcher(config, mail_user, "sync"))[0] == 0
    code, _, err = finish(watcher(config, mail_user, "digest", "--send", "--now", NOW))
    assert code == 0, err
    (raw,) = handler.received
    digest = message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(digest, EmailMessage)
    yield config, digest, Phone(imap_server, mail_user, controller.port)


def _html(digest: EmailMessage) -> str:
    part = digest.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _actions(digest: EmailMessage) -> dict[str, dict[str, str]]:
    """thread id -> {action words: mailto link}, from the digest's HTML."""
    found: dict[str, dict[str, str]] = {}
    for link in (unescape(m) for m in _LINK.findall(_html(digest))):
        subject = parse_qs(urlsplit(link).query).get("subject", [""])[0]
        match = re.match(r"\[followup (t[0-9a-f]+)\] (.+?) · ", subject)
        if match:
            found.setdefault(match.group(1), {})[match.group(2)] = link
    return found


def _verdicts(config: Path, user: MailUser, now: str = LATER) -> dict[str, str]:
    assert finish(watcher(config, user, "sync"))[0] == 0
    code, out, err = finish(watcher(config, user, "list", "--all", "--json", "--now", now))
    assert code == 0, err
    return {item["thread_id"]: item["state"] for item in json.loads(out)}


def test_every_card_offers_the_six_actions_to_my_own_address(
    digest_sent: tuple[Path, EmailMessage, Phone],
) -> None:
    _, digest, _ = digest_sent
    actions = _actions(digest)
    assert actions, "no one-tap actions in the digest"
    for links in actions.values():
        assert sorted(links) == sorted(
            ["done", "snooze 3d", "snooze 7d", "snooze 14d", "mute", "not a proposal"]
        )
        for link in links.values():
            assert unquote(urlsplit(link).path) == MAYA


def test_a_tapped_action_changes_the_verdict_once_and_survives_a_rebuilt_store(
    digest_sent: tuple[Path, EmailMessage, Phone], mail_user: MailUser
) -> None:
    config, digest, phone = digest_sent
    actions = _actions(digest)
    before = _verdicts(config, mail_user)
    muted, snoozed = [t for t in actions if before[t] == "awaiting"][:2]  # not the alarms

    phone.tap(actions[muted]["mute"])
    phone.tap(actions[snoozed]["snooze 7d"])
    after = _verdicts(config, mail_user)
    assert (after[muted], after[snoozed]) == ("muted", "snoozed")
    assert len(after) == len(before)  # the command mail is no conversation of its own

    # The same link tapped again a second time: applied once, nothing new.
    phone.tap(actions[snoozed]["snooze 7d"], when="Tue, 24 Nov 2026 10:00:00 +0100")
    code, out, _ = finish(watcher(config, mail_user, "thread", snoozed, "--now", LATER))
    assert code == 0
    assert "Set by your mail of Mon 23 Nov 08:12: snooze 7d (until Mon 30 Nov)" in out
    assert "again, nothing new" in _last_sync_then_thread(config, mail_user, snoozed)

    settings = load_settings(config)
    settings.store_path.unlink()  # rebuilt from scratch: the decisions are in the mailbox
    rebuilt = _verdicts(config, mail_user)
    assert (rebuilt[muted], rebuilt[snoozed]) == ("muted", "snoozed")


def _last_sync_then_thread(config: Path, user: MailUser, thread_id: str) -> str:
    assert finish(watcher(config, user, "sync"))[0] == 0
    return finish(watcher(config, user, "thread", thread_id, "--now", LATER))[1]


def test_forged_commands_are_ignored_and_counted(
    digest_sent: tuple[Path, EmailMessage, Phone], mail_user: MailUser
) -> None:
    config, digest, phone = digest_sent
    actions = _actions(digest)
    before = _verdicts(config, mail_user)
    thread = next(t for t in actions if before[t] == "awaiting")
    done = actions[thread]["done"]
    url = urlsplit(done)
    subject = parse_qs(url.query)["subject"][0]
    phone.send(MAYA, subject, "", sender="maya@evil.example")  # a foreign From
    phone.send(MAYA, subject[:-4] + "AAAA", "")  # my From, a wrong code
    assert _verdicts(config, mail_user)[thread] == "awaiting"
    code, out, _ = finish(watcher(config, mail_user, "status"))
    assert code == 0
    assert "Commands by mail: 2 mails ignored" in out
    assert subject not in out


def test_a_reply_to_the_digest_applies_one_command_per_line(
    digest_sent: tuple[Path, EmailMessage, Phone], mail_user: MailUser
) -> None:
    config, digest, phone = digest_sent
    before = _verdicts(config, mail_user)
    cards = _card_threads(config)
    # The first cards are alarms (a bounce, a reply in spam); the waiting threads follow.
    waiting = [n for n, t in enumerate(cards, start=1) if before[t] == "awaiting"][:3]
    assert len(waiting) == 3
    first, second, third = waiting
    body = (
        f"{first} done\n{second} snooze 1w\nmute {third}\n{len(cards) + 1} later please\n\n"
        "Thanks\n-- \nMaya\n\nOn Mon, 23 Nov 2026 at 07:30, followup-watcher wrote:\n> 1. ...\n"
    )
    phone.send(MAYA, "Re: " + str(digest["Subject"]), body, in_reply_to=str(digest["Message-ID"]))
    after = _verdicts(config, mail_user)
    changed = [cards[n - 1] for n in waiting]
    assert [after[t] for t in changed] == ["done", "snoozed", "muted"]
    assert {t: s for t, s in after.items() if t not in changed} == {
        t: s for t, s in before.items() if t not in changed
    }
    # The next digest says what was applied, and quotes the line it could not read.
    code, out, err = finish(watcher(config, mail_user, "digest", "--now", "2026-11-24T08:00"))
    assert code == 0, err
    assert "from your mail of Mon 23 Nov 08:12" in out
    assert f"“{len(cards) + 1} later please”" in out


def test_a_reply_to_a_digest_we_did_not_send_does_nothing(
    digest_sent: tuple[Path, EmailMessage, Phone], mail_user: MailUser
) -> None:
    config, _, phone = digest_sent
    before = _verdicts(config, mail_user)
    guessed = "<digest-20261123-000000000000@followup-watcher.invalid>"
    phone.send(MAYA, "Re: digest", "1 done\n2 done\n", in_reply_to=guessed)
    assert _verdicts(config, mail_user) == before


def _card_threads(config: Path) -> list[str]:
    """The thread ids of the sent digest's cards, in their numbered order (from the store)."""
    import sqlite3

    settings = load_settings(config)
    with sqlite3.connect(settings.store_path) as db:
        rows = db.execute("SELECT thread_id FROM digest_cards ORDER BY number").fetchall()
    return [row[0] for row in rows]
