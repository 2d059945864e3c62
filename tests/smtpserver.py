"""A real SMTP server on loopback (aiosmtpd, STARTTLS and AUTH) that delivers into the user's
Dovecot INBOX like an MTA would. The `smtp_inbox` fixture (conftest.py) runs one per test.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from dovecot import DovecotServer, MailUser

SMTP_USER, SMTP_PASSWORD = "digest-sender", "smtp-secret-pw"


class InboxDelivery:
    """An aiosmtpd handler that delivers into the user's Dovecot INBOX, as an MTA would.

    `hold` makes it keep the client waiting after delivering, before answering "250": the
    moment to kill the client.
    """

    def __init__(self, server: DovecotServer, user: MailUser) -> None:
        self.server = server
        self.user = user
        self.received: list[bytes] = []
        self.hold = False
        self.delivered = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        content = bytes(envelope.original_content or envelope.content)
        self.server.append(self.user, "INBOX", content)
        self.received.append(content)
        self.delivered.set()
        if self.hold:
            self.release.wait(timeout=30)
        return "250 OK"


def authenticate(
    _server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        mechanism in ("LOGIN", "PLAIN")
        and isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@contextlib.contextmanager
def inbox_smtp_server(
    server: DovecotServer, user: MailUser
) -> Iterator[tuple[Controller, InboxDelivery]]:
    """The SMTP server (STARTTLS required, AUTH as SMTP_USER), stopped afterwards."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(server.ca_file), str(server.key_file))
    handler = InboxDelivery(server, user)
    with socket.socket() as probe:  # aiosmtpd 1.4 cannot start on port 0: pick a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticate,
    )
    try:
        controller.start()
        yield controller, handler
    finally:
        handler.release.set()
        controller.stop()


def digests_in_inbox(server: DovecotServer, user: MailUser) -> int:
    """How many digests arrived in the user's INBOX."""
    with server.connect(user) as client:
        client.select_folder("INBOX", readonly=True)
        return len(client.search(["HEADER", "X-Followup-Watcher", "digest"]))
