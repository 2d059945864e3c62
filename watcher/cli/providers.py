"""Server settings of well-known mail providers, proposed by `watcher init` from an address.

Data only: the host names and ports each provider documents for IMAP and for SMTP
submission, and what a user must know before the first login (app passwords, IMAP access
switched off by default). A domain not listed here gets no proposal; init asks instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.config.settings import Security


@dataclass(frozen=True, slots=True)
class Provider:
    """How to reach one provider's IMAP and SMTP servers."""

    name: str
    domains: tuple[str, ...]
    imap_host: str
    smtp_host: str
    imap_port: int = 993
    imap_security: Security = "ssl"
    smtp_port: int = 587
    smtp_security: str = "starttls"  # "ssl" (465) or "starttls" (587), as [digest.smtp] takes
    note: str = ""  # shown before the password is asked
    webmail: str = ""  # a [digest] webmail name, for links to the thread

    def describe(self) -> str:
        return (
            f"{self.name}: IMAP {self.imap_host}:{self.imap_port} ({self.imap_security}), "
            f"SMTP {self.smtp_host}:{self.smtp_port} ({self.smtp_security})"
        )


_APP_SPECIFIC = (
    "{name} needs an app password here, not your normal password: create one in your "
    "account's security settings"
)

PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "Gmail",
        ("gmail.com", "googlemail.com"),
        "imap.gmail.com",
        "smtp.gmail.com",
        note=_APP_SPECIFIC.format(name="Gmail")
        + " (Google Account > Security > 2-Step Verification > App passwords), "
        "or use OAuth2 with --oauth2-token-command",
        webmail="gmail",
    ),
    Provider(
        "Outlook / Microsoft 365",
        (
            *("outlook.com", "hotmail.com", "live.com", "msn.com", "outlook.de", "hotmail.de"),
            *("hotmail.co.uk", "hotmail.fr", "live.de", "live.co.uk"),
        ),
        "outlook.office365.com",
        "smtp.office365.com",
        # Microsoft is switching off password logins ("basic auth") for IMAP and SMTP.
        note="Microsoft may refuse password logins over IMAP; if the login fails, "
        "use OAuth2 with --oauth2-token-command",
        webmail="outlook",
    ),
    Provider(
        "Fastmail",
        ("fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "fastmail.de"),
        "imap.fastmail.com",
        "smtp.fastmail.com",
        smtp_port=465,
        smtp_security="ssl",
        note=_APP_SPECIFIC.format(name="Fastmail") + " (Settings > Privacy & Security)",
        webmail="fastmail",
    ),
    Provider(
        "iCloud Mail",
        ("icloud.com", "me.com", "mac.com"),
        "imap.mail.me.com",
        "smtp.mail.me.com",
        note=_APP_SPECIFIC.format(name="iCloud")
        + " (appleid.apple.com > Sign-In and Security > App-Specific Passwords); if the "
        "login fails, try the name before the @ as --username",
    ),
    Provider(
        "Yahoo Mail",
        ("yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr"),
        "imap.mail.yahoo.com",
        "smtp.mail.yahoo.com",
        smtp_port=465,
        smtp_security="ssl",
        note=_APP_SPECIFIC.format(name="Yahoo") + " (Account security > Generate app password)",
    ),
    Provider(
        "Zoho Mail",
        ("zoho.com", "zohomail.com"),
        "imap.zoho.com",
        "smtp.zoho.com",
        smtp_port=465,
        smtp_security="ssl",
        note="Zoho: switch IMAP access on in Settings > Mail Accounts first",
    ),
    Provider(
        "Zoho Mail (EU)",
        ("zoho.eu", "zohomail.eu"),
        "imap.zoho.eu",
        "smtp.zoho.eu",
        smtp_port=465,
        smtp_security="ssl",
        note="Zoho: switch IMAP access on in Settings > Mail Accounts first",
    ),
    Provider(
        "GMX",
        ("gmx.net", "gmx.de", "gmx.at", "gmx.ch"),
        "imap.gmx.net",
        "mail.gmx.net",
        note="GMX: allow IMAP access first (Settings > POP3 & IMAP)",
    ),
    Provider(
        "GMX (international)",
        ("gmx.com", "gmx.us", "gmx.co.uk", "gmx.fr"),
        "imap.gmx.com",
        "mail.gmx.com",
        note="GMX: allow IMAP access first (Settings > POP3 & IMAP)",
    ),
    Provider(
        "WEB.DE",
        ("web.de",),
        "imap.web.de",
        "smtp.web.de",
        note="WEB.DE: allow IMAP access first (Settings > POP3/IMAP)",
    ),
    Provider(
        "mailbox.org",
        ("mailbox.org",),
        "imap.mailbox.org",
        "smtp.mailbox.org",
        smtp_port=465,
        smtp_security="ssl",
    ),
    Provider(
        "Proton Mail (through Proton Mail Bridge)",
        ("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
        "127.0.0.1",
        "127.0.0.1",
        imap_port=1143,
        imap_security="starttls",
        smtp_port=1025,
        # Bridge serves a self-signed certificate of its own: without ca_file, TLS fails.
        note="Proton Mail works through Proton Mail Bridge, which must be running: use the "
        "password Bridge shows (not your Proton password), and export Bridge's certificate "
        "(Settings > Export TLS certificates) for --ca-file",
    ),
)

_BY_DOMAIN = {domain: provider for provider in PROVIDERS for domain in provider.domains}


def provider_for(address: str) -> Provider | None:
    """The provider whose mail domain `address` is in, or None for any other domain."""
    _local, at, domain = address.strip().lower().rpartition("@")
    return _BY_DOMAIN.get(domain) if at else None
