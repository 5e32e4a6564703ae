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

    /// The global sequence number when this output is an event.
    public var sequenceNumber: UInt64? {
        switch self {
        case .trackerEvent(let event): event.sequenceNumber
        case .challengeEvent(let sequenceNumber, _), .competitionEvent(let sequenceNumber, _): sequenceNumber
        case .periodStatistics, .equityChart: nil
        }
    }
}

/// Collects outputs while one input is applied, and hands out sequence numbers.
struct OutputSink {
    var nextSequenceNumber: UInt64
    var outputs: [RiskOutput] = []

    init(nextSequenceNumber: UInt64) { self.nextSequenceNumber = nextSequenceNumber }

    mutating func takeSequenceNumber() -> UInt64 {
        defer { nextSequenceNumber += 1 }
        return nextSequenceNumber
    }
}
