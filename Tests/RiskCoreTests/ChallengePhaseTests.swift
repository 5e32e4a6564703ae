import RiskCore
import Testing
import TidemarkProtocol

/// Phases, the start, other accounts, and definition checks.
@Suite struct ChallengePhaseTests {
    static func twoPhases(secondCapital: PhaseCapital) throws -> Challenge {
        let target = { (percent: FixedDecimal) in RuleSet(profitTarget: ProfitTargetRule(target: .percent(percent))) }
        return try Challenge(
            definition: ChallengeDefinition(
                id: "phases", account: testAccount, initialCapital: 100_000, startTime: at("2024-03-04 00:00"),
                phases: [
                    ChallengePhase(name: "one", rules: target(10)),
                    ChallengePhase(name: "two", rules: target(5), capital: secondCapital),
                ],
                enforcement: EnforcementOptions(onPhasePassed: [.disableTrading])))
    }

    /// Phase one passes at 110,000. Then the account closes at 115,000.
    /// - capital "initial": phase two reads 115,000 − 10,000 = 105,000 against 100,000: +5,000 = 5 % → passes.
    /// - capital "balance": phase two starts at 110,000; target 5 % × 110,000 = 5,500; profit 5,000 → not yet.
    /// - capital 50,000: reads 55,000 against 50,000: +5,000 ≥ 2,500 → passes.
    @Test(arguments: [
        (PhaseCapital.initial, true, FixedDecimal(100_000)), (.balance, false, 110_000),
        (.amount(50_000), true, 50_000),
    ])
    func nextPhaseCapital(capital: PhaseCapital, passes: Bool, startingCapital: FixedDecimal) throws {
        var subject = try Self.twoPhases(secondCapital: capital)
        let events = try run(&subject, [flat("2024-03-04 00:00", 100_000), flat("2024-03-04 12:00", 110_000)])
        #expect(events.map(\.kind) == [.phaseStarted, .phasePassed, .phaseStarted])
        #expect(events[1].enforcement == [.disableTrading])
        #expect(events[2].initialCapital == startingCapital)
        let later = try run(&subject, [flat("2024-03-05 12:00", 115_000)])
        #expect(later.contains { $0.kind == .challengePassed } == passes)
        #expect(subject.status == (passes ? .passed : .active))
    }

    /// Before the start nothing counts, but the last figures and open positions are remembered: the
    /// phase starts from balance 100,000 and a position opened on Friday counts against the cap.
    @Test func startsFromWhatWasKnownBeforeTheStart() throws {
        var subject = try challenge(
            RuleSet(maxLoss: MaxLossRule(limit: .percent(5)), maxOpenPositions: CapRule(limit: 1)))
        var events = try run(
            &subject,
            [
                flat("2024-03-01 12:00", 100_000), position(.opened, "2024-03-01 13:00", ticket: 7),
                observation("2024-03-01 14:00", balance: 100_000, equity: 99_000),
            ])
        #expect(events.isEmpty)
        #expect(subject.status == .notStarted)
        // First input at/after the start: the phase starts at the start time from Friday's figures.
        events = try run(&subject, [.time(testAccount, at("2024-03-04 00:00"))])
        #expect(events.map(\.kind) == [.phaseStarted])
        #expect(subject.progress.balance == 100_000)
        #expect(subject.progress.equity == 99_000)
        events = try run(&subject, [position(.opened, "2024-03-04 10:00", ticket: 8)])
        // Two open positions (7 from before the start, 8 now) > 1.
        #expect(events.first?.breach?.rule == .maxOpenPositions)
        #expect(events.first?.breach?.value == 2)
    }

    @Test func ignoresOtherAccounts() throws {
        var subject = try challenge(RuleSet(maxLoss: MaxLossRule(limit: .percent(5))))
        let events = try run(
            &subject,
            [
                flat("2024-03-04 00:00", 100_000),
                observation("2024-03-04 12:00", balance: 100_000, equity: 50_000, account: AccountID("Other:2")),
            ])
        #expect(events.map(\.kind) == [.phaseStarted])
        #expect(subject.status == .active)
    }

    @Test func refusesBadDefinitions() {
        let base = ChallengeDefinition(
            id: "x", account: testAccount, initialCapital: 100_000, startTime: at("2024-03-04 00:00"),
            phases: [ChallengePhase(name: "p", rules: RuleSet())])
        var noPhases = base
        noPhases.phases = []
        #expect(throws: RuleDefinitionError.noPhases("challenge x has no phases")) {
            try Challenge(definition: noPhases)
        }
        var negative = base
        negative.phases[0].rules.dailyLoss = DailyLossRule(limit: .percent(-5))
        #expect(throws: RuleDefinitionError.invalidAmount("phases[0].rules.dailyLoss.limit must be positive")) {
            try Challenge(definition: negative)
        }
        var zoned = base
        zoned.dayReset = .newYorkClose
        #expect(throws: RuleDefinitionError.self) { try Challenge(definition: zoned) }
        zoned.brokerClock = .fixed(utcOffsetSeconds: 7200)
        #expect(throws: Never.self) { try Challenge(definition: zoned) }
    }
}
