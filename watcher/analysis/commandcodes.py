"""The short code that proves a command mail came from a link the watcher made.

From can be forged, so a command by mail counts only with a code: an HMAC-SHA256 of the
thread, the action and the day of the digest that offered it, under a secret kept in the
state directory (`store.files.command_key`). The code is valid for that thread and action
only; the day makes a week-old link a different command from today's one, so replaying an
old command mail can be told apart (and does nothing new). Eight base-32 letters, shown as
"K7Q2-M9XA": short enough for a subject line, 40 bits, and nobody can try 2^40 forged mails.

Pure: bytes and text in, text out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import date, timedelta

CODE_LENGTH = 8
# A command is checked against the digests of this many days before its Date (and a day
# after, for a clock running fast); an older link no longer works.
VALID_DAYS = 60
_CODE = re.compile(r"[A-Z2-7]{4}-?[A-Z2-7]{4}")


def command_code(key: bytes, thread_id: str, action_text: str, day: date) -> str:
    """ "K7Q2-M9XA" for this thread, action (`Action.text`) and digest day."""
    message = f"{thread_id}|{action_text}|{day.isoformat()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    letters = base64.b32encode(digest).decode()[:CODE_LENGTH]
    return f"{letters[:4]}-{letters[4:]}"


def verified_day(
    key: bytes, thread_id: str, action_text: str, code: str, around: date
) -> date | None:
    """The digest day whose code `code` is, looking back `VALID_DAYS` from `around`; None
    when no day matches (a forged, mistyped or expired code)."""
    wanted = code.strip().upper().replace(" ", "")
    if not _CODE.fullmatch(wanted):
        return None
    wanted = f"{wanted[:4]}-{wanted[-4:]}"
    for back in range(-1, VALID_DAYS + 1):
        day = around - timedelta(days=back)
        if hmac.compare_digest(command_code(key, thread_id, action_text, day), wanted):
            return day
    return None


def digest_tag(key: bytes, recipient: str, day: date) -> str:
    """The secret part of a digest's Message-ID: a reply that names it answers a digest this
    installation made (a forger cannot compute it from the recipient and the day)."""
    message = f"digest|{recipient.lower()}|{day.isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]
