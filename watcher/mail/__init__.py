"""Mail sources: IMAP and local Maildir, both producing `MessageFacts` for the store."""
