import Foundation
import GRDB
import TestSupport
import Testing
import TidemarkProtocol

@testable import Store

@Suite("Durability")
struct DurabilityTests {
    @Test("Everything committed is found after closing and reopening")
    func reopen() async throws {
        let directory = try TemporaryDirectory()
        let token: IssuedToken
        do {
            let store = try Store(path: directory.storePath)
            token = try await store.createToken(name: "ops", allowedAccounts: [accountA], at: wallTime(1))
            _ = try await store.createWebhook(url: "http://127.0.0.1:9/", secret: "s", id: "w", at: wallTime(1))
            try await store.registerAccount(accountA, platform: .mt5, at: wallTime(2))
            try await store.commit(
                StoreBatch(
                    events: [sampleEvent(1), sampleEvent(2, account: accountB)],
                    statistics: [
                        StoredStatistics(
                            accountId: accountA, trackerId: "t1", startBrokerTime: BrokerTime(milliseconds: 0),
                            endBrokerTime: nil, body: Data("{\"s\":1}".utf8))
                    ],
                    chartRecords: [
                        StoredChartRecord(
                            accountId: accountA, startBrokerTime: BrokerTime(milliseconds: 0),
                            endBrokerTime: BrokerTime(milliseconds: 3_599_999), body: Data("{\"c\":1}".utf8))
                    ],
                    deals: [JournalDeal(accountId: accountA, deal: sampleDeal(ticket: 5))],
                    accountUpdates: [AccountUpdate(id: accountA, lastEquity: FixedDecimal(101), connected: true)],
                    sessionChanges: [.opened(sessionId: "s1", accountId: accountA, at: wallTime(3))],
                    definitionChanges: [
                        .put(
                            StoredDefinition(
                                kind: .challenge, id: "c1", accountId: accountA, name: nil,
                                body: Data("{\"id\":\"c1\"}".utf8), createdAt: wallTime(4)))
                    ],
                    enforcementRequests: [
                        EnforcementRequest(
                            accountId: accountA, kind: .disableTrading, reason: "r", requestedAt: wallTime(5))
                    ],
                    resumeStates: [
                        TerminalResumeState(
                            accountId: accountA, sessionId: "s1", acknowledgedSequence: 812,
                            state: Data("{\"e\":1}".utf8))
                    ],
                    checkpoint: checkpoint(position: 99, next: 3, state: "{\"core\":true}")))
            try store.close()
        }
        let store = try Store(path: directory.storePath)
        #expect(store.lastSequenceNumber == 2)
        #expect(try await store.events(EventQuery()).map(\.sequenceNumber) == [1, 2])
        #expect(try await store.statistics(accountId: accountA, trackerId: "t1").first?.body == Data("{\"s\":1}".utf8))
        #expect(try await store.equityChart(accountId: accountA).count == 1)
        #expect(try await store.deals(accountId: accountA).map(\.ticket) == [5])
        let account = try #require(try await store.account(accountA))
        #expect(account.registeredAt == wallTime(2) && account.lastEquity == FixedDecimal(101) && account.connected)
        #expect(try await store.sessions(accountId: accountA).map(\.sessionId) == ["s1"])
        #expect(try await store.definition(.challenge, id: "c1")?.body == Data("{\"id\":\"c1\"}".utf8))
        #expect(try await store.unacknowledgedCommands().count == 1)
        #expect(
            try await store.resumeStates() == [
                TerminalResumeState(
                    accountId: accountA, sessionId: "s1", acknowledgedSequence: 812,
                    state: Data("{\"e\":1}".utf8))
            ])
        #expect(try await store.checkpoint() == checkpoint(position: 99, next: 3, state: "{\"core\":true}"))
        #expect(try await store.verifyToken(token.secret)?.allowedAccounts == [accountA])
        #expect(try await store.pendingDeliveryCount() == 2)
        // And it goes on where it stopped.
        #expect(try await store.commit(StoreBatch(events: [sampleEvent(3)])).newEvents == 3...3)
        try store.close()
    }

    @Test("An open transaction's writes are invisible to readers and gone when its connection closes")
    func uncommittedIsInvisible() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(events: [sampleEvent(1)]))
        // A second connection, as another writer would be, begins a transaction and never commits it.
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let other = try DatabaseQueue(path: directory.storePath, configuration: configuration)
        try await other.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            for n in 2...50 {
                try db.execute(
                    sql: """
                        INSERT INTO event (sequence, kind, type, account_id, subject_id, broker_time, body)
                        VALUES (?, 'tracker', 'drawdown', 'Broker-Demo:1001', 't1', 0, '{}')
                        """, arguments: [n])
            }
        }
        #expect(try await store.events(EventQuery()).map(\.sequenceNumber) == [1])
        try other.close()  // closing without COMMIT rolls back
        try store.close()
        let reopened = try Store(path: directory.storePath)
        #expect(reopened.lastSequenceNumber == 1)
        #expect(try await reopened.commit(StoreBatch(events: [sampleEvent(2)])).newEvents == 2...2)
        try reopened.close()
    }

    @Test("A writer killed with SIGKILL mid-transaction leaves only committed rows")
    func killedWriter() async throws {
        // A missing prerequisite fails the test rather than skipping it: a skipped test proves nothing.
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"),
            "/usr/bin/sqlite3 is missing: this test needs the sqlite3 shell (scripts/setup installs it)")
        let directory = try TemporaryDirectory()
        do {
            let store = try Store(path: directory.storePath)
            try await store.commit(StoreBatch(events: [sampleEvent(1)]))
            try store.close()
        }
        // Another process commits event 2, then starts a large transaction. A tiny page cache makes
        // SQLite spill uncommitted pages into the WAL before the kill, so recovery has work to do.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [directory.storePath]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var script = """
            PRAGMA cache_size = 2;
            INSERT INTO event (sequence, kind, type, account_id, subject_id, broker_time, body) VALUES (2, 'tracker', 'drawdown', 'Broker-Demo:1001', 't1', 0, '{}');
            BEGIN;
            """
        for n in 3...3000 {
            script +=
                "INSERT INTO event (sequence, kind, type, account_id, subject_id, broker_time, body) VALUES (\(n), 'tracker', 'drawdown', 'Broker-Demo:1001', 't1', \(n), '\(String(repeating: "x", count: 200))');\n"
        }
        script += "SELECT 'inserted';\n"
        input.fileHandleForWriting.write(Data(script.utf8))
        // Wait until the uncommitted rows reached the WAL (it grows past the committed size), then kill.
        let wal = directory.storePath + "-wal"
        func walSize() -> Int { (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0 }
        do {
            try await eventually("the uncommitted transaction spills into the WAL", deadline: .seconds(20)) {
                walSize() > 400_000
            }
        } catch {
            kill(process.processIdentifier, SIGKILL)
            try await process.waitUntilExit(deadline: .seconds(10))
            throw error
        }
        kill(process.processIdentifier, SIGKILL)
        try await process.waitUntilExit(deadline: .seconds(10))
        #expect(process.terminationReason == .uncaughtSignal)
        let store = try Store(path: directory.storePath)
        #expect(store.lastSequenceNumber == 2)
        #expect(try await store.events(EventQuery()).map(\.sequenceNumber) == [1, 2])
        #expect(try await store.commit(StoreBatch(events: [sampleEvent(3)])).newEvents == 3...3)
        try store.close()
    }
}
