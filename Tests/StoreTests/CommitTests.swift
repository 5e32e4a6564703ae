import Foundation
import GRDB
@testable import Store
import Testing
import TestSupport
import TidemarkProtocol

@Suite("Batch commit")
struct CommitTests {
    @Test("A batch stores everything it carries")
    func storesEverything() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let receipt = try await store.commit(StoreBatch(
            events: [sampleEvent(1), sampleEvent(2)],
            deals: [JournalDeal(accountId: accountA, deal: sampleDeal(ticket: 7))],
            accountUpdates: [AccountUpdate(id: accountA, platform: .mt5, currency: "USD", lastEquity: FixedDecimal(10_050),
                                           lastBalance: FixedDecimal(10_000), connected: true)],
            checkpoint: checkpoint(position: 40, next: 3)))
        #expect(receipt.newEvents == 1...2)
        #expect(receipt.lastSequenceNumber == 2)
        #expect(receipt.newDealCount == 1)
        #expect(receipt.duration > .zero)
        #expect(store.lastSequenceNumber == 2)
        #expect(store.commitStatistics.commitCount == 1)
        let account = try #require(try await store.account(accountA))
        #expect(account.server == "Broker-Demo" && account.login == 1001)
        #expect(account.lastEquity == FixedDecimal(10_050) && account.connected)
        #expect(try await store.checkpoint()?.inputPosition == 40)
        try store.close()
    }

    @Test("A sequence gap rolls back the whole batch")
    func gapRollsBackAll() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(events: [sampleEvent(1)], checkpoint: checkpoint(position: 1, next: 2)))
        // Event 3 follows 2 in the batch, but the store ends at 1: sequence 2 would be missing.
        let bad = StoreBatch(
            events: [sampleEvent(3), sampleEvent(4)],
            statistics: [StoredStatistics(accountId: accountA, trackerId: "t1", startBrokerTime: BrokerTime(milliseconds: 0),
                                          endBrokerTime: BrokerTime(milliseconds: 999), body: Data("{}".utf8))],
            deals: [JournalDeal(accountId: accountA, deal: sampleDeal(ticket: 9))],
            accountUpdates: [AccountUpdate(id: accountB, connected: true)],
            checkpoint: checkpoint(position: 2, next: 5))
        await #expect(throws: StoreError.sequenceGap) { try await store.commit(bad) }
        #expect(try await store.events(EventQuery()).map(\.sequenceNumber) == [1])
        #expect(try await store.deals(accountId: accountA).isEmpty)
        #expect(try await store.account(accountB) == nil)
        #expect(try await store.statistics(accountId: accountA, trackerId: "t1").isEmpty)
        #expect(try await store.checkpoint()?.inputPosition == 1)
        #expect(store.lastSequenceNumber == 1)
        #expect(store.commitStatistics.failedCommitCount == 1)
        try store.close()
    }

    @Test("A gap inside a batch and a repeated number are rejected")
    func gapInsideBatch() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        await #expect(throws: StoreError.sequenceGap) {
            try await store.commit(StoreBatch(events: [sampleEvent(1), sampleEvent(3)]))
        }
        await #expect(throws: StoreError.sequenceGap) {
            try await store.commit(StoreBatch(events: [sampleEvent(1), sampleEvent(2), sampleEvent(2)]))
        }
        await #expect(throws: StoreError.sequenceGap) {
            try await store.commit(StoreBatch(events: [sampleEvent(2)]))
        }
        #expect(try await store.events(EventQuery()).isEmpty)
        try store.close()
    }

    @Test("The schema itself refuses a gap, an update and a delete, whoever writes")
    func schemaGuards() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(events: [sampleEvent(1)]))
        let insertGap = "INSERT INTO event (sequence, kind, type, account_id, subject_id, broker_time, body) VALUES (3, 'tracker', 'x', NULL, 's', 0, '{}')"
        #expect(throws: DatabaseError.self) { try store.pool.write { db in try db.execute(sql: insertGap) } }
        #expect(throws: DatabaseError.self) { try store.pool.write { db in try db.execute(sql: "UPDATE event SET body = '{}'") } }
        #expect(throws: DatabaseError.self) { try store.pool.write { db in try db.execute(sql: "DELETE FROM event") } }
        #expect(try await store.events(EventQuery()) == [sampleEvent(1)])
        try store.close()
    }

    @Test("Replayed events equal to the stored ones are skipped; different ones are refused")
    func replay() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(events: [sampleEvent(1), sampleEvent(2)], checkpoint: checkpoint(position: 5, next: 3)))
        // After a restart from an older checkpoint the core regenerates 2, then goes on with 3.
        let receipt = try await store.commit(StoreBatch(events: [sampleEvent(2), sampleEvent(3)],
                                                        checkpoint: checkpoint(position: 6, next: 4)))
        #expect(receipt.replayedEventCount == 1)
        #expect(receipt.newEvents == 3...3)
        await #expect(throws: StoreError.conflict) {
            try await store.commit(StoreBatch(events: [sampleEvent(3, note: "different")]))
        }
        #expect(try await store.events(EventQuery()).map(\.sequenceNumber) == [1, 2, 3])
        try store.close()
    }

    @Test("A checkpoint may not run ahead of the events nor move its input position back")
    func checkpointInvariants() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(events: [sampleEvent(1)], checkpoint: checkpoint(position: 10, next: 2)))
        // Next 3 claims event 2 exists: it would be lost on resume.
        await #expect(throws: StoreError.checkpointMismatch) {
            try await store.commit(StoreBatch(checkpoint: checkpoint(position: 11, next: 3)))
        }
        await #expect(throws: StoreError.inputPositionRegressed) {
            try await store.commit(StoreBatch(checkpoint: checkpoint(position: 9, next: 2)))
        }
        // Equal position (nothing new folded) is fine, and so is a checkpoint behind the events (mid-replay).
        try await store.commit(StoreBatch(checkpoint: checkpoint(position: 10, next: 1, state: "{\"replaying\":true}")))
        #expect(try await store.checkpoint()?.state == Data("{\"replaying\":true}".utf8))
        try store.close()
    }

    @Test("The blocking commit behaves as the async one")
    func blockingCommit() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath, options: .init(durability: .normal))
        let receipt = try store.commitBlocking(StoreBatch(events: [sampleEvent(1)]))
        #expect(receipt.newEvents == 1...1)
        #expect(throws: StoreError.sequenceGap) { try store.commitBlocking(StoreBatch(events: [sampleEvent(5)])) }
        try store.close()
    }

    @Test("Sequence-number updates start with the current value and follow commits")
    func sequenceUpdates() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(events: [sampleEvent(1)]))
        var updates = store.sequenceNumberUpdates().makeAsyncIterator()
        #expect(await updates.next() == 1)
        try await store.commit(StoreBatch(events: [sampleEvent(2), sampleEvent(3)]))
        #expect(await updates.next() == 3)
        try store.close()
        #expect(await updates.next() == nil)
    }
}
