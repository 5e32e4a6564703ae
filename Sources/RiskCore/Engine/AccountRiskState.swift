import EquityEngine
import TidemarkProtocol

/// Everything the risk core keeps for one account: its clock, last balance, trackers, challenges
/// and the open equity-chart hour.
struct AccountRiskState: Hashable, Sendable, Codable {
    var accountId: AccountID
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
    mutating func advance(to time: BrokerTime, sink: inout OutputSink) -> BrokerTime {
        let now = max(time, clock ?? time)
        clock = now
        if now.milliseconds >= chartUntil, let hour = chartHour {
            sink.outputs.append(.equityChart(accountId: accountId, record: hour.record(until: hour.next)))
            chartHour = nil
            chartUntil = .max
        }
        let facts = AccountFacts(balanceKnown: balanceKnown, balance: balance)
        for index in trackers.indices {
            _ = trackers[index].reach(now, facts: facts, sink: &sink)
        }
        return now
    }

    /// ``advance(to:sink:)`` for one of the account's own inputs (not a heartbeat): also moves
    /// `lastOwnInputTime` on.
    mutating func advance(toOwnInputAt time: BrokerTime, sink: inout OutputSink) -> BrokerTime {
        if lastOwnInputTime.map({ time > $0 }) ?? true { lastOwnInputTime = time }
        return advance(to: time, sink: &sink)
    }

    mutating func observe(_ observation: EquityObservation, sink: inout OutputSink) {
        let now = advance(toOwnInputAt: observation.time, sink: &sink)
        for index in trackers.indices {
            do {
                try trackers[index].observe(time: now, balance: observation.balance, equity: observation.equity, sink: &sink)
            } catch {
                sink.refuse(accountId, at: observation.time, error, component: "tracker \(trackers[index].definition.id)")
            }
        }
        if chartHour == nil {
            let hour = EquityChartHour(time: now, balance: observation.balance, equity: observation.equity)
            chartHour = hour
            chartUntil = hour.next.milliseconds
        } else {
            chartHour!.observe(time: now, balance: observation.balance, equity: observation.equity)
        }
        balanceKnown = true
        balance = observation.balance
    }

    mutating func apply(deal: Deal, sink: inout OutputSink) {
        _ = advance(toOwnInputAt: deal.time, sink: &sink)
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
    /// Hands an input of this account (or a heartbeat) to its challenges, numbering their events.
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
