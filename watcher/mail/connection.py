"""Connecting to an IMAP server, and the one place its failures become our errors.

imapclient, imaplib, socket and ssl exceptions are translated into `ImapError` or
`AuthenticationError` here, each as one line that names the fix.
"""

from __future__ import annotations

import ast
import imaplib
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from imapclient import IMAPClient
from imapclient.exceptions import LoginError, ProtocolError

from watcher.config.digest import is_loopback
from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.errors import AuthenticationError, ImapError
from watcher.logsetup import redact
from watcher.terminal import printable

logger = logging.getLogger(__name__)

# The logged-in client's type, for annotations outside mail/ (imapclient stays behind mail/).
ImapClient = IMAPClient

# imaplib refuses any response line over 1 MB, and imapclient reads SEARCH, LIST and STATUS
# replies through it: `UID SEARCH UID 1:*` of a folder over ~140,000 messages (a Gmail "All
# Mail", an archive read with lookback_days = 0) is one such line, and that account would
# fail every cycle. 16 MiB holds the UIDs of two million messages and still bounds memory;
# the FETCH reader (bulkfetch) keeps its own, tighter, limits.
IMAPLIB_MAX_LINE = 16 * 1024 * 1024
imaplib._MAXLINE = max(imaplib._MAXLINE, IMAPLIB_MAX_LINE)  # type: ignore[attr-defined]
# What one command's answer may cost through imaplib (LIST, STATUS, SEARCH, EXAMINE), which
# keeps every untagged line until the command ends: each line is charged its length plus what
# Python spends to keep it, so a flood of tiny lines is cut off as early as one huge reply.
REPLY_BYTES_LIMIT = 48 * 1024 * 1024
_LINE_OVERHEAD = 64


# What a malformed or unexpected reply raises deep in imapclient or in our own readers
# (int(b"abc"), a missing item, a bytes where a list was due; UnicodeError is a ValueError).
_MALFORMED = (ValueError, LookupError, TypeError, AttributeError, ProtocolError)


@contextmanager
def translate_errors(account: Account, secret: Secret | None = None) -> Iterator[None]:
    """Turn imapclient/imaplib/socket/ssl failures, and replies that cannot be read, into
    one-line `ImapError`s with the fix. Server text in them never carries `secret`."""
    where = f"{account.host}:{account.port}"
    hidden = (secret.value,) if secret is not None else ()
    try:
        yield
    except LoginError as exc:
        raise AuthenticationError(
            account.name,
            f"the server {account.host} refused the login for {account.username!r} "
            f"({server_text(exc, *hidden)}); check the username and the password",
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
            account.name, f"{where} closed the connection ({server_text(exc, *hidden)})"
        ) from None
    except _MALFORMED as exc:
        # The traceback helps a bug report (-v); the user gets one line.
        logger.debug("%s: unreadable reply from %s", account.name, where, exc_info=True)
        raise ImapError(
            account.name,
            f"{where} sent a reply the watcher cannot read ({_reason(exc, hidden)}); it will "
            "be retried, and if this persists the server is at fault",
        ) from None
    except imaplib.IMAP4.error as exc:
        raise ImapError(
            account.name, f"{where} refused a command: {server_text(exc, *hidden)}"
        ) from None
    except OSError as exc:
        raise ImapError(
            account.name, f"network error with {where}: {exc.strerror or exc}"
        ) from None


# How much of a server's text is read at all: enough for any real message; a server may send
# megabytes in one line. Redacting before clipping to 300 keeps no half of a secret.
_SERVER_TEXT_READ = 4096


def server_text(exc: BaseException, *secrets: str) -> str:
    """What the server said, on one printable line of at most 300 characters, without any
    secret (some servers echo the LOGIN arguments in their refusal)."""
    text = str(exc)
    if text[:2] in ("b'", 'b"'):
        # imaplib puts the raw reply in a bytes repr: read it back, so that what is scrubbed
        # is what the server sent, not one of the many ways a repr may escape it.
        with suppress(ValueError, SyntaxError):
            raw = ast.literal_eval(text)
            if isinstance(raw, bytes):
                text = raw.decode("utf-8", "replace")
    return printable(redact(text[:_SERVER_TEXT_READ], *secrets), 300) or type(exc).__name__


def _reason(exc: BaseException, secrets: tuple[str, ...]) -> str:
    text = server_text(exc, *secrets)
    # A ValueError says what was wrong; a KeyError or TypeError alone says little.
    return text if isinstance(exc, ValueError) else f"{type(exc).__name__}: {text}"


def tls_context(account: Account) -> ssl.SSLContext:
    """The context that verifies the server: the system's CAs, or `ca_file` alone."""
    try:
        return ssl.create_default_context(cafile=str(account.ca_file) if account.ca_file else None)
    except ssl.SSLError as exc:
        raise ImapError(
            account.name,
            f"ca_file {account.ca_file} is not a PEM certificate ({exc.reason or exc}); "
            "point ca_file at the server's certificate (or its CA's) in PEM form, or remove "
            "it to use the system's certificates",
        ) from None
    except OSError as exc:
        raise ImapError(
            account.name,
            f"ca_file {account.ca_file} cannot be read ({exc.strerror or exc}); "
            "point ca_file at a readable PEM certificate",
        ) from None


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
    context = tls_context(account)
    with translate_errors(account):
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
    _bound_replies(client._imap)
    if not logging.getLogger("imapclient").isEnabledFor(logging.DEBUG):
        # imapclient turns imaplib's debug output on, which formats a message for every
        # response line even when nothing logs it: a large cost on a bulk sync.
        client._imap.debug = 0
    try:
        with translate_errors(account, secret):
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


def _bound_replies(imap: imaplib.IMAP4) -> None:
    """Make imaplib give up (`abort`, an account error) on an answer over REPLY_BYTES_LIMIT.

    The count starts again with each new command tag. The bulk FETCH reader reads the socket
    itself, with limits of its own.
    """
    charged = 0
    read_line, read, new_tag = imap.readline, imap.read, imap._new_tag

    def charge(data: bytes) -> bytes:
        nonlocal charged
        charged += len(data) + _LINE_OVERHEAD
        if charged > REPLY_BYTES_LIMIT:
            raise imaplib.IMAP4.abort(
                f"the server sent over {REPLY_BYTES_LIMIT // 2**20} MiB in answer to one command"
            )
        return data

    def next_tag() -> bytes:
        nonlocal charged
        charged = 0
        tag: bytes = new_tag()
        return tag

    imap.readline = lambda: charge(read_line())  # type: ignore[method-assign]
    imap.read = lambda size: charge(read(size))  # type: ignore[method-assign]
    imap._new_tag = next_tag  # type: ignore[attr-defined]


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
    context = tls_context(account)
    with translate_errors(account):
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
