import Foundation
import GRDB
import TestSupport
import Testing
import TidemarkProtocol

@testable import Store

@Suite("Migrations")
struct MigrationTests {
    @Test("A fresh file gets every migration, in WAL mode")
    func freshFile() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        #expect(try store.appliedMigrations() == Schema.migrationIdentifiers)
        let journalMode = try await store.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journalMode == "wal")
        let tables = try await store.read { db in
            try String.fetchAll(
                db,
                sql:
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name"
            )
        }
        #expect(
            tables == [
                "account", "api_token", "bridge_session", "checkpoint", "checkpoint_account", "curve_key_binding",
                "deal", "definition",
                "enforcement_command", "equity_chart", "event", "feed_outbox", "feed_state", "outbox",
                "period_statistics", "store_identity",
                "terminal_resume", "webhook",
            ])
        try store.close()
    }

    @Test("A file at an older migration is brought up to date and keeps its rows")
    func existingFile() async throws {
        let directory = try TemporaryDirectory()
        // Build a file as the first release would have left it: only the first migration, with an event.
        do {
            let queue = try DatabaseQueue(path: directory.storePath)
            try Schema.migrator.migrate(queue, upTo: Schema.migrationIdentifiers[0])
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO event (sequence, kind, type, account_id, subject_id, broker_time, body)
                        VALUES (1, 'tracker', 'drawdown', 'Broker-Demo:1001', 't1', 1000, '{"x":1}')
                        """)
            }
            try queue.close()
        }
        let store = try Store(path: directory.storePath)
        #expect(try store.appliedMigrations() == Schema.migrationIdentifiers)
        #expect(store.lastSequenceNumber == 1)
        let events = try await store.events(EventQuery())
        #expect(events.map(\.body) == [Data(#"{"x":1}"#.utf8)])
        // The second migration's tables work on the upgraded file.
        let issued = try await store.createToken(name: "ops", at: wallTime(1_000))
        #expect(try await store.verifyToken(issued.secret)?.id == issued.token.id)
        try store.close()
    }

    @Test("Reopening a current file runs nothing again")
    func reopenCurrent() async throws {
        let directory = try TemporaryDirectory()
        try Store(path: directory.storePath).close()
        let store = try Store(path: directory.storePath)
        #expect(try store.appliedMigrations() == Schema.migrationIdentifiers)
        try store.close()
    }

    @Test("A file migrated by a newer version is refused")
    func newerSchema() async throws {
        let directory = try TemporaryDirectory()
        do {
            let queue = try DatabaseQueue(path: directory.storePath)
            var migrator = Schema.migrator
            migrator.registerMigration("v99-from-the-future") { db in try db.execute(sql: "CREATE TABLE future (x)") }
            try migrator.migrate(queue)
            try queue.close()
        }
        #expect(throws: StoreError.newerSchema) { try Store(path: directory.storePath) }
    }
}
