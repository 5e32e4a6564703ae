import Foundation
import RiskCore
import Testing
import TidemarkProtocol

struct TrackerTests {
    func engine(_ definitions: TrackerDefinition...) throws -> RiskEngine {
        var engine = RiskEngine()
        for definition in definitions { try engine.apply(.createTracker(definition)) }
        return engine
    }

    /// Strictly exceeded, one event per period, then the record freezes; the next period starts
    /// fresh from the last balance.
    @Test func drawdownThresholdFiresOncePerPeriodAndFreezes() throws {
        var engine = try engine(
            TrackerDefinition(
                id: "t1", accountId: accountA, name: "daily", period: .day,
                startBrokerTime: at("2024-03-01 00:00:00.000"),
                absoluteDrawdownThreshold: 100))
        let first = run(
            &engine,
            [
                observation("2024-03-01 00:00:00.000", balance: 10_000, equity: 10_000),  // initial 10000
                observation("2024-03-01 01:00:00.000", balance: 10_000, equity: 9_900),  // dd 100: equal, not exceeded
            ])
        #expect(first.trackerEvents.isEmpty)
        let fired = engine.apply(observation("2024-03-01 02:00:00.000", balance: 10_000, equity: "9899.99"))
        // dd = 10000 − 9899.99 = 100.01 > 100; relative = 100.01 / 10000 = 0.010001.
        let event = try #require(fired.trackerEvents.first)
        #expect(event.sequenceNumber == 1)
        #expect(event.absoluteDrawdown == "100.01")
        #expect(event.relativeDrawdown == "0.010001")
        #expect(event.absoluteProfit == 0)
        #expect(event.exceededThresholdType == .drawdown)
        #expect(event.brokerTime == at("2024-03-01 02:00:00.000"))
        #expect(event.startBrokerTime == at("2024-03-01 00:00:00.000"))
        #expect(event.endBrokerTime == at("2024-03-01 23:59:59.999"))
        #expect(event.absoluteDrawdownThreshold == 100)
        // Frozen: a deeper drawdown and a later profit change nothing and fire nothing.
        let after = run(
            &engine,
            [
                observation("2024-03-01 03:00:00.000", balance: 10_000, equity: 9_800),
                observation("2024-03-01 04:00:00.000", balance: 10_000, equity: 10_500),
            ])
        #expect(after.trackerEvents.isEmpty)
        let live = try #require(engine.currentPeriodStatistics(accountId: accountA, trackerId: "t1"))
        #expect(live.maxAbsoluteDrawdown == "100.01")
        #expect(live.maxDrawdownTime == at("2024-03-01 02:00:00.000"))
        #expect(live.maxAbsoluteProfit == 0)
        #expect(live.thresholdExceeded && live.exceededThresholdType == .drawdown)

        // Next day: the closed record comes out, the new period's initial balance is the last
        // balance (10000); equity 9000 → dd 1000 > 100 fires event #2 in the new period.
        let nextDay = engine.apply(observation("2024-03-02 00:00:00.000", balance: 10_000, equity: 9_000))
        let closed = try #require(nextDay.closedStatistics.first)
        #expect(closed.startBrokerTime == at("2024-03-01 00:00:00.000"))
        #expect(closed.initialBalance == 10_000)
        #expect(closed.maxAbsoluteDrawdown == "100.01")
        #expect(closed.maxRelativeDrawdown == "0.010001")
        #expect(closed.thresholdExceeded)
        #expect(closed.exceededThresholdType == .drawdown)
        #expect(nextDay.trackerEvents.map(\.sequenceNumber) == [2])
        #expect(nextDay.trackerEvents.first?.absoluteDrawdown == 1_000)
    }

    /// A relative threshold is compared exactly: 1000.00000001 / 10000 rounds to 0.1 at eight
    /// digits, yet it is strictly more than 0.1 × 10000 and must fire; exactly 1000 must not.
    @Test func relativeThresholdIsComparedExactly() throws {
        var engine = try engine(
            TrackerDefinition(
                id: "t1", accountId: accountA, name: "rel", period: .lifetime,
                relativeDrawdownThreshold: "0.1"))
        let equal = run(
            &engine,
            [
                observation("2024-03-01 00:00:00.000", balance: 10_000, equity: 10_000),
                observation("2024-03-01 00:01:00.000", balance: 10_000, equity: 9_000),  // rel exactly 0.1
            ])
        #expect(equal.trackerEvents.isEmpty)
        let over = engine.apply(observation("2024-03-01 00:02:00.000", balance: 10_000, equity: "8999.99999999"))
        let event = try #require(over.trackerEvents.first)
        #expect(event.absoluteDrawdown == "1000.00000001")
        #expect(event.relativeDrawdown == "0.1")  // 0.100000000001 rounded to 8 digits
        #expect(event.endBrokerTime == nil)
    }

    /// Deposits and withdrawals are removed from equity; their sum is `balanceAdjustment`; trading
    /// days are distinct dates with a buy/sell deal; the month-to-date period rolls on 1 Feb.
    @Test func profitWithBalanceAdjustmentAndTradeDays() throws {
        var engine = try engine(
            TrackerDefinition(
                id: "m", accountId: accountA, name: "mtd", period: .monthToDate,
                startBrokerTime: at("2024-01-01 00:00:00.000"),
                absoluteProfitThreshold: 500))
        _ = run(
            &engine,
            [
                observation("2024-01-31 23:00:00.000", balance: 10_000, equity: 10_000),
                tradeDeal("2024-01-31 23:10:00.000"),
            ])
        let rolled = run(
            &engine,
            [
                balanceDeal("2024-02-01 09:00:00.000", amount: 1_000),  // deposit
                observation("2024-02-01 09:00:00.000", balance: 11_000, equity: 11_000),  // adjusted 10000: profit 0
                tradeDeal("2024-02-01 09:30:00.000", ticket: 2),
                tradeDeal("2024-02-01 17:30:00.000", ticket: 3),  // same date: still 1 day
                observation("2024-02-01 18:00:00.000", balance: 11_000, equity: 11_400),  // profit 400
            ])
        // January closes with one trade day and no drawdown or profit.
        let january = try #require(rolled.closedStatistics.first)
        #expect(january.startBrokerTime == at("2024-01-01 00:00:00.000"))
        #expect(january.endBrokerTime == at("2024-01-31 23:59:59.999"))
        #expect(january.initialBalance == 10_000)
        #expect(january.tradeDayCount == 1)
        #expect(january.balanceAdjustment == 0)
        #expect(rolled.trackerEvents.isEmpty)

        // 11500.01 − 1000 adjustment = 10500.01 → profit 500.01 > 500; relative 0.050001.
        let fired = engine.apply(observation("2024-02-02 10:00:00.000", balance: 11_000, equity: "11500.01"))
        let event = try #require(fired.trackerEvents.first)
        #expect(event.exceededThresholdType == .profit)
        #expect(event.absoluteProfit == "500.01")
        #expect(event.relativeProfit == "0.050001")
        #expect(event.absoluteDrawdown == 0)

        _ = run(
            &engine,
            [
                balanceDeal("2024-02-03 10:00:00.000", amount: -2_000, ticket: 4),  // withdrawal
                balanceDeal("2024-02-03 11:00:00.000", amount: 300, ticket: 5, type: .credit),
                tradeDeal("2024-02-05 10:00:00.000", ticket: 6),
            ])
        let live = try #require(engine.currentPeriodStatistics(accountId: accountA, trackerId: "m"))
        #expect(live.startBrokerTime == at("2024-02-01 00:00:00.000"))
        #expect(live.endBrokerTime == at("2024-02-29 23:59:59.999"))
        #expect(live.initialBalance == 10_000)
        #expect(live.balanceAdjustment == -700)  // 1000 − 2000 + 300
        #expect(live.tradeDayCount == 2)  // Feb 1 and Feb 5
        #expect(live.maxAbsoluteProfit == "500.01")  // frozen at the event
        #expect(live.maxProfitTime == at("2024-02-02 10:00:00.000"))
    }

    /// A deposit that lands while equity is below the initial balance must not hide the drawdown:
    /// adjusted equity = equity − deposits.
    @Test func depositDoesNotMaskDrawdown() throws {
        var engine = try engine(
            TrackerDefinition(
                id: "d", accountId: accountA, name: "d", period: .date,
                absoluteDrawdownThreshold: 250))
        let outputs = run(
            &engine,
            [
                observation("2024-05-06 08:00:00.000", balance: 5_000, equity: 5_000),
                observation("2024-05-06 09:00:00.000", balance: 5_000, equity: 4_800),  // dd 200
                balanceDeal("2024-05-06 09:30:00.000", amount: 2_000),
                observation("2024-05-06 09:30:00.000", balance: 7_000, equity: 6_800),  // adjusted 4800: dd 200
                observation("2024-05-06 10:00:00.000", balance: 7_000, equity: 6_740),  // adjusted 4740: dd 260 > 250
            ])
        let event = try #require(outputs.trackerEvents.first)
        #expect(event.absoluteDrawdown == 260)
        #expect(event.relativeDrawdown == "0.052")  // 260 / 5000
        #expect(event.brokerTime == at("2024-05-06 10:00:00.000"))
    }

    /// Inputs before the start are ignored; the first period's initial balance is the last balance
    /// known before tracking began; past the end the period closes (lifetime ends at the tracker's
    /// end) and everything later is ignored.
    @Test func startAndEndBoundTheTracking() throws {
        var engine = try engine(
            TrackerDefinition(
                id: "w", accountId: accountA, name: "window", period: .lifetime,
                startBrokerTime: at("2024-01-01 10:00:00.000"),
                endBrokerTime: at("2024-01-01 12:00:00.000"),
                absoluteDrawdownThreshold: 50))
        let before = run(
            &engine,
            [
                observation("2024-01-01 09:00:00.000", balance: 10_000, equity: 9_000)  // before start: ignored
            ])
        #expect(before.isEmpty)
        #expect(engine.currentPeriodStatistics(accountId: accountA, trackerId: "w") == nil)
        _ = run(
            &engine,
            [
                observation("2024-01-01 10:00:00.000", balance: 10_000, equity: 10_000),
                observation("2024-01-01 11:00:00.000", balance: 10_000, equity: 9_960),  // dd 40
            ])
        let ended = engine.apply(observation("2024-01-01 12:00:00.001", balance: 10_000, equity: 5_000))
        #expect(ended.trackerEvents.isEmpty)  // after the end: ignored
        let closed = try #require(ended.closedStatistics.first)
        #expect(closed.startBrokerTime == at("2024-01-01 10:00:00.000"))
        #expect(closed.endBrokerTime == at("2024-01-01 12:00:00.000"))
        #expect(closed.maxAbsoluteDrawdown == 40)
        #expect(closed.maxRelativeDrawdown == "0.004")  // 40 / 10000
        #expect(!closed.thresholdExceeded)
        #expect(engine.isFinished(accountId: accountA, trackerId: "w"))
        #expect(run(&engine, [observation("2024-01-02 00:00:00.000", balance: 1, equity: 1)]).closedStatistics.isEmpty)
    }

    /// A heartbeat (`.time`) closes a period on a quiet market; a tracker declared without a start
    /// starts at its creation time, and the next period after a silent gap is the one containing
    /// the new input (empty periods in between produce no record).
    @Test func heartbeatClosesPeriodsAndGapsSkipEmptyPeriods() throws {
        var engine = try engine(
            TrackerDefinition(
                id: "r", accountId: accountA, name: "rolling", period: .day,
                absoluteDrawdownThreshold: 10_000,
                createdBrokerTime: at("2024-12-30 15:00:00.000")))
        _ = engine.apply(observation("2024-12-30 15:00:00.000", balance: 1_000, equity: 1_000))
        let quiet = engine.apply(.time(testAccount, at("2024-12-31 15:00:00.000")))
        #expect(quiet.closedStatistics.map(\.startBrokerTime) == [at("2024-12-30 15:00:00.000")])
        // Period 2024-12-31 15:00 … opened by the heartbeat; jump 3 days: it closes, and the period
        // containing 2025-01-03 16:00 is 2025-01-03 15:00 … 2025-01-04 14:59:59.999.
        let jump = engine.apply(observation("2025-01-03 16:00:00.000", balance: 1_000, equity: 990))
        #expect(jump.closedStatistics.map(\.startBrokerTime) == [at("2024-12-31 15:00:00.000")])
        let live = try #require(engine.currentPeriodStatistics(accountId: accountA, trackerId: "r"))
        #expect(live.startBrokerTime == at("2025-01-03 15:00:00.000"))
        #expect(live.endBrokerTime == at("2025-01-04 14:59:59.999"))
        #expect(live.maxAbsoluteDrawdown == 10)
    }

    /// One global, gap-free sequence over all trackers and accounts.
    @Test func sequenceNumbersAreGlobalAndGapFree() throws {
        var engine = try engine(
            TrackerDefinition(id: "a1", accountId: accountA, name: "x", period: .date, absoluteDrawdownThreshold: 1),
            TrackerDefinition(id: "a2", accountId: accountA, name: "y", period: .lifetime, absoluteProfitThreshold: 1),
            TrackerDefinition(id: "b1", accountId: accountB, name: "x", period: .date, absoluteDrawdownThreshold: 1))
        let outputs = run(
            &engine,
            [
                observation("2024-01-01 10:00:00.000", balance: 100, equity: 100, account: accountA),
                observation("2024-01-01 10:00:00.000", balance: 100, equity: 100, account: accountB),
                observation("2024-01-01 10:01:00.000", balance: 100, equity: 98, account: accountB),  // b1 fires: 1
                observation("2024-01-01 10:02:00.000", balance: 100, equity: 102, account: accountA),  // a2 fires: 2
                observation("2024-01-02 10:00:00.000", balance: 100, equity: 95, account: accountA),  // a1 fires: 3
            ])
        #expect(outputs.trackerEvents.map(\.sequenceNumber) == [1, 2, 3])
        #expect(outputs.trackerEvents.map(\.trackerId) == ["b1", "a2", "a1"])
        #expect(engine.nextSequenceNumber == 4)
    }

    /// A late input (time before the account's latest) counts at the account's latest time, in the
    /// open period — it must not reopen a closed one.
    @Test func lateInputsCountInTheOpenPeriod() throws {
        var engine = try engine(
            TrackerDefinition(
                id: "d", accountId: accountA, name: "d", period: .date,
                absoluteDrawdownThreshold: 50))
        _ = run(
            &engine,
            [
                observation("2024-05-06 23:00:00.000", balance: 1_000, equity: 1_000),
                observation("2024-05-07 00:10:00.000", balance: 1_000, equity: 1_000),  // closes May 6
            ])
        let late = engine.apply(observation("2024-05-06 23:30:00.000", balance: 1_000, equity: 940))
        // dd 60 > 50 in the open period (May 7), at the account's clock 00:10.
        let event = try #require(late.trackerEvents.first)
        #expect(event.startBrokerTime == at("2024-05-07 00:00:00.000"))
        #expect(event.brokerTime == at("2024-05-07 00:10:00.000"))
        #expect(late.closedStatistics.isEmpty)
    }

    /// A recording's `declare` line carries the declaration inline, times may be milliseconds.
    @Test func declareDirectiveDecodesInline() throws {
        let line =
            #"{"type":"declare","action":"createTracker","tracker":{"id":"x","accountId":"Demo-Server:1","name":"n","period":"quarter","startBrokerTime":1704067200000,"absoluteProfitThreshold":"250.5"}}"#
        let command = try JSONDecoder().decode(RiskCommand.self, from: Data(line.utf8))
        // 1704067200000 ms = 2024-01-01 00:00:00.000
        #expect(
            command
                == .createTracker(
                    TrackerDefinition(
                        id: "x", accountId: accountA, name: "n", period: .quarter,
                        startBrokerTime: at("2024-01-01 00:00:00.000"),
                        absoluteProfitThreshold: "250.5")))
    }

    @Test func declarationsAreValidated() throws {
        var engine = RiskEngine()
        let base = TrackerDefinition(
            id: "t", accountId: accountA, name: "n", period: .day, absoluteDrawdownThreshold: 5)
        try engine.apply(.createTracker(base))
        #expect(throws: RiskCoreError.duplicateTrackerID) { try engine.apply(.createTracker(base)) }
        var sameName = base
        sameName.id = "t2"
        #expect(throws: RiskCoreError.duplicateTrackerName) { try engine.apply(.createTracker(sameName)) }
        var noThreshold = sameName
        noThreshold.name = "other"
        noThreshold.absoluteDrawdownThreshold = nil
        #expect(throws: RiskCoreError.missingThreshold) { try engine.apply(.createTracker(noThreshold)) }
        var negative = noThreshold
        negative.relativeProfitThreshold = "-0.1"
        #expect(throws: RiskCoreError.invalidThreshold) { try engine.apply(.createTracker(negative)) }
        var backwards = sameName
        backwards.name = "backwards"
        backwards.startBrokerTime = at("2024-01-02")
        backwards.endBrokerTime = at("2024-01-01")
        #expect(throws: RiskCoreError.invalidTimeRange) { try engine.apply(.createTracker(backwards)) }
        // A same name on another account is fine; renames keep names unique per account.
        var otherAccount = sameName
        otherAccount.accountId = accountB
        otherAccount.id = "t3"
        try engine.apply(.createTracker(otherAccount))
        var second = sameName
        second.name = "second"
        try engine.apply(.createTracker(second))
        #expect(throws: RiskCoreError.duplicateTrackerName) {
            try engine.apply(.renameTracker(accountId: accountA, trackerId: "t2", name: "n"))
        }
        try engine.apply(.renameTracker(accountId: accountA, trackerId: "t2", name: "renamed"))
        #expect(engine.tracker(id: "t2")?.name == "renamed")
        #expect(throws: RiskCoreError.trackerNotFound) {
            try engine.apply(.deleteTracker(accountId: accountB, trackerId: "t"))
        }
        try engine.apply(.deleteTracker(accountId: accountA, trackerId: "t"))
        #expect(engine.trackers(accountId: accountA).map(\.id) == ["t2"])
    }

    /// MetaApi's JSON shapes: names and `YYYY-MM-DD HH:mm:ss.SSS` broker times.
    @Test func jsonShapesFollowMetaApi() throws {
        let event = TrackerEvent(
            sequenceNumber: 7, accountId: accountA, trackerId: "t", startBrokerTime: at("2024-03-01"),
            endBrokerTime: at("2024-03-01 23:59:59.999"), period: .day,
            brokerTime: at("2024-03-01 02:00:00.000"), absoluteDrawdown: "100.5",
            relativeDrawdown: "0.01005", absoluteProfit: 0, relativeProfit: 0,
            exceededThresholdType: .drawdown, absoluteDrawdownThreshold: 100)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(event), as: UTF8.self)
        #expect(
            text
                == #"{"absoluteDrawdown":100.5,"absoluteDrawdownThreshold":100,"absoluteProfit":0,"accountId":"Demo-Server:1","brokerTime":"2024-03-01 02:00:00.000","endBrokerTime":"2024-03-01 23:59:59.999","exceededThresholdType":"drawdown","period":"day","relativeDrawdown":0.01005,"relativeProfit":0,"sequenceNumber":7,"startBrokerTime":"2024-03-01 00:00:00.000","trackerId":"t"}"#
        )
        #expect(try JSONDecoder().decode(TrackerEvent.self, from: Data(text.utf8)) == event)

        let declaration =
            #"{"action":"createTracker","tracker":{"id":"t9","accountId":"Demo-Server:1","name":"n","period":"week-to-date","startBrokerTime":"2024-03-03 00:00:00.000","relativeDrawdownThreshold":0.05}}"#
        let command = try JSONDecoder().decode(RiskCommand.self, from: Data(declaration.utf8))
        #expect(
            command
                == .createTracker(
                    TrackerDefinition(
                        id: "t9", accountId: accountA, name: "n", period: .weekToDate,
                        startBrokerTime: at("2024-03-03"),
                        relativeDrawdownThreshold: "0.05")))
    }
}
