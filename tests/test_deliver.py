"""Delivery against real servers on 127.0.0.1: aiosmtpd (STARTTLS and SMTPS) and Dovecot.

aiosmtpd quirks met here (1.4):
- It does not count implicit TLS as TLS for AUTH: the SMTPS server needs
  `auth_require_tls=False`, and then every SMTP session it creates (one per connection, in
  the server's thread) calls `warnings.warn("Requiring AUTH while not requiring TLS ...")`,
  which pytest's warnings-as-errors would turn into a failed start: filtered below.
- The authenticator must return `AuthResult(success=..., handled=False)` so that aiosmtpd
  itself answers 235/535.
- `session.ssl` is set after STARTTLS only, not on an implicit-TLS connection.
- `Controller(port=0)` fails to start (ConnectionRefusedError: its readiness probe connects
  to port 0 rather than the bound one): a free port is picked first.
And one of smtplib: on a refused login it tries the next mechanism (PLAIN, then LOGIN), so
the server sees two failed logins.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email
import email.policy
import email.utils
import logging
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from dovecot import DovecotServer, MailUser, find_binary
from imapaccount import account_for
from mailfactory import make_message

from watcher.config.digest import SmtpServer as SmtpSettings
from watcher.credentials import Secret
from watcher.digest.deliver import (
    append_to_folder,
    build_draft,
    find_drafts_folder,
    message_in_folder,
    save_draft,
    send_smtp,
)
from watcher.errors import AuthenticationError, DeliveryError

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

HOST = "127.0.0.1"
SMTP_USER = "digest-sender"
SMTP_PASSWORD = "s3cret-Passw0rd-42"
SENDER = "Follow-up Watcher <me@example.test>"
RECIPIENT = "me@example.test"
NOW = dt.datetime(2026, 11, 23, 7, 30, tzinfo=dt.UTC)
DIGEST_ID = "<digest-2026-11-23@followup-watcher>"
TEXT = (
    "Guten Morgen,\n\n3 Angebote warten auf Antwort — Überblick:\n"
    ".a line starting with a dot (SMTP dot-stuffing)\n" + "a long line " * 20 + "\n\nGrüße\n"
)
HTML = "<html><body><h1>3 Angebote warten</h1><p>Grüße — Überblick</p></body></html>\n"


# -- SMTP servers -----------------------------------------------------------------------------


@dataclasses.dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    starttls: bool


class Mailbox:
    """aiosmtpd handler and authenticator: keeps what arrived and who tried to log in."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages.append(
            Received(
                envelope.mail_from or "", list(envelope.rcpt_tos), content, session.ssl is not None
            )
        )
        return "250 OK delivered"

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append(login)
        return AuthResult(success=(login, password) == (SMTP_USER, SMTP_PASSWORD), handled=False)


@dataclasses.dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_smtp(**options: Any) -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1 (`options` go to `SMTP`); stopped in `finally`."""
    mailbox = Mailbox()
    controller = Controller(
        mailbox, hostname=HOST, port=free_port(), authenticator=mailbox, **options
    )
    try:
        controller.start()
        yield SmtpServer(controller.port, mailbox)
    finally:
        controller.stop(no_assert=True)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def starttls_server(imap_server: DovecotServer) -> Iterator[SmtpServer]:
    """Submission-style: STARTTLS required, then AUTH required (cert of the Dovecot fixture)."""
    context = tls_context(imap_server.ca_file, imap_server.key_file)
    with running_smtp(tls_context=context, require_starttls=True, auth_required=True) as server:
        yield server


@pytest.fixture
def smtps_server(imap_server: DovecotServer) -> Iterator[SmtpServer]:
    """Implicit TLS (port 465 style), AUTH required."""
    context = tls_context(imap_server.ca_file, imap_server.key_file)
    with running_smtp(ssl_context=context, auth_required=True, auth_require_tls=False) as server:
        yield server


def smtp_account(
    port: int,
    *,
    security: str = "starttls",
    ca_file: Path | None = None,
    timeout: float = 10.0,
) -> SmtpSettings:
    return SmtpSettings(
        name="test-smtp",
        host=HOST,
        port=port,
        security=security,  # type: ignore[arg-type]
        username=SMTP_USER,
        ca_file=ca_file,
        timeout_seconds=timeout,
    )


def digest_message(message_id: str = DIGEST_ID) -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = RECIPIENT
    message["Subject"] = "3 Angebote warten auf Antwort"
    message["Date"] = email.utils.format_datetime(NOW)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(TEXT)
    message.add_alternative(HTML, subtype="html")
    return message


def assert_intact(raw: bytes, message_id: str = DIGEST_ID) -> None:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Message-ID"] == message_id
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert isinstance(plain, EmailMessage)
    assert isinstance(html, EmailMessage)
    # Parsed from the wire, the decoded parts keep its CRLF line endings.
    assert plain.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n") == HTML


def delivery_error(
    message: EmailMessage, server: SmtpSettings, secret: Secret | None = None
) -> str:
    with pytest.raises(DeliveryError) as caught:
        send_smtp(message, server, secret)
    text = str(caught.value)
    assert "\n" not in text
    return text


# -- SMTP -------------------------------------------------------------------------------------


def test_digest_arrives_intact_over_starttls_with_auth(
    starttls_server: SmtpServer, imap_server: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="watcher")
    account = smtp_account(starttls_server.port, ca_file=imap_server.ca_file)
    send_smtp(digest_message(), account, Secret(SMTP_PASSWORD, "test"))
    [received] = starttls_server.mailbox.messages
    assert received.starttls
    assert starttls_server.mailbox.logins == [SMTP_USER]
    assert received.mail_from == RECIPIENT  # the From address, without the display name
    assert received.rcpt_tos == [RECIPIENT]
    assert_intact(received.content)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("watcher")]
    assert ours  # the debug line was written...
    assert not any(SMTP_PASSWORD in line for line in ours)  # ...without the password


def test_digest_arrives_intact_over_smtps(
    smtps_server: SmtpServer, imap_server: DovecotServer
) -> None:
    account = smtp_account(smtps_server.port, security="ssl", ca_file=imap_server.ca_file)
    send_smtp(digest_message(), account, Secret(SMTP_PASSWORD, "test"))
    [received] = smtps_server.mailbox.messages
    assert smtps_server.mailbox.logins == [SMTP_USER]
    assert received.rcpt_tos == [RECIPIENT]
    assert_intact(received.content)


@pytest.mark.parametrize("kind", ["starttls", "ssl"])
def test_wrong_password_is_one_line_without_the_password(
    kind: str, request: pytest.FixtureRequest, imap_server: DovecotServer
) -> None:
    server: SmtpServer = request.getfixturevalue(
        "starttls_server" if kind == "starttls" else "smtps_server"
    )
    wrong = "wrong-Passw0rd-987"
    account = smtp_account(server.port, security=kind, ca_file=imap_server.ca_file)
    with pytest.raises(DeliveryError) as caught:
        send_smtp(digest_message(), account, Secret(wrong, "test"))
    text = str(caught.value)
    assert text.startswith(f"SMTP {HOST}:{server.port} refused the login for '{SMTP_USER}' (535")
    assert text.endswith("check the username and password")
    assert "\n" not in text
    assert wrong not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    # smtplib tries each offered mechanism (PLAIN, then LOGIN) before giving up.
    assert set(server.mailbox.logins) == {SMTP_USER}
    assert server.mailbox.messages == []


@pytest.mark.parametrize("kind", ["starttls", "ssl"])
def test_untrusted_certificate_names_ca_file(kind: str, request: pytest.FixtureRequest) -> None:
    server: SmtpServer = request.getfixturevalue(
        "starttls_server" if kind == "starttls" else "smtps_server"
    )
    text = delivery_error(
        digest_message(), smtp_account(server.port, security=kind), Secret(SMTP_PASSWORD, "t")
    )
    assert f"{HOST}:{server.port}" in text
    assert "certificate could not be verified (self-signed certificate)" in text
    assert text.endswith("set ca_file to it")
    assert server.mailbox.logins == []  # the password never went to an unverified server
    assert server.mailbox.messages == []


def test_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    openssl = find_binary("openssl")
    if openssl is None:
        pytest.skip("openssl not found")
    cert, key = tmp_path / "other.pem", tmp_path / "other.key"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
            "-out", str(cert), "-days", "2", "-subj", "/CN=other.example",
            "-addext", "subjectAltName=DNS:other.example",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    with running_smtp(ssl_context=tls_context(cert, key), auth_require_tls=False) as server:
        account = smtp_account(server.port, security="ssl", ca_file=cert)
        text = delivery_error(digest_message(), account, Secret(SMTP_PASSWORD, "t"))
        assert f"its certificate is not valid for '{HOST}'" in text
        assert text.endswith("set host to the name the certificate gives")
        assert server.mailbox.logins == []


def test_server_without_starttls_is_refused_before_any_auth(
    imap_server: DovecotServer,
) -> None:
    # This server would take AUTH and the message in plain text; the client must not.
    with running_smtp(auth_required=True, auth_require_tls=False) as server:
        account = smtp_account(server.port, ca_file=imap_server.ca_file)
        text = delivery_error(digest_message(), account, Secret(SMTP_PASSWORD, "t"))
        assert f"SMTP {HOST}:{server.port} does not offer STARTTLS" in text
        assert server.mailbox.logins == []
        assert server.mailbox.messages == []


def test_connection_refused_is_one_line() -> None:
    port = free_port()  # nothing listens there
    text = delivery_error(digest_message(), smtp_account(port), Secret(SMTP_PASSWORD, "t"))
    assert text == (f"SMTP {HOST}:{port} refused the connection; check host, port and security")


def test_implicit_tls_against_a_starttls_port_names_security(
    starttls_server: SmtpServer, imap_server: DovecotServer
) -> None:
    account = smtp_account(starttls_server.port, security="ssl", ca_file=imap_server.ca_file)
    text = delivery_error(digest_message(), account, Secret(SMTP_PASSWORD, "t"))
    assert text.startswith(f"TLS with SMTP {HOST}:{starttls_server.port} failed (")
    assert text.endswith(f'check that security = "ssl" matches port {starttls_server.port}')


def test_a_server_that_never_greets_times_out() -> None:
    with socket.socket() as listener:  # accepts (in the kernel's backlog), never speaks
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]
        account = smtp_account(port, timeout=0.3)
        text = delivery_error(digest_message(), account, Secret(SMTP_PASSWORD, "t"))
    assert text.startswith(f"SMTP {HOST}:{port} did not answer within 0.3 s")


def test_without_a_secret_there_is_no_login_and_the_refusal_is_one_line(
    starttls_server: SmtpServer, imap_server: DovecotServer
) -> None:
    account = smtp_account(starttls_server.port, ca_file=imap_server.ca_file)
    text = delivery_error(digest_message(), account, None)
    assert text.startswith(f"SMTP {HOST}:{starttls_server.port} refused the sender '{RECIPIENT}'")
    assert "530" in text
    assert starttls_server.mailbox.logins == []
    assert starttls_server.mailbox.messages == []


def test_a_message_without_recipients_is_not_sent() -> None:
    message = digest_message()
    del message["To"]
    text = delivery_error(message, smtp_account(free_port()), None)
    assert "set [digest] from and to" in text


# -- IMAP -------------------------------------------------------------------------------------


def secret_of(user: MailUser) -> Secret:
    return Secret(user.password, "test")


def fetch_by_message_id(
    server: DovecotServer, user: MailUser, folder: str, message_id: str
) -> list[tuple[bytes, tuple[str, ...]]]:
    """(raw message, flags) of every message in `folder` with that Message-ID."""
    with server.connect(user) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search(["HEADER", "Message-ID", message_id])
        if not uids:
            return []
        fetched = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"])
        return [
            (data[b"BODY[]"], tuple(sorted({f.decode() for f in data[b"FLAGS"]} - {"\\Recent"})))
            for _uid, data in sorted(fetched.items())
        ]


def test_append_to_folder_puts_the_digest_into_the_inbox_unread(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    append_to_folder(digest_message(), account_for(imap_server, mail_user), secret_of(mail_user))
    [(raw, flags)] = fetch_by_message_id(imap_server, mail_user, "INBOX", DIGEST_ID)
    assert_intact(raw)
    assert "\\Seen" not in flags


def test_append_to_folder_with_flags(imap_server: DovecotServer, mail_user: MailUser) -> None:
    account = account_for(imap_server, mail_user)
    append_to_folder(
        digest_message(), account, secret_of(mail_user), folder="Archive", flags=["\\Seen"]
    )
    assert list(imap_server.folder_state(mail_user, "Archive")["flags"].values()) == [("\\Seen",)]


def test_message_in_folder_finds_exactly_that_message_id_and_changes_nothing(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    for n in range(3):
        imap_server.append(
            mail_user,
            "INBOX",
            make_message(from_="ana@acme.example", to=RECIPIENT, subject=f"n{n}", date=NOW),
        )
    imap_server.append(mail_user, "INBOX", bytes(digest_message()))
    account, secret = account_for(imap_server, mail_user), secret_of(mail_user)
    before = imap_server.folder_state(mail_user)

    assert message_in_folder(account, secret, DIGEST_ID)
    assert not message_in_folder(account, secret, "<digest-2026-11-24@followup-watcher>")
    # Dovecot's SEARCH HEADER is a case-insensitive substring match: both of these are hits
    # for the server, and must not count as the digest.
    assert fetch_by_message_id(imap_server, mail_user, "INBOX", DIGEST_ID.upper())
    assert not message_in_folder(account, secret, DIGEST_ID.upper())
    assert not message_in_folder(account, secret, DIGEST_ID.strip("<>"))
    assert not message_in_folder(account, secret, DIGEST_ID, folder="Drafts")

    assert imap_server.folder_state(mail_user) == before


def test_imap_failures_are_delivery_errors(imap_server: DovecotServer, mail_user: MailUser) -> None:
    account = account_for(imap_server, mail_user)
    with pytest.raises(DeliveryError) as caught:
        message_in_folder(account, Secret("wrong-imap-Passw0rd", "test"), DIGEST_ID)
    assert isinstance(caught.value.__cause__, AuthenticationError)
    assert "refused the login" in str(caught.value)
    assert "wrong-imap-Passw0rd" not in str(caught.value)
    with pytest.raises(DeliveryError, match="cannot append to 'No/Such/Folder'"):
        append_to_folder(digest_message(), account, secret_of(mail_user), folder="No/Such/Folder")


def a_draft(message_id: str = "<draft-t1-1@followup-watcher>") -> EmailMessage:
    return build_draft(
        sender="Me <me@example.test>",
        to="Ana <ana@acme.example>",
        subject="Re: Angebot für Acme",
        body="Hallo Ana,\n\nkurz nachgefragt: passt das Angebot?\n\nGrüße\n",
        in_reply_to="<proposal-1@example.test>",
        references=["<thread-start@example.test>"],
        message_id=message_id,
        date=NOW,
    )


def test_save_draft_saves_once_into_drafts_flagged_draft(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    account, secret = account_for(imap_server, mail_user), secret_of(mail_user)
    draft = a_draft()
    assert save_draft(draft, account, secret) is True
    [(raw, flags)] = fetch_by_message_id(imap_server, mail_user, "Drafts", draft["Message-ID"])
    assert flags == ("\\Draft", "\\Seen")
    saved = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(saved, EmailMessage)
    assert saved["In-Reply-To"] == "<proposal-1@example.test>"
    assert saved["References"] == "<thread-start@example.test> <proposal-1@example.test>"
    assert saved["Subject"] == "Re: Angebot für Acme"
    assert saved.get_content_charset() == "utf-8"
    assert "Grüße" in saved.get_content()

    before = imap_server.folder_state(mail_user, "Drafts")
    assert save_draft(a_draft(), account, secret) is False
    assert imap_server.folder_state(mail_user, "Drafts") == before
    assert len(fetch_by_message_id(imap_server, mail_user, "Drafts", draft["Message-ID"])) == 1


def test_find_drafts_folder_uses_the_special_use_or_falls_back(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    class Server:
        def __init__(self, found: str | None) -> None:
            self.found = found

        def find_special_folder(self, flag: bytes) -> str | None:
            assert flag == b"\\Drafts"
            return self.found

    assert find_drafts_folder(Server("INBOX.Entwürfe")) == "INBOX.Entwürfe"
    assert find_drafts_folder(Server(None)) == "Drafts"
    with imap_server.connect(mail_user) as client:
        assert find_drafts_folder(client) == "Drafts"


def test_build_draft_threads_under_the_original() -> None:
    draft = a_draft()
    assert draft["Message-ID"] == "<draft-t1-1@followup-watcher>"
    assert draft["Date"] == "Mon, 23 Nov 2026 07:30:00 +0000"
    assert draft.get_content_type() == "text/plain"
    again = build_draft(
        sender="me@example.test",
        to="ana@acme.example",
        subject="Re: x",
        body="hi\n",
        in_reply_to="<b@x>",
        references=["<a@x>", "<b@x>"],
        message_id="<d@x>",
        date=NOW,
    )
    assert again["References"] == "<a@x> <b@x>"  # not repeated
    with pytest.raises(ValueError, match="timezone-aware"):
        build_draft(
            sender="me@example.test",
            to="ana@acme.example",
            subject="Re: x",
            body="hi\n",
            in_reply_to="<b@x>",
            references=(),
            message_id="<d@x>",
            date=NOW.replace(tzinfo=None),
        )


def test_build_draft_leaves_out_ids_it_cannot_write() -> None:
    """Found by the hostile-input property test: an 8-bit id in References broke the draft."""
    draft = build_draft(
        sender="me@example.test",
        to="ana@acme.example",
        subject="Re: x",
        body="hi\n",
        in_reply_to="<b@x>",
        references=["<\u00e4@x>", "<a@x>", "<c\r\nBcc: evil@x>", "", "<=?utf-8?b?w6Q=?=@x>"],
        message_id="<d@x>",
        date=NOW,
    )
    assert draft["References"] == "<a@x> <b@x>"
    assert b"evil" not in draft.as_bytes()
    odd_parent = build_draft(
        sender="me@example.test",
        to="ana@acme.example",
        subject="Re: x",
        body="hi\n",
        in_reply_to="Proposal",
        references=(),
        message_id="<d@x>",
        date=NOW,
    )
    assert odd_parent["In-Reply-To"] is None  # not an id at all
    assert odd_parent["References"] is None
    odd_parent.as_bytes()


def test_save_draft_needs_a_message_id(imap_server: DovecotServer, mail_user: MailUser) -> None:
    draft = a_draft()
    del draft["Message-ID"]
    with pytest.raises(ValueError, match="not a usable Message-ID"):
        save_draft(draft, account_for(imap_server, mail_user), secret_of(mail_user))
    with pytest.raises(ValueError, match="not a usable Message-ID"):
        message_in_folder(account_for(imap_server, mail_user), secret_of(mail_user), "<a\r\nb>")


def test_save_draft_without_a_drafts_folder_names_the_fix(
    imap_server: DovecotServer, mail_user: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dovecot always has a \\Drafts folder: pretend the lookup fell back to a missing name.
    monkeypatch.setattr("watcher.digest.deliver.find_drafts_folder", lambda client: "Entwürfe")
    with pytest.raises(DeliveryError, match="has no drafts folder; create one"):
        save_draft(a_draft(), account_for(imap_server, mail_user), secret_of(mail_user))
    assert imap_server.all_folder_states(mail_user).keys() == {
        "INBOX",
        "Sent",
        "Drafts",
        "Trash",
        "Junk",
        "Archive",
    }  # nothing created
