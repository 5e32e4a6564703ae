import EquityEngine
import Foundation
import RiskCore
@testable import Store
import Testing
import TestSupport
import TidemarkProtocol

@Suite("Risk-core records")
struct RiskCoreRecordsTests {
    @Test("Challenge and competition events keep their columns and come back equal")
    func events() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let failed = ChallengeEvent(kind: .challengeFailed, challengeID: "c1", account: accountA, phase: 0, phaseName: "Phase 1",
                                    brokerTime: BrokerTime(milliseconds: 5_000), enforcement: [.closeAllPositions])
        let started = CompetitionEvent(kind: .started, competitionID: "k1", brokerTime: BrokerTime(milliseconds: 6_000))
        try await store.commit(StoreBatch(events: [try StoredEvent(sequenceNumber: 1, challengeEvent: failed),
                                                   try StoredEvent(sequenceNumber: 2, competitionEvent: started)]))
        let challengeEvents = try await store.events(EventQuery(kind: .challenge, accountId: accountA, subjectId: "c1"))
        #expect(challengeEvents.map(\.type) == ["challengeFailed"])
        #expect(try challengeEvents[0].decodeBody(as: ChallengeEvent.self) == failed)
        let competitionEvents = try await store.events(EventQuery(kind: .competition, fromBrokerTime: BrokerTime(milliseconds: 6_000),
                                                                  toBrokerTime: BrokerTime(milliseconds: 6_000)))
        #expect(competitionEvents.map(\.accountId) == [nil])
        #expect(try competitionEvents[0].decodeBody(as: CompetitionEvent.self) == started)
        try store.close()
    }

    @Test("Challenge and competition definitions are stored as their own JSON")
    func definitions() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let challenge = ChallengeDefinition(id: "c1", account: accountA, initialCapital: FixedDecimal(100_000),
                                            startTime: BrokerTime(milliseconds: 0),
                                            phases: [ChallengePhase(name: "Phase 1", rules: RuleSet())])
        let competition = CompetitionDefinition(id: "k1", accounts: [accountA, accountB], startTime: BrokerTime(milliseconds: 0),
                                                endTime: BrokerTime(milliseconds: 86_400_000), metric: .gainPercent)
        try await store.commit(StoreBatch(definitionChanges: [
            .put(try StoredDefinition(challenge: challenge, createdAt: wallTime(1))),
            .put(try StoredDefinition(competition: competition, createdAt: wallTime(2))),
        ]))
        #expect(try await store.definitions(.challenge, accountId: accountA).map { try $0.decodeBody(as: ChallengeDefinition.self) } == [challenge])
        #expect(try await store.definition(.competition, id: "k1")?.decodeBody(as: CompetitionDefinition.self) == competition)
        try store.close()
    }
}

@Suite("Risk-engine outputs")
struct RiskOutputTests {
    @Test("A tracker event, a closed period and a closed hour from the real engine land where the API reads them")
    func engineOutputs() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        var engine = RiskEngine()
        let definition = TrackerDefinition(id: "t1", accountId: accountA, name: "daily", period: .day,
                                           absoluteDrawdownThreshold: FixedDecimal(100), createdBrokerTime: BrokerTime(milliseconds: 0))
        try engine.apply(.createTracker(definition))
        var batch = StoreBatch(definitionChanges: [.put(try StoredDefinition(tracker: definition, createdAt: wallTime(0)))])
        func observe(_ time: Int64, equity: Int) -> RiskInput {
            .observation(EquityObservation(account: accountA, time: BrokerTime(milliseconds: time), balance: FixedDecimal(10_000),
                                           credit: .zero, equity: FixedDecimal(equity), floating: FixedDecimal(equity - 10_000)))
        }
        // Balance 10,000; equity 9,850 at 01:00 is a drawdown of 150 > 100: one event. The next day's
        // first observation closes day 1 (a period record) and its hours (chart records).
        let day: Int64 = 86_400_000
        for input in [observe(0, equity: 10_000), observe(3_600_000, equity: 9_850), observe(day + 1, equity: 10_000)] {
            for output in engine.apply(input) { try batch.append(output) }
        }
        batch.checkpoint = Checkpoint(inputPosition: 4, nextSequenceNumber: engine.nextSequenceNumber,
                                      state: try CanonicalJSON.encode(engine), savedAt: wallTime(0))
        let receipt = try await store.commit(batch)
        #expect(receipt.newEvents == 1...1)
        let events = try await store.events(EventQuery(kind: .tracker, accountId: accountA, subjectId: "t1"))
        #expect(events.map(\.type) == ["drawdown"])
        let event = try events[0].decodeBody(as: TrackerEvent.self)
        #expect(event.absoluteDrawdown == FixedDecimal(150)) // 10,000 − 9,850
        let statistics = try await store.statistics(accountId: accountA, trackerId: "t1")
        #expect(statistics.map(\.startBrokerTime.milliseconds) == [0])
        #expect(try statistics[0].decodeBody(as: PeriodStatistics.self).maxAbsoluteDrawdown == FixedDecimal(150))
        #expect(try await store.equityChart(accountId: accountA).map(\.startBrokerTime.milliseconds) == [0, 3_600_000])
        #expect(try await store.definition(.tracker, accountId: accountA, name: "daily")?.decodeBody(as: TrackerDefinition.self) == definition)
        // The checkpoint restores the engine.
        let restored = try CanonicalJSON.decode(RiskEngine.self, from: try #require(try await store.checkpoint()).state)
        #expect(restored == engine)
        try store.close()
    }
}
