import Foundation
import GRDB
@testable import Store
import Testing
import TestSupport
import TidemarkProtocol

/// `connected` follows the account's open sessions; the account keeps when it last connected and
/// disconnected.
@Suite("Sessions and connection state")
struct SessionTests {
    func account(_ store: Store, _ id: AccountID = accountA) async throws -> AccountRecord {
        try #require(try await store.account(id))
    }

    @Test func closingTheOnlySessionDisconnects() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(accountUpdates: [AccountUpdate(id: accountA, connected: true)],
                                          sessionChanges: [.opened(sessionId: "s1", accountId: accountA, at: wallTime(1_000))]))
        var record = try await account(store)
        #expect(record.connected && record.lastConnectedAt == wallTime(1_000) && record.lastDisconnectedAt == nil)

        try await store.commit(StoreBatch(sessionChanges: [.closed(sessionId: "s1", at: wallTime(2_000), reason: "bye")]))
        record = try await account(store)
        #expect(!record.connected)
        #expect(record.lastConnectedAt == wallTime(1_000) && record.lastDisconnectedAt == wallTime(2_000))
        let sessions = try await store.sessions(accountId: accountA)
        #expect(sessions.map(\.closeReason) == ["bye"] && sessions.first?.closedAt == wallTime(2_000))

        // A second close of the same session changes nothing (not even the time).
        try await store.commit(StoreBatch(sessionChanges: [.closed(sessionId: "s1", at: wallTime(3_000), reason: "timed_out")]))
        record = try await account(store)
        #expect(record.lastDisconnectedAt == wallTime(2_000))
        #expect(try await store.sessions(accountId: accountA).map(\.closeReason) == ["bye"])
        try store.close()
    }

    @Test func aSupersededSessionLeavesTheAccountConnectedWithTheNewOne() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(accountUpdates: [AccountUpdate(id: accountA, connected: true)],
                                          sessionChanges: [.opened(sessionId: "s1", accountId: accountA, at: wallTime(1_000))]))
        // As the pipeline writes one batch: the new session opens, then the old one ends.
        try await store.commit(StoreBatch(accountUpdates: [AccountUpdate(id: accountA, connected: true)],
                                          sessionChanges: [.opened(sessionId: "s2", accountId: accountA, at: wallTime(2_000)),
                                                           .closed(sessionId: "s1", at: wallTime(2_000), reason: "superseded")]))
        var record = try await account(store)
        #expect(record.connected && record.lastConnectedAt == wallTime(2_000) && record.lastDisconnectedAt == nil)

        // The other order in separate batches too: s2's end, with s1 closed, disconnects.
        try await store.commit(StoreBatch(sessionChanges: [.closed(sessionId: "s2", at: wallTime(3_000), reason: "timed_out")]))
        record = try await account(store)
        #expect(!record.connected && record.lastDisconnectedAt == wallTime(3_000))
        try store.close()
    }

    @Test func anotherAccountsSessionsDoNotCount() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(accountUpdates: [AccountUpdate(id: accountA, connected: true),
                                                           AccountUpdate(id: accountB, connected: true)],
                                          sessionChanges: [.opened(sessionId: "a", accountId: accountA, at: wallTime(1_000)),
                                                           .opened(sessionId: "b", accountId: accountB, at: wallTime(1_000))]))
        try await store.commit(StoreBatch(sessionChanges: [.closed(sessionId: "a", at: wallTime(2_000), reason: "bye")]))
        #expect(try await account(store, accountA).connected == false)
        #expect(try await account(store, accountB).connected == true)
        try store.close()
    }

    @Test func migrationV3TakesTheTimesFromTheSessionsAlreadyStored() async throws {
        let directory = try TemporaryDirectory()
        do {
            let queue = try DatabaseQueue(path: directory.storePath)
            try Schema.migrator.migrate(queue, upTo: Schema.migrationIdentifiers[1])
            try await queue.write { db in
                try db.execute(sql: """
                    INSERT INTO account (id, server, login, connected) VALUES ('Broker-Demo:1001', 'Broker-Demo', 1001, 0),
                                                                              ('Broker-Demo:1002', 'Broker-Demo', 1002, 1);
                    INSERT INTO bridge_session (session_id, account_id, opened_at, closed_at, close_reason) VALUES
                        ('a1', 'Broker-Demo:1001', 1000, 2000, 'bye'), ('a2', 'Broker-Demo:1001', 3000, 4000, 'bye'),
                        ('b1', 'Broker-Demo:1002', 5000, NULL, NULL);
                    """)
            }
            try queue.close()
        }
        let store = try Store(path: directory.storePath)
        let a = try await account(store, accountA)
        let b = try await account(store, accountB)
        // The latest opening and closing of each account; none for one still connected.
        #expect(a.lastConnectedAt == wallTime(3_000) && a.lastDisconnectedAt == wallTime(4_000))
        #expect(b.lastConnectedAt == wallTime(5_000) && b.lastDisconnectedAt == nil && b.connected)
        try store.close()
    }

    @Test func aStartingAgentClosesWhatThePreviousRunLeftOpen() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(accountUpdates: [AccountUpdate(id: accountA, connected: true),
                                                           AccountUpdate(id: accountB, connected: true)],
                                          sessionChanges: [.opened(sessionId: "a", accountId: accountA, at: wallTime(1_000)),
                                                           .opened(sessionId: "b", accountId: accountB, at: wallTime(1_000)),
                                                           .closed(sessionId: "b", at: wallTime(1_500), reason: "bye")]))
        #expect(try await store.closeOpenSessions(at: wallTime(5_000)) == 1)
        let a = try await account(store, accountA)
        let b = try await account(store, accountB)
        #expect(!a.connected && a.lastDisconnectedAt == wallTime(5_000))
        #expect(!b.connected && b.lastDisconnectedAt == wallTime(1_500))
        #expect(try await store.sessions(accountId: accountA).map(\.closeReason) == ["agent_stopped"])
        try store.close()
    }
}
