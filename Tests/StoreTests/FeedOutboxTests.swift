import Foundation
import GRDB
import TestSupport
import Testing
import TidemarkProtocol

@testable import Store

@Suite("The dashboard feed's outbox")
struct FeedOutboxTests {
    static func batch(events: [StoredEvent]) -> StoreBatch {
        StoreBatch(
            events: events,
            statistics: [
                StoredStatistics(
                    accountId: accountA, trackerId: "t1", startBrokerTime: BrokerTime(milliseconds: 0),
                    endBrokerTime: BrokerTime(milliseconds: 86_399_999), body: Data("{\"s\":1}".utf8))
            ],
            chartRecords: [
                StoredChartRecord(
                    accountId: accountA, startBrokerTime: BrokerTime(milliseconds: 0),
                    endBrokerTime: BrokerTime(milliseconds: 3_599_999), body: Data("{\"c\":1}".utf8))
            ],
            definitionChanges: [
                .put(
                    StoredDefinition(
                        kind: .challenge, id: "c1", accountId: accountA, name: "ch",
                        body: Data("{\"id\":\"c1\"}".utf8), createdAt: wallTime(4)))
            ])
    }

    @Test("Without a feed, commits queue nothing")
    func noFeedNoRows() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(Self.batch(events: [sampleEvent(1)]))
        let page = try await store.feedOutboxPage(limit: 10)
        #expect(page.rows.isEmpty && page.backlog == 0)
        try store.close()
    }

    @Test("A commit queues its declarations, new events, statistics and chart records, numbered from 1, as stored")
    func commitQueuesWhatItStored() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath, options: .init(feedOutbox: true))
        try await store.commit(Self.batch(events: [sampleEvent(1), sampleEvent(2, account: accountB)]))
        let page = try await store.feedOutboxPage(limit: 100)
        #expect(page.rows.map(\.sequence) == [1, 2, 3, 4, 5])
        let records = page.rows.map(\.record)
        #expect(
            records[0]
                == #"{"declaration":{"kind":"challenge","id":"c1","accountId":"Broker-Demo:1001","name":"ch","body":"{\"id\":\"c1\"}","createdAt":4,"deletedAt":null}}"#
        )
        #expect(
            records[1].hasPrefix(
                #"{"event":{"sequence":1,"kind":"tracker","type":"drawdown","accountId":"Broker-Demo:1001","subjectId":"t1","brokerTime":1000,"body":"#
            ))
        #expect(records[2].contains(#""sequence":2"#) && records[2].contains("Broker-Demo:1002"))
        #expect(
            records[3]
                == #"{"statistics":{"trackerId":"t1","startBrokerTime":0,"accountId":"Broker-Demo:1001","endBrokerTime":86399999,"body":"{\"s\":1}"}}"#
        )
        #expect(
            records[4]
                == #"{"chartRecord":{"accountId":"Broker-Demo:1001","startBrokerTime":0,"endBrokerTime":3599999,"body":"{\"c\":1}"}}"#
        )
        #expect(page.backlog == 5 && page.oldestQueuedAt != nil && page.lostThrough == 0)
        // A replayed event (already stored) is not queued again.
        try await store.commit(StoreBatch(events: [sampleEvent(2, account: accountB), sampleEvent(3)]))
        let next = try await store.feedOutboxPage(limit: 100)
        #expect(next.rows.map(\.sequence) == [1, 2, 3, 4, 5, 6])
        #expect(next.rows.last?.record.contains(#""sequence":3"#) == true)
        try store.close()
    }

    @Test("A failed commit queues nothing: the outbox row and its data share the transaction")
    func rolledBackCommitQueuesNothing() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath, options: .init(feedOutbox: true))
        try await store.commit(StoreBatch(events: [sampleEvent(1)]))
        // Event 3 after 1: a gap, refused whole.
        await #expect(throws: StoreError.self) { try await store.commit(Self.batch(events: [sampleEvent(3)])) }
        #expect(try await store.feedOutboxPage(limit: 100).rows.map(\.sequence) == [1])
        // The next sequence continues without a hole (AUTOINCREMENT rolled back too).
        try await store.commit(StoreBatch(events: [sampleEvent(2)]))
        #expect(try await store.feedOutboxPage(limit: 100).rows.map(\.sequence) == [1, 2])
        try store.close()
    }

    @Test("The first open with a feed queues what was stored before, oldest first")
    func historyIsQueuedOnce() async throws {
        let directory = try TemporaryDirectory()
        do {
            let store = try Store(path: directory.storePath)
            try await store.commit(Self.batch(events: [sampleEvent(1), sampleEvent(2)]))
            try store.close()
        }
        let store = try Store(path: directory.storePath, options: .init(feedOutbox: true))
        let kinds = try await store.read { db in
            try String.fetchAll(db, sql: "SELECT kind FROM feed_outbox ORDER BY feed_sequence")
        }
        #expect(kinds == ["declaration", "event", "event", "statistics", "chartRecord"])
        try store.close()
        // Opening again queues nothing more.
        let reopened = try Store(path: directory.storePath, options: .init(feedOutbox: true))
        #expect(try await reopened.feedOutboxPage(limit: 100).backlog == 5)
        try reopened.close()
    }

    @Test("Acknowledged rows are dropped; the sequence never restarts")
    func acknowledgement() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath, options: .init(feedOutbox: true))
        try await store.commit(StoreBatch(events: [sampleEvent(1), sampleEvent(2), sampleEvent(3)]))
        try await store.acknowledgeFeed(through: 2)
        var page = try await store.feedOutboxPage(limit: 100)
        #expect(page.rows.map(\.sequence) == [3] && page.acknowledgedThrough == 2)
        try await store.acknowledgeFeed(through: 3)
        try await store.commit(StoreBatch(events: [sampleEvent(4)]))
        page = try await store.feedOutboxPage(limit: 100)
        #expect(page.rows.map(\.sequence) == [4], "a sequence is never reused after its row is dropped")
        try store.close()
    }

    @Test("Beyond the retention bound the oldest rows are dropped, counted, and remembered as lost")
    func retention() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath, options: .init(feedOutbox: true))
        try await store.commit(StoreBatch(events: (1...10).map { sampleEvent($0) }))
        #expect(try await store.trimFeedOutbox(maximumRows: 10) == 0)
        #expect(try await store.trimFeedOutbox(maximumRows: 7) == 3)
        let page = try await store.feedOutboxPage(limit: 100)
        #expect(page.rows.map(\.sequence) == Array(4...10))
        #expect(page.overflowedRows == 3 && page.lostThrough == 3)
        #expect(try await store.trimFeedOutbox(maximumRows: 5) == 2)
        let later = try await store.feedOutboxPage(limit: 100)
        #expect(later.overflowedRows == 5 && later.lostThrough == 5)
        try store.close()
    }

    @Test("Rows older than the retention age are dropped, counted, and remembered as lost; a younger tail stays")
    func retentionByAge() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath, options: .init(feedOutbox: true))
        try await store.commit(StoreBatch(events: (1...10).map { sampleEvent($0) }))
        // Rows 1–4 were queued three hours ago (the dashboard has been away since), 5–10 just now.
        let now = Date()
        let threeHoursAgo = now.addingTimeInterval(-3 * 3_600).storedMilliseconds
        try await store.pool.write { db in
            try db.execute(
                sql: "UPDATE feed_outbox SET queued_at = ? WHERE feed_sequence <= 4", arguments: [threeHoursAgo])
        }
        #expect(try await store.trimFeedOutbox(queuedBefore: now.addingTimeInterval(-4 * 3_600)) == 0)
        #expect(try await store.trimFeedOutbox(queuedBefore: now.addingTimeInterval(-2 * 3_600)) == 4)
        let page = try await store.feedOutboxPage(limit: 100)
        #expect(page.rows.map(\.sequence) == Array(5...10))
        #expect(page.overflowedRows == 4 && page.lostThrough == 4)
        #expect(page.oldestQueuedAt.map { $0 > now.addingTimeInterval(-60) } == true)
        // By rows on top of it: the counts add up, the lost mark moves on.
        #expect(try await store.trimFeedOutbox(maximumRows: 5) == 1)
        let later = try await store.feedOutboxPage(limit: 100)
        #expect(later.overflowedRows == 5 && later.lostThrough == 5)
        try store.close()
    }
}
