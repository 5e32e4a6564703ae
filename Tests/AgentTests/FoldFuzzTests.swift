import Agent
import AgentFold
import Bridge
import EquityEngine
import Foundation
import RiskCore
import Testing
import TidemarkProtocol

/// A property-based fuzz of the whole fold (bridge message → equity engine → risk core, through
/// ``AgentCore``) with extreme in-range values: the wire's maxima and minima, zero, one unit,
/// 92,233,720,368 lots, times up to `Int64.max`, and random mixes. Properties:
/// - nothing traps (every case of issue #12 did);
/// - the first refusal of an account marks it in error, and a refusal never goes unmarked;
/// - an honest account beside it folds exactly what it folds alone (tracker and challenge outputs).
///
/// The suite runs it with a fixed seed in a few seconds. For a longer run:
/// `TIDEMARK_FUZZ_ITERATIONS=20000 TIDEMARK_FUZZ_SEED=7 swift test --skip-build --filter FoldFuzzTests`.
@Suite struct FoldFuzzTests {
    static let honest = AccountID(server: "Demo", login: 1)
    static let hostile = AccountID(server: "Demo", login: 2)
    static let max = FixedDecimal.greatestFiniteMagnitude

    static var iterations: Int { ProcessInfo.processInfo.environment["TIDEMARK_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 6_000 }
    static var seed: UInt64 { ProcessInfo.processInfo.environment["TIDEMARK_FUZZ_SEED"].flatMap(UInt64.init) ?? 12 }

    static let symbols = [
        SymbolSpec(name: "EURUSD", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001", tickValue: 1,
                   profitCurrency: "USD", marginCurrency: "EUR", baseCurrency: "EUR"),
        SymbolSpec(name: "USDJPY", digits: 3, calcMode: .forex, contractSize: 100_000, tickSize: "0.001", tickValue: "0.9",
                   profitCurrency: "JPY", marginCurrency: "USD", baseCurrency: "USD"),
        SymbolSpec(name: "US30", digits: 1, calcMode: .futures, contractSize: 1, tickSize: "0.1", tickValue: "0.01",
                   profitCurrency: "USD", marginCurrency: "USD", baseCurrency: "USD"),
    ]

    static func hello(_ account: AccountID, login: Int64) -> Hello {
        Hello(platform: login == 2 ? .mt4 : .mt5, terminalBuild: 4000, login: login, server: "Demo", company: "Test",
              currency: "USD", currencyDigits: 2, marginMode: .retailHedging, leverage: 100, eaVersion: "1.0",
              brokerUTCOffsetSeconds: 7200, sessionID: "s\(login)")
    }

    /// Trackers of every period and a challenge on each account; a competition of the hostile one.
    static func declare(into core: inout AgentCore, accounts: [AccountID]) throws {
        var effects = AgentCore.Effects()
        for account in accounts {
            for period in TrackerPeriod.allCases {
                try core.declare(.createTracker(TrackerDefinition(
                    id: "\(account.rawValue)-\(period.rawValue)", accountId: account, name: period.rawValue, period: period,
                    absoluteDrawdownThreshold: 100, relativeProfitThreshold: "0.05", createdBrokerTime: BrokerTime(milliseconds: 0))),
                    into: &effects)
            }
            try core.declare(.createChallenge(ChallengeDefinition(
                id: "c-\(account.rawValue)", account: account, initialCapital: 10_000, startTime: BrokerTime(milliseconds: 0),
                phases: [ChallengePhase(name: "one", rules: RuleSet(dailyLoss: DailyLossRule(limit: .percent(5)),
                                                                     maxLoss: MaxLossRule(limit: .percent(10)),
                                                                     maxTotalLots: CapRule(limit: 50, action: .warn),
                                                                     profitTarget: ProfitTargetRule(target: .percent(8)))),
                         ChallengePhase(name: "two", rules: RuleSet(maxLoss: MaxLossRule(limit: .percent(10))))])),
                into: &effects)
        }
        if accounts.contains(hostile) {
            try core.declare(.createCompetition(CompetitionDefinition(
                id: "k", accounts: [hostile], startTime: BrokerTime(milliseconds: 0),
                endTime: BrokerTime(milliseconds: 86_400_000 * 40), metric: .gainToMaxDrawdown)), into: &effects)
        }
    }

    /// The honest account's script: a snapshot, ticks, a deposit, a drawdown over 100, a new day.
    static let honestScript: [TerminalMessage] = {
        let position = Position(ticket: 1, symbol: "EURUSD", side: .buy, volume: 1, openPrice: "1.1", openTime: BrokerTime(milliseconds: 500),
                                swap: .zero, commission: .zero)
        func quote(_ ms: Int64, _ bid: FixedDecimal) -> Tick { Tick(symbol: "EURUSD", time: BrokerTime(milliseconds: ms), bid: bid, ask: bid + "0.00002") }
        var script: [TerminalMessage] = [
            .hello(hello(honest, login: 1)),
            .snapshot(Snapshot(account: AccountReport(time: BrokerTime(milliseconds: 1_000), balance: 10_000, credit: .zero,
                                                      equity: 10_000, margin: .zero),
                               symbols: symbols, positions: [position], quotes: [quote(1_000, "1.1")])),
        ]
        for step in 1...40 {
            let ms = Int64(step) * 3_600_000
            script.append(.ticks([quote(ms, FixedDecimal(units: 110_000_000 + Int64((step * 7919) % 401) * 1_000 - 200_000))]))
            if step == 10 {
                script.append(.deal(Deal(ticket: 77, time: BrokerTime(milliseconds: ms + 1), type: .balance, entry: .in, symbol: "",
                                         volume: .zero, price: .zero, profit: 500, commission: .zero, swap: .zero, fee: .zero,
                                         positionID: 0, comment: "deposit")))
            }
        }
        return script
    }()

    /// Draws extreme and ordinary values.
    struct Draw {
        var random: SplitMix64

        mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
        mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }

        /// Any wire decimal, mostly extreme.
        mutating func money() -> FixedDecimal {
            pick([FixedDecimal.greatestFiniteMagnitude, .leastFiniteValue, .zero, FixedDecimal(units: 1), FixedDecimal(units: -1),
                  92_233_720_368, -92_233_720_368, 1, 10_000, FixedDecimal(units: Int64(bitPattern: random.next()) / 2),
                  FixedDecimal(units: Int64(random.next() % 10_000_000_000) - 5_000_000_000)])
        }

        /// A positive wire decimal (prices, volumes).
        mutating func positive() -> FixedDecimal {
            pick([FixedDecimal.greatestFiniteMagnitude, FixedDecimal(units: 1), 92_233_720_368, 1, "1.1", "0.01", 100,
                  FixedDecimal(units: Int64(random.next() % UInt64(Int64.max - 1)) + 1)])
        }

        /// A wire time (≥ 0), mostly near the honest account's, sometimes at the ends.
        mutating func time() -> BrokerTime {
            BrokerTime(milliseconds: pick([Int64.max, 0, 1, BrokerTime.calendarRange.upperBound.milliseconds,
                                           BrokerTime.calendarRange.upperBound.milliseconds + 1,
                                           Int64(random.next() % 144_000_000), Int64(random.next() % 144_000_000),
                                           Int64(random.next() % UInt64(Int64.max))]))
        }

        /// A time no calendar holds (heartbeats: an in-calendar one would move every account's
        /// shared clock, which is a separate rule from this fuzz's).
        mutating func outOfCalendarTime() -> BrokerTime {
            BrokerTime(milliseconds: pick([Int64.max, BrokerTime.calendarRange.upperBound.milliseconds + 1,
                                           Int64.max - Int64(random.next() % 1_000_000_000)]))
        }

        mutating func quote(_ symbol: String) -> Tick {
            let ask = positive()
            let bid = chance(50) ? ask : (chance(50) ? positive() : FixedDecimal(units: ask.units - ask.units / 200))
            return Tick(symbol: symbol, time: time(), bid: bid, ask: ask)
        }

        mutating func position(ticket: Int64) -> Position {
            Position(ticket: ticket, symbol: pick(FoldFuzzTests.symbols.map(\.name)), side: chance(50) ? .buy : .sell,
                     volume: positive(), openPrice: positive(), openTime: time(), swap: money(), commission: money())
        }

        mutating func message() -> TerminalMessage {
            switch random.next() % 9 {
            case 0, 1:
                return .ticks(TickBatch((0..<(1 + random.next() % 3)).map { _ in quote(pick(FoldFuzzTests.symbols.map(\.name))) }))
            case 2:
                return .deal(Deal(ticket: Int64(random.next() % 50), time: time(),
                                  type: pick([.balance, .credit, .buy, .sell, .commission, .bonus]),
                                  entry: pick([.in, .out, .outBy]), symbol: pick(FoldFuzzTests.symbols.map(\.name)),
                                  volume: chance(50) ? positive() : .zero, price: positive(), profit: money(), commission: money(),
                                  swap: money(), fee: money(), positionID: Int64(random.next() % 5), comment: ""))
            case 3:
                return .position(PositionUpdate(change: pick([.opened, .changed, .closed]), time: time(),
                                                position: position(ticket: Int64(1 + random.next() % 5))))
            case 4:
                return .report(AccountReport(time: time(), balance: money(), credit: money(), equity: money(), margin: .zero))
            case 5:
                return .heartbeat(outOfCalendarTime())
            case 6:
                return .snapshot(Snapshot(account: AccountReport(time: time(), balance: money(), credit: money(), equity: money(),
                                                                 margin: .zero),
                                          symbols: FoldFuzzTests.symbols,
                                          positions: (0..<(random.next() % 3)).map { position(ticket: Int64(1 + $0)) },
                                          quotes: FoldFuzzTests.symbols.map { quote($0.name) }))
            case 7:
                return .symbol(SymbolSpec(name: pick(FoldFuzzTests.symbols.map(\.name)), digits: 5, calcMode: pick([.forex, .cfd, .futures]),
                                          contractSize: positive(), tickSize: positive(), tickValue: chance(50) ? .zero : positive(),
                                          profitCurrency: pick(["USD", "JPY"]), marginCurrency: "USD", baseCurrency: "USD"))
            default:
                return .ticks([quote("EURUSD")])
            }
        }
    }

    /// What the bridge would deliver: frames the decoder and the validator accept.
    static func deliverable(_ message: TerminalMessage) -> Bool {
        if case .ticks(let ticks) = message, !ticks.allSatisfy(\.isPlausibleQuote) { return false }
        if case .snapshot(let snapshot) = message, !snapshot.quotes.allSatisfy(\.isPlausibleQuote) { return false }
        return BridgeMessageValidator.problem(in: message) == nil
    }

    /// The honest account's own risk outputs (tracker and challenge).
    static func honestOutputs(_ outputs: [RiskOutput]) -> [RiskOutput] {
        outputs.filter { output in
            switch output {
            case .trackerEvent(let event): event.accountId == honest
            case .periodStatistics(let account, _, _), .equityChart(let account, _): account == honest
            case .challengeEvent(_, let event): event.account == honest
            case .competitionEvent, .inputRefused: false
            }
        }.map { output in
            // Sequence numbers are global: the hostile account's events take some.
            switch output {
            case .trackerEvent(var event):
                event.sequenceNumber = 0
                return .trackerEvent(event)
            case .challengeEvent(_, let event): return .challengeEvent(sequenceNumber: 0, event: event)
            default: return output
            }
        }
    }

    /// The wall clock the fold is given: the latest instant, so that no time is refused as too far
    /// ahead of it and every extreme time reaches the arithmetic (the plausibility bound has tests
    /// of its own).
    static let wallClock = Int64.max

    @Test("extreme in-range frames never trap the fold, always mark their account, and never touch another account")
    func extremeFramesAreContained() throws {
        var alone = AgentCore()
        try Self.declare(into: &alone, accounts: [Self.honest])
        var aloneEffects = AgentCore.Effects()
        for (index, message) in Self.honestScript.enumerated() {
            alone.apply(BridgeDelivery(account: Self.honest, sessionID: "h", sequence: UInt64(index + 1), message: message),
                        wallClock: Self.wallClock, into: &aloneEffects)
        }
        let expected = Self.honestOutputs(aloneEffects.riskOutputs)
        #expect(!expected.isEmpty)

        var draw = Draw(random: SplitMix64(seed: Self.seed))
        var reasonsSeen: Set<String> = []
        let runs = Swift.max(1, Self.iterations / 30)
        for run in 0..<runs {
            var core = AgentCore()
            try Self.declare(into: &core, accounts: [Self.honest, Self.hostile])
            var effects = AgentCore.Effects()
            var hostileSequence: UInt64 = 0
            func hostileSends(_ message: TerminalMessage) {
                hostileSequence += 1
                core.apply(BridgeDelivery(account: Self.hostile, sessionID: "x\(run)", sequence: hostileSequence, message: message),
                           wallClock: Self.wallClock, into: &effects)
            }
            hostileSends(.hello(Self.hello(Self.hostile, login: 2)))
            hostileSends(.snapshot(Snapshot(account: AccountReport(time: BrokerTime(milliseconds: 1_000), balance: draw.money(),
                                                                   credit: .zero, equity: .zero, margin: .zero),
                                            symbols: Self.symbols, positions: [draw.position(ticket: 1)],
                                            quotes: Self.symbols.map { draw.quote($0.name) })))
            var honestIndex = 0
            var sentHostile = 0
            while honestIndex < Self.honestScript.count || sentHostile < 30 {
                if honestIndex < Self.honestScript.count, sentHostile >= 30 || draw.chance(40) {
                    core.apply(BridgeDelivery(account: Self.honest, sessionID: "h", sequence: UInt64(honestIndex + 1),
                                              message: Self.honestScript[honestIndex]), wallClock: Self.wallClock, into: &effects)
                    honestIndex += 1
                } else {
                    var message = draw.message()
                    while !Self.deliverable(message) { message = draw.message() }
                    let refusalsBefore = effects.refusalCount
                    hostileSends(message)
                    sentHostile += 1
                    // Property: a refusal leaves the account marked in error (unless a snapshot
                    // then folded cleanly, which refuses nothing).
                    if effects.refusalCount > refusalsBefore {
                        #expect(core.accountErrors[Self.hostile] != nil, "run \(run): refusal of \(message) not marked")
                        #expect(core.accountErrors[Self.honest] == nil, "run \(run): the honest account was marked by \(message)")
                    }
                }
            }
            reasonsSeen.formUnion(effects.refusalsByReason.keys)
            let honestSide = Self.honestOutputs(effects.riskOutputs)
            #expect(honestSide == expected, "run \(run) (seed \(Self.seed)): the honest account's outputs changed")
            #expect(core.accountErrors[Self.honest] == nil)
        }
        // The generator reaches every kind of overflow of issue #12 (a fuzz that never got there
        // would pass without proving anything).
        for reason in ["deal_out_of_range", "balance_out_of_range", "time_out_of_range"] {
            #expect(reasonsSeen.contains(reason), "never reached \(reason): \(reasonsSeen.sorted())")
        }
        #expect(reasonsSeen.contains("equity_out_of_range") || reasonsSeen.contains("floating_out_of_range"),
                "never reached an equity sum out of range: \(reasonsSeen.sorted())")
    }
}
