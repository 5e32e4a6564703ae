import EquityEngine
import RiskCore
import Testing
import TidemarkProtocol

/// Inputs whose time leaves the calendar or whose figures leave the decimal range are refused as
/// values (``RiskOutput/inputRefused(_:)``), component by component; nothing traps.
@Suite struct OutOfRangeInputTests {
    static let account = AccountID(server: "Demo", login: 1)
    static let max = FixedDecimal.greatestFiniteMagnitude

    static func observation(_ milliseconds: Int64, balance: FixedDecimal, equity: FixedDecimal) -> RiskInput {
        .observation(
            EquityObservation(
                account: account, time: BrokerTime(milliseconds: milliseconds), balance: balance,
                credit: .zero, equity: equity, floating: .zero))
    }

    static func deposit(_ milliseconds: Int64, _ amount: FixedDecimal, ticket: Int64) -> RiskInput {
        .deal(
            account,
            Deal(
                ticket: ticket, time: BrokerTime(milliseconds: milliseconds), type: .balance, entry: .in, symbol: "",
                volume: .zero, price: .zero, profit: amount, commission: .zero, swap: .zero, fee: .zero,
                positionID: 0, comment: ""))
    }

    static func refusals(_ outputs: [RiskOutput]) -> [RiskInputRefusal] {
        outputs.compactMap { if case .inputRefused(let refusal) = $0 { refusal } else { nil } }
    }

    /// Every period kind, a day-reset challenge and a competition on one account.
    static func engine() throws -> RiskEngine {
        var engine = RiskEngine()
        for (index, period) in TrackerPeriod.allCases.enumerated() {
            try engine.apply(
                .createTracker(
                    TrackerDefinition(
                        id: "t\(index)", accountId: account, name: period.rawValue,
                        period: period, absoluteDrawdownThreshold: 50,
                        createdBrokerTime: BrokerTime(milliseconds: 0))))
        }
        try engine.apply(
            .createChallenge(
                ChallengeDefinition(
                    id: "c1", account: account, initialCapital: 10_000, startTime: BrokerTime(milliseconds: 0),
                    phases: [
                        ChallengePhase(
                            name: "one",
                            rules: RuleSet(
                                dailyLoss: DailyLossRule(limit: .percent(5)),
                                maxLoss: MaxLossRule(limit: .percent(10))))
                    ])))
        try engine.apply(
            .createCompetition(
                CompetitionDefinition(
                    id: "k1", accounts: [account], startTime: BrokerTime(milliseconds: 0),
                    endTime: BrokerTime(milliseconds: 86_400_000 * 400), metric: .gainPercent)))
        _ = engine.apply(observation(1_000, balance: 10_000, equity: 10_000))
        return engine
    }

    @Test func aHeartbeatAtTheLastMillisecondIsRefusedAndChangesNothing() throws {
        var engine = try Self.engine()
        let before = engine
        let outputs = engine.apply(.time(Self.account, BrokerTime(milliseconds: .max)))
        #expect(
            outputs == [
                .inputRefused(
                    RiskInputRefusal(
                        accountId: Self.account, brokerTime: BrokerTime(milliseconds: .max),
                        reason: .timeOutOfRange, component: "input"))
            ])
        #expect(engine == before)
        // The same for an observation, a deal and negative extremes.
        #expect(
            Self.refusals(engine.apply(Self.observation(.max, balance: 1, equity: 1))).map(\.reason) == [
                .timeOutOfRange
            ])
        #expect(Self.refusals(engine.apply(Self.deposit(.min, 1, ticket: 9))).map(\.reason) == [.timeOutOfRange])
        #expect(engine == before)
        // The last millisecond of year 9999 is a time like any other.
        #expect(Self.refusals(engine.apply(.time(Self.account, BrokerTime.calendarRange.upperBound))).isEmpty)
    }

    @Test func depositsBeyondTheRangeAreRefusedByEachComponent() throws {
        var engine = try Self.engine()
        // One deposit of max: every tracker's adjustment takes it; the challenge's too.
        #expect(Self.refusals(engine.apply(Self.deposit(2_000, Self.max, ticket: 1))).isEmpty)
        let before = engine.currentPeriodStatistics(accountId: Self.account, trackerId: "t0")
        // A second: every tracker, the challenge and the competition refuse it (adjustment
        // max + max), one by one.
        let refused = Self.refusals(engine.apply(Self.deposit(3_000, Self.max, ticket: 2)))
        #expect(refused.count == TrackerPeriod.allCases.count + 2)
        #expect(Set(refused.map(\.reason)) == [.sumOutOfRange])
        #expect(refused.suffix(2).map(\.component) == ["challenge c1", "competition k1"])
        #expect(engine.currentPeriodStatistics(accountId: Self.account, trackerId: "t0") == before)
    }

    @Test func anObservationAtTheOtherEndIsRefusedWhereItsDrawdownLeavesTheRange() throws {
        var engine = RiskEngine()
        try engine.apply(
            .createTracker(
                TrackerDefinition(
                    id: "t", accountId: Self.account, name: "life", period: .lifetime,
                    relativeDrawdownThreshold: "0.1",
                    createdBrokerTime: BrokerTime(milliseconds: 0))))
        // Start balance +max; equity −max: drawdown 2 × max.
        #expect(Self.refusals(engine.apply(Self.observation(1_000, balance: Self.max, equity: Self.max))).isEmpty)
        let refused = Self.refusals(engine.apply(Self.observation(2_000, balance: Self.max, equity: -Self.max)))
        #expect(
            refused == [
                RiskInputRefusal(
                    accountId: Self.account, brokerTime: BrokerTime(milliseconds: 2_000),
                    reason: .differenceOutOfRange, component: "tracker t")
            ])
        // Equity 0 fits: drawdown max, relative 1 → the event fires.
        let fired = engine.apply(Self.observation(3_000, balance: Self.max, equity: 0))
        guard case .trackerEvent(let event)? = fired.first else {
            Issue.record("no event: \(fired)")
            return
        }
        #expect(event.absoluteDrawdown == Self.max)
        #expect(event.relativeDrawdown == 1)
    }

    @Test func aRatioBeyondTheRangeReadsAsItsEnd() throws {
        var engine = RiskEngine()
        try engine.apply(
            .createTracker(
                TrackerDefinition(
                    id: "t", accountId: Self.account, name: "life", period: .lifetime,
                    absoluteProfitThreshold: 1_000_000,
                    createdBrokerTime: BrokerTime(milliseconds: 0))))
        // Start balance 0.00000001, profit 1,000: the ratio 10¹¹ is beyond the range.
        _ = engine.apply(Self.observation(1_000, balance: FixedDecimal(units: 1), equity: FixedDecimal(units: 1)))
        #expect(
            Self.refusals(engine.apply(Self.observation(2_000, balance: FixedDecimal(units: 1), equity: 1_000))).isEmpty
        )
        let statistics = try #require(engine.currentPeriodStatistics(accountId: Self.account, trackerId: "t"))
        #expect(statistics.maxRelativeProfit == Self.max)
        #expect(statistics.maxAbsoluteProfit == "999.99999999")
    }

    @Test func aCompetitionEntrantBeyondTheRangeSkipsTheInputAndTheOthersGoOn() throws {
        let other = AccountID(server: "Demo", login: 2)
        var engine = RiskEngine()
        try engine.apply(
            .createCompetition(
                CompetitionDefinition(
                    id: "k1", accounts: [Self.account, other], startTime: BrokerTime(milliseconds: 0),
                    endTime: BrokerTime(milliseconds: 86_400_000), metric: .absoluteProfit)))
        _ = engine.apply(Self.observation(1_000, balance: Self.max, equity: Self.max))
        _ = engine.apply(
            .observation(
                EquityObservation(
                    account: other, time: BrokerTime(milliseconds: 1_000), balance: 1_000,
                    credit: .zero, equity: 1_000, floating: .zero)))
        // Gain −max − max: refused for this entrant only.
        let refused = Self.refusals(engine.apply(Self.observation(2_000, balance: Self.max, equity: -Self.max)))
        #expect(refused.map(\.component) == ["competition k1"])
        _ = engine.apply(
            .observation(
                EquityObservation(
                    account: other, time: BrokerTime(milliseconds: 3_000), balance: 1_000,
                    credit: .zero, equity: 1_500, floating: .zero)))
        let board = try #require(engine.competition(id: "k1")?.leaderboard)
        #expect(board.first { $0.account == other }?.profit == 500)
    }
}

@Suite("Declarations with times outside the calendar")
struct OutOfCalendarDeclarationTests {
    static let account = AccountID(server: "Demo", login: 1)

    @Test func competitionsChallengesAndTrackersOutsideTheCalendarAreRefused() throws {
        let competition = CompetitionDefinition(
            id: "k", accounts: [Self.account], startTime: BrokerTime(milliseconds: .min),
            endTime: BrokerTime(milliseconds: 0), metric: .gainPercent)
        #expect(throws: RuleDefinitionError.self) { try competition.validate() }
        let challenge = ChallengeDefinition(
            id: "c", account: Self.account, initialCapital: 10_000,
            startTime: BrokerTime(milliseconds: .max),
            phases: [ChallengePhase(name: "one", rules: RuleSet())])
        #expect(throws: RuleDefinitionError.self) { try challenge.validate() }
        let tracker = TrackerDefinition(
            id: "t", accountId: Self.account, name: "t", period: .day,
            endBrokerTime: BrokerTime(milliseconds: .max), absoluteDrawdownThreshold: 100)
        #expect(throws: RiskCoreError.self) { try tracker.validate() }
        // Within the calendar the same definitions pass.
        var inRange = tracker
        inRange.endBrokerTime = BrokerTime.calendarRange.upperBound
        try inRange.validate()
    }
}
