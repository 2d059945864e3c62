"""Every error the watcher raises on purpose, and how far each one reaches.

    WatcherError
    ├── ConfigError            fatal at start: the config cannot be used (exit code 2)
    ├── UsageError             a command-line argument that cannot be used (exit code 2)
    └── OperationalError       something failed while working
        ├── AccountError       skips one account's cycle; the others go on
        │   ├── ImapError      the server or the connection failed (transient: retry)
        │   ├── AuthenticationError   the server refused the login (retry slowly)
        │   └── CredentialError       no password found for the account
        ├── StoreError         the local SQLite store cannot be used
        └── DeliveryError      the digest could not be delivered
    MessageError               one message cannot be read: kept with a reason, the sync goes on

Foreign exceptions (imapclient, socket, ssl, sqlite3, smtplib, keyring) are translated into
these at one boundary each: `mail/connection.py`, `store/store.py`, `digest/deliver.py`,
`credentials.py`.
"""

from __future__ import annotations


class WatcherError(Exception):
    """Base of every error the watcher raises on purpose; its text is meant for the user."""


class ConfigError(WatcherError):
    """The configuration cannot be used; the message names the key and the fix."""


class UsageError(WatcherError):
    """A command-line argument that cannot be used; the message names it and the fix."""


class OperationalError(WatcherError):
    """Something failed while the watcher was working."""


class AccountError(OperationalError):
    """One account cannot be synced this cycle; other accounts are unaffected."""

    def __init__(self, account: str, message: str) -> None:
        super().__init__(f"account {account!r}: {message}")
        self.account = account


class ImapError(AccountError):
    """The IMAP server or the connection to it failed; worth retrying later."""


class AuthenticationError(AccountError):
    """The server refused the login; retrying soon will not help."""


class CredentialError(AccountError):
    """No password or token could be found for the account."""


class StoreError(OperationalError):
    """The local store cannot be opened, migrated or written."""


class DeliveryError(OperationalError):
    """The digest could not be delivered."""


class MessageError(WatcherError):
    """One message cannot be parsed; it is kept with what could be read."""
