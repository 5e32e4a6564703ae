import EquityEngine
import Foundation
import RiskCore
import Testing
import TidemarkProtocol

/// Builds random but valid step sequences: random-walk equity on two accounts, deposits and
/// withdrawals, trades, heartbeats, position updates, time jumps across day, month, quarter and year
/// boundaries, and declarations (create / rename / delete trackers, create / delete challenges, a
/// competition) in the middle of the stream.
struct StepGenerator {
    var random: SplitMix64
    var time = at("2023-12-27 22:00:00.000")
    var balances: [AccountID: FixedDecimal]
    var equities: [AccountID: FixedDecimal]
    let bigAmount: FixedDecimal
    let withRules: Bool
    var trackerIds: [(AccountID, String)] = []
    var challengeIds: [String] = []
    var counter = 0
    var steps: [RiskStep] = []

    /// `bigAmount` is account B's starting balance; `withRules` adds challenges and a competition.
    init(seed: UInt64, bigAmount: FixedDecimal, withRules: Bool) {
        random = SplitMix64(seed: seed)
        self.bigAmount = bigAmount
        self.withRules = withRules
        balances = [accountA: 10_000, accountB: bigAmount]
        equities = balances
    }

    /// A challenge from JSON (as a firm would declare it), starting `startOffsetDays` from now.
    mutating func declareChallenge(account: AccountID, startOffsetDays: Int64) {
        counter += 1
        let start = BrokerTime(milliseconds: time.milliseconds + startOffsetDays * 86_400_000)
        let pragueReset = account == accountB
        let capital = account == accountA ? "10000" : bigAmount.description
        let reset =
            pragueReset
            ? #""dayReset":{"time":"00:00","timeZone":"Europe/Prague"},"brokerClock":{"timeZone":"America/New_York","offsetSeconds":25200},"#
            : ""
        let json = """
            {"id":"c\(counter)","account":"\(account.rawValue)","initialCapital":"\(capital)","startTime":\(start.milliseconds),\(reset)
             "phases":[{"name":"evaluation","rules":{"dailyLoss":{"limit":{"percent":5},"base":"balanceOrEquity"},
               "maxLoss":{"limit":{"percent":10},"trailing":{"source":"equity","update":"endOfDay"}},
               "profitTarget":{"target":{"percent":3},"basis":"equity"},"minTradingDays":{"days":2,"counting":"anyTradeDeal"}}},
              {"name":"verification","rules":{"maxLoss":{"limit":{"percent":10}},"profitTarget":{"target":{"percent":2},"basis":"closed"},
               "maxOpenPositions":{"limit":3,"action":"warn"}}}]}
            """
        let definition = try! JSONDecoder().decode(ChallengeDefinition.self, from: Data(json.utf8))
        challengeIds.append(definition.id)
        steps.append(.command(.createChallenge(definition)))
    }

    mutating func declareCompetition() {
        counter += 1
        let json = """
            {"id":"k\(counter)","accounts":["\(accountA.rawValue)","\(accountB.rawValue)"],"startTime":\(time.milliseconds + 3_600_000),
             "endTime":\(time.milliseconds + 150 * 86_400_000),"metric":"gainToMaxDrawdown",
             "rules":{"maxLoss":{"limit":{"percent":30},"trailing":{"source":"equity","update":"intraday"}},"minTrades":{"trades":1}}}
            """
        steps.append(
            .command(.createCompetition(try! JSONDecoder().decode(CompetitionDefinition.self, from: Data(json.utf8)))))
    }

    mutating func decimal(_ range: ClosedRange<Int64>, digits: Int64 = 100) -> FixedDecimal {
        FixedDecimal(units: Int64.random(in: range, using: &random) * (FixedDecimal.unitsPerOne / digits))
    }

    mutating func declareTracker(account: AccountID) {
        counter += 1
        let period = TrackerPeriod.allCases.randomElement(using: &random)!
        var definition = TrackerDefinition(
            id: "t\(counter)", accountId: account, name: "tracker \(counter)", period: period)
        let base = account == accountA ? FixedDecimal(1) : FixedDecimal(1000)
        switch Int.random(in: 0..<4, using: &random) {
        case 0: definition.absoluteDrawdownThreshold = decimal(20...300).multiplied(by: base)
        case 1: definition.relativeDrawdownThreshold = decimal(1...40, digits: 1000)
        case 2: definition.absoluteProfitThreshold = decimal(20...300).multiplied(by: base)
        default:
            definition.relativeProfitThreshold = decimal(1...30, digits: 1000)
            definition.absoluteDrawdownThreshold = decimal(50...500).multiplied(by: base)
        }
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            definition.startBrokerTime = BrokerTime(
                milliseconds: time.milliseconds + Int64.random(in: 0...86_400_000 * 3, using: &random))
        case 1: definition.createdBrokerTime = time
        case 2:
            definition.createdBrokerTime = time
            definition.endBrokerTime = BrokerTime(
                milliseconds: time.milliseconds + Int64.random(in: 3_600_000...86_400_000 * 60, using: &random))
        default: break  // starts at the account's next input
        }
        trackerIds.append((account, definition.id))
        steps.append(.command(.createTracker(definition)))
    }

    mutating func advanceTime() {
        let roll = Int.random(in: 0..<100, using: &random)
        let milliseconds: Int64 =
            switch roll {
            case 0..<65: Int64.random(in: 0...120_000, using: &random)  // ticks
            case 65..<88: Int64.random(in: 600_000...10_800_000, using: &random)  // minutes to hours
            case 88..<97: Int64.random(in: 86_400_000...5 * 86_400_000, using: &random)  // days
            default: Int64.random(in: 20 * 86_400_000...120 * 86_400_000, using: &random)  // months
            }
        time = BrokerTime(milliseconds: time.milliseconds + milliseconds)
    }

    mutating func observe(_ account: AccountID) {
        steps.append(
            .input(
                .observation(
                    EquityObservation(
                        account: account, time: time, balance: balances[account]!, credit: .zero,
                        equity: equities[account]!, floating: equities[account]! - balances[account]!))))
    }

    mutating func generate(count: Int) -> [RiskStep] {
        for account in [accountA, accountB] {
            for _ in 0..<3 { declareTracker(account: account) }
        }
        if withRules {
            declareChallenge(account: accountA, startOffsetDays: 0)
            declareChallenge(account: accountB, startOffsetDays: 1)
            declareCompetition()
        }
        while steps.count < count {
            advanceTime()
            let account = Bool.random(using: &random) ? accountA : accountB
            let scale: FixedDecimal = account == accountA ? 1 : 1000
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<70:
                equities[account]! += decimal(-4000...4000).multiplied(by: scale)
                observe(account)
            case 70..<78:
                // A position closes: the floating result moves to the balance, trade deal first.
                counter += 1
                steps.append(
                    .input(
                        .deal(
                            account,
                            Deal(
                                ticket: Int64(counter), time: time, type: .buy, entry: .out,
                                symbol: "EURUSD", volume: "0.1", price: "1.1",
                                positionID: Int64(counter)))))
                balances[account] = equities[account]!
                observe(account)
            case 78..<84:
                counter += 1
                let amount = decimal(-50_000...100_000).multiplied(by: scale)
                let type: DealType = Int.random(in: 0..<4, using: &random) == 0 ? .credit : .balance
                steps.append(
                    .input(
                        .deal(account, Deal(ticket: Int64(counter), time: time, type: type, entry: .in, profit: amount))
                    ))
                if type == .balance { balances[account]! += amount }
                equities[account]! += amount
                observe(account)
            case 84..<90:
                steps.append(.input(.time(account, time)))
            case 90..<94:
                steps.append(
                    .input(
                        .position(
                            account,
                            PositionUpdate(
                                change: .opened, time: time,
                                position: Position(
                                    ticket: 1, symbol: "EURUSD", side: .sell, volume: "1", openPrice: "1.2",
                                    openTime: time)))))
            case 94..<96:
                declareTracker(account: account)
            case 96:
                if !withRules {
                    declareTracker(account: account)
                } else if Bool.random(using: &random) {
                    declareChallenge(account: account, startOffsetDays: 0)
                } else if !challengeIds.isEmpty {
                    let id = challengeIds.remove(at: Int.random(in: 0..<challengeIds.count, using: &random))
                    steps.append(.command(.deleteChallenge(challengeId: id)))
                }
            case 97:
                if let (owner, id) = trackerIds.randomElement(using: &random) {
                    counter += 1
                    steps.append(.command(.renameTracker(accountId: owner, trackerId: id, name: "renamed \(counter)")))
                }
            case 98:
                if !trackerIds.isEmpty {
                    let (owner, id) = trackerIds.remove(at: Int.random(in: 0..<trackerIds.count, using: &random))
                    steps.append(.command(.deleteTracker(accountId: owner, trackerId: id)))
                }
            default:
                steps.append(.input(.openPositions(account, [], at: time)))
            }
        }
        return steps
    }
}

struct CheckpointPropertyTests {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }

    /// Trackers and charts only, with an amount (17 significant digits) that a JSON number could not
    /// carry: splitting at every point, checkpointing to JSON, decoding and resuming gives the same
    /// outputs (==, same JSON bytes), the same final state, and the checkpoint re-encodes to the
    /// same bytes.
    @Test(arguments: [UInt64(1), 2, 0xDEAD_BEEF])
    func trackersResumeIdenticallyFromAnyCheckpoint(seed: UInt64) throws {
        var generator = StepGenerator(seed: seed, bigAmount: "123456789.12345678", withRules: false)
        try Self.check(generator.generate(count: 300), checkpointBytesStable: true, expectRuleEvents: false)
    }

    /// The whole core — trackers, charts, challenges (one with a Prague day reset) and a
    /// competition — split at every point: same outputs (==, same JSON bytes) and same final state.
    /// (Amounts stay within 15 significant digits: the challenge components store `FixedDecimal`s,
    /// which encode as JSON numbers; and their hash-ordered dictionaries make the checkpoint's bytes,
    /// not its content, vary — so only the content is compared here.)
    @Test(arguments: [UInt64(1), 2, 3, 0xDEAD_BEEF])
    func wholeCoreResumesIdenticallyFromAnyCheckpoint(seed: UInt64) throws {
        var generator = StepGenerator(seed: seed, bigAmount: "1234567.89", withRules: true)
        try Self.check(generator.generate(count: 300), checkpointBytesStable: false, expectRuleEvents: true)
    }

    static func check(_ steps: [RiskStep], checkpointBytesStable: Bool, expectRuleEvents: Bool) throws {
        let encoder = Self.encoder()
        let decoder = JSONDecoder()

        // The uninterrupted run, with the checkpoint taken before each step.
        var engine = RiskEngine()
        var checkpoints: [Data] = []
        var outputsPerStep: [[RiskOutput]] = []
        for step in steps {
            checkpoints.append(try encoder.encode(engine))
            outputsPerStep.append(try engine.apply(step))
        }
        checkpoints.append(try encoder.encode(engine))
        let fullOutputs = outputsPerStep.flatMap { $0 }
        let fullBytes = try encoder.encode(fullOutputs)

        // The sequence must exercise what it claims to: events, closed periods, chart hours.
        #expect(fullOutputs.trackerEvents.count >= 3)
        #expect(fullOutputs.closedStatistics.count >= 5)
        #expect(fullOutputs.chartRecords.count > 10)
        if expectRuleEvents {
            #expect(fullOutputs.contains { if case .challengeEvent = $0 { true } else { false } })
            #expect(fullOutputs.contains { if case .competitionEvent = $0 { true } else { false } })
        }
        // One global, gap-free sequence over every kind of event.
        let numbered = fullOutputs.compactMap(\.sequenceNumber)
        #expect(numbered == Array(1...UInt64(numbered.count)))

        for split in 0...steps.count {
            var resumed = try decoder.decode(RiskEngine.self, from: checkpoints[split])
            if checkpointBytesStable {
                #expect(try encoder.encode(resumed) == checkpoints[split], "split at \(split)")
            }
            var outputs = outputsPerStep[..<split].flatMap { $0 }
            for step in steps[split...] { outputs += try resumed.apply(step) }
            #expect(outputs == fullOutputs, "split at \(split)")
            #expect(try encoder.encode(outputs) == fullBytes, "split at \(split)")
            #expect(resumed == engine, "split at \(split)")
        }
    }
}
