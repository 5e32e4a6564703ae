import TidemarkProtocol

/// What the risk core tells the world, in the order it happened.
///
/// *Events* (tracker, challenge and competition events) carry the one global, gap-free
/// `sequenceNumber`: a receiver de-duplicates and
/// resumes by it. *Records* (closed period statistics, closed equity-chart hours) are not numbered:
/// each has a natural key — (tracker id, `startBrokerTime`) and (account, `startBrokerTime`) — so
/// storing one twice is an idempotent upsert.
public enum RiskOutput: Hashable, Sendable, Codable {
    /// A tracker threshold was strictly exceeded (at most once per tracker and period).
    case trackerEvent(TrackerEvent)
    /// A tracker's period ended (the next period began, or the tracker reached its end).
    case periodStatistics(accountId: AccountID, trackerId: String, statistics: PeriodStatistics)
    /// An hour of an account's equity chart ended.
    case equityChart(accountId: AccountID, record: EquityChartRecord)
    /// A challenge started a phase, passed, failed or warned (see ``ChallengeEvent``).
    case challengeEvent(sequenceNumber: UInt64, event: ChallengeEvent)
    /// A competition started, ended, re-ranked or disqualified (see ``CompetitionEvent``).
    case competitionEvent(sequenceNumber: UInt64, event: CompetitionEvent)
    /// An input, or the part of it one component would have folded, was refused: its time is
    /// outside the calendar or a figure computed from it is outside the decimal range. Not an
    /// event (no sequence number, nothing stored): the agent marks the account in error.
    case inputRefused(RiskInputRefusal)

    /// The global sequence number when this output is an event.
    public var sequenceNumber: UInt64? {
        switch self {
        case .trackerEvent(let event): event.sequenceNumber
        case .challengeEvent(let sequenceNumber, _), .competitionEvent(let sequenceNumber, _): sequenceNumber
        case .periodStatistics, .equityChart, .inputRefused: nil
        }
    }
}

/// An input the risk core did not fold (whole, or for one component). See ``RiskOutput/inputRefused(_:)``.
public struct RiskInputRefusal: Hashable, Sendable, Codable {
    /// Why (a bounded set: a metric label).
    public enum Reason: String, Hashable, Sendable, Codable, CaseIterable {
        /// The input's time is outside `BrokerTime/calendarRange`: nothing folded it.
        case timeOutOfRange = "time_out_of_range"
        /// A sum, difference, product, quotient or time step computed from it left the range.
        case sumOutOfRange = "sum_out_of_range"
        case differenceOutOfRange = "difference_out_of_range"
        case productOutOfRange = "product_out_of_range"
        case quotientOutOfRange = "quotient_out_of_range"
        case timeStepOutOfRange = "time_step_out_of_range"

        /// The reason for an overflow of `operation`.
        public init(_ overflow: ArithmeticOverflow) {
            switch overflow.operation {
            case .sum: self = .sumOutOfRange
            case .difference: self = .differenceOutOfRange
            case .product: self = .productOutOfRange
            case .quotient: self = .quotientOutOfRange
            case .timeStep: self = .timeStepOutOfRange
            }
        }
    }

    /// The account whose input it was (nil for a bare time).
    public var accountId: AccountID?
    /// The input's time.
    public var brokerTime: BrokerTime
    /// Why.
    public var reason: Reason
    /// What skipped it: `input` (nothing folded it), `trackers`, `challenge <id>`, `competition <id>`.
    public var component: String

    /// A refusal with every field given.
    public init(accountId: AccountID?, brokerTime: BrokerTime, reason: Reason, component: String) {
        self.accountId = accountId
        self.brokerTime = brokerTime
        self.reason = reason
        self.component = component
    }
}

/// Collects outputs while one input is applied, and hands out sequence numbers.
struct OutputSink {
    var nextSequenceNumber: UInt64
    var outputs: [RiskOutput] = []

    init(nextSequenceNumber: UInt64) { self.nextSequenceNumber = nextSequenceNumber }

    /// Notes that `component` skipped the input of `accountId` at `time` on `overflow`.
    mutating func refuse(_ accountId: AccountID?, at time: BrokerTime, _ overflow: ArithmeticOverflow, component: String) {
        outputs.append(.inputRefused(RiskInputRefusal(accountId: accountId, brokerTime: time,
                                                      reason: .init(overflow), component: component)))
    }

    mutating func takeSequenceNumber() -> UInt64 {
        defer { nextSequenceNumber += 1 }
        return nextSequenceNumber
    }
}
