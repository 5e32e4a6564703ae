import Agent
import AgentFold
import Bridge
import CompactBinaryCoding
import EquityEngine
import Foundation
import RiskCore
import Testing
import TidemarkProtocol

/// One account (10,000 USD, 1 lot EURUSD bought at 1.10000) with a lifetime tracker whose
/// drawdown threshold is 50 USD. Floating result of 1 lot = (bid − 1.10000) × 100,000.
enum Script {
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

    static func delivery(_ message: TerminalMessage, session: String, sequence: UInt64,
                         account: AccountID = account) -> BridgeDelivery {
        BridgeDelivery(account: account, sessionID: session, sequence: sequence, message: message)
    }

    /// The agent's wall clock handed to the core: the epoch, in UTC. With the 7,200 s offset of
    /// ``hello(_:)`` and the 24 h bound, every script time up to 93,600,000 ms is plausible.
    static let wallClock: Int64 = 0

    /// Another terminal of the same broker: its HEARTBEATs move only its own account's clock.
    static let otherAccount = AccountID(server: "Demo", login: 8)

    static func otherHeartbeat(_ milliseconds: Int64, sequence: UInt64) -> BridgeDelivery {
        BridgeDelivery(account: otherAccount, sessionID: "other", sequence: sequence,
                       message: .heartbeat(BrokerTime(milliseconds: milliseconds)))
    }

    /// Feeds `messages` as one session, numbered from 1.
    static func session(_ session: String, _ messages: [TerminalMessage], account: AccountID = account,
                        into core: inout AgentCore) -> AgentCore.Effects {
        var effects = AgentCore.Effects()
        for (index, message) in messages.enumerated() {
            core.apply(delivery(message, session: session, sequence: UInt64(1 + index), account: account),
                       wallClock: Script.wallClock, into: &effects)
        }
        return effects
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
        core.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), wallClock: Script.wallClock, into: &effects)
        core.apply(Script.delivery(Script.snapshot(1_000, balance: 10_000, bid: "1.10000"), session: "a", sequence: 2), wallClock: Script.wallClock, into: &effects)
        for (index, message) in Script.stream.enumerated() {
            core.apply(Script.delivery(message, session: "a", sequence: UInt64(3 + index)), wallClock: Script.wallClock, into: &effects)
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
        first.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), wallClock: Script.wallClock, into: &firstEffects)
        first.apply(Script.delivery(Script.snapshot(1_000, balance: 10_000, bid: "1.10000"), session: "a", sequence: 2), wallClock: Script.wallClock, into: &firstEffects)
        for (index, message) in Script.stream.prefix(3).enumerated() {
            first.apply(Script.delivery(message, session: "a", sequence: UInt64(3 + index)), wallClock: Script.wallClock, into: &firstEffects)
        }
        let checkpoint = try first.checkpoint()

        // Restart: a new session from the snapshot at the acknowledged position (2,000 ms, before
        // the deposit), then the rest again: the deposit and the 4,000 ms tick were folded already.
        var resumed = try AgentCore(checkpoint: checkpoint)
        var resumedEffects = AgentCore.Effects()
        resumed.apply(Script.delivery(.hello(Script.hello("b")), session: "b", sequence: 1), wallClock: Script.wallClock, into: &resumedEffects)
        resumed.apply(Script.delivery(Script.snapshot(2_000, balance: 10_000, bid: "1.09990"), session: "b", sequence: 2),
                      wallClock: Script.wallClock, into: &resumedEffects)
        for (index, message) in Script.stream.dropFirst().enumerated() {
            resumed.apply(Script.delivery(message, session: "b", sequence: UInt64(3 + index)), wallClock: Script.wallClock, into: &resumedEffects)
        }
        #expect(resumedEffects.skippedResent >= 2)   // the deposit, the snapshot's and the 4,000 ms observations
        #expect(firstEffects.riskOutputs.trackerEvents + resumedEffects.riskOutputs.trackerEvents == expectedEvents)
        #expect(resumed.risk.currentPeriodStatistics(accountId: Script.account, trackerId: "t1") == expectedStatistics)
    }

    /// The terminal folded ticks up to 2,000 ms, then its own heartbeat moved the account's risk
    /// clock to 60,000 ms. Returns that core.
    private func lagging() throws -> AgentCore {
        var core = AgentCore()
        try Script.declareTracker(&core)
        _ = Script.session("a", [.hello(Script.hello("a")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000"),
                                 Script.tick(2_000, bid: "1.09990"), .heartbeat(BrokerTime(milliseconds: 60_000))], into: &core)
        #expect(core.risk.clock(accountId: Script.account) == BrokerTime(milliseconds: 60_000))
        #expect(core.risk.lastOwnInputTime(accountId: Script.account) == BrokerTime(milliseconds: 2_000))
        return core
    }

    /// After a reconnect, the terminal's inputs newer than what it had folded (2,000 ms) but older
    /// than its heartbeat's time (60,000 ms) were never folded: they must reach the risk core.
    @Test func aLaggingTerminalsNewInputsAfterAReconnectAreFolded() throws {
        var core = try lagging()
        // A new session from the acknowledged position (the 2,000 ms tick), then a new tick.
        let effects = Script.session("b", [.hello(Script.hello("b")), Script.snapshot(2_000, balance: 10_000, bid: "1.09990"),
                                           Script.tick(4_000, bid: "1.09900")], into: &core)
        #expect(effects.skippedResent == 0)   // the snapshot at 2,000 ms is at the mark: folded again, harmlessly
        // Hand-worked: equity 10,000 + (1.09900 − 1.10000) × 100,000 = 9,900; drawdown from the
        // 10,000 start = 100 > 50: one event.
        #expect(effects.riskOutputs.trackerEvents.map(\.absoluteDrawdown) == [100])
        #expect(core.risk.lastOwnInputTime(accountId: Script.account) == BrokerTime(milliseconds: 4_000))
    }

    /// Another terminal's heartbeat moves only its own account: an account whose tracker was
    /// declared before its terminal ever connected keeps no clock, and its first session is all new.
    @Test func anotherTerminalsHeartbeatMovesOnlyItsOwnAccount() throws {
        var core = AgentCore()
        try Script.declareTracker(&core)
        var effects = Script.session("other", [.hello(Script.hello("other"))], account: Script.otherAccount, into: &core)
        core.apply(Script.otherHeartbeat(60_000, sequence: 2), wallClock: Script.wallClock, into: &effects)
        #expect(core.risk.clock(accountId: Script.otherAccount) == BrokerTime(milliseconds: 60_000))
        #expect(core.risk.clock(accountId: Script.account) == nil)
        #expect(core.risk.lastOwnInputTime(accountId: Script.account) == nil)
        effects = Script.session("a", [.hello(Script.hello("a")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000"),
                                       Script.tick(4_000, bid: "1.09900")], into: &core)
        #expect(effects.skippedResent == 0)
        // Hand-worked: 10,000 + (1.09900 − 1.10000) × 100,000 = 9,900: drawdown 100 > 50.
        #expect(effects.riskOutputs.trackerEvents.map(\.absoluteDrawdown) == [100])
    }

    /// What was folded before the restart is still skipped when resent, with the account's clock far
    /// ahead too (its heartbeat): only inputs older than the terminal's own last folded time (3,000 ms). (A restart,
    /// so that the equity engine starts empty and passes the resent ticks on, as after a kill -9.)
    @Test func resentInputsAreStillSkipped() throws {
        var first = AgentCore()
        try Script.declareTracker(&first)
        _ = Script.session("a", [.hello(Script.hello("a")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000"),
                                 Script.tick(2_000, bid: "1.09990"), Script.tick(3_000, bid: "1.09980")], into: &first)
        var heartbeat = AgentCore.Effects()
        first.apply(Script.delivery(.heartbeat(BrokerTime(milliseconds: 60_000)), session: "a", sequence: 5),
                    wallClock: Script.wallClock, into: &heartbeat)
        var core = try AgentCore(checkpoint: try first.checkpoint())
        // Acknowledged up to the snapshot: the EA resends both ticks, then goes on.
        let effects = Script.session("b", [.hello(Script.hello("b")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000"),
                                           Script.tick(2_000, bid: "1.09990"), Script.tick(3_000, bid: "1.09980"),
                                           Script.tick(4_000, bid: "1.09900")], into: &core)
        // Skipped: the snapshot's observation (1,000 ms) and the 2,000 ms tick's; the 3,000 ms tick
        // is at the mark (folded again, harmlessly), the 4,000 ms one is new.
        #expect(effects.skippedResent == 2)
        // Hand-worked: 10,000 + (1.09900 − 1.10000) × 100,000 = 9,900: drawdown 100 > 50.
        #expect(effects.riskOutputs.trackerEvents.map(\.absoluteDrawdown) == [100])
    }

    /// The checkpoint keeps the own-input time: a core resumed from it still folds the lagging
    /// terminal's new inputs after the reconnect.
    @Test func theCheckpointKeepsTheOwnInputTime() throws {
        let checkpoint = try lagging().checkpoint()
        var core = try AgentCore(checkpoint: checkpoint)
        #expect(core.risk.lastOwnInputTime(accountId: Script.account) == BrokerTime(milliseconds: 2_000))
        #expect(core.risk.clock(accountId: Script.account) == BrokerTime(milliseconds: 60_000))
        let effects = Script.session("b", [.hello(Script.hello("b")), Script.snapshot(2_000, balance: 10_000, bid: "1.09990"),
                                           Script.tick(4_000, bid: "1.09900")], into: &core)
        #expect(effects.skippedResent == 0)
        // Hand-worked: 10,000 + (1.09900 − 1.10000) × 100,000 = 9,900: drawdown 100 > 50.
        #expect(effects.riskOutputs.trackerEvents.map(\.absoluteDrawdown) == [100])
    }

    /// A JSON checkpoint of a version before the own-input time still opens; the account's mark is
    /// then its risk clock (the old rule: that checkpoint knows nothing closer), so resent inputs
    /// are never folded twice, and the first input past the clock is folded.
    @Test func anOldCheckpointFallsBackToTheRiskClock() throws {
        let compact = try lagging().checkpoint()
        let state = try CompactBinaryDecoder().decode(AgentCore.CheckpointState.self, from: compact)
        var tree = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(state)) as? [String: Any])
        var risk = try #require(tree["risk"] as? [String: Any])
        #expect(risk.removeValue(forKey: "formatVersion") != nil)
        let accounts = try #require(risk["accounts"] as? [[String: Any]])
        #expect(accounts.contains { $0["lastOwnInputTime"] != nil })
        risk["accounts"] = accounts.map { account in account.filter { $0.key != "lastOwnInputTime" } }
        tree["risk"] = risk
        var core = try AgentCore(checkpoint: try JSONSerialization.data(withJSONObject: tree))

        #expect(core.risk.lastOwnInputTime(accountId: Script.account) == BrokerTime(milliseconds: 60_000))
        let effects = Script.session("b", [.hello(Script.hello("b")), Script.snapshot(2_000, balance: 10_000, bid: "1.09990"),
                                           Script.tick(4_000, bid: "1.09900"), Script.tick(61_000, bid: "1.09890")],
                                     into: &core)
        #expect(effects.skippedResent == 2)   // the snapshot's observation and the 4,000 ms tick's
        // Hand-worked: at 61,000 ms, 10,000 + (1.09890 − 1.10000) × 100,000 = 9,890: drawdown 110 > 50.
        #expect(effects.riskOutputs.trackerEvents.map(\.absoluteDrawdown) == [110])
    }

    @Test func aChallengeWithoutBrokerClockTakesTheTerminals() throws {
        var core = AgentCore()
        var effects = AgentCore.Effects()
        core.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), wallClock: Script.wallClock, into: &effects)
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
        core.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), wallClock: Script.wallClock, into: &effects)
        try core.declare(.createChallenge(ChallengeDefinition(
            id: "c1", account: Script.account, initialCapital: 10_000, startTime: BrokerTime(milliseconds: 0),
            phases: [ChallengePhase(name: "evaluation", rules: RuleSet(dailyLoss: DailyLossRule(limit: .percent(5)),
                                                                          maxLoss: MaxLossRule(limit: .percent(10))))])),
            into: &effects)
        try core.declare(.createCompetition(CompetitionDefinition(
            id: "k1", accounts: [Script.account], startTime: BrokerTime(milliseconds: 0),
            endTime: BrokerTime(milliseconds: 86_400_000), metric: .absoluteProfit)), into: &effects)
        core.apply(Script.delivery(Script.snapshot(1_000, balance: 10_000, bid: "1.10000"), session: "a", sequence: 2), wallClock: Script.wallClock, into: &effects)
        for (index, message) in Script.stream.enumerated() {
            core.apply(Script.delivery(message, session: "a", sequence: UInt64(3 + index)), wallClock: Script.wallClock, into: &effects)
        }

        let compact = try core.checkpoint()
        #expect(compact.starts(with: Array("TMCB".utf8)))
        let fromCompact = try AgentCore(checkpoint: compact)
        #expect(fromCompact.risk == core.risk)
        #expect(fromCompact.utcOffsets == core.utcOffsets)

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
        core.apply(Script.delivery(.hello(Script.hello("a")), session: "a", sequence: 1), wallClock: Script.wallClock, into: &effects)
        core.apply(Script.delivery(Script.snapshot(1_000, balance: 10_000, bid: "1.10000"), session: "a", sequence: 2), wallClock: Script.wallClock, into: &effects)
        core.apply(Script.delivery(.bye(reason: "terminal closed"), session: "a", sequence: 3), wallClock: Script.wallClock, into: &effects)
        let observed = effects.latestObservation
        core.apply(BridgeDelivery(account: Script.account, sessionID: "a", sequence: 3, message: .bye(reason: "terminal closed"),
                                  sessionEnd: .bye), wallClock: Script.wallClock, into: &effects)
        core.apply(BridgeDelivery(account: Script.account, sessionID: "b", sequence: 9, message: .bye(reason: "timed_out"),
                                  sessionEnd: .timedOut), wallClock: Script.wallClock, into: &effects)
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
