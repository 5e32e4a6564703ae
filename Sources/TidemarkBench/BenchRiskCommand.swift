import ArgumentParser
import EquityEngine
import RiskCore
import TidemarkProtocol

/// `tidemark bench risk`: observations per second through the risk core on one core.
///
/// Every account carries 3 trackers (`day` absolute drawdown, `month-to-date` relative drawdown,
/// `lifetime` profit), the hourly equity chart and one challenge (daily loss from
/// max(balance, equity), trailing max loss, equity profit target, trading days, lot caps).
/// Thresholds and limits are set out of reach so nothing freezes or fails (a decided challenge or
/// a frozen period does less work and would flatter the figure).
/// The inputs are generated before the clock starts; each pass runs them through a fresh engine.
struct BenchRiskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk",
        abstract: "Risk core throughput: observations per second per core (3 trackers + 1 challenge per account, equity chart)."
    )

    @Option(help: "Number of accounts the observations are spread over.")
    var accounts = 100

    @Option(help: "Observations per pass.")
    var observations = 2_000_000

    @Option(help: "Passes (each on a fresh engine); the best and the median are reported.")
    var passes = 5

    @Flag(help: "Leave the challenges out (trackers and chart only).")
    var trackersOnly = false

    func run() throws {
        let accountIds = (0..<accounts).map { AccountID("Bench-Server:\(100_000 + $0)") }
        let inputs = Self.makeObservations(accountIds: accountIds, count: observations)
        var rates: [Double] = []
        var totalOutputs = 0
        for _ in 0..<passes {
            var engine = try Self.makeEngine(accountIds: accountIds, start: inputs.first.map(Self.time) ?? BrokerTime(milliseconds: 0),
                                             challenges: !trackersOnly)
            let clock = ContinuousClock()
            var outputs = 0
            let elapsed = clock.measure {
                for input in inputs {
                    outputs &+= engine.apply(input).count
                }
            }
            totalOutputs = outputs
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            rates.append(Double(inputs.count) / seconds)
        }
        rates.sort()
        let median = rates[rates.count / 2]
        let load = trackersOnly ? "3 trackers" : "3 trackers + 1 challenge"
        print("bench risk: \(observations) observations over \(accounts) accounts, \(load) each + equity chart, \(passes) passes")
        print("  outputs per pass: \(totalOutputs) (closed periods, chart hours, challenge phase starts)")
        print("  best:   \(Int(rates.last ?? 0)) observations/s/core")
        print("  median: \(Int(median)) observations/s/core")
        print("  target: 2000000 observations/s/core — \(median >= 2_000_000 ? "met" : "NOT met")")
    }

    static func time(_ input: RiskInput) -> BrokerTime {
        if case .observation(let observation) = input { return observation.time }
        return BrokerTime(milliseconds: 0)
    }

    static func makeEngine(accountIds: [AccountID], start: BrokerTime, challenges: Bool) throws -> RiskEngine {
        var engine = RiskEngine()
        for (index, accountId) in accountIds.enumerated() {
            if challenges {
                let rules = RuleSet(
                    dailyLoss: DailyLossRule(limit: .percent(90), base: .balanceOrEquity),
                    maxLoss: MaxLossRule(limit: .percent(95), trailing: .init(source: .equity, update: .intraday)),
                    maxLotsPerPosition: CapRule(limit: 100), maxOpenPositions: CapRule(limit: 100),
                    profitTarget: ProfitTargetRule(target: .percent(500), basis: .equity),
                    minTradingDays: MinTradingDaysRule(days: 4))
                try engine.apply(.createChallenge(ChallengeDefinition(
                    id: "challenge-\(index)", account: accountId, initialCapital: 100_000, startTime: start,
                    phases: [ChallengePhase(name: "evaluation", rules: rules)])))
            }
            try engine.apply(.createTracker(TrackerDefinition(
                id: "day-\(index)", accountId: accountId, name: "day", period: .day,
                absoluteDrawdownThreshold: 1_000_000_000, createdBrokerTime: start)))
            try engine.apply(.createTracker(TrackerDefinition(
                id: "mtd-\(index)", accountId: accountId, name: "month-to-date", period: .monthToDate,
                relativeDrawdownThreshold: 100, createdBrokerTime: start)))
            try engine.apply(.createTracker(TrackerDefinition(
                id: "life-\(index)", accountId: accountId, name: "lifetime", period: .lifetime,
                absoluteProfitThreshold: 1_000_000_000, createdBrokerTime: start)))
        }
        return engine
    }

    /// A random walk per account (a fixed linear congruential sequence: the same every run),
    /// 20 ms of broker time between observations, so a 2M run spans ~11 hours and closes chart
    /// hours and, from a 20:00 start, a day period.
    static func makeObservations(accountIds: [AccountID], count: Int) -> [RiskInput] {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var equities = [FixedDecimal](repeating: 100_000, count: accountIds.count)
        var time = BrokerTime(formatted: "2024-03-31 20:00:00.000")!.milliseconds
        var inputs: [RiskInput] = []
        inputs.reserveCapacity(count)
        for index in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let account = index % accountIds.count
            let step = Int64(state >> 33) % 2001 - 1000  // −10.00 … +10.00
            equities[account] += FixedDecimal(units: step * 1_000_000)
            time += 20
            inputs.append(.observation(EquityObservation(
                account: accountIds[account], time: BrokerTime(milliseconds: time), balance: 100_000, credit: .zero,
                equity: equities[account], floating: equities[account] - 100_000)))
        }
        return inputs
    }
}
