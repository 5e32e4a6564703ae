import Agent
import Bridge
import EquityEngine
import Foundation
import RiskCore
import Testing
import TidemarkProtocol

/// One account (10,000 USD, 1 lot EURUSD bought at 1.10000) with a lifetime tracker whose
/// drawdown threshold is 50 USD. Floating result of 1 lot = (bid − 1.10000) × 100,000.
private enum Script {
    static let account = AccountID(server: "Demo", login: 7)
    static let eurusd = SymbolSpec(name: "EURUSD", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001",
                                   tickValue: 1, profitCurrency: "USD", marginCurrency: "EUR", baseCurrency: "EUR")
    static let position = Position(ticket: 11, symbol: "EURUSD", side: .buy, volume: 1, openPrice: "1.10000",
                                   openTime: BrokerTime(milliseconds: 1_000), swap: .zero, commission: .zero)

    static func hello(_ session: String) -> Hello {
        Hello(platform: .mt5, terminalBuild: 4000, login: 7, server: "Demo", company: "Test", currency: "USD", currencyDigits: 2,
              marginMode: .retailHedging, leverage: 100, eaVersion: "1.0", brokerUTCOffsetSeconds: 7200, sessionID: session)
    }

    static func tick(_ milliseconds: Int64, bid: FixedDecimal) -> TerminalMessage {
        .ticks([Tick(symbol: "EURUSD", time: BrokerTime(milliseconds: milliseconds), bid: bid, ask: bid + "0.00002")])
    }

    /// The account as the terminal sees it at `milliseconds` with `balance` and the quote `bid`.
    static func snapshot(_ milliseconds: Int64, balance: FixedDecimal, bid: FixedDecimal) -> TerminalMessage {
        let floating = (bid - "1.10000").multiplied(by: 100_000)
        return .snapshot(Snapshot(account: AccountReport(time: BrokerTime(milliseconds: milliseconds), balance: balance, credit: .zero,
                                                         equity: balance + floating, margin: .zero),
                                  symbols: [eurusd], positions: [position],
                                  quotes: [Tick(symbol: "EURUSD", time: BrokerTime(milliseconds: milliseconds), bid: bid,
                                                ask: bid + "0.00002")]))
    }

    static let deposit = TerminalMessage.deal(Deal(ticket: 500, time: BrokerTime(milliseconds: 3_000), type: .balance, entry: .in,
                                                   symbol: "", volume: .zero, price: .zero, profit: 1_000, commission: .zero,
                                                   swap: .zero, fee: .zero, positionID: 0, comment: "deposit"))

    /// After the snapshot: 2,000 ms bid 1.09990 (−10), a 1,000 USD deposit at 3,000 ms, 4,000 ms bid
    /// 1.09900 (−100: drawdown 100 > 50, one event), 5,000 ms bid 1.09800 (−200, no second event
    /// in the same period).
    static let stream: [TerminalMessage] = [
        tick(2_000, bid: "1.09990"), deposit, tick(4_000, bid: "1.09900"), tick(5_000, bid: "1.09800"),
    ]

    static func delivery(_ message: TerminalMessage, session: String, sequence: UInt64) -> BridgeDelivery {
        BridgeDelivery(account: account, sessionID: session, sequence: sequence, message: message)
    }

    static func declareTracker(_ core: inout AgentCore) throws {
        var effects = AgentCore.Effects()
        try core.declare(.createTracker(TrackerDefinition(id: "t1", accountId: account, name: "dd", period: .lifetime,
                                                          absoluteDrawdownThreshold: 50)), into: &effects)
    }
}

@Suite struct AgentCoreTests {
    /// Runs the script without interruption and returns the tracker events and the open statistics.
    private func uninterrupted() throws -> ([TrackerEvent], PeriodStatistics?) {
        var core = AgentCore()
        try Script.declareTracker(&core)
        var effects = AgentCore.Effects()
        core.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), into: &effects)
        core.apply(Script.delivery(Script.snapshot(1_000, balance: 10_000, bid: "1.10000"), session: "a", sequence: 2), into: &effects)
        for (index, message) in Script.stream.enumerated() {
            core.apply(Script.delivery(message, session: "a", sequence: UInt64(3 + index)), into: &effects)
        }
        return (effects.riskOutputs.trackerEvents, core.risk.currentPeriodStatistics(accountId: Script.account, trackerId: "t1"))
    }

    @Test func aResumedCoreSkipsWhatItFoldedBeforeTheCheckpoint() throws {
        let (expectedEvents, expectedStatistics) = try uninterrupted()
        // Hand-worked: one drawdown event at 4,000 ms (equity 10,900 vs start balance 10,000 adjusted
        // for the 1,000 deposit = 11,000: drawdown 100 > 50).
        #expect(expectedEvents.count == 1)
        #expect(expectedEvents.first?.brokerTime == BrokerTime(milliseconds: 4_000))
        #expect(expectedEvents.first?.absoluteDrawdown == 100)

        // First run: everything up to the 4,000 ms tick is folded and checkpointed; the agent dies
        // before the EA hears the ACK, so the EA's last acknowledged position is the 2,000 ms tick.
        var first = AgentCore()
        try Script.declareTracker(&first)
        var firstEffects = AgentCore.Effects()
        first.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), into: &firstEffects)
        first.apply(Script.delivery(Script.snapshot(1_000, balance: 10_000, bid: "1.10000"), session: "a", sequence: 2), into: &firstEffects)
        for (index, message) in Script.stream.prefix(3).enumerated() {
            first.apply(Script.delivery(message, session: "a", sequence: UInt64(3 + index)), into: &firstEffects)
        }
        let checkpoint = try first.checkpoint()

        // Restart: a new session from the snapshot at the acknowledged position (2,000 ms, before
        // the deposit), then the rest again: the deposit and the 4,000 ms tick were folded already.
        var resumed = try AgentCore(checkpoint: checkpoint)
        var resumedEffects = AgentCore.Effects()
        resumed.apply(Script.delivery(.hello(Script.hello("b")), session: "b", sequence: 1), into: &resumedEffects)
        resumed.apply(Script.delivery(Script.snapshot(2_000, balance: 10_000, bid: "1.09990"), session: "b", sequence: 2),
                      into: &resumedEffects)
        for (index, message) in Script.stream.dropFirst().enumerated() {
            resumed.apply(Script.delivery(message, session: "b", sequence: UInt64(3 + index)), into: &resumedEffects)
        }
        #expect(resumedEffects.skippedResent >= 2)   // the deposit, the snapshot's and the 4,000 ms observations
        #expect(firstEffects.riskOutputs.trackerEvents + resumedEffects.riskOutputs.trackerEvents == expectedEvents)
        #expect(resumed.risk.currentPeriodStatistics(accountId: Script.account, trackerId: "t1") == expectedStatistics)
    }

    @Test func aChallengeWithoutBrokerClockTakesTheTerminals() throws {
        var core = AgentCore()
        var effects = AgentCore.Effects()
        core.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), into: &effects)
        let definition = ChallengeDefinition(id: "c1", account: Script.account, initialCapital: 10_000,
                                             startTime: BrokerTime(milliseconds: 0),
                                             phases: [ChallengePhase(name: "evaluation", rules: RuleSet())])
        try core.declare(.createChallenge(definition), into: &effects)
        // The hello says UTC+2 (7,200 s).
        #expect(core.risk.challenge(id: "c1")?.definition.brokerClock == .fixed(utcOffsetSeconds: 7_200))
    }

    /// The compact checkpoint carries the whole risk core (tracker periods, chart hour, a challenge
    /// with a day clock, a competition, deal marks) back unchanged; and a JSON checkpoint of an
    /// earlier version still opens.
    @Test func checkpointsRoundTripInBothForms() throws {
        var core = AgentCore()
        var effects = AgentCore.Effects()
        try Script.declareTracker(&core)
        core.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), into: &effects)
        try core.declare(.createChallenge(ChallengeDefinition(
            id: "c1", account: Script.account, initialCapital: 10_000, startTime: BrokerTime(milliseconds: 0),
            phases: [ChallengePhase(name: "evaluation", rules: RuleSet(dailyLoss: DailyLossRule(limit: .percent(5)),
                                                                          maxLoss: MaxLossRule(limit: .percent(10))))])),
            into: &effects)
        try core.declare(.createCompetition(CompetitionDefinition(
            id: "k1", accounts: [Script.account], startTime: BrokerTime(milliseconds: 0),
            endTime: BrokerTime(milliseconds: 86_400_000), metric: .absoluteProfit)), into: &effects)
        core.apply(Script.delivery(Script.snapshot(1_000, balance: 10_000, bid: "1.10000"), session: "a", sequence: 2), into: &effects)
        for (index, message) in Script.stream.enumerated() {
            core.apply(Script.delivery(message, session: "a", sequence: UInt64(3 + index)), into: &effects)
        }

        let compact = try core.checkpoint()
        #expect(compact.starts(with: Array("TMCB".utf8)))
        let fromCompact = try AgentCore(checkpoint: compact)
        #expect(fromCompact.risk == core.risk)
        #expect(fromCompact.sharedClock == core.sharedClock)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let state = try CompactBinaryDecoder().decode(AgentCore.CheckpointState.self, from: compact)
        let fromJSON = try AgentCore(checkpoint: try encoder.encode(state))
        #expect(fromJSON.risk == core.risk)
        // Nothing was lost on the way: the same state makes a blob of the same size (deal marks included).
        #expect(try fromJSON.checkpoint().count == compact.count)
    }

    @Test func aSessionEndIsAFactForTheStoreNotAMessage() throws {
        var core = AgentCore()
        var effects = AgentCore.Effects()
        core.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), into: &effects)
        core.apply(Script.delivery(Script.snapshot(1_000, balance: 10_000, bid: "1.10000"), session: "a", sequence: 2), into: &effects)
        core.apply(Script.delivery(.bye(reason: "terminal closed"), session: "a", sequence: 3), into: &effects)
        let observed = effects.latestObservation
        core.apply(BridgeDelivery(account: Script.account, sessionID: "a", sequence: 3, message: .bye(reason: "terminal closed"),
                                  sessionEnd: .bye), into: &effects)
        core.apply(BridgeDelivery(account: Script.account, sessionID: "b", sequence: 9, message: .bye(reason: "timed_out"),
                                  sessionEnd: .timedOut), into: &effects)
        #expect(effects.sessionEnds.map(\.sessionID) == ["a", "b"])
        #expect(effects.sessionEnds.map(\.reason) == ["bye: terminal closed", "timed_out"])
        #expect(effects.sessionEnds.allSatisfy { $0.account == Script.account })
        // Nothing else moved: no observation, no refusal.
        #expect(effects.latestObservation == observed && effects.refused.isEmpty)
    }
}

extension Array where Element == RiskOutput {
    var trackerEvents: [TrackerEvent] {
        compactMap { if case .trackerEvent(let event) = $0 { event } else { nil } }
    }
}
