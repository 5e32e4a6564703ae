import GRDB

/// The database schema, as an ordered list of migrations. A migration, once released, never changes:
/// a new need is a new migration appended at the end.
///
/// Conventions: times are INTEGER milliseconds (broker time for `broker_time` columns, Unix time in
/// UTC for `*_at` columns); money is INTEGER units of 1e-8 (``FixedDecimal/units``), so it stays
/// exact; bodies are canonical JSON TEXT of the risk core's Codable values, so fields added there
/// need no migration. Plain SQL (no STRICT tables) so older SQLite versions open the file too.
enum Schema {
    /// Every migration's identifier, in order.
    static let migrationIdentifiers = [
        "v1-risk-records", "v2-access-and-notifications", "v3-connection-times-and-queued-at",
        "v4-store-identity-and-keyed-token-hashes", "v5-curve-key-bindings",
        "v6-checkpoint-per-account", "v7-feed-outbox",
    ]

    /// The checkpoint file beside the store (``Store/checkpointPath``) has the same two checkpoint
    /// tables as the store (which migrations created, and whose text stays as it was applied): the
    /// checkpoint's header with the part of the state that belongs to no account, and one row per
    /// account. A file made before the account rows gets them (``checkpointFileUpgrade``).
    static let checkpointTable = """
        CREATE TABLE IF NOT EXISTS checkpoint (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            input_position INTEGER NOT NULL,
            next_sequence INTEGER NOT NULL,
            state BLOB NOT NULL,
            saved_at INTEGER NOT NULL,
            layout TEXT NOT NULL DEFAULT 'whole'
        )
        """

    /// The checkpoint's account rows (in the store and in the checkpoint file).
    static let checkpointAccountTable = """
        CREATE TABLE IF NOT EXISTS checkpoint_account (
            account_id TEXT PRIMARY KEY NOT NULL,
            state BLOB NOT NULL
        ) WITHOUT ROWID
        """

    /// Brings a checkpoint file made before the account rows to the current tables.
    static func checkpointFileUpgrade(_ db: Database) throws {
        if try !db.columns(in: "checkpoint").contains(where: { $0.name == "layout" }) {
            try db.execute(sql: "ALTER TABLE checkpoint ADD COLUMN layout TEXT NOT NULL DEFAULT 'whole'")
        }
        try db.execute(sql: checkpointAccountTable)
    }

    /// The checkpoint file's second table: the identity of the store it belongs to (one row).
    static let checkpointIdentityTable = """
        CREATE TABLE IF NOT EXISTS checkpoint_identity (
            store_id TEXT NOT NULL
        )
        """

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(migrationIdentifiers[0]) { db in
            try db.execute(sql: riskRecords)
        }
        migrator.registerMigration(migrationIdentifiers[1]) { db in
            try db.execute(sql: accessAndNotifications)
        }
        migrator.registerMigration(migrationIdentifiers[2]) { db in
            try db.execute(sql: connectionTimesAndQueuedAt)
        }
        migrator.registerMigration(migrationIdentifiers[3]) { db in
            try db.execute(sql: storeIdentity)
            let identity = StoreIdentity.generate()
            try db.execute(
                sql: "INSERT INTO store_identity (id, token_key) VALUES (?, ?)",
                arguments: [identity.id, identity.tokenKey])
            // Rows of a store made without an identity hold SHA-256(secret): keyed, they take the
            // form of every token, HMAC(key, SHA-256(secret)), without needing the secrets.
            for row in try Row.fetchAll(db, sql: "SELECT id, hash FROM api_token") {
                let keyed = TokenHashing.keyed(sha256: row["hash"], key: identity.tokenKey)
                try db.execute(
                    sql: "UPDATE api_token SET hash = ? WHERE id = ?", arguments: [keyed, row["id"] as String])
            }
        }
        migrator.registerMigration(migrationIdentifiers[4]) { db in
            try db.execute(sql: curveKeyBindings)
        }
        migrator.registerMigration(migrationIdentifiers[5]) { db in
            // An existing checkpoint keeps its one blob (`layout` 'whole') until the agent's next
            // start, which reads it and writes it back as account rows (``Checkpoint/Layout``).
            try db.execute(sql: "ALTER TABLE checkpoint ADD COLUMN layout TEXT NOT NULL DEFAULT 'whole'")
            try db.execute(sql: checkpointAccountTable)
        }
        migrator.registerMigration(migrationIdentifiers[6]) { db in
            try db.execute(sql: feedOutbox)
        }
        return migrator
    }

    private static let riskRecords = """
        CREATE TABLE account (
            id TEXT PRIMARY KEY NOT NULL,
            server TEXT NOT NULL,
            login INTEGER NOT NULL,
            platform TEXT,
            currency TEXT,
            registered_at INTEGER,
            last_equity INTEGER,
            last_balance INTEGER,
            last_seen_broker_time INTEGER,
            connected INTEGER NOT NULL DEFAULT 0,
            reconciliation_drift INTEGER,
            enforcement_state TEXT
        );

        CREATE TABLE bridge_session (
            session_id TEXT PRIMARY KEY NOT NULL,
            account_id TEXT NOT NULL,
            opened_at INTEGER NOT NULL,
            closed_at INTEGER,
            close_reason TEXT
        );
        CREATE INDEX bridge_session_by_account ON bridge_session(account_id, opened_at);

        -- Trackers, challenges and competitions. Deleted ones stay (their events refer to them).
        CREATE TABLE definition (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            account_id TEXT,
            name TEXT,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            deleted_at INTEGER,
            PRIMARY KEY (kind, id)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX definition_live_name ON definition(kind, account_id, name)
            WHERE deleted_at IS NULL AND name IS NOT NULL;
        CREATE INDEX definition_by_account ON definition(account_id, kind);

        -- Every risk-core event, keyed by the core's global sequence number (the rowid, so
        -- "after sequence N" is a range scan of the table itself).
        CREATE TABLE event (
            sequence INTEGER PRIMARY KEY NOT NULL CHECK (sequence >= 1),
            kind TEXT NOT NULL,
            type TEXT NOT NULL,
            account_id TEXT,
            subject_id TEXT NOT NULL,
            broker_time INTEGER NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX event_by_kind_time ON event(kind, broker_time);
        CREATE INDEX event_by_account ON event(account_id, kind, broker_time);
        CREATE INDEX event_by_subject ON event(subject_id, broker_time);
        -- Gap-free and append-only, whoever writes: the store checks this too, with a clearer error.
        CREATE TRIGGER event_gap_free BEFORE INSERT ON event
            WHEN NEW.sequence IS NOT (SELECT COALESCE(MAX(sequence), 0) + 1 FROM event)
            BEGIN SELECT RAISE(ABORT, 'event sequence numbers must be gap-free'); END;
        CREATE TRIGGER event_no_update BEFORE UPDATE ON event
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        CREATE TRIGGER event_no_delete BEFORE DELETE ON event
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

        CREATE TABLE period_statistics (
            tracker_id TEXT NOT NULL,
            start_broker_time INTEGER NOT NULL,
            account_id TEXT NOT NULL,
            end_broker_time INTEGER,
            body TEXT NOT NULL,
            PRIMARY KEY (tracker_id, start_broker_time)
        ) WITHOUT ROWID;

        CREATE TABLE equity_chart (
            account_id TEXT NOT NULL,
            start_broker_time INTEGER NOT NULL,
            end_broker_time INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, start_broker_time)
        ) WITHOUT ROWID;

        CREATE TABLE deal (
            account_id TEXT NOT NULL,
            ticket INTEGER NOT NULL,
            broker_time INTEGER NOT NULL,
            type TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, ticket)
        ) WITHOUT ROWID;
        CREATE INDEX deal_by_time ON deal(account_id, broker_time);

        -- One row: the risk core's latest checkpoint.
        CREATE TABLE checkpoint (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            input_position INTEGER NOT NULL,
            next_sequence INTEGER NOT NULL,
            state BLOB NOT NULL,
            saved_at INTEGER NOT NULL
        );

        CREATE TABLE terminal_resume (
            account_id TEXT PRIMARY KEY NOT NULL,
            session_id TEXT NOT NULL,
            acknowledged_sequence INTEGER NOT NULL,
            state BLOB
        );
        """

    private static let accessAndNotifications = """
        -- Only the SHA-256 of a token is kept.
        CREATE TABLE api_token (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            hash BLOB NOT NULL UNIQUE,
            admin INTEGER NOT NULL,
            read_only INTEGER NOT NULL,
            accounts TEXT,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        );

        -- The secret is kept in clear: it signs every delivery (HMAC-SHA256).
        CREATE TABLE webhook (
            id TEXT PRIMARY KEY NOT NULL,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            filter TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );

        -- One row per (webhook, event) to deliver; next_attempt_at is NULL once delivered or abandoned.
        CREATE TABLE outbox (
            webhook_id TEXT NOT NULL REFERENCES webhook(id) ON DELETE CASCADE,
            event_sequence INTEGER NOT NULL REFERENCES event(sequence),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER,
            delivered_at INTEGER,
            last_error TEXT,
            PRIMARY KEY (webhook_id, event_sequence)
        ) WITHOUT ROWID;
        CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE next_attempt_at IS NOT NULL;

        CREATE TABLE enforcement_command (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            requested_at INTEGER NOT NULL,
            cause_sequence INTEGER,
            acknowledged_at INTEGER,
            acknowledged_broker_time INTEGER,
            succeeded INTEGER,
            detail TEXT
        );
        CREATE INDEX enforcement_by_account ON enforcement_command(account_id, id);
        -- A replayed event must not enforce twice.
        CREATE UNIQUE INDEX enforcement_once_per_cause ON enforcement_command(cause_sequence, account_id, kind)
            WHERE cause_sequence IS NOT NULL;
        """

    /// When each account's terminal last connected and disconnected (the API shows them), and when
    /// each outbox row was queued (its event's commit: the start of the delivery-latency metric).
    /// Existing rows take what the session table already knows.
    /// One row: the store's identity (the checkpoint file carries it too, so a checkpoint from
    /// another store is noticed) and the key of its token hashes (HMAC-SHA256).
    private static let storeIdentity = """
        CREATE TABLE store_identity (
            id TEXT NOT NULL,
            token_key BLOB NOT NULL
        );
        """

    private static let connectionTimesAndQueuedAt = """
        ALTER TABLE account ADD COLUMN last_connected_at INTEGER;
        ALTER TABLE account ADD COLUMN last_disconnected_at INTEGER;
        UPDATE account SET last_connected_at = (SELECT MAX(opened_at) FROM bridge_session s WHERE s.account_id = account.id);
        UPDATE account SET last_disconnected_at = (SELECT MAX(closed_at) FROM bridge_session s WHERE s.account_id = account.id)
            WHERE connected = 0;
        ALTER TABLE outbox ADD COLUMN queued_at INTEGER;
        """

    /// The account each CURVE key listed without accounts is bound to (its first HELLO's, or
    /// an operator's choice); one account belongs to one key at most.
    private static let curveKeyBindings = """
        CREATE TABLE curve_key_binding (
            public_key TEXT PRIMARY KEY NOT NULL,
            account_id TEXT NOT NULL UNIQUE,
            bound_at INTEGER NOT NULL
        );
        """

    /// The dashboard feed's outbox: one row per stored record to feed, numbered by the agent's feed
    /// sequence (AUTOINCREMENT: never reused, even after rows are acknowledged and deleted), and
    /// the feed's position (one row, present once a feed was ever configured).
    private static let feedOutbox = """
        CREATE TABLE feed_outbox (
            feed_sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            account_id TEXT,
            record TEXT NOT NULL,
            queued_at INTEGER NOT NULL
        );
        CREATE TABLE feed_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            acknowledged_through INTEGER NOT NULL,
            overflowed_rows INTEGER NOT NULL,
            lost_through INTEGER NOT NULL
        );
        """
}
