import FeedProtocol
import Foundation
import Testing

/// The dashboard's acknowledgement rule (FeedSequencing), worked by hand.
@Suite("Feed sequencing")
struct FeedSequencingTests {
    static func batch(_ sequences: [UInt64], lostThrough: UInt64 = 0) -> FeedBatch {
        FeedBatch(
            agent: FeedAgentStatus(
                version: "t", storeId: "s", terminalsConnected: 0, outboxBacklog: sequences.count,
                outboxOldestAgeMilliseconds: 0, overflowedRows: 0, lostThrough: lostThrough),
            items: sequences.map {
                FeedItem(
                    sequence: $0,
                    record: .chartRecord(
                        FeedChartRecord(
                            accountId: "A:1", startBrokerTime: Int64($0),
                            endBrokerTime: Int64($0) + 1, body: "{}")))
            },
            accountStates: [])
    }

    @Test("In order: stores all, acknowledges the last")
    func inOrder() {
        let plan = FeedSequencing.plan(previouslyAcknowledged: 0, batch: Self.batch([1, 2, 3]))
        #expect(plan.itemsToStore.map(\.sequence) == [1, 2, 3] && plan.acknowledgedThrough == 3 && plan.lostCount == 0)
    }

    @Test("A resent batch: what was acknowledged is skipped, the rest stored")
    func duplicatesSkipped() {
        let plan = FeedSequencing.plan(previouslyAcknowledged: 2, batch: Self.batch([1, 2, 3, 4]))
        #expect(plan.itemsToStore.map(\.sequence) == [3, 4] && plan.acknowledgedThrough == 4)
        let all = FeedSequencing.plan(previouslyAcknowledged: 4, batch: Self.batch([1, 2, 3, 4]))
        #expect(all.itemsToStore.isEmpty && all.acknowledgedThrough == 4)
    }

    @Test("A gap the agent does not declare lost stops the acknowledgement before it")
    func gapStops() {
        let plan = FeedSequencing.plan(previouslyAcknowledged: 0, batch: Self.batch([1, 2, 5, 6]))
        #expect(plan.itemsToStore.map(\.sequence) == [1, 2] && plan.acknowledgedThrough == 2 && plan.lostCount == 0)
    }

    @Test("Rows the agent dropped (lostThrough 4): the hole 3–4 is counted as lost and stepped over")
    func declaredLoss() {
        let plan = FeedSequencing.plan(previouslyAcknowledged: 2, batch: Self.batch([5, 6], lostThrough: 4))
        #expect(plan.itemsToStore.map(\.sequence) == [5, 6] && plan.acknowledgedThrough == 6 && plan.lostCount == 2)
        // Nothing carried: the acknowledgement still moves to lostThrough (2 + 8 lost).
        let empty = FeedSequencing.plan(previouslyAcknowledged: 2, batch: Self.batch([], lostThrough: 10))
        #expect(empty.acknowledgedThrough == 10 && empty.lostCount == 8)
        // The dashboard already past it: nothing lost.
        let past = FeedSequencing.plan(previouslyAcknowledged: 12, batch: Self.batch([13], lostThrough: 10))
        #expect(past.acknowledgedThrough == 13 && past.lostCount == 0)
    }

    @Test("Records keep the agent store's shape: one key naming the kind")
    func recordCoding() throws {
        let record = FeedRecord.statistics(
            FeedStatistics(trackerId: "t", startBrokerTime: 0, accountId: "A:1", endBrokerTime: nil, body: "{\"x\":1}"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(record), as: UTF8.self)
        #expect(text == #"{"statistics":{"accountId":"A:1","body":"{\"x\":1}","startBrokerTime":0,"trackerId":"t"}}"#)
        #expect(try JSONDecoder().decode(FeedRecord.self, from: Data(text.utf8)) == record)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(FeedRecord.self, from: Data(#"{"other":{}}"#.utf8))
        }
    }
}
