import Foundation
@testable import Store
import Testing
import TestSupport
import TidemarkProtocol

/// Long polls and event streams are answered from the events this process committed last; the
/// answers must be exactly the database's.
@Suite("Recent events in memory")
struct RecentEventsTests {
    static let accountC = AccountID("Broker-Demo:1003")

    /// Events 1…60 in commits of 1…7, over three accounts, three subjects, three kinds, some without
    /// an account (a competition's own events).
    private func seeded(in directory: TemporaryDirectory) async throws -> Store {
        let store = try Store(path: directory.storePath)
        var random = SplitMix64(seed: 42)
        var next: UInt64 = 1
        while next <= 60 {
            let size = Int.random(in: 1...7, using: &random)
            var events: [StoredEvent] = []
            for _ in 0..<size where next <= 60 {
                let accounts: [AccountID?] = [accountA, accountB, Self.accountC, nil]
                let kinds: [SubjectKind] = [.tracker, .challenge, .competition]
                var event = sampleEvent(next, account: accountA, subject: ["t1", "t2", "c1"][Int(next % 3)],
                                        time: 1_000 * Int64(next / 2), kind: kinds.randomElement(using: &random)!)
                event.accountId = accounts.randomElement(using: &random)!
                events.append(event)
                next += 1
            }
            try await store.commit(StoreBatch(events: events))
        }
        return store
    }

    private func randomQuery(_ random: inout SplitMix64) -> EventQuery {
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &random) ? value() : nil }
        var query = EventQuery(limit: [1, 2, 5, 1_000].randomElement(using: &random)!)
        query.afterSequenceNumber = UInt64.random(in: 0...62, using: &random)
        query.kind = maybe([.tracker, .challenge, .competition].randomElement(using: &random)!)
        query.accountId = maybe([accountA, accountB, Self.accountC].randomElement(using: &random)!)
        query.subjectId = maybe(["t1", "t2", "c1"].randomElement(using: &random)!)
        query.fromBrokerTime = maybe(BrokerTime(milliseconds: 1_000 * Int64.random(in: 0...30, using: &random)))
        query.toBrokerTime = maybe(BrokerTime(milliseconds: 1_000 * Int64.random(in: 0...30, using: &random)))
        query.allowedAccounts = maybe(Set([accountA, accountB, Self.accountC].filter { _ in Bool.random(using: &random) }))
        return query
    }

    @Test("2,000 random queries after a sequence number: memory and database agree")
    func memoryAgreesWithTheDatabase() async throws {
        let directory = try TemporaryDirectory()
        let store = try await seeded(in: directory)
        var random = SplitMix64(seed: 7)
        var nonEmpty = 0
        for _ in 0..<2_000 {
            let query = randomQuery(&random)
            let fromMemory = try #require(store.recentEvents(matching: query), "all 60 events are in memory")
            #expect(fromMemory == (try await store.eventsFromDatabase(query)), "\(query)")
            if !fromMemory.isEmpty { nonEmpty += 1 }
        }
        // The comparison means something only if many answers have events.
        #expect(nonEmpty > 500)
        try store.close()
    }

    @Test("After a restart the tail starts with the first new commit; older numbers go to the database")
    func afterRestart() async throws {
        let directory = try TemporaryDirectory()
        try await seeded(in: directory).close()
        let store = try Store(path: directory.storePath)
        // Nothing committed by this process yet: nothing in memory, except "nothing after the last".
        #expect(store.recentEvents(matching: EventQuery(afterSequenceNumber: 10)) == nil)
        #expect(store.recentEvents(matching: EventQuery(afterSequenceNumber: 60)) == [])
        #expect(try await store.events(EventQuery(afterSequenceNumber: 58)).map(\.sequenceNumber) == [59, 60])
        try await store.commit(StoreBatch(events: [sampleEvent(61), sampleEvent(62, account: accountB)]))
        #expect(store.recentEvents(matching: EventQuery(afterSequenceNumber: 60))?.map(\.sequenceNumber) == [61, 62])
        #expect(store.recentEvents(matching: EventQuery(afterSequenceNumber: 59)) == nil)
        #expect(try await store.events(EventQuery(afterSequenceNumber: 59)).map(\.sequenceNumber) == [60, 61, 62])
        // An identical replay of a stored event (after a crash) is not new: the tail is unchanged.
        try await store.commit(StoreBatch(events: [sampleEvent(62, account: accountB)]))
        #expect(store.recentEvents(matching: EventQuery(afterSequenceNumber: 60))?.map(\.sequenceNumber) == [61, 62])
        try store.close()
    }

    @Test("The tail is bounded and answers only what it fully holds")
    func boundedTail() {
        var tail = RecentEvents(capacity: 4)
        tail.append(contentsOf: (1...7).map { sampleEvent($0) })
        // Trimmed once it reached twice its capacity: 1…7 are still there (7 < 8).
        #expect(tail.events(after: 0, matching: EventQuery())?.count == 7)
        tail.append(contentsOf: [sampleEvent(8)])
        // 8 reached: trimmed to the last 4 (5…8).
        #expect(tail.events(after: 3, matching: EventQuery()) == nil)
        #expect(tail.events(after: 4, matching: EventQuery())?.map(\.sequenceNumber) == [5, 6, 7, 8])
        #expect(tail.events(after: 8, matching: EventQuery()) == [])
    }
}
