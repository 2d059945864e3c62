"""The one unverified TLS handshake: fetch a server's certificate for a person to judge.

`watcher init` shows an untrusted certificate's SHA-256 fingerprint and asks whether to trust
it (as neomutt does). To show it, the certificate must be fetched without verifying it, so
that handshake lives here, apart from the connection modules (which always verify): it ends
right after the handshake, no LOGIN or AUTHENTICATE is ever sent on it, and nothing read on
it is trusted until the user accepts the fingerprint and a verified connection is made.
"""

from __future__ import annotations

import ssl
from contextlib import suppress

from imapclient import IMAPClient

from watcher.config.settings import Account
from watcher.errors import ImapError
from watcher.mail.connection import translate_errors


def server_certificate(account: Account) -> bytes:
    """The server's TLS certificate (DER), fetched without verifying it; no password sent."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only shown to the user: see the module docstring
    with translate_errors(account):
        use_ssl = account.security == "ssl"
        client = IMAPClient(
            account.host, account.port, ssl=use_ssl, ssl_context=context,
            timeout=account.timeout_seconds,
        )  # fmt: skip
        try:
            if not use_ssl:
                client.starttls(context)
            der: bytes | None = client._imap.sock.getpeercert(binary_form=True)
        finally:
            with suppress(Exception):
                client.logout()
    if not der:
        raise ImapError(account.name, f"{account.host}:{account.port} sent no certificate")
    return der
