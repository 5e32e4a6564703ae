import Foundation
import RiskCore
@testable import Store
import Testing
import TidemarkProtocol

@Suite("Risk-core records")
struct RiskCoreRecordsTests {
    @Test("Challenge and competition events keep their columns and come back equal")
    func events() async throws {
        let directory = TemporaryDirectory()
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
        let directory = TemporaryDirectory()
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
