import EquityEngine
import TidemarkProtocol

/// Everything the risk core keeps for one account: its clock, last balance, trackers, challenges
/// and the open equity-chart hour. Opaque outside the core: a checkpoint keeps it per account
/// (``RiskEngine/accountState(of:)``, ``RiskEngine/init(nextSequenceNumber:accounts:competitions:)``).
public struct AccountRiskState: Hashable, Sendable, Codable {
    /// The account this state belongs to.
    public internal(set) var accountId: AccountID
    /// The latest input time seen for the account. Inputs are applied at max(their time, clock),
    /// so a late input counts in the period and hour that are open when it arrives.
    var clock: BrokerTime?
    /// The latest time of the account's own inputs (observations, deals, position changes, open
    /// positions), as they carried it: unlike `clock`, never moved by a heartbeat's `.time`, nor by
    /// the clock itself (a late input counts with its own time). The agent skips a reconnected
    /// terminal's resent inputs up to it. Nil until the first own input (and, in a checkpoint
    /// written before it existed, the clock: see `RiskEngine.init(from:)`).
    var lastOwnInputTime: BrokerTime?
    var balanceKnown = false
    var balance: FixedDecimal = .zero
    /// The equity of the latest observation (nil before the first, and in checkpoints written
    /// before it was kept): carried into a period or chart hour that an input without an
    /// observation opens.
    var equity: FixedDecimal?
    /// In declaration order.
    var trackers: [TrackerState] = []
    var chartHour: EquityChartHour?
    /// The account's challenges, in declaration order.
    var challenges: [Challenge] = []
    /// The first millisecond after the open chart hour (`Int64.max` while none is open).
    var chartUntil: Int64 = .max

    init(accountId: AccountID) { self.accountId = accountId }

    /// Moves the account to `time`: closes the chart hour and tracker periods that ended before it,
    /// opens tracker periods. Returns the effective time.
    ///
    /// With `carrying` (every input but an observation, which brings its own figures), the latest
    /// balance and equity count as the first observation of each tracker period and chart hour
    /// this input opens (protocol/RULES.md, "Equity carries into a new period"): a drawdown held
    /// over a boundary shows at the first input inside the new period, not when the price next moves.
    mutating func advance(to time: BrokerTime, carrying: Bool, sink: inout OutputSink) -> BrokerTime {
        let now = max(time, clock ?? time)
        clock = now
        if now.milliseconds >= chartUntil, let hour = chartHour {
            sink.outputs.append(.equityChart(accountId: accountId, record: hour.record(until: hour.next)))
            chartHour = nil
            chartUntil = .max
        }
        let facts = AccountFacts(balanceKnown: balanceKnown, balance: balance)
        let carried = carrying && balanceKnown ? equity : nil
        for index in trackers.indices {
            guard let carried else {
                _ = trackers[index].reach(now, facts: facts, sink: &sink)
                continue
            }
            let openedBefore = trackers[index].open?.start
            guard trackers[index].reach(now, facts: facts, sink: &sink), trackers[index].open?.start != openedBefore
            else { continue }
            do {
                try trackers[index].observe(time: now, balance: balance, equity: carried, sink: &sink)
            } catch {
                sink.refuse(accountId, at: now, error, component: "tracker \(trackers[index].definition.id)")
            }
        }
        if let carried, chartHour == nil { openChartHour(at: now, balance: balance, equity: carried) }
        return now
    }

    /// ``advance(to:carrying:sink:)`` for one of the account's own inputs (not a time input): also
    /// moves `lastOwnInputTime` on.
    mutating func advance(toOwnInputAt time: BrokerTime, carrying: Bool, sink: inout OutputSink) -> BrokerTime {
        if lastOwnInputTime.map({ time > $0 }) ?? true { lastOwnInputTime = time }
        return advance(to: time, carrying: carrying, sink: &sink)
    }

    private mutating func openChartHour(at time: BrokerTime, balance: FixedDecimal, equity: FixedDecimal) {
        let hour = EquityChartHour(time: time, balance: balance, equity: equity)
        chartHour = hour
        chartUntil = hour.next.milliseconds
    }

    mutating func observe(_ observation: EquityObservation, sink: inout OutputSink) {
        let now = advance(toOwnInputAt: observation.time, carrying: false, sink: &sink)
        for index in trackers.indices {
            do {
                try trackers[index].observe(time: now, balance: observation.balance, equity: observation.equity, sink: &sink)
            } catch {
                sink.refuse(accountId, at: observation.time, error, component: "tracker \(trackers[index].definition.id)")
            }
        }
        if chartHour == nil {
            openChartHour(at: now, balance: observation.balance, equity: observation.equity)
        } else {
            chartHour!.observe(time: now, balance: observation.balance, equity: observation.equity)
        }
        balanceKnown = true
        balance = observation.balance
        equity = observation.equity
    }

    mutating func apply(deal: Deal, sink: inout OutputSink) {
        _ = advance(toOwnInputAt: deal.time, carrying: true, sink: &sink)
        for index in trackers.indices {
            do {
                try trackers[index].apply(deal: deal)
            } catch {
                sink.refuse(accountId, at: deal.time, error, component: "tracker \(trackers[index].definition.id)")
            }
        }
    }
}

extension AccountRiskState {
    /// Hands an input of this account to its challenges, numbering their events.
    mutating func applyChallenges(_ input: RiskInput, sink: inout OutputSink) {
        for index in challenges.indices {
            do {
                for event in try challenges[index].apply(input) {
                    sink.outputs.append(.challengeEvent(sequenceNumber: sink.takeSequenceNumber(), event: event))
                }
            } catch {
                sink.refuse(accountId, at: RuleBook.time(of: input), error,
                            component: "challenge \(challenges[index].definition.id)")
            }
        }
    }
}
