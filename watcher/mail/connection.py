"""Connecting to an IMAP server, and the one place its failures become our errors.

imapclient, imaplib, socket and ssl exceptions are translated into `ImapError` or
`AuthenticationError` here, each as one line that names the fix.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from watcher.config import Account, is_loopback
from watcher.credentials import Secret
from watcher.errors import AuthenticationError, ImapError

logger = logging.getLogger(__name__)


@contextmanager
def translate_errors(account: Account) -> Iterator[None]:
    """Turn imapclient/imaplib/socket/ssl failures into one-line `ImapError`s with the fix."""
    where = f"{account.host}:{account.port}"
    try:
        yield
    except LoginError as exc:
        raise AuthenticationError(
            account.name,
            f"the server {account.host} refused the login for {account.username!r} "
            f"({server_text(exc)}); check the username and the password",
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise ImapError(
            account.name,
            f"the TLS certificate of {where} could not be verified ({exc.verify_message}); "
            "if the server uses a self-signed certificate, set ca_file to its certificate",
        ) from None
    except ssl.SSLError as exc:
        raise ImapError(
            account.name,
            f"TLS with {where} failed ({exc.reason or exc}); check that security "
            f'= "{account.security}" matches port {account.port}',
        ) from None
    except socket.gaierror as exc:
        raise ImapError(
            account.name, f"cannot find the host {account.host!r} ({exc.strerror}); check host"
        ) from None
    except ConnectionRefusedError:
        raise ImapError(
            account.name, f"{where} refused the connection; check host, port and security"
        ) from None
    except TimeoutError:
        raise ImapError(
            account.name,
            f"{where} did not answer within {account.timeout_seconds:g} s; "
            "it will be retried (raise timeout_seconds for a slow server)",
        ) from None
    except imaplib.IMAP4.abort as exc:
        raise ImapError(
            account.name, f"{where} closed the connection ({server_text(exc)})"
        ) from None
    except imaplib.IMAP4.error as exc:
        raise ImapError(account.name, f"{where} refused a command: {server_text(exc)}") from None
    except OSError as exc:
        raise ImapError(
            account.name, f"network error with {where}: {exc.strerror or exc}"
        ) from None


def server_text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text.strip()[:300] or type(exc).__name__


@contextmanager
def connect(account: Account, secret: Secret) -> Iterator[IMAPClient]:
    """A logged-in client; logs out (and never hides the real error) on the way out."""
    if account.security == "none" and not is_loopback(account.host):
        # Allowed by the config only with allow_insecure = true: said on every connection.
        logger.warning(
            '%s: connecting to %s:%d without TLS (security = "none", allow_insecure = true):'
            " the password and your mail cross the network in clear",
            account.name,
            account.host,
            account.port,
        )
    with translate_errors(account):
        context = ssl.create_default_context(
            cafile=str(account.ca_file) if account.ca_file else None
        )
        if account.security == "ssl":
            client = IMAPClient(
                account.host,
                port=account.port,
                ssl=True,
                ssl_context=context,
                timeout=account.timeout_seconds,
            )
        else:
            client = IMAPClient(
                account.host, port=account.port, ssl=False, timeout=account.timeout_seconds
            )
    if not logging.getLogger("imapclient").isEnabledFor(logging.DEBUG):
        # imapclient turns imaplib's debug output on, which formats a message for every
        # response line even when nothing logs it: a large cost on a bulk sync.
        client._imap.debug = 0
    try:
        with translate_errors(account):
            if account.security == "starttls":
                client.starttls(context)
            if secret.source == "oauth2_token_command":
                client.oauth2_login(account.username, secret.value)
            else:
                client.login(account.username, secret.value)
        yield client
    finally:
        # The connection may already be gone; the error that got us here is what matters.
        try:
            client.logout()
        except Exception:
            with suppress(Exception):
                client.shutdown()


def probe_reachable(account: Account) -> float:
    """Milliseconds to open a TCP connection to the server (for `doctor`)."""
    began = time.monotonic()
    with (
        translate_errors(account),
        socket.create_connection((account.host, account.port), account.timeout_seconds),
    ):
        pass
    return (time.monotonic() - began) * 1000


def probe_tls(account: Account) -> str:
    """The TLS handshake and certificate check alone, before any password is sent: the TLS
    version on success (for `doctor`)."""
    with translate_errors(account):
        context = ssl.create_default_context(
            cafile=str(account.ca_file) if account.ca_file else None
        )
        use_ssl = account.security == "ssl"
        client = IMAPClient(
            account.host,
            account.port,
            ssl=use_ssl,
            ssl_context=context,
            timeout=account.timeout_seconds,
        )
        try:
            if not use_ssl:
                client.starttls(context)
            return str(client._imap.sock.version())
        finally:
            with suppress(Exception):
                client.logout()
