"""Logging for the CLI and the daemon: plain lines to stderr, secrets scrubbed from every line.

Under systemd, journald stamps each line with the time and the unit, so the format is just
the level and the message. When stderr is the journal's stream (`$JOURNAL_STREAM` names its
device and inode), each line starts with its sd-daemon priority (`<3>` error, `<4>` warning,
`<6>` info, `<7>` debug) so that `journalctl -p err` finds the errors; on a terminal or in a
file it does not. Any secret the watcher has read is registered here, and a filter
replaces it with `<redacted>` wherever it would appear, including in exception text.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import sys
import urllib.parse
from collections.abc import Mapping
from typing import TextIO

_secrets: set[str] = set()
# Every registered secret in each form it may take in text, longest first (redact runs on
# every log line: sorted once here, not per line).
_forms: list[str] = []
REDACTED = "<redacted>"
# A run that may be base64 (AUTH PLAIN, XOAUTH2): a server may echo what the client sent.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")


def register_secret(value: str) -> None:
    """Never let `value` reach a log line."""
    if len(value) >= 4:  # shorter strings would redact ordinary words
        _secrets.add(value)
        _forms[:] = sorted(set(_forms) | secret_forms(value), key=len, reverse=True)


def secret_forms(secret: str) -> set[str]:
    """`secret` as it may appear in text: as is, quoted and escaped as IMAP and JSON quote it,
    inside a Python repr (str or bytes, as exception texts show it), and percent-encoded."""
    quoted = secret.replace("\\", "\\\\").replace('"', '\\"')
    forms = {secret, quoted, urllib.parse.quote(secret.encode("utf-8", "surrogatepass"), safe="")}
    for form in (secret, quoted):
        forms.add(repr(form)[1:-1])
        forms.add(repr(form.encode("utf-8", "surrogatepass"))[2:-1])
    return {form for form in forms if form}


def redact(text: str, *secrets: str) -> str:
    """`text` without any registered secret nor any of `secrets`, in any form
    `secret_forms` knows, nor inside base64 (longest forms first, so none is left half-done)."""
    forms = _forms
    if any(secrets):
        extra = set().union(*(secret_forms(secret) for secret in secrets if secret))
        forms = sorted(extra.union(_forms), key=len, reverse=True)
    if not forms:
        return text
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    raw = {s.encode("utf-8", "surrogatepass") for s in (*_secrets, *secrets) if s}
    return _BASE64_RUN.sub(lambda match: _redact_base64(match.group(0), raw), text)


def _redact_base64(run: str, secrets: set[bytes]) -> str:
    for start in range(4):  # the run may begin inside a base64 quantum
        chunk = run[start:].rstrip("=")
        chunk = chunk[: len(chunk) - len(chunk) % 4]
        try:
            decoded = base64.b64decode(chunk)
        except ValueError:
            continue
        if any(secret in decoded for secret in secrets):
            return REDACTED
    return run


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


def stderr_is_journal(
    stream: TextIO | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """True when `stream` (stderr) is the journal stream systemd connected, not merely a
    process started from a unit whose stderr was redirected since (`$JOURNAL_STREAM` is
    inherited: its "device:inode" must be this stream's)."""
    env = os.environ if environ is None else environ
    device, _, inode = env.get("JOURNAL_STREAM", "").partition(":")
    try:
        found = os.fstat((sys.stderr if stream is None else stream).fileno())
        return (found.st_dev, found.st_ino) == (int(device), int(inode))
    except (ValueError, OSError):  # unset or malformed, or no file descriptor (a test's buffer)
        return False


class JournalFormatter(logging.Formatter):
    """Every physical line gets the priority prefix: journald reads each line on its own, so
    a traceback's lines would otherwise be logged as info."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_priority_of(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def _priority_of(level: int) -> int:
    """The sd-daemon(3) priority of a logging level: 2 critical, 3 error, 4 warning, 6 info,
    7 debug (journald reads it at the start of each line of a stream)."""
    if level >= logging.CRITICAL:
        return 2
    if level >= logging.ERROR:
        return 3
    if level >= logging.WARNING:
        return 4
    return 6 if level >= logging.INFO else 7


def configure_logging(verbosity: int = 0) -> None:
    """INFO by default, DEBUG with -v; imapclient's own chatter only with -vv."""
    level = logging.DEBUG if verbosity >= 1 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    journal = stderr_is_journal()
    formatter = JournalFormatter if journal else logging.Formatter
    handler.setFormatter(formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if verbosity < 2:
        logging.getLogger("imapclient").setLevel(logging.WARNING)
    # mail-parser warns about every MIME type it does not decode; none matter to us.
    logging.getLogger("mailparser").setLevel(logging.ERROR)
