import FeedProtocol
import Foundation
import Testing

/// How an agent coalesces its live resources for the dashboard (LiveResourceLedger), worked by hand.
@Suite("Live resource ledger")
struct LiveResourceLedgerTests {
    static func account(_ id: String, _ body: String) -> FeedLiveResource {
        FeedLiveResource(kind: .account, accountId: id, body: body)
    }

    static func period(_ id: String, tracker: String, start: Int64, _ body: String) -> FeedLiveResource {
        FeedLiveResource(kind: .openStatistics, accountId: id, subjectId: tracker, startBrokerTime: start, body: body)
    }

    static func report(
        _ accounts: Set<String>, _ resources: [FeedLiveResource], competitions: Bool = false
    ) -> LiveResourceLedger.Report {
        .init(accounts: accounts, coversCompetitions: competitions, resources: resources)
    }

    @Test("Reported resources are sent until acknowledged; an unchanged one is not sent again")
    func sendsChangesOnce() {
        var ledger = LiveResourceLedger()
        ledger.take(Self.report(["A:1"], [Self.account("A:1", #"{"equity":1}"#)]))
        #expect(ledger.toSend == [Self.account("A:1", #"{"equity":1}"#)])
        ledger.acknowledge(ledger.toSend)
        #expect(ledger.toSend.isEmpty)
        ledger.take(Self.report(["A:1"], [Self.account("A:1", #"{"equity":1}"#)]))
        #expect(ledger.toSend.isEmpty, "the dashboard has this one")
        ledger.take(Self.report(["A:1"], [Self.account("A:1", #"{"equity":2}"#)]))
        #expect(ledger.toSend == [Self.account("A:1", #"{"equity":2}"#)])
    }

    @Test("While unacknowledged (the dashboard away), the latest of a resource wins and nothing piles up")
    func latestWins() {
        var ledger = LiveResourceLedger()
        for equity in 1...1_000 {
            ledger.take(Self.report(["A:1"], [Self.account("A:1", "{\"equity\":\(equity)}")]))
        }
        #expect(ledger.toSend == [Self.account("A:1", #"{"equity":1000}"#)])
    }

    @Test("A resource of a covered account that is no longer reported is sent without a body; others are left alone")
    func goneResources() {
        var ledger = LiveResourceLedger()
        let periodA = Self.period("A:1", tracker: "t", start: 100, "{}")
        let periodB = Self.period("B:2", tracker: "u", start: 100, "{}")
        ledger.take(Self.report(["A:1", "B:2"], [Self.account("A:1", "{}"), periodA, periodB]))
        ledger.acknowledge(ledger.toSend)
        // A's period closed (none open), B was not looked at this time.
        ledger.take(Self.report(["A:1"], [Self.account("A:1", "{}")]))
        #expect(ledger.toSend == [FeedLiveResource(kind: .openStatistics, accountId: "A:1", subjectId: "t", body: nil)])
        ledger.acknowledge(ledger.toSend)
        ledger.take(Self.report(["A:1"], [Self.account("A:1", "{}")]))
        #expect(ledger.toSend.isEmpty, "the dashboard knows it is gone")
    }

    @Test("Leaderboards are gone only when a report covers the competitions")
    func leaderboards() {
        var ledger = LiveResourceLedger()
        let board = FeedLiveResource(kind: .leaderboard, accountId: nil, subjectId: "c1", body: "[]")
        ledger.take(Self.report([], [board], competitions: true))
        ledger.acknowledge(ledger.toSend)
        ledger.take(Self.report(["A:1"], []))
        #expect(ledger.toSend.isEmpty)
        ledger.take(Self.report([], [], competitions: true))
        #expect(ledger.toSend == [FeedLiveResource(kind: .leaderboard, accountId: nil, subjectId: "c1", body: nil)])
    }

    @Test("A batch without live resources decodes (older agents), and one with them round-trips")
    func coding() throws {
        let json =
            #"{"agent":{"version":"t","storeId":"s","terminalsConnected":0,"outboxBacklog":0,"outboxOldestAgeMilliseconds":0,"overflowedRows":0,"lostThrough":0},"items":[],"accountStates":[]}"#
        let batch = try JSONDecoder().decode(FeedBatch.self, from: Data(json.utf8))
        #expect(batch.liveResources.isEmpty)
        var withLive = batch
        withLive.liveResources = [Self.period("A:1", tracker: "t", start: 5, #"{"maxDrawdown":1}"#)]
        #expect(try JSONDecoder().decode(FeedBatch.self, from: JSONEncoder().encode(withLive)) == withLive)
    }
}
