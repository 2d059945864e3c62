"""Deliver the digest and save follow-up drafts: the only module that writes to a mail server.

What it may write, and when:
- SMTP (`send_smtp`): the digest, when `[digest] delivery` is "smtp" or "both". Over TLS:
  implicit (`security = "ssl"`) or STARTTLS, required (a server that does not offer it
  is refused: neither password nor digest goes out in plain text); the certificate and host
  name are verified (`ca_file` trusts a self-signed certificate). The one exception is
  `security = "none"`, which the settings allow only for a relay on this machine and only
  without a login: plain SMTP, and no STARTTLS even when the relay offers it (on loopback
  TLS protects nothing, and local MTAs offer it with a self-signed "snakeoil" certificate
  that would fail verification).
- sendmail (`send_sendmail`): the digest piped to this machine's mail system, when
  `delivery` is "sendmail" (`sendmail -t -oi`: the recipients from the message). Run
  without a shell; exit status 0 means the mail system accepted (queued) it.
- IMAP APPEND, the only IMAP write the project ever makes: the digest into INBOX when
  `delivery` is "imap" or "both" (`append_to_folder`), and drafts into the `\\Drafts` folder
  of the account a thread was read from when `[digest] drafts = true` (`save_draft`, never
  twice with one Message-ID). No STORE, COPY, MOVE, EXPUNGE, CREATE or DELETE, ever.
- Reads (`message_in_folder`, the exactly-once check before sending again): EXAMINE, SEARCH,
  LIST, FETCH `BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]`.

smtplib, ssl, socket and subprocess errors become one-line `DeliveryError`s naming the fix,
here only.
IMAP goes through `mail/connection.py` (`connect`, `translate_errors`); its `ImapError` and
`AuthenticationError` are re-raised as `DeliveryError` (kept as `__cause__`). The password
is never logged nor put into an error message.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import logging
import os
import re
import shlex
import shutil
import smtplib
import socket
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from imapclient import IMAPClient
from imapclient.imapclient import DRAFTS

from watcher.config.digest import SENDMAIL_COMMAND, SmtpServer
from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.errors import AuthenticationError, DeliveryError, ImapError
from watcher.logsetup import redact
from watcher.mail.connection import connect, translate_errors

logger = logging.getLogger(__name__)

DRAFT_FLAGS = ("\\Draft", "\\Seen")
# One address and nothing else: no quotes, comments, groups, lists or brackets, which email's
# header parser would turn into other or more recipients (or fail on).
_PLAIN_ADDRESS = re.compile(r'[^\s"(),:;<>@\[\]\\]+@[^\s"(),:;<>@\[\]\\]+')
# A Message-ID as it may go into a header we write: `<left@right>` in printable ASCII. Ids read
# from mail can hold anything (8-bit, control characters, encoded words that the header
# registry would decode back into 8-bit); such an id cannot be written into In-Reply-To or
# References without breaking the draft, and a draft that threads a little worse beats none.
_WIRE_MESSAGE_ID = re.compile(r"<?([!-;=?-~]+@[!-;=?-~]+)>?")
_NAME_MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
_CHECK_LOGIN = "check the username and password"
_CHECK_SENDER = "check [digest] from, and whether the server needs a login"
_PLAIN = "plain SMTP to this machine's relay, no login"
SENDMAIL_TIMEOUT = 60.0  # seconds; a local mail system queues a message at once


# -- SMTP -----------------------------------------------------------------------------------


def send_smtp(message: EmailMessage, server: SmtpServer, secret: Secret | None) -> None:
    """Send `message` from its From address to its To addresses through `server`.

    Logs in when `secret` is given. Raises `DeliveryError` (one line, naming the fix).
    """
    senders, recipients = _addresses(message, "From"), _addresses(message, "To")
    if not senders or not recipients:
        raise DeliveryError("the digest has no From or no To address; set [digest] from and to")
    _refuse_plain_login(server, secret)
    smtp, where, context = _new_smtp(server)
    try:
        code, reply = smtp.connect(server.host, server.port)
        if code != 220:
            raise smtplib.SMTPConnectError(code, reply)
        smtp.ehlo()
        if server.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise DeliveryError(
                    f"{where} does not offer STARTTLS, so nothing was sent (not in plain "
                    'text); use its TLS port with security = "ssl", or check port'
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if secret is not None:
            _login(smtp, server, secret, where)
        refused = smtp.send_message(message, from_addr=senders[0], to_addrs=recipients)
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError and socket errors too
        raise DeliveryError(_smtp_failure(exc, server, secret)) from None
    else:
        # Sent: a failing QUIT must not make the caller send it again.
        with suppress(smtplib.SMTPException, OSError):
            smtp.quit()
    finally:
        smtp.close()
    if refused:
        logger.warning("%s refused some recipients: %s", where, ", ".join(sorted(refused)))
    logger.debug("sent %s via %s", message.get("Message-ID", "a message"), where)


def _refuse_plain_login(server: SmtpServer, secret: Secret | None) -> None:
    """The settings refuse a login with "none"; settings built in code may still pass one."""
    if server.security == "none" and secret is not None:
        raise DeliveryError(
            f'SMTP {server.host}:{server.port} is plain SMTP (security = "none"), which '
            "takes no login, so nothing was sent; remove the login from [digest.smtp]"
        )


def _new_smtp(server: SmtpServer) -> tuple[smtplib.SMTP, str, ssl.SSLContext]:
    """An unconnected client for `server`, its name for messages, and its TLS context."""
    where = f"SMTP {server.host}:{server.port}"
    context = _tls_context(server.ca_file, where)
    smtp = (
        smtplib.SMTP_SSL(timeout=server.timeout_seconds, context=context)
        if server.security == "ssl"
        else smtplib.SMTP(timeout=server.timeout_seconds)
    )
    # smtplib names the TLS server (SNI and the host name check) after `_host`, which only its
    # constructor sets; but connecting in the constructor leaks the socket if the greeting
    # fails. So: no host in the constructor, `_host` here, and `connect` under our `finally`.
    smtp._host = server.host  # type: ignore[attr-defined]
    return smtp, where, context


def _login(smtp: smtplib.SMTP, server: SmtpServer, secret: Secret, where: str) -> None:
    if not smtp.has_extn("auth"):
        raise DeliveryError(
            f"{where} does not offer AUTH (login); check host and port (a submission port, "
            "usually 587 or 465)"
        )
    try:
        if secret.source == "oauth2_token_command":
            # XOAUTH2 (Gmail, Microsoft 365): the bearer token in place of a password.
            token = f"user={server.username}\x01auth=Bearer {secret.value}\x01\x01"
            smtp.auth("XOAUTH2", lambda _challenge=None: token, initial_response_ok=True)
        else:
            smtp.login(server.username, secret.value)
    except UnicodeEncodeError:  # its text would quote a character of the password
        raise DeliveryError(
            f"the username or password for {where} has non-ASCII characters, which SMTP "
            "AUTH cannot send here; use an ASCII (app) password"
        ) from None


def _tls_context(ca_file: Path | None, where: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except OSError as exc:  # ssl.SSLError too
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise DeliveryError(
            f"ca_file {str(ca_file)!r} for {where} cannot be used ({reason}); "
            "point ca_file at the server's PEM certificate"
        ) from None


def _smtp_failure(exc: OSError, server: SmtpServer, secret: Secret | None) -> str:
    """The one-line message, with the fix, for an smtplib, ssl or socket failure."""
    where = f"SMTP {server.host}:{server.port}"
    text = _server_text(exc, secret)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where} refused the login for {server.username!r} ({text}); {_CHECK_LOGIN}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"{where} refused the sender {exc.sender!r} ({text}); {_CHECK_SENDER}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{to} ({_server_text(smtplib.SMTPResponseException(*reply), secret)})"
            for to, reply in sorted(exc.recipients.items())
        )
        return f"{where} refused every recipient: {refused}; check [digest] to"
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        # (smtplib turns a read timeout into SMTPServerDisconnected)
        return (
            f"{where} did not answer within {server.timeout_seconds:g} s; it will be retried "
            "(raise timeout_seconds for a slow server)"
        )
    if isinstance(exc, smtplib.SMTPDataError):
        return f"{where} refused the message ({text})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection ({text}); it will be retried"
    if isinstance(exc, smtplib.SMTPResponseException):  # SMTPConnectError, SMTPHeloError
        return f"{where} answered {text}; check host and port"
    if isinstance(exc, smtplib.SMTPException):  # SMTPNotSupportedError, no usable AUTH
        return f"{where} cannot be used: {text}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code in _NAME_MISMATCH:
            return (
                f"{where}: its certificate is not valid for {server.host!r} "
                f"({exc.verify_message}); set host to the name the certificate gives"
            )
        return (
            f"{where}: its certificate could not be verified ({exc.verify_message}); "
            "if the server uses a self-signed certificate, set ca_file to it"
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"TLS with {where} failed ({exc.reason or text}); check that "
            f'security = "{server.security}" matches port {server.port}'
        )
    if isinstance(exc, socket.gaierror):
        return f"cannot find the SMTP host {server.host!r} ({exc.strerror}); check host"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection; check host, port and security"
    return f"network error with {where}: {exc.strerror or text}"


def _server_text(exc: BaseException, secret: Secret | None) -> str:
    """What the server (or the OS) said, on one line, without the password."""
    raw = exc.smtp_error if isinstance(exc, smtplib.SMTPResponseException) else str(exc)
    value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    value = redact(value, *((secret.value,) if secret is not None else ()))
    value = " ".join(value.split())[:300]
    if isinstance(exc, smtplib.SMTPResponseException):
        value = f"{exc.smtp_code} {value}".strip()
    return value or type(exc).__name__


def _addresses(message: EmailMessage, header: str) -> list[str]:
    values = [str(value) for value in message.get_all(header, [])]
    return [address for _name, address in email.utils.getaddresses(values) if address]


# -- IMAP -----------------------------------------------------------------------------------


def append_to_folder(
    message: EmailMessage,
    account: Account,
    secret: Secret,
    *,
    folder: str = "INBOX",
    flags: Sequence[str] = (),
) -> None:
    """IMAP APPEND `message` to `folder` with `flags`; `DeliveryError` if that fails."""
    with (
        _imap_delivery(f"cannot append to {folder!r}"),
        connect(account, secret) as client,
        translate_errors(account),
    ):
        client.append(folder, _wire_bytes(message), flags=tuple(flags))
    logger.debug("%s: appended %s to %s", account.name, message.get("Message-ID", ""), folder)


def message_in_folder(
    account: Account, secret: Secret, message_id: str, *, folder: str = "INBOX"
) -> bool:
    """Whether `folder` holds a message with exactly this Message-ID (read-only: EXAMINE)."""
    _check_message_id(message_id)
    with (
        _imap_delivery(f"cannot look into {folder!r}"),
        connect(account, secret) as client,
        translate_errors(account),
    ):
        return _holds(client, folder, message_id)


def find_drafts_folder(client: IMAPClient) -> str:
    """The folder with the `\\Drafts` special use (or a usual drafts name), else "Drafts"."""
    found = client.find_special_folder(DRAFTS)
    return str(found) if found else "Drafts"


def save_draft(draft: EmailMessage, account: Account, secret: Secret) -> bool:
    """APPEND `draft` to the drafts folder flagged `\\Draft \\Seen`, unless it is there already.

    Returns False (and saves nothing) when a message with its Message-ID is in that folder.
    """
    message_id = str(draft.get("Message-ID", "")).strip()
    _check_message_id(message_id)
    with (
        _imap_delivery("cannot save a draft"),
        connect(account, secret) as client,
        translate_errors(account),
    ):
        folder = find_drafts_folder(client)
        if not client.folder_exists(folder):
            raise DeliveryError(
                f"cannot save a draft: account {account.name!r} has no drafts folder; create "
                'one named "Drafts" in your mail program, or set [digest] drafts = false'
            )
        if _holds(client, folder, message_id):
            logger.debug("%s: draft %s is already in %s", account.name, message_id, folder)
            return False
        client.append(folder, _wire_bytes(draft), flags=DRAFT_FLAGS)
    logger.debug("%s: saved draft %s in %s", account.name, message_id, folder)
    return True


def _check_message_id(message_id: str) -> None:
    bad = not message_id.strip() or not message_id.isascii()
    if bad or any(ord(c) < 32 or c in '"\\' for c in message_id):
        raise ValueError(f"not a usable Message-ID: {message_id!r}")


def _holds(client: IMAPClient, folder: str, message_id: str) -> bool:
    wanted = "".join(message_id.split())
    client.select_folder(folder, readonly=True)  # EXAMINE: nothing can change
    uids = client.search(["HEADER", "Message-ID", wanted])
    if not uids:
        return False
    # SEARCH is a case-insensitive substring match (fuzzy on some servers): compare exactly.
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    for data in client.fetch(list(uids)[:50], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).values():
        for key, value in data.items():
            if not (isinstance(key, bytes) and key.startswith(b"BODY[")):
                continue
            headers = parser.parsebytes(value if isinstance(value, bytes) else b"")
            if any("".join(str(v).split()) == wanted for v in headers.get_all("Message-ID", [])):
                return True
    return False


@contextmanager
def _imap_delivery(action: str) -> Iterator[None]:
    try:
        yield
    except (ImapError, AuthenticationError) as exc:
        raise DeliveryError(f"{action}: {exc}") from exc


def _wire_bytes(message: EmailMessage) -> bytes:
    """The message as IMAP wants it: CRLF line endings."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


# -- drafts ---------------------------------------------------------------------------------


def is_plain_address(address: str) -> bool:
    """Whether `address` (read from mail) is one address and nothing else, safe as a To."""
    return bool(_PLAIN_ADDRESS.fullmatch(address)) and address.isprintable()


def build_draft(
    *,
    sender: str | Address,
    to: str,
    subject: str,
    body: str,
    in_reply_to: str,
    references: Sequence[str],
    message_id: str,
    date: datetime,
) -> EmailMessage:
    """A plain-text UTF-8 follow-up, threaded under `in_reply_to` (my original message).

    `in_reply_to` is added at the end of References when it is not in `references` already.
    Ids that are not printable ASCII (read from hostile mail) are left out of both headers.
    An address read from mail goes in as `to` only if `is_plain_address` says so.
    """
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("the draft's date must be timezone-aware")
    in_reply_to = _wire_message_id(in_reply_to)
    chain = [i for i in map(_wire_message_id, references) if i]
    if in_reply_to and in_reply_to not in chain:
        chain.append(in_reply_to)
    draft = EmailMessage(policy=email.policy.default)
    draft["From"] = sender
    draft["To"] = to
    draft["Subject"] = subject
    draft["Date"] = email.utils.format_datetime(date)
    draft["Message-ID"] = message_id
    if in_reply_to:
        draft["In-Reply-To"] = in_reply_to
    if chain:
        draft["References"] = " ".join(chain)
    draft.set_content(body, charset="utf-8")
    return draft


def _wire_message_id(message_id: str) -> str:
    """`message_id` as `<left@right>` when it can be written into a header as it is, else ""."""
    match = _WIRE_MESSAGE_ID.fullmatch(message_id)
    if not match or "=?" in message_id or len(message_id) > 998:
        return ""
    return f"<{match.group(1)}>"


def check_smtp_login(server: SmtpServer, secret: Secret | None) -> str:
    """Connect, TLS (verified), EHLO and AUTH as the digest will, then QUIT: nothing is sent.

    Returns what was checked; raises `DeliveryError` (one line with the fix). For `doctor`.
    """
    _refuse_plain_login(server, secret)
    smtp, where, context = _new_smtp(server)
    try:
        code, reply = smtp.connect(server.host, server.port)
        if code != 220:
            raise smtplib.SMTPConnectError(code, reply)
        smtp.ehlo()
        if server.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise DeliveryError(f"{where} does not offer STARTTLS; use its TLS port")
            smtp.starttls(context=context)
            smtp.ehlo()
        if server.security == "none":
            return _PLAIN  # (the `finally` closes; `else` does not run after a return)
        version = str(smtp.sock.version())  # type: ignore[union-attr]  # TLS by now
        if secret is not None:
            _login(smtp, server, secret, where)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(_smtp_failure(exc, server, secret)) from None
    else:
        with suppress(smtplib.SMTPException, OSError):
            smtp.quit()
    finally:
        smtp.close()
    how = "implicit TLS" if server.security == "ssl" else "STARTTLS"
    login = f"logged in as {server.username}" if secret is not None else "no login"
    return f"{how}, {version}, certificate verified, {login}"


# -- sendmail -------------------------------------------------------------------------------


def send_sendmail(
    message: EmailMessage, argv: Sequence[str], *, timeout: float = SENDMAIL_TIMEOUT
) -> None:
    """Pipe `message` to `argv` (a local `sendmail -t -oi`, never through a shell).

    Exit status 0: the mail system took it (queued). Raises `DeliveryError` (one line naming
    the command and the fix) when the program is missing, cannot run, fails or hangs.
    """
    command = shlex.join(argv)
    # The local mail system takes the message in the machine's own form: LF line endings.
    data = message.as_bytes(policy=message.policy.clone(linesep="\n"))
    try:
        done = subprocess.run(
            list(argv), input=data, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise DeliveryError(_sendmail_missing(argv[0])) from None
    except subprocess.TimeoutExpired:
        raise DeliveryError(
            f"{command} did not finish within {timeout:g} s (stopped); it will be retried; "
            "check the mail system (e.g. journalctl -u postfix)"
        ) from None
    except OSError as exc:  # a directory, no execute permission
        raise DeliveryError(
            f"{command} cannot be run ({exc.strerror}); set [digest] sendmail_command to the "
            f"mail system's sendmail (e.g. {SENDMAIL_COMMAND!r})"
        ) from None
    if done.returncode != 0:
        said = " ".join(done.stderr.decode("utf-8", "replace").split())[:300]
        raise DeliveryError(
            f"{command} exited with status {done.returncode}"
            + (f" ({said})" if said else "")
            + "; check the mail system's log (e.g. journalctl -u postfix) and [digest] to"
        )
    logger.debug("handed %s to %s", message.get("Message-ID", "a message"), command)


def check_sendmail(argv: Sequence[str]) -> str:
    """Whether the sendmail program is there and executable (nothing is run). For `doctor`."""
    program = argv[0]
    found = shutil.which(program) if "/" not in program else program
    path = Path(found) if found else None
    if path is None or not path.exists():
        raise DeliveryError(_sendmail_missing(program))
    if path.is_dir() or not os.access(path, os.X_OK):
        raise DeliveryError(
            f"sendmail {path} is not executable; set [digest] sendmail_command to the mail "
            "system's sendmail"
        )
    return f"{path} found, executable"


def _sendmail_missing(program: str) -> str:
    return (
        f"sendmail {program} not found; install a mail system (e.g. apt install postfix, or "
        "nullmailer to relay to your provider) or set [digest] sendmail_command"
    )
