"""The `[digest]` table of config.toml, as frozen settings."""

from __future__ import annotations

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
