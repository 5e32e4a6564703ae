import Foundation
import GRDB
@testable import Store
import TestSupport
import Testing
import TidemarkProtocol

/// A checkpoint in account rows: complete, then only the changed rows, in the store and in the
/// checkpoint file; the migration of a store whose checkpoint is one blob.
@Suite("Checkpoint account rows")
struct CheckpointRowsTests {
    static func bytes(_ text: String) -> Data { Data(text.utf8) }

    static func complete(position: UInt64, accounts: [AccountID: Data]) -> Checkpoint {
        Checkpoint(inputPosition: position, nextSequenceNumber: 1, layout: .perAccount, state: bytes("shared"),
                   accounts: accounts, isComplete: true, savedAt: wallTime(1_000))
    }

    static func changes(position: UInt64, accounts: [AccountID: Data], removed: Set<AccountID> = []) -> Checkpoint {
        Checkpoint(inputPosition: position, nextSequenceNumber: 1, layout: .perAccount, state: bytes("shared2"),
                   accounts: accounts, removedAccounts: removed, isComplete: false, savedAt: wallTime(2_000))
    }

    @Test("Changed rows replace theirs, removed rows go, the others stay; the receipt counts what was written")
    func changedRowsOverAComplete() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let c = AccountID("Broker-Demo:1003")
        let first = try await store.commit(StoreBatch(checkpoint: Self.complete(
            position: 10, accounts: [accountA: Self.bytes("a1"), accountB: Self.bytes("b1"), c: Self.bytes("c1")])))
        // The header (6 bytes of "shared") and three rows of 2 bytes.
        #expect(first.checkpointWritten.rows == 4)
        #expect(first.checkpointWritten.bytes == 12)
        let second = try await store.commit(StoreBatch(checkpoint: Self.changes(
            position: 11, accounts: [accountB: Self.bytes("b2")], removed: [c])))
        #expect(second.checkpointWritten.rows == 3)
        #expect(second.checkpointWritten.bytes == 9)
        let read = try #require(try await store.checkpoint())
        #expect(read.layout == .perAccount)
        #expect(read.inputPosition == 11)
        #expect(read.state == Self.bytes("shared2"))
        #expect(read.accounts == [accountA: Self.bytes("a1"), accountB: Self.bytes("b2")])

        // A complete checkpoint drops every row it does not carry.
        try await store.commit(StoreBatch(checkpoint: Self.complete(position: 12, accounts: [c: Self.bytes("c3")])))
        #expect(try await store.checkpoint()?.accounts == [c: Self.bytes("c3")])
        try store.close()
    }

    @Test("Changed rows need a complete checkpoint in rows before them")
    func changesNeedAComplete() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        await #expect(throws: StoreError.checkpointMismatch) {
            try await store.commit(StoreBatch(checkpoint: Self.changes(position: 1, accounts: [accountA: Self.bytes("a")])))
        }
        // Nor over a checkpoint in one blob.
        try await store.commit(StoreBatch(checkpoint: Checkpoint(inputPosition: 1, nextSequenceNumber: 1, state: Self.bytes("whole"),
                                                                 savedAt: wallTime(1_000))))
        await #expect(throws: StoreError.checkpointMismatch) {
            try await store.commit(StoreBatch(checkpoint: Self.changes(position: 2, accounts: [accountA: Self.bytes("a")])))
        }
        #expect(throws: StoreError.checkpointMismatch) {
            try store.saveCheckpoint(Self.changes(position: 2, accounts: [accountA: Self.bytes("a")]))
        }
        try store.close()
    }

    @Test("The checkpoint file keeps rows the same way, and a newer file is what a restart reads")
    func fileRows() async throws {
        let directory = try TemporaryDirectory()
        do {
            let store = try Store(path: directory.storePath)
            try await store.commit(StoreBatch(checkpoint: Self.complete(position: 5, accounts: [accountA: Self.bytes("a-store")])))
            let written = try store.saveCheckpoint(Self.complete(position: 6, accounts: [accountA: Self.bytes("a1"), accountB: Self.bytes("b1")]))
            #expect(written.rows == 3)
            try store.saveCheckpoint(Self.changes(position: 7, accounts: [accountA: Self.bytes("a2")]))
            try store.close()
        }
        let reopened = try Store(path: directory.storePath)
        let read = try #require(try await reopened.checkpoint())
        #expect(read.inputPosition == 7)
        #expect(read.accounts == [accountA: Self.bytes("a2"), accountB: Self.bytes("b1")])
        // A complete checkpoint may put the file back to an earlier position (a restart that resumed
        // from the store's own); changed rows may not.
        try reopened.saveCheckpoint(Self.complete(position: 5, accounts: [accountA: Self.bytes("a-store")]))
        #expect(throws: StoreError.inputPositionRegressed) {
            try reopened.saveCheckpoint(Self.changes(position: 4, accounts: [accountA: Self.bytes("a")]))
        }
        try reopened.close()
    }

    @Test("Migration: a store and checkpoint file with one-blob checkpoints keep them, readable as such")
    func migratesBlobLayout() async throws {
        let directory = try TemporaryDirectory()
        let checkpointPath = directory.url.appendingPathComponent("tidemark.checkpoint.sqlite").path
        do {
            // The store at the migration before account rows, with a checkpoint blob.
            let queue = try DatabaseQueue(path: directory.storePath)
            try Schema.migrator.migrate(queue, upTo: Schema.migrationIdentifiers[4])
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO checkpoint (id, input_position, next_sequence, state, saved_at) VALUES (1, 3, 1, ?, 0)",
                               arguments: [Self.bytes("old-blob")])
            }
            let identity = try await queue.read { db in try String.fetchOne(db, sql: "SELECT id FROM store_identity") }
            try queue.close()
            // Its checkpoint file as it was made then: no layout column, no account rows.
            let file = try DatabaseQueue(path: checkpointPath)
            try await file.write { db in
                try db.execute(sql: """
                    CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), input_position INTEGER NOT NULL,
                        next_sequence INTEGER NOT NULL, state BLOB NOT NULL, saved_at INTEGER NOT NULL);
                    CREATE TABLE checkpoint_identity (store_id TEXT NOT NULL);
                    """)
                try db.execute(sql: "INSERT INTO checkpoint_identity (store_id) VALUES (?)", arguments: [identity])
                try db.execute(sql: "INSERT INTO checkpoint VALUES (1, 4, 1, ?, 0)", arguments: [Self.bytes("old-file-blob")])
            }
            try file.close()
        }
        let store = try Store(path: directory.storePath)
        #expect(try store.appliedMigrations() == Schema.migrationIdentifiers)
        let read = try #require(try await store.checkpoint())
        #expect(read.layout == .whole)
        #expect(read.inputPosition == 4)
        #expect(read.state == Self.bytes("old-file-blob"))
        #expect(try store.savedCheckpointHeader()?.layout == .whole)
        // Rows can be written over it in both places, complete first.
        try await store.commit(StoreBatch(checkpoint: Self.complete(position: 4, accounts: [accountA: Self.bytes("a")])))
        try store.saveCheckpoint(Self.complete(position: 4, accounts: [accountA: Self.bytes("a")]))
        #expect(try await store.checkpoint()?.accounts == [accountA: Self.bytes("a")])
        try store.close()
    }
}
