import EquityEngine
import RiskCore
import Testing
import TidemarkProtocol

/// The exactness rule (protocol/RULES.md, "Equity carries into a new period"): when a tracker
/// period, a challenge day or a chart hour begins, the account's current figures count as its
/// first observation at the first input inside it, even an input that brings no new equity.
@Suite struct CarriedEquityTests {
    /// A daily ("date") tracker, drawdown threshold 300, balance 10,000. Monday 23:00 equity falls
    /// to 9,600 (drawdown 400: Monday's event). The market is quiet over midnight; Tuesday's first
    /// input is a heartbeat at 00:00:05.
    ///
    /// Hand-worked: Tuesday's period starts with initial balance 10,000 and the carried equity
    /// 9,600, so at 00:00:05 drawdown = 10,000 − 9,600 = 400 > 300 → Tuesday's event, at the
    /// heartbeat, relative 400 ÷ 10,000 = 0.04. (Without the rule Tuesday saw nothing until the
    /// price moved, e.g. at 00:30 to 9,650: an event at 00:30 of 350 — late and too small.)
    @Test func aDrawdownHeldOverMidnightIsReportedAtTheFirstInputOfTheNewDay() throws {
        var engine = RiskEngine()
        try engine.apply(
            .createTracker(
                TrackerDefinition(
                    id: "daily", accountId: accountA, name: "daily", period: .date,
                    absoluteDrawdownThreshold: 300,
                    createdBrokerTime: at("2024-03-04 00:00"))))
        let monday = run(
            &engine,
            [
                flat("2024-03-04 09:00", 10_000),
                observation("2024-03-04 23:00", balance: 10_000, equity: 9_600),
            ])
        #expect(monday.trackerEvents.map(\.absoluteDrawdown) == [400])
        let tuesday = engine.apply(.time(accountA, at("2024-03-05 00:00:05")))
        #expect(tuesday.closedStatistics.map(\.startBrokerTime) == [at("2024-03-04 00:00")])
        let event = try #require(tuesday.trackerEvents.first)
        #expect(tuesday.trackerEvents.count == 1)
        #expect(event.startBrokerTime == at("2024-03-05 00:00"))
        #expect(event.brokerTime == at("2024-03-05 00:00:05"))
        #expect(event.absoluteDrawdown == 400)
        #expect(event.relativeDrawdown == "0.04")
        let live = try #require(engine.currentPeriodStatistics(accountId: accountA, trackerId: "daily"))
        #expect(live.initialBalance == 10_000)
        #expect(live.maxDrawdownTime == at("2024-03-05 00:00:05"))
        // The price then recovers a little: nothing new (one event per period, figures frozen).
        #expect(
            engine.apply(observation("2024-03-05 00:30", balance: 10_000, equity: 9_650, account: accountA))
                .trackerEvents.isEmpty)
    }

    /// Without a held drawdown the carried figures change nothing but where the period's figures
    /// start: equity = balance gives drawdown 0 and profit 0, no event.
    @Test func aFlatAccountCarriesNoDrawdown() throws {
        var engine = RiskEngine()
        try engine.apply(
            .createTracker(
                TrackerDefinition(
                    id: "daily", accountId: accountA, name: "daily", period: .date,
                    absoluteDrawdownThreshold: 300,
                    createdBrokerTime: at("2024-03-04 00:00"))))
        _ = run(&engine, [flat("2024-03-04 09:00", 10_000)])
        #expect(engine.apply(.time(accountA, at("2024-03-05 00:00:05"))).trackerEvents.isEmpty)
        let live = try #require(engine.currentPeriodStatistics(accountId: accountA, trackerId: "daily"))
        #expect(live.maxAbsoluteDrawdown == 0 && live.maxAbsoluteProfit == 0)
        #expect(live.maxDrawdownTime == nil)
    }

    /// A heartbeat at 13:20 opens the 13:00 chart hour with the carried figures (balance 1,000,
    /// equity 990); a tick at 13:50 moves equity to 1,010.
    ///
    /// Hand-worked: from 13:20 to 13:50 (1,800,000 ms) equity 990, from 13:50 to the hour's end
    /// (600,000 ms) 1,010: average (990 × 1,800,000 + 1,010 × 600,000) ÷ 2,400,000 = 995.
    @Test func aHeartbeatOpensTheChartHourWithTheCarriedFigures() throws {
        var engine = RiskEngine()
        _ = run(&engine, [observation("2024-03-01 12:10", balance: 1_000, equity: 990)])
        let opened = engine.apply(.time(accountA, at("2024-03-01 13:20")))
        #expect(opened.chartRecords.map(\.startBrokerTime) == [at("2024-03-01 12:00")])
        _ = engine.apply(observation("2024-03-01 13:50", balance: 1_000, equity: 1_010))
        let closed = engine.apply(.time(accountA, at("2024-03-01 14:00")))
        let record = try #require(closed.chartRecords.first)
        #expect(record.startBrokerTime == at("2024-03-01 13:00"))
        #expect(record.startEquity == 990)
        #expect(record.minEquity == 990 && record.maxEquity == 1_010)
        #expect(record.averageEquity == 995)
        #expect(record.averageBalance == 1_000)
    }

    /// Daily loss 5,000 from the day-start balance. Monday: balance 104,000 after a closed profit,
    /// and at 23:00 equity 98,000 (Monday's floor 100,000 − 5,000 = 95,000: safe). Tuesday's first
    /// input is a heartbeat at 00:00:05.
    ///
    /// Hand-worked: Tuesday's base is the balance 104,000, its floor 104,000 − 5,000 = 99,000; the
    /// carried equity 98,000 is below it → failed at 00:00:05, loss 104,000 − 98,000 = 6,000.
    @Test func aLossHeldOverTheDayBoundaryFailsTheChallengeAtTheFirstInputOfTheDay() throws {
        var subject = try challenge(RuleSet(dailyLoss: DailyLossRule(limit: .amount(5_000))))
        let monday = try run(
            &subject,
            [
                flat("2024-03-04 09:00", 100_000), flat("2024-03-04 12:00", 104_000),
                observation("2024-03-04 23:00", balance: 104_000, equity: 98_000),
            ])
        #expect(!monday.contains { $0.kind == .challengeFailed })
        let tuesday = try subject.apply(.time(testAccount, at("2024-03-05 00:00:05")))
        let failure = try #require(tuesday.first { $0.kind == .challengeFailed }?.breach)
        #expect(failure.rule == .dailyLoss)
        #expect(failure.brokerTime == at("2024-03-05 00:00:05"))
        #expect(failure.value == 6_000)
        #expect(failure.limit == 5_000)
        #expect(failure.floor == 99_000)
    }

    /// Another account's time input moves nothing of this account: no period closes, no chart hour.
    @Test func anotherAccountsTimeMovesNothingHere() throws {
        var engine = RiskEngine()
        try engine.apply(
            .createTracker(
                TrackerDefinition(
                    id: "daily", accountId: accountA, name: "daily", period: .date,
                    absoluteDrawdownThreshold: 300,
                    createdBrokerTime: at("2024-03-04 00:00"))))
        _ = run(&engine, [observation("2024-03-04 23:00", balance: 10_000, equity: 9_800)])
        let before = engine
        let outputs = engine.apply(.time(accountB, at("2030-01-01 00:00")))
        #expect(outputs.isEmpty)
        #expect(engine.clock(accountId: accountA) == at("2024-03-04 23:00"))
        #expect(
            engine.currentPeriodStatistics(accountId: accountA, trackerId: "daily")
                == before.currentPeriodStatistics(accountId: accountA, trackerId: "daily"))
        #expect(
            engine.currentEquityChartRecord(accountId: accountA) == before.currentEquityChartRecord(accountId: accountA)
        )
        #expect(engine.clock(accountId: accountB) == at("2030-01-01 00:00"))
    }
}
