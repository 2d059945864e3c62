"""Logging for the CLI and the daemon: plain lines to stderr, secrets scrubbed from every line.

Under systemd, journald stamps each line with the time and the unit, so the format is just
the level and the message. Any secret the watcher has read is registered here, and a filter
replaces it with `<redacted>` wherever it would appear, including in exception text.
"""

from __future__ import annotations

import logging
import sys

_secrets: set[str] = set()
REDACTED = "<redacted>"


def register_secret(value: str) -> None:
    """Never let `value` reach a log line."""
    if len(value) >= 4:  # shorter strings would redact ordinary words
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


def configure_logging(verbosity: int = 0) -> None:
    """INFO by default, DEBUG with -v; imapclient's own chatter only with -vv."""
    level = logging.DEBUG if verbosity >= 1 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if verbosity < 2:
        logging.getLogger("imapclient").setLevel(logging.WARNING)
    # mail-parser warns about every MIME type it does not decode; none matter to us.
    logging.getLogger("mailparser").setLevel(logging.ERROR)
