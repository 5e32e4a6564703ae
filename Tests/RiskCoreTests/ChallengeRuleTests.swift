import RiskCore
import Testing
import TidemarkProtocol

/// One row per behaviour of every rule kind. Capital 100,000 from Monday 2024-03-04 00:00, days end
/// at broker midnight. Each row's numbers are worked by hand in its comment.
struct RuleCase: Sendable, CustomStringConvertible {
    struct Failure: Sendable {
        var rule: RuleKind
        var time: String
        var value: FixedDecimal
        var limit: FixedDecimal
    }
    var name: String
    var rules: RuleSet
    var inputs: [RiskInput]
    var failure: Failure? = nil
    var passedAt: String? = nil
    /// (rule, expected progress value) read at the end.
    var progress: [(RuleKind, FixedDecimal)] = []
    var description: String { name }
}

private let start = flat("2024-03-04 00:00", 100_000)
private let fivePercentDaily = DailyLossRule(limit: .percent(5))
private let tenPercentTarget = ProfitTargetRule(target: .percent(10))

private func fails(_ rule: RuleKind, _ time: String, value: FixedDecimal, limit: FixedDecimal) -> RuleCase.Failure {
    RuleCase.Failure(rule: rule, time: time, value: value, limit: limit)
}

@Suite struct ChallengeRuleTests {
    func check(_ row: RuleCase) throws {
        var subject = try challenge(row.rules)
        let events = try run(&subject, row.inputs)
        let failed = events.first { $0.kind == .challengeFailed }
        if let expected = row.failure {
            #expect(subject.status == .failed)
            #expect(failed?.breach?.rule == expected.rule)
            #expect(failed?.brokerTime == at(expected.time))
            #expect(failed?.breach?.value == expected.value)
            #expect(failed?.breach?.limit == expected.limit)
        } else {
            #expect(failed == nil, "unexpected failure \(String(describing: failed?.breach))")
        }
        let passed = events.first { $0.kind == .challengePassed }
        #expect(passed?.brokerTime == row.passedAt.map(at))
        for (kind, value) in row.progress {
            #expect(rule(kind, in: subject)?.value == value, "progress of \(kind)")
        }
    }

    static let dailyLossCases: [RuleCase] = [
        // Floor = 100,000 − 5 % × 100,000 = 95,000. Equity 95,000 is on the floor, not below: allowed.
        RuleCase(
            name: "touching the floor is allowed", rules: RuleSet(dailyLoss: fivePercentDaily),
            inputs: [start, observation("2024-03-04 12:00", balance: 100_000, equity: 95_000)],
            progress: [(.dailyLoss, 5_000)]),
        // 94,999.99 < 95,000 → breach; loss 100,000 − 94,999.99 = 5,000.01.
        RuleCase(
            name: "a cent below the floor fails", rules: RuleSet(dailyLoss: fivePercentDaily),
            inputs: [start, observation("2024-03-04 12:00", balance: 100_000, equity: "94999.99")],
            failure: fails(.dailyLoss, "2024-03-04 12:00", value: "5000.01", limit: 5_000)),
        // Day 2 base = max(balance 100,000, equity 102,000 at the reset) = 102,000; floor 97,000;
        // 96,999 < 97,000 → breach, loss 102,000 − 96,999 = 5,001.
        RuleCase(
            name: "base max(balance, equity) carries floating profit",
            rules: RuleSet(dailyLoss: DailyLossRule(limit: .percent(5), base: .balanceOrEquity)),
            inputs: [
                start, observation("2024-03-04 20:00", balance: 100_000, equity: 102_000),
                observation("2024-03-05 10:00", balance: 100_000, equity: 96_999),
            ],
            failure: fails(.dailyLoss, "2024-03-05 10:00", value: 5_001, limit: 5_000)),
        // Same inputs, base = balance 100,000: floor 95,000, 96,999 holds; loss 100,000 − 96,999 = 3,001.
        RuleCase(
            name: "balance base ignores floating profit", rules: RuleSet(dailyLoss: fivePercentDaily),
            inputs: [
                start, observation("2024-03-04 20:00", balance: 100_000, equity: 102_000),
                observation("2024-03-05 10:00", balance: 100_000, equity: 96_999),
            ],
            progress: [(.dailyLoss, 3_001)]),
        // Day 2 base 110,000; limit 5 % of it = 5,500; floor 104,500; 104,499 → loss 5,501.
        RuleCase(
            name: "percent of the day's base",
            rules: RuleSet(dailyLoss: DailyLossRule(limit: .percent(5), percentOf: .dayBase)),
            inputs: [
                start, flat("2024-03-04 15:00", 110_000),
                observation("2024-03-05 10:00", balance: 110_000, equity: 104_499),
            ],
            failure: fails(.dailyLoss, "2024-03-05 10:00", value: 5_501, limit: 5_500)),
        // Withdrawal of 3,000: adjusted = raw + 3,000. Raw 92,000 → 95,000 (on the floor, allowed);
        // raw 91,999.99 → 94,999.99 → loss 5,000.01.
        RuleCase(
            name: "a withdrawal is not a loss", rules: RuleSet(dailyLoss: fivePercentDaily),
            inputs: [
                start, deposit("2024-03-04 11:00", -3_000), flat("2024-03-04 11:00", 97_000),
                observation("2024-03-04 12:00", balance: 97_000, equity: 92_000),
                observation("2024-03-04 12:30", balance: 97_000, equity: "91999.99"),
            ],
            failure: fails(.dailyLoss, "2024-03-04 12:30", value: "5000.01", limit: 5_000)),
        // Day 1 closes at 96,000 (−4,000). Day 2 base 96,000, floor 91,000; equity 92,000 → loss 4,000.
        RuleCase(
            name: "a new day resets the base", rules: RuleSet(dailyLoss: fivePercentDaily),
            inputs: [
                start, flat("2024-03-04 15:00", 96_000),
                observation("2024-03-05 10:00", balance: 96_000, equity: 92_000),
            ],
            progress: [(.dailyLoss, 4_000)]),
        // An amount limit: 1,500; 98,499 is 1,501 below 100,000.
        RuleCase(
            name: "amount limit", rules: RuleSet(dailyLoss: DailyLossRule(limit: .amount(1_500))),
            inputs: [start, observation("2024-03-04 12:00", balance: 100_000, equity: 98_499)],
            failure: fails(.dailyLoss, "2024-03-04 12:00", value: 1_501, limit: 1_500)),
    ]

    @Test(arguments: dailyLossCases) func dailyLoss(_ row: RuleCase) throws { try check(row) }

    static let maxLossCases: [RuleCase] = [
        // Static floor 100,000 − 10,000 = 90,000; 90,000 holds, 89,999.99 → loss 10,000.01.
        RuleCase(
            name: "static", rules: RuleSet(maxLoss: MaxLossRule(limit: .percent(10))),
            inputs: [
                start, observation("2024-03-04 12:00", balance: 100_000, equity: 90_000),
                observation("2024-03-05 12:00", balance: 100_000, equity: "89999.99"),
            ],
            failure: fails(.maxLoss, "2024-03-05 12:00", value: "10000.01", limit: 10_000)),
        // High-water mark 104,000 → floor 99,000; 99,000 holds; 98,999 → 104,000 − 98,999 = 5,001.
        RuleCase(
            name: "trailing equity intraday",
            rules: RuleSet(
                maxLoss: MaxLossRule(limit: .percent(5), trailing: .init(source: .equity, update: .intraday))),
            inputs: [
                start, observation("2024-03-04 12:00", balance: 100_000, equity: 104_000),
                observation("2024-03-04 13:00", balance: 100_000, equity: 99_000),
                observation("2024-03-04 14:00", balance: 100_000, equity: 98_999),
            ],
            failure: fails(.maxLoss, "2024-03-04 14:00", value: 5_001, limit: 5_000)),
        // End of day: the 104,000 peak is ignored (day 1 floor 95,000, so 98,000 holds); at the reset
        // equity is 102,000 → mark 102,000, floor 97,000; 96,999 → 102,000 − 96,999 = 5,001.
        RuleCase(
            name: "trailing equity end of day",
            rules: RuleSet(
                maxLoss: MaxLossRule(limit: .percent(5), trailing: .init(source: .equity, update: .endOfDay))),
            inputs: [
                start, observation("2024-03-04 12:00", balance: 100_000, equity: 104_000),
                observation("2024-03-04 13:00", balance: 100_000, equity: 98_000),
                observation("2024-03-04 23:00", balance: 100_000, equity: 102_000),
                observation("2024-03-05 10:00", balance: 100_000, equity: 96_999),
            ],
            failure: fails(.maxLoss, "2024-03-05 10:00", value: 5_001, limit: 5_000)),
        // Balance mark: floating 104,000 does not move it (floor 95,000, so 95,500 holds); closing at
        // 103,000 does → floor 98,000; 97,999 → 103,000 − 97,999 = 5,001.
        RuleCase(
            name: "trailing balance intraday",
            rules: RuleSet(
                maxLoss: MaxLossRule(limit: .percent(5), trailing: .init(source: .balance, update: .intraday))),
            inputs: [
                start, observation("2024-03-04 12:00", balance: 100_000, equity: 104_000),
                observation("2024-03-04 12:30", balance: 100_000, equity: 95_500),
                flat("2024-03-04 15:00", 103_000),
                observation("2024-03-04 16:00", balance: 103_000, equity: 97_999),
            ],
            failure: fails(.maxLoss, "2024-03-04 16:00", value: 5_001, limit: 5_000)),
        // Mark 106,000 → floor min(101,000, 100,000) = 100,000 (locked); 100,000.5 holds; 99,999 →
        // loss from the mark 106,000 − 99,999 = 6,001, effective limit 106,000 − 100,000 = 6,000.
        RuleCase(
            name: "trailing locks at the initial capital",
            rules: RuleSet(maxLoss: MaxLossRule(limit: .percent(5), trailing: .init(lockAtInitialCapital: true))),
            inputs: [
                start, observation("2024-03-04 12:00", balance: 100_000, equity: 106_000),
                observation("2024-03-04 13:00", balance: 100_000, equity: "100000.5"),
                observation("2024-03-04 14:00", balance: 100_000, equity: 99_999),
            ],
            failure: fails(.maxLoss, "2024-03-04 14:00", value: 6_001, limit: 6_000)),
        // Without the lock the floor is 101,000: 100,000.5 already fails, 106,000 − 100,000.5 = 5,999.5.
        RuleCase(
            name: "trailing without lock keeps trailing",
            rules: RuleSet(maxLoss: MaxLossRule(limit: .percent(5), trailing: .init())),
            inputs: [
                start, observation("2024-03-04 12:00", balance: 100_000, equity: 106_000),
                observation("2024-03-04 13:00", balance: 100_000, equity: "100000.5"),
            ],
            failure: fails(.maxLoss, "2024-03-04 13:00", value: "5999.5", limit: 5_000)),
    ]

    @Test(arguments: maxLossCases) func maxLoss(_ row: RuleCase) throws { try check(row) }

    static let profitTargetCases: [RuleCase] = [
        // Target 10,000. Equity 111,000 with the position open is not closed profit; closing with
        // +10,000 gives balance 110,000, flat → passes at 15:00.
        RuleCase(
            name: "closed basis waits for flat", rules: RuleSet(profitTarget: tenPercentTarget),
            inputs: [start] + open("2024-03-04 10:00", ticket: 1)
                + [observation("2024-03-04 12:00", balance: 100_000, equity: 111_000)]
                + close("2024-03-04 15:00", ticket: 1, profit: 10_000, newBalance: 110_000),
            passedAt: "2024-03-04 15:00"),
        // Equity basis: equity 110,000 − 100,000 = 10,000 ≥ target with the position still open.
        RuleCase(
            name: "equity basis counts floating",
            rules: RuleSet(profitTarget: ProfitTargetRule(target: .percent(10), basis: .equity)),
            inputs: [start] + open("2024-03-04 10:00", ticket: 1)
                + [observation("2024-03-04 12:00", balance: 100_000, equity: 110_000)],
            passedAt: "2024-03-04 12:00"),
        // 109,999.99 − 100,000 = 9,999.99 < 10,000.
        RuleCase(
            name: "a cent short", rules: RuleSet(profitTarget: tenPercentTarget),
            inputs: [start] + open("2024-03-04 10:00", ticket: 1)
                + close("2024-03-04 15:00", ticket: 1, profit: "9999.99", newBalance: "109999.99"),
            progress: [(.profitTarget, "9999.99")]),
        // A 10,000 deposit raises the raw balance to 110,000; adjusted it stays 100,000: profit 0.
        RuleCase(
            name: "a deposit is not profit", rules: RuleSet(profitTarget: tenPercentTarget),
            inputs: [start, deposit("2024-03-04 11:00", 10_000), flat("2024-03-04 11:00", 110_000)],
            progress: [(.profitTarget, 0)]),
        // 10,000 of credit: equity 110,000 includes it; equity − credit = 100,000: profit 0.
        RuleCase(
            name: "credit is not equity",
            rules: RuleSet(profitTarget: ProfitTargetRule(target: .percent(10), basis: .equity)),
            inputs: [
                start, creditDeal("2024-03-04 11:00", 10_000),
                observation("2024-03-04 11:00", balance: 100_000, equity: 110_000, credit: 10_000),
            ],
            progress: [(.profitTarget, 0)]),
    ]

    @Test(arguments: profitTargetCases) func profitTarget(_ row: RuleCase) throws { try check(row) }

    // Positions: #1 opened Mon 10:00, closed Tue 10:00; #2 opened Tue 11:00, closed Wed 10:00.
    static let twoPositionsOverThreeDays: [RiskInput] =
        [start] + open("2024-03-04 10:00", ticket: 1)
        + close("2024-03-05 10:00", ticket: 1, profit: 0, newBalance: 100_000) + open("2024-03-05 11:00", ticket: 2)
        + close("2024-03-06 10:00", ticket: 2, profit: 0, newBalance: 100_000)

    static let tradingDaysCases: [RuleCase] = [
        // Days with a position opened: Mon, Tue → 2.
        RuleCase(
            name: "days with a position opened", rules: RuleSet(minTradingDays: MinTradingDaysRule(days: 3)),
            inputs: twoPositionsOverThreeDays, progress: [(.minTradingDays, 2)]),
        // Days with any trade deal: Mon (in), Tue (out, in), Wed (out) → 3.
        RuleCase(
            name: "days with any trade deal",
            rules: RuleSet(minTradingDays: MinTradingDaysRule(days: 3, counting: .anyTradeDeal)),
            inputs: twoPositionsOverThreeDays, progress: [(.minTradingDays, 3)]),
        // +6,000 Mon, +4,000 Tue: target 10,000 met on Tuesday with 2 of 3 days; Wednesday's trade
        // (result 0) makes the third day → passes at Wed 15:00.
        RuleCase(
            name: "the target waits for the days",
            rules: RuleSet(profitTarget: tenPercentTarget, minTradingDays: MinTradingDaysRule(days: 3)),
            inputs: [start] + roundTrip("2024-03-04", ticket: 1, from: 100_000, profit: 6_000)
                + roundTrip("2024-03-05", ticket: 2, from: 106_000, profit: 4_000)
                + roundTrip("2024-03-06", ticket: 3, from: 110_000, profit: 0),
            passedAt: "2024-03-06 15:00"),
    ]

    @Test(arguments: tradingDaysCases) func tradingDays(_ row: RuleCase) throws { try check(row) }

    static let profitableDaysCases: [RuleCase] = [
        // Threshold 0.5 % × 100,000 = 500. Days: Mon +600 ✓, Tue +400 ✗, Wed +500 ✓ (equal counts),
        // Thu −100 ✗, Fri +700 so far ✓ (the current day counts live) → 3.
        RuleCase(
            name: "profitable days with a threshold",
            rules: RuleSet(minProfitableDays: MinProfitableDaysRule(days: 4, threshold: .percent("0.5"))),
            inputs: [
                start, flat("2024-03-04 15:00", 100_600), flat("2024-03-05 15:00", 101_000),
                flat("2024-03-06 15:00", 101_500), flat("2024-03-07 15:00", 101_400),
                flat("2024-03-08 15:00", 102_100),
            ],
            progress: [(.minProfitableDays, 3)])
    ]

    @Test(arguments: profitableDaysCases) func profitableDays(_ row: RuleCase) throws { try check(row) }

    static let timeLimitsCases: [RuleCase] = [
        // 5 days from Mon 4 Mar (day 1) → Mon–Fri; it expires at the start of Sat 9 Mar.
        RuleCase(
            name: "expires at the start of day six", rules: RuleSet(timeLimit: DayCountRule(days: 5)),
            inputs: [start, .time(testAccount, at("2024-03-08 23:59")), .time(testAccount, at("2024-03-09 00:00"))],
            failure: fails(.timeLimit, "2024-03-09 00:00", value: 5, limit: 5)),
        // A late heartbeat reports the boundary, not its own time.
        RuleCase(
            name: "a late input reports the boundary", rules: RuleSet(timeLimit: DayCountRule(days: 5)),
            inputs: [start, .time(testAccount, at("2024-03-12 08:00"))],
            failure: fails(.timeLimit, "2024-03-09 00:00", value: 5, limit: 5)),
        // On Wed 6 Mar, days used: Mon, Tue, Wed = 3.
        RuleCase(
            name: "progress counts days used", rules: RuleSet(timeLimit: DayCountRule(days: 5)),
            inputs: [start, .time(testAccount, at("2024-03-06 12:00"))], progress: [(.timeLimit, 3)]),
        // Inactivity 3: last position Mon 4 Mar; Tue, Wed, Thu idle = 3 (allowed) on Fri; the 4th
        // idle day (Fri) ends at Sat 9 Mar 00:00 (= 4 + 3 + 2).
        RuleCase(
            name: "inactivity after the last position", rules: RuleSet(inactivity: DayCountRule(days: 3)),
            inputs: [start] + open("2024-03-04 10:00", ticket: 1)
                + [.time(testAccount, at("2024-03-08 12:00")), .time(testAccount, at("2024-03-09 00:00"))],
            failure: fails(.inactivity, "2024-03-09 00:00", value: 4, limit: 3)),
        // Never trading: the start day counts as the last activity → same boundary.
        RuleCase(
            name: "inactivity from the start", rules: RuleSet(inactivity: DayCountRule(days: 3)),
            inputs: [start, .time(testAccount, at("2024-03-10 12:00"))],
            failure: fails(.inactivity, "2024-03-09 00:00", value: 4, limit: 3)),
        // Last position Wed 6 Mar; on Sat 9 Mar idle days are Thu and Fri = 2.
        RuleCase(
            name: "inactivity progress", rules: RuleSet(inactivity: DayCountRule(days: 3)),
            inputs: [start] + open("2024-03-06 10:00", ticket: 1) + [.time(testAccount, at("2024-03-09 12:00"))],
            progress: [(.inactivity, 2)]),
    ]

    @Test(arguments: timeLimitsCases) func timeAndInactivity(_ row: RuleCase) throws { try check(row) }

    static let consistencyCases: [RuleCase] = [
        // +6,000 Mon, +4,000 Tue: total 10,000 meets the target but best day 6,000 > 40 % × 10,000 = 4,000.
        RuleCase(
            name: "best day blocks passing",
            rules: RuleSet(profitTarget: tenPercentTarget, consistency: ConsistencyRule(maxBestDayPercent: 40)),
            inputs: [start] + roundTrip("2024-03-04", ticket: 1, from: 100_000, profit: 6_000)
                + roundTrip("2024-03-05", ticket: 2, from: 106_000, profit: 4_000),
            progress: [(.consistency, 6_000)]),
        // Wed +5,000: total 15,000, allowed 40 % = 6,000, best 6,000 ≤ 6,000 → passes Wed 15:00.
        RuleCase(
            name: "more profit on other days unblocks",
            rules: RuleSet(profitTarget: tenPercentTarget, consistency: ConsistencyRule(maxBestDayPercent: 40)),
            inputs: [start] + roundTrip("2024-03-04", ticket: 1, from: 100_000, profit: 6_000)
                + roundTrip("2024-03-05", ticket: 2, from: 106_000, profit: 4_000)
                + roundTrip("2024-03-06", ticket: 3, from: 110_000, profit: 5_000),
            passedAt: "2024-03-06 15:00"),
    ]

    @Test(arguments: consistencyCases) func consistency(_ row: RuleCase) throws { try check(row) }

    static let capsCases: [RuleCase] = [
        // 2.00 lots is at the cap; 2.01 > 2.
        RuleCase(
            name: "lots per position", rules: RuleSet(maxLotsPerPosition: CapRule(limit: 2)),
            inputs: [start] + open("2024-03-04 10:00", ticket: 1, lots: 2)
                + open("2024-03-04 10:05", ticket: 2, lots: "2.01"),
            failure: fails(.maxLotsPerPosition, "2024-03-04 10:05", value: "2.01", limit: 2)),
        // Third position: 3 > 2.
        RuleCase(
            name: "open positions", rules: RuleSet(maxOpenPositions: CapRule(limit: 2)),
            inputs: [start] + open("2024-03-04 10:00", ticket: 1) + open("2024-03-04 10:01", ticket: 2)
                + open("2024-03-04 10:02", ticket: 3),
            failure: fails(.maxOpenPositions, "2024-03-04 10:02", value: 3, limit: 2)),
        // 1.5 + 1.5 = 3 (at the cap); #2 changed to 1.6 → 3.1 > 3.
        RuleCase(
            name: "total lots", rules: RuleSet(maxTotalLots: CapRule(limit: 3)),
            inputs: [start] + open("2024-03-04 10:00", ticket: 1, lots: "1.5")
                + open("2024-03-04 10:01", ticket: 2, lots: "1.5")
                + [position(.changed, "2024-03-04 11:00", ticket: 2, lots: "1.6")],
            failure: fails(.maxTotalLots, "2024-03-04 11:00", value: "3.1", limit: 3)),
        // A snapshot of three open positions replaces what was known: 3 > 2.
        RuleCase(
            name: "a snapshot counts", rules: RuleSet(maxOpenPositions: CapRule(limit: 2)),
            inputs: [
                start,
                .openPositions(
                    testAccount,
                    (1...3).map {
                        Position(
                            ticket: $0, symbol: "EURUSD", side: .sell, volume: 1, openPrice: "1.08",
                            openTime: at("2024-03-04 08:00"))
                    }, at: at("2024-03-04 09:00")),
            ],
            failure: fails(.maxOpenPositions, "2024-03-04 09:00", value: 3, limit: 2)),
        // Floor 95,000: on it holds, 94,999.99 fails; the value reported is the equity.
        RuleCase(
            name: "minimum equity", rules: RuleSet(minEquity: .amount(95_000)),
            inputs: [
                start, observation("2024-03-04 12:00", balance: 100_000, equity: 95_000),
                observation("2024-03-04 13:00", balance: 100_000, equity: "94999.99"),
            ],
            failure: fails(.minEquity, "2024-03-04 13:00", value: "94999.99", limit: 95_000)),
        // Equity target met at 11:00 with 2 trades of 3; the third opening deal at 11:30 passes.
        RuleCase(
            name: "minimum trades",
            rules: RuleSet(
                profitTarget: ProfitTargetRule(target: .percent(10), basis: .equity),
                minTrades: MinTradesRule(trades: 3)),
            inputs: [start] + open("2024-03-04 10:00", ticket: 1) + open("2024-03-04 10:05", ticket: 2)
                + [observation("2024-03-04 11:00", balance: 100_000, equity: 110_000)]
                + open("2024-03-04 11:30", ticket: 3),
            passedAt: "2024-03-04 11:30"),
    ]

    @Test(arguments: capsCases) func capsAndFloors(_ row: RuleCase) throws { try check(row) }

    /// A warn-only cap warns once per excursion above the limit and never fails.
    @Test func warnOnlyCapWarnsOncePerExcursion() throws {
        var subject = try challenge(
            RuleSet(maxTotalLots: CapRule(limit: 3, action: .warn)),
            enforcement: EnforcementOptions(onWarning: [.disableTrading]))
        let events = try run(
            &subject,
            [start] + open("2024-03-04 10:00", ticket: 1, lots: 2)
                + open("2024-03-04 10:01", ticket: 2, lots: 2)  // 4 > 3: warning 1
                + [position(.changed, "2024-03-04 10:02", ticket: 2, lots: "2.5")]  // 4.5, still over: silent
                + [position(.closed, "2024-03-04 10:03", ticket: 2, lots: "2.5")]  // 2: back under
                + open("2024-03-04 10:04", ticket: 3, lots: "1.5"))  // 3.5 > 3: warning 2
        let warnings = events.filter { $0.kind == .ruleWarning }
        #expect(warnings.map(\.brokerTime) == [at("2024-03-04 10:01"), at("2024-03-04 10:04")])
        #expect(warnings.map { $0.breach?.value } == [4, "3.5"])
        #expect(warnings.allSatisfy { $0.enforcement == [.disableTrading] })
        #expect(subject.status == .active)
    }

    /// Headroom and floor as the API shows them: daily loss 5 % from a balance of 100,000 with
    /// equity 97,000 → value 3,000, floor 95,000, headroom 97,000 − 95,000 = 2,000.
    @Test func progressReportsHeadroomAndFloor() throws {
        var subject = try challenge(RuleSet(dailyLoss: fivePercentDaily, profitTarget: tenPercentTarget))
        _ = try run(&subject, [start, observation("2024-03-04 12:00", balance: 100_000, equity: 97_000)])
        let daily = try #require(rule(.dailyLoss, in: subject))
        #expect(daily.value == 3_000)
        #expect(daily.limit == 5_000)
        #expect(daily.floor == 95_000)
        #expect(daily.headroom == 2_000)
        #expect(daily.status == .satisfied)
        // Target 10,000, closed profit 0 → 10,000 still missing.
        let target = try #require(rule(.profitTarget, in: subject))
        #expect(target.headroom == 10_000)
        #expect(target.status == .pending)
        // A rule the phase does not have has no progress.
        #expect(subject.book.progress(of: .maxLoss) == nil)
    }
}
