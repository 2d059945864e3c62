"""The `[digest]` table of config.toml, as frozen settings, and the check of its templates.

The digest (`watcher.digest`) renders and suggests with these; the settings live here so that
the config loader needs nothing from the digest.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watcher.config.settings import Account

# Webmail links to the original thread, by the Message-ID of my sent message.
WEBMAILS = {
    "gmail": "https://mail.google.com/mail/u/0/#search/rfc822msgid%3A{message_id}",
    "outlook": "https://outlook.office.com/mail/search?q={message_id}",
    "fastmail": "https://app.fastmail.com/mail/search:msgid%3A{message_id}",
}
# Suggested follow-up texts the user can replace in [digest.templates].
TEMPLATE_NAMES = ("first", "reminder", "long_quiet", "last")
# Placeholders a user template may use; {greeting} is "Hi Ana," or "Hello," when no name.
PLACEHOLDERS = ("first_name", "greeting", "subject", "kind", "sent_on", "days", "attachments")
# What `digest.suggest` fills in for one proposal, with the same types: a template that takes
# these takes every real one.
_SAMPLE = {
    "first_name": "Ana",
    "greeting": "Hi Ana,",
    "subject": "Website",
    "kind": "proposal",
    "sent_on": "12 November",
    "days": 12,
    "attachments": "",
}


@dataclass(frozen=True, slots=True)
class DigestSettings:
    at: str = "07:30"  # local time of the morning digest
    catch_up_until: str = "12:00"  # a daemon that was down sends the day's digest until then
    recipient: str = ""
    sender: str = ""
    account: str = ""  # the IMAP account used for appending, drafts and the exactly-once check
    delivery: str = ""  # "smtp", "imap", "both"; "" = not configured (preview only)
    send_when_empty: bool = False
    webmail: str = ""
    drafts: bool = False
    templates: tuple[tuple[str, str], ...] = ()
    smtp: Account | None = None

    def link_to(self, message_id: str) -> str:
        """A link that opens the original thread in the configured webmail, or ""."""
        template = WEBMAILS.get(self.webmail, self.webmail)
        if not template or not message_id:
            return ""
        from urllib.parse import quote

        return template.replace("{message_id}", quote(message_id.strip("<>"), safe="@"))


def check_template(text: str) -> str | None:
    """Why a follow-up template cannot be used, or None: for the config loader to report."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"{exc} (write {{{{ and }}}} for literal braces)"
    for _, field, spec, _ in fields:
        if field is None:
            continue
        if spec and "{" in spec:
            return f"nested placeholders are not supported: {{{field}:{spec}}}"
        if field not in PLACEHOLDERS:
            # Attribute and index access ("{subject.__class__}") is refused too.
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            return f"unknown placeholder {{{field}}}; use {known}"
    try:
        text.format_map(_SAMPLE)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return f"cannot be filled in: {exc}"
    return None
