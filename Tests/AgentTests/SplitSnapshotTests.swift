import AgentFold
import EquityEngine
import RiskCore
import Testing
import TidemarkProtocol

/// A snapshot split over frames (protocol/SPEC.md §6.8) on the ``Script`` account (10,000 USD,
/// lifetime tracker with a 50 USD drawdown threshold), at 1,000 ms, EURUSD bid 1.09900 ask 1.09902:
/// - ticket 11, buy 1 lot at 1.10000, marked at the bid: (1.09900 − 1.10000) × 100,000 = −100;
/// - ticket 12, sell 1 lot at 1.10200, marked at the ask: (1.10200 − 1.09902) × 100,000 = +298.
/// The SNAPSHOT frame carries ticket 11 only; ticket 12 follows as a `POSITION opened` frame.
/// Whole, the equity is 10,000 − 100 + 298 = 10,198 (no drawdown); with ticket 11 alone it is
/// 9,900, a drawdown of 100 > 50.
@Suite struct SplitSnapshotTests {
    static let time = BrokerTime(milliseconds: 1_000)
    static let buy = Script.position
    static let sell = Position(
        ticket: 12, symbol: "EURUSD", side: .sell, volume: 1, openPrice: "1.10200",
        openTime: BrokerTime(milliseconds: 500), swap: .zero, commission: .zero)

    static func firstPart(positionCount: Int?) -> TerminalMessage {
        .snapshot(
            Snapshot(
                account: AccountReport(time: time, balance: 10_000, credit: .zero, equity: 10_198, margin: .zero),
                symbols: [Script.eurusd], positions: [buy],
                quotes: [Tick(symbol: "EURUSD", time: time, bid: "1.09900", ask: "1.09902")],
                positionCount: positionCount))
    }

    static let secondPart = TerminalMessage.position(PositionUpdate(change: .opened, time: time, position: sell))

    /// HELLO, then the snapshot's first frame; returns the effects of that frame alone.
    private func helloAndFirstPart(positionCount: Int?, into core: inout AgentCore) throws -> AgentCore.Effects {
        try Script.declareTracker(&core)
        _ = Script.session("a", [.hello(Script.hello("a"))], into: &core)
        var effects = AgentCore.Effects()
        core.apply(
            Script.delivery(Self.firstPart(positionCount: positionCount), session: "a", sequence: 2),
            wallClock: Script.wallClock, into: &effects)
        return effects
    }

    @Test func aSplitSnapshotFoldsOnceWholeAndNoTrackerSeesTheEquityInBetween() throws {
        var core = AgentCore()
        let held = try helloAndFirstPart(positionCount: 2, into: &core)
        // Equity unknown while ticket 12 is missing: no observation reaches the risk core.
        #expect(held.latestObservation[Script.account] == nil)
        #expect(held.riskOutputs.trackerEvents.isEmpty)
        #expect(held.openedSessions.isEmpty)

        // A heartbeat moves no position: the snapshot goes on waiting.
        var heartbeat = AgentCore.Effects()
        core.apply(
            Script.delivery(.heartbeat(Self.time), session: "a", sequence: 3), wallClock: Script.wallClock,
            into: &heartbeat)
        #expect(heartbeat.latestObservation[Script.account] == nil)
        #expect(heartbeat.accountErrors.isEmpty)

        var effects = AgentCore.Effects()
        core.apply(
            Script.delivery(Self.secondPart, session: "a", sequence: 4), wallClock: Script.wallClock,
            into: &effects)
        #expect(effects.riskOutputs.trackerEvents.isEmpty)
        #expect(effects.accountErrors.isEmpty)
        #expect(effects.openedSessions.map(\.sessionID) == ["a"])
        let observation = try #require(effects.latestObservation[Script.account])
        #expect(observation.equity == 10_198)
        #expect(observation.floating == 198)
        #expect(core.equity.view(of: Script.account)?.positions.count == 2)
        let statistics = try #require(core.risk.currentPeriodStatistics(accountId: Script.account, trackerId: "t1"))
        #expect(statistics.maxAbsoluteDrawdown == 0)
        #expect(statistics.maxAbsoluteProfit == 198)
        #expect(!statistics.thresholdExceeded)
    }

    /// The same frames from an EA that does not announce the count fold one by one: the tracker
    /// sees 9,900 and fires. This is what the announced count prevents.
    @Test func withoutTheCountEachPartFoldsAndTheEquityInBetweenBreaches() throws {
        var core = AgentCore()
        let first = try helloAndFirstPart(positionCount: nil, into: &core)
        #expect(first.latestObservation[Script.account]?.equity == 9_900)
        let events = first.riskOutputs.trackerEvents
        #expect(events.count == 1)
        #expect(events.first?.absoluteDrawdown == 100)
    }

    /// A tick before the last position breaks SPEC §6.8: the snapshot folds as it stands (9,900)
    /// and the account is in error until a whole snapshot (10,198) re-bases it.
    @Test func aTickBeforeTheLastPositionFoldsThePartAndAsksForAWholeSnapshot() throws {
        var core = AgentCore()
        _ = try helloAndFirstPart(positionCount: 2, into: &core)
        var effects = AgentCore.Effects()
        core.apply(
            Script.delivery(Script.tick(2_000, bid: "1.09900"), session: "a", sequence: 3),
            wallClock: Script.wallClock, into: &effects)
        #expect(effects.accountErrors.map(\.error.reason) == [.splitSnapshotIncomplete])
        #expect(core.accountErrors[Script.account]?.reason == .splitSnapshotIncomplete)
        #expect(effects.latestObservation[Script.account]?.equity == 9_900)

        let whole = TerminalMessage.snapshot(
            Snapshot(
                account: AccountReport(time: Self.time, balance: 10_000, credit: .zero, equity: 10_198, margin: .zero),
                symbols: [Script.eurusd], positions: [Self.buy, Self.sell],
                quotes: [Tick(symbol: "EURUSD", time: Self.time, bid: "1.09900", ask: "1.09902")],
                positionCount: 2))
        var resynced = AgentCore.Effects()
        core.apply(
            Script.delivery(whole, session: "a", sequence: 4), wallClock: Script.wallClock, into: &resynced)
        #expect(resynced.clearedAccountErrors == [Script.account])
        #expect(core.equity.view(of: Script.account)?.equity == 10_198)
    }

    @Test func aSessionThatEndsMidSnapshotLeavesNothing() throws {
        var core = AgentCore()
        _ = try helloAndFirstPart(positionCount: 2, into: &core)
        var effects = AgentCore.Effects()
        core.apply(
            BridgeDelivery(
                account: Script.account, sessionID: "a", sequence: 2, message: .bye(reason: "timed_out"),
                sessionEnd: .timedOut), wallClock: Script.wallClock, into: &effects)
        #expect(effects.unopenedSessionEnds == ["a"])
        #expect(core.equity.view(of: Script.account) == nil)
    }
}
