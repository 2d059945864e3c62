"""The store's schema, as named migrations applied in order and recorded in the file."""

from __future__ import annotations

# Named migrations, applied in order and recorded in the `migrations` table. Never edit one
# that has shipped: add a new one. A new field of `MessageFacts` needs one here, adding its
# column (`ALTER TABLE messages ADD COLUMN ...`; tests/test_store.py names the statement).
MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "0001_initial",
        """
        CREATE TABLE folders (
            account TEXT NOT NULL,
            name TEXT NOT NULL,
            special_use TEXT NOT NULL DEFAULT '',
            uidvalidity INTEGER,
            last_uid INTEGER NOT NULL DEFAULT 0,
            highest_modseq INTEGER,
            server_messages INTEGER,
            initial_done INTEGER NOT NULL DEFAULT 0,
            last_synced INTEGER,
            PRIMARY KEY (account, name)
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            folder TEXT NOT NULL,
            key TEXT NOT NULL,
            uid INTEGER,
            message_id TEXT NOT NULL,
            in_reply_to TEXT NOT NULL,
            refs TEXT NOT NULL,
            gm_thread_id INTEGER,
            thread_index TEXT NOT NULL,
            from_addrs TEXT NOT NULL,
            sender_addrs TEXT NOT NULL,
            reply_to_addrs TEXT NOT NULL,
            to_addrs TEXT NOT NULL,
            cc_addrs TEXT NOT NULL,
            bcc_addrs TEXT NOT NULL,
            date INTEGER,
            internal_date INTEGER,
            subject TEXT NOT NULL,
            flags TEXT NOT NULL,
            modseq INTEGER,
            size INTEGER,
            auto_submitted TEXT NOT NULL,
            x_autoreply TEXT NOT NULL,
            x_autorespond TEXT NOT NULL,
            precedence TEXT NOT NULL,
            list_id TEXT NOT NULL,
            content_type TEXT NOT NULL,
            report_type TEXT NOT NULL,
            reported_message_id TEXT NOT NULL,
            attachments TEXT NOT NULL,
            is_from_me INTEGER NOT NULL,
            body_text TEXT NOT NULL,
            parse_problems TEXT NOT NULL,
            UNIQUE (account, folder, key)
        );
        CREATE INDEX messages_by_message_id ON messages (message_id);
        CREATE INDEX messages_by_uid ON messages (account, folder, uid);
        """,
    ),
    (
        "0002_thread_overrides",
        """
        CREATE TABLE thread_overrides (
            thread_id TEXT PRIMARY KEY,
            quiet_days INTEGER,
            snooze_until TEXT,
            muted INTEGER NOT NULL DEFAULT 0,
            done INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL
        );
        """,
    ),
    (
        # The UNIQUE (account, folder, key) index already serves per-folder lookups; a
        # second index only slowed every insert down.
        "0003_drop_redundant_uid_index",
        "DROP INDEX IF EXISTS messages_by_uid;",
    ),
    (
        # Whether a sent message is a proposal depends only on its content, the user's
        # keywords and the classifier's version (all in the digest): classify it once.
        "0004_classifications",
        """
        CREATE TABLE classifications (
            digest TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            score REAL NOT NULL,
            reasons TEXT NOT NULL
        );
        """,
    ),
    (
        # A digest is recorded as pending before it is sent and as sent after: a process
        # killed in between finds the pending one and looks for it before sending again.
        # The entries say which rung of which thread each digest carried (the cadence).
        "0005_digests",
        """
        CREATE TABLE digests (
            day TEXT NOT NULL,
            recipient TEXT NOT NULL,
            message_id TEXT NOT NULL,
            state TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            sent_at INTEGER,
            PRIMARY KEY (day, recipient)
        );
        CREATE TABLE digest_entries (
            day TEXT NOT NULL,
            message_id TEXT NOT NULL,
            since INTEGER NOT NULL,
            rung INTEGER NOT NULL,
            PRIMARY KEY (message_id, since, rung)
        );
        CREATE TABLE drafts (
            draft_id TEXT PRIMARY KEY,
            saved_at INTEGER NOT NULL
        );
        """,
    ),
    (
        # What the daemon, `watcher status`, `doctor` and the digest say about each account.
        "0006_account_status",
        """
        CREATE TABLE account_status (
            account TEXT PRIMARY KEY,
            last_attempt INTEGER,
            last_success INTEGER,
            last_error TEXT NOT NULL DEFAULT '',
            failing_since INTEGER
        );
        """,
    ),
    (
        # `watcher thread ID --track` (1) and `--not-proposal` (0); NULL: the classifier decides.
        "0007_thread_override_track",
        "ALTER TABLE thread_overrides ADD COLUMN track INTEGER;",
    ),
    (
        # Commands by mail, by Message-ID and line: each is applied once, a rebuilt store
        # re-reads them from the mailbox, and the next digest reports what was applied.
        # The cards of each digest sent, so that "2 done" in a reply to it names a thread.
        "0008_mail_commands",
        """
        CREATE TABLE mail_commands (
            message_id TEXT NOT NULL,
            line INTEGER NOT NULL,
            sent_at INTEGER NOT NULL,
            state TEXT NOT NULL,
            thread_id TEXT NOT NULL DEFAULT '',
            action TEXT NOT NULL DEFAULT '',
            snooze_until TEXT,
            replay_key TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '',
            reported INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (message_id, line)
        );
        CREATE TABLE digest_cards (
            message_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            thread_id TEXT NOT NULL,
            PRIMARY KEY (message_id, number)
        );
        """,
    ),
)
