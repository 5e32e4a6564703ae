import Agent
import AgentFold
import Bridge
import CompactBinaryCoding
import EquityEngine
import Foundation
import RiskCore
import Testing
import TidemarkProtocol

/// Per-account time in the agent's core: a terminal's times move its own account only, a time too
/// far ahead of the wall clock is refused, and quiet accounts follow the wall clock in their own
/// broker time. Script's account says HELLO with a UTC offset of 7,200 s; the wall clock is the
/// epoch, so with the 24 h bound the latest plausible time is 7,200,000 + 86,400,000 = 93,600,000 ms.
@Suite struct AccountClockTests {
    static let latestPlausible: Int64 = 93_600_000

    /// HELLO and a snapshot at 1,000 ms (balance 10,000, bid 1.10000, 1 lot bought at 1.10000).
    private func connected() -> AgentCore {
        var core = AgentCore()
        _ = Script.session(
            "a", [.hello(Script.hello("a")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000")], into: &core)
        return core
    }

    private func apply(
        _ message: TerminalMessage, sequence: UInt64, to core: inout AgentCore,
        wallClock: Int64 = Script.wallClock
    ) -> (Bool, AgentCore.Effects) {
        var effects = AgentCore.Effects()
        let folded = core.apply(
            Script.delivery(message, session: "a", sequence: sequence), wallClock: wallClock, into: &effects)
        return (folded, effects)
    }

    @Test func aHeartbeatTooFarAheadIsRefusedAndMovesNoClock() throws {
        var core = connected()
        #expect(
            core.latestPlausibleTime(of: Script.account, wallClock: Script.wallClock)
                == BrokerTime(milliseconds: Self.latestPlausible))
        let (folded, effects) = apply(
            .heartbeat(BrokerTime(milliseconds: Self.latestPlausible + 1)), sequence: 3, to: &core)
        #expect(!folded)
        #expect(
            effects.implausibleTimes == [
                AgentCore.ImplausibleTime(
                    account: Script.account,
                    time: BrokerTime(milliseconds: Self.latestPlausible + 1),
                    limit: BrokerTime(milliseconds: Self.latestPlausible))
            ])
        #expect(core.risk.clock(accountId: Script.account) == BrokerTime(milliseconds: 1_000))
        // The year 292,278,994 (the largest time on the wire) is refused the same way, without a trap.
        #expect(!apply(.heartbeat(BrokerTime(milliseconds: .max)), sequence: 4, to: &core).0)
        // At the bound exactly: accepted, and it moves the account's clock.
        let (accepted, none) = apply(.heartbeat(BrokerTime(milliseconds: Self.latestPlausible)), sequence: 5, to: &core)
        #expect(accepted && none.implausibleTimes.isEmpty)
        #expect(core.risk.clock(accountId: Script.account) == BrokerTime(milliseconds: Self.latestPlausible))
    }

    /// A TICKS frame with one implausible tick is refused whole: its honest tick (2,000 ms, bid
    /// 1.09900, equity 9,900) is not folded either; the terminal's clock cannot be trusted.
    @Test func aTicksFrameWithOneImplausibleTickIsRefusedWhole() throws {
        var core = connected()
        let frame = TerminalMessage.ticks([
            Tick(symbol: "EURUSD", time: BrokerTime(milliseconds: 2_000), bid: "1.09900", ask: "1.09902"),
            Tick(
                symbol: "EURUSD", time: BrokerTime(milliseconds: Self.latestPlausible + 60_000), bid: "1.09800",
                ask: "1.09802"),
        ])
        let (folded, effects) = apply(frame, sequence: 3, to: &core)
        #expect(!folded)
        #expect(effects.implausibleTimes.map(\.time) == [BrokerTime(milliseconds: Self.latestPlausible + 60_000)])
        #expect(effects.latestObservation.isEmpty && effects.riskOutputs.isEmpty)
        #expect(core.risk.clock(accountId: Script.account) == BrokerTime(milliseconds: 1_000))
        // The next plausible tick is folded against the snapshot's quote: 10,000 + (1.09950 − 1.10000) × 100,000 = 9,950.
        let (next, nextEffects) = apply(Script.tick(3_000, bid: "1.09950"), sequence: 4, to: &core)
        #expect(next)
        #expect(nextEffects.latestObservation[Script.account]?.equity == 9_950)
    }

    /// A tick that moves no equity has no observation, but it is the account's input: its time
    /// moves the account's clock (so a period that begins there opens there), not the own-input mark.
    @Test func aTickThatMovesNoEquityMovesTheClock() throws {
        var core = connected()
        let (folded, effects) = apply(Script.tick(5_000, bid: "1.10000"), sequence: 3, to: &core)
        #expect(folded && effects.latestObservation.isEmpty)
        #expect(core.risk.clock(accountId: Script.account) == BrokerTime(milliseconds: 5_000))
        #expect(core.risk.lastOwnInputTime(accountId: Script.account) == BrokerTime(milliseconds: 1_000))
    }

    /// Quiet accounts (no session) follow the wall clock in their own broker time; an account with a
    /// session keeps its terminal's time, and one whose clock is further behind than the bound (a
    /// replayed recording) keeps its own.
    @Test func quietAccountsFollowTheWallClockInTheirOwnBrokerTime() throws {
        var core = connected()
        var effects = Script.session(
            "other", [.hello(Script.hello("other"))], account: Script.otherAccount, into: &core)
        core.apply(Script.otherHeartbeat(2_000, sequence: 2), wallClock: Script.wallClock, into: &effects)
        effects = AgentCore.Effects()
        core.advanceQuietAccounts(wallClock: Script.wallClock, into: &effects)
        #expect(effects.wallClockTimes.isEmpty)  // both have a session

        core.apply(
            BridgeDelivery(
                account: Script.account, sessionID: "a", sequence: 3, message: .bye(reason: ""), sessionEnd: .bye),
            wallClock: Script.wallClock, into: &effects)
        core.advanceQuietAccounts(wallClock: Script.wallClock, into: &effects)
        // The epoch in the account's broker time: 0 + 7,200 s.
        #expect(effects.wallClockTimes.map(\.0) == [Script.account])
        #expect(effects.wallClockTimes.map(\.1) == [BrokerTime(milliseconds: 7_200_000)])
        #expect(core.risk.clock(accountId: Script.account) == BrokerTime(milliseconds: 7_200_000))
        #expect(core.risk.clock(accountId: Script.otherAccount) == BrokerTime(milliseconds: 2_000))

        // 200,000,000 ms later the account's clock (7,200,000) is more than the bound behind: left alone.
        effects = AgentCore.Effects()
        core.advanceQuietAccounts(wallClock: 200_000_000, into: &effects)
        #expect(effects.wallClockTimes.isEmpty)
        #expect(core.risk.clock(accountId: Script.account) == BrokerTime(milliseconds: 7_200_000))
    }

    /// The checkpoint keeps each account's UTC offset (the wall clock's reference after a restart,
    /// before the terminal says HELLO again). A checkpoint of an agent that kept one shared clock
    /// still opens: the shared clock is dropped.
    @Test func theCheckpointKeepsOffsetsAndOldSharedClocksAreDropped() throws {
        let core = connected()
        let resumed = try AgentCore(checkpoint: try core.checkpoint())
        #expect(resumed.utcOffsets == [Script.account: 7_200])
        #expect(
            resumed.latestPlausibleTime(of: Script.account, wallClock: Script.wallClock)
                == BrokerTime(milliseconds: Self.latestPlausible))

        let state = try CompactBinaryDecoder().decode(AgentCore.CheckpointState.self, from: try core.checkpoint())
        var object = try #require(
            try JSONSerialization.jsonObject(with: try JSONEncoder().encode(state)) as? [String: Any])
        object["utcOffsets"] = nil
        object["sharedClock"] = 4_102_444_800_000  // 2100-01-01, another terminal's time
        let old = try AgentCore(checkpoint: try JSONSerialization.data(withJSONObject: object))
        #expect(old.risk == core.risk)
        #expect(old.utcOffsets.isEmpty)
    }
}

/// `tidemark replay` folds what the agent folded: a recording the agent writes (its messages, a
/// tick that moved no equity, a wall-clock `time` line) gives the same risk outputs offline.
@Suite struct ReplayMatchesTheLiveFoldTests {
    @Test func aRecordingWithTimeLinesReplaysToTheSameOutputs() throws {
        var core = AgentCore()
        try Script.declareTracker(&core)
        var definitionEffects = AgentCore.Effects()
        let chart = try core.declare(
            .createTracker(
                TrackerDefinition(
                    id: "t2", accountId: Script.account, name: "daily",
                    period: .day, absoluteProfitThreshold: 1_000)),
            into: &definitionEffects)
        let messages: [TerminalMessage] = [
            .hello(Script.hello("a")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000"),
            Script.tick(2_000, bid: "1.09900"), Script.tick(3_000, bid: "1.09900"),
            .heartbeat(BrokerTime(milliseconds: 4_000)),
        ]
        var effects = Script.session("a", messages, into: &core)
        core.apply(
            BridgeDelivery(
                account: Script.account, sessionID: "a", sequence: 6, message: .bye(reason: ""), sessionEnd: .bye),
            wallClock: Script.wallClock, into: &effects)
        core.advanceQuietAccounts(wallClock: Script.wallClock, into: &effects)
        #expect(effects.wallClockTimes.count == 1)
        // The wall clock's time input (7,200,000 ms) closed the chart's first hour: outputs to compare.
        #expect(effects.riskOutputs.contains { if case .equityChart = $0 { true } else { false } })

        var lines: [[UInt8]] = []
        for command in [
            RiskCommand.createTracker(
                TrackerDefinition(
                    id: "t1", accountId: Script.account, name: "dd", period: .lifetime,
                    absoluteDrawdownThreshold: 50)), chart,
        ] {
            var object = try #require(
                try JSONSerialization.jsonObject(with: try JSONEncoder().encode(command)) as? [String: Any])
            object["type"] = "declare"
            lines.append(Array(try JSONSerialization.data(withJSONObject: object)))
        }
        for (index, message) in messages.enumerated() {
            lines.append(
                RecordingCodec.encode(
                    .message(account: Script.account, sessionID: "a", sequence: UInt64(index + 1), message)))
        }
        for (account, time) in effects.wallClockTimes { lines.append(TimeDirective(account: account, time: time).json) }
        var replay = RecordingReplay(recordingName: "agent.jsonl")
        replay.play(RecordingReader(bytes: Array(lines.joined(separator: [0x0A])) + [0x0A]))
        #expect(replay.problems.isEmpty)
        #expect(replay.outputs == effects.riskOutputs)
        #expect(replay.core.risk == core.risk)
    }

    /// A deposit whose amount cannot be represented is refused by the equity engine; neither the
    /// live fold nor the replay gives it to the risk core, whose state stays the same in both.
    @Test func aDealTheEngineRefusesReachesTheRiskCoreInNeither() throws {
        var core = AgentCore()
        try Script.declareTracker(&core)
        let deposit = TerminalMessage.deal(
            Deal(
                ticket: 7, time: BrokerTime(milliseconds: 2_000), type: .balance, entry: .in,
                symbol: "", volume: .zero, price: .zero, profit: .greatestFiniteMagnitude,
                commission: .zero, swap: .greatestFiniteMagnitude, fee: .zero, positionID: 0,
                comment: ""))
        let messages: [TerminalMessage] = [
            .hello(Script.hello("a")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000"),
            deposit, Script.tick(3_000, bid: "1.09900"),
        ]
        let effects = Script.session("a", messages, into: &core)
        #expect(effects.accountErrors.map(\.error.reason) == [.dealOutOfRange])

        var object = try #require(
            try JSONSerialization.jsonObject(
                with: try JSONEncoder().encode(
                    RiskCommand.createTracker(
                        TrackerDefinition(
                            id: "t1", accountId: Script.account, name: "dd", period: .lifetime,
                            absoluteDrawdownThreshold: 50))))
                as? [String: Any])
        object["type"] = "declare"
        var lines: [[UInt8]] = [Array(try JSONSerialization.data(withJSONObject: object))]
        for (index, message) in messages.enumerated() {
            lines.append(
                RecordingCodec.encode(
                    .message(account: Script.account, sessionID: "a", sequence: UInt64(index + 1), message)))
        }
        var replay = RecordingReplay(recordingName: "agent.jsonl")
        replay.play(RecordingReader(bytes: Array(lines.joined(separator: [0x0A])) + [0x0A]))
        #expect(replay.problems.count == 1)
        #expect(replay.outputs == effects.riskOutputs)
        #expect(replay.core.risk == core.risk)
    }

    /// A terminal reconnects and resends its tail (protocol/SPEC.md §6.7): the deposit and the
    /// 4,000 ms tick come twice in the recording, once per session. The replay folds them once, as
    /// the live fold does (one ``AgentCore``): hand-worked, one drawdown event at 4,000 ms of
    /// 11,000 − 10,900 = 100 (the period's start balance 10,000 adjusted by the 1,000 deposit,
    /// once; folded twice it would read 12,000 − 10,900 = 1,100), and the same outputs and state as
    /// the live fold, which also saw the first session end.
    @Test func aReconnectsResentTailIsFoldedOnceAsLive() throws {
        let tracker = RiskCommand.createTracker(
            TrackerDefinition(
                id: "t1", accountId: Script.account, name: "dd", period: .lifetime, absoluteDrawdownThreshold: 50))
        let first: [TerminalMessage] =
            [.hello(Script.hello("a")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000")]
            + Script.stream.prefix(3)
        let second: [TerminalMessage] =
            [.hello(Script.hello("b")), Script.snapshot(2_000, balance: 10_000, bid: "1.09990")]
            + Script.stream.dropFirst()

        var core = AgentCore()
        var effects = AgentCore.Effects()
        try core.declare(tracker, into: &effects)
        for (index, message) in first.enumerated() {
            core.apply(
                Script.delivery(message, session: "a", sequence: UInt64(index + 1)), wallClock: Script.wallClock,
                into: &effects)
        }
        core.apply(
            BridgeDelivery(
                account: Script.account, sessionID: "a", sequence: UInt64(first.count),
                message: .bye(reason: "superseded"), sessionEnd: .superseded),
            wallClock: Script.wallClock, into: &effects)
        for (index, message) in second.enumerated() {
            core.apply(
                Script.delivery(message, session: "b", sequence: UInt64(index + 1)), wallClock: Script.wallClock,
                into: &effects)
        }

        var lines: [[UInt8]] = []
        for (index, message) in first.enumerated() {
            lines.append(
                RecordingCodec.encode(
                    .message(account: Script.account, sessionID: "a", sequence: UInt64(index + 1), message)))
        }
        for (index, message) in second.enumerated() {
            lines.append(
                RecordingCodec.encode(
                    .message(account: Script.account, sessionID: "b", sequence: UInt64(index + 1), message)))
        }
        var replay = RecordingReplay(recordingName: "agent.jsonl")
        replay.declare(try JSONEncoder().encode(tracker), source: "rules", line: 1)
        replay.play(RecordingReader(bytes: Array(lines.joined(separator: [0x0A])) + [0x0A]))

        #expect(replay.problems.isEmpty)
        #expect(replay.skippedResentInputs >= 2)
        let events = replay.outputs.trackerEvents
        #expect(events.map(\.brokerTime) == [BrokerTime(milliseconds: 4_000)])
        #expect(events.map(\.absoluteDrawdown) == [100])
        #expect(
            replay.core.risk.currentPeriodStatistics(accountId: Script.account, trackerId: "t1")?.balanceAdjustment
                == 1_000)
        #expect(replay.outputs == effects.riskOutputs)
        #expect(replay.core.risk == core.risk)
    }
}
