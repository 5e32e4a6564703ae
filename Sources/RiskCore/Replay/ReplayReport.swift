import TidemarkProtocol

/// The JSON report `tidemark replay` prints: per account, an equity summary, the trackers with
/// their closed and open period statistics and events, and the equity chart; plus what could not
/// be read or was refused. Built from the risk core's outputs and its final state.
public struct ReplayReport: Encodable {
    /// One refused or unreadable line of the recording or the rules file.
    public struct Problem: Encodable {
        public var source: String
        public var line: Int?
        public var error: String
        public var detail: String
    }

    /// Balance and equity over the replay, from the observations the risk core saw.
    public struct EquitySummary: Encodable {
        public var observations = 0
        public var firstBrokerTime: String?
        public var lastBrokerTime: String?
        public var startBalance: FixedDecimal?
        public var startEquity: FixedDecimal?
        public var lastBalance: FixedDecimal?
        public var lastEquity: FixedDecimal?
        public var minEquity: FixedDecimal?
        public var minEquityBrokerTime: String?
        public var maxEquity: FixedDecimal?
        public var maxEquityBrokerTime: String?
        /// Times the terminal's own equity differed from the reconstruction beyond the tolerance.
        public var drifts = 0
        /// Times equity became unknown (a missing quote or conversion rate).
        public var equityUnknownEvents = 0
    }

    public struct ChallengeReport: Encodable {
        /// Status, phase, the failure if any, and every rule's value, limit and headroom.
        public var progress: ChallengeProgress
        public var events: [ChallengeEvent]
    }

    public struct CompetitionReport: Encodable {
        public var id: String
        public var status: String
        public var leaderboard: [LeaderboardEntry]
        public var events: [CompetitionEvent]
    }

    public struct TrackerReport: Encodable {
        public var tracker: TrackerDefinition
        public var finished: Bool
        /// Closed periods, in order.
        public var periods: [PeriodStatistics]
        /// The open period at the end of the replay ("realTime").
        public var currentPeriod: PeriodStatistics?
        public var events: [TrackerEvent]
    }

    public struct AccountReport: Encodable {
        public var accountId: AccountID
        public var equity: EquitySummary
        public var trackers: [TrackerReport]
        public var challenges: [ChallengeReport] = []
        /// Closed hours, then the open one (if any).
        public var equityChart: [EquityChartRecord]
    }

    public var recording: String
    public var rules: String?
    public var linesRead = 0
    public var problems: [Problem] = []
    public var eventCount = 0
    public var accounts: [AccountReport] = []
    public var competitions: [CompetitionReport] = []
}

/// Collects what the report needs while the replay runs.
struct ReplayCollector {
    private(set) var summaries: [AccountID: ReplayReport.EquitySummary] = [:]
    private(set) var closedPeriods: [String: [PeriodStatistics]] = [:]
    private(set) var trackerEvents: [String: [TrackerEvent]] = [:]
    private(set) var chart: [AccountID: [EquityChartRecord]] = [:]
    private(set) var challengeEvents: [String: [ChallengeEvent]] = [:]
    private(set) var competitionEvents: [String: [CompetitionEvent]] = [:]
    private(set) var eventCount = 0
    /// Every tracker ever declared (a deleted one keeps its history in the report).
    private(set) var declaredTrackers: [String: TrackerDefinition] = [:]

    mutating func observed(_ observation: EquityObservationSummary) {
        var summary = summaries[observation.account, default: ReplayReport.EquitySummary()]
        let time = observation.time.formatted
        summary.observations += 1
        if summary.firstBrokerTime == nil {
            summary.firstBrokerTime = time
            summary.startBalance = observation.balance
            summary.startEquity = observation.equity
        }
        summary.lastBrokerTime = time
        summary.lastBalance = observation.balance
        summary.lastEquity = observation.equity
        if summary.minEquity.map({ observation.equity < $0 }) ?? true {
            summary.minEquity = observation.equity
            summary.minEquityBrokerTime = time
        }
        if summary.maxEquity.map({ observation.equity > $0 }) ?? true {
            summary.maxEquity = observation.equity
            summary.maxEquityBrokerTime = time
        }
        summaries[observation.account] = summary
    }

    mutating func declared(_ command: RiskCommand) {
        if case .createTracker(let definition) = command { declaredTrackers[definition.id] = definition }
    }

    mutating func collect(_ outputs: [RiskOutput]) {
        for output in outputs {
            switch output {
            case .trackerEvent(let event):
                eventCount += 1
                trackerEvents[event.trackerId, default: []].append(event)
            case .periodStatistics(_, let trackerId, let statistics):
                closedPeriods[trackerId, default: []].append(statistics)
            case .equityChart(let accountId, let record):
                chart[accountId, default: []].append(record)
            case .challengeEvent(_, let event):
                eventCount += 1
                challengeEvents[event.challengeID, default: []].append(event)
            case .competitionEvent(_, let event):
                eventCount += 1
                competitionEvents[event.competitionID, default: []].append(event)
            }
        }
    }

    /// The report, in account-id and declaration order.
    func report(engine: RiskEngine, recording: String, rules: String?, linesRead: Int,
                problems: [ReplayReport.Problem]) -> ReplayReport {
        var report = ReplayReport(recording: recording, rules: rules, linesRead: linesRead, problems: problems,
                                  eventCount: eventCount)
        let accountIds = Set(engine.accountIds).union(summaries.keys).sorted()
        for accountId in accountIds {
            let live = Set(engine.trackers(accountId: accountId).map(\.id))
            let definitions = declaredTrackers.values
                .filter { $0.accountId == accountId }
                .sorted { $0.id < $1.id }
            let trackers = definitions.map { declared in
                let definition = live.contains(declared.id) ? engine.tracker(id: declared.id) ?? declared : declared
                return ReplayReport.TrackerReport(
                    tracker: definition,
                    finished: engine.isFinished(accountId: accountId, trackerId: declared.id),
                    periods: closedPeriods[declared.id] ?? [],
                    currentPeriod: engine.currentPeriodStatistics(accountId: accountId, trackerId: declared.id),
                    events: trackerEvents[declared.id] ?? [])
            }
            var chartRecords = chart[accountId] ?? []
            if let open = engine.currentEquityChartRecord(accountId: accountId) { chartRecords.append(open) }
            report.accounts.append(ReplayReport.AccountReport(
                accountId: accountId, equity: summaries[accountId] ?? ReplayReport.EquitySummary(),
                trackers: trackers, equityChart: chartRecords))
        }
        return report
    }
}

/// The fields of an observation the equity summary needs.
struct EquityObservationSummary {
    var account: AccountID
    var time: BrokerTime
    var balance: FixedDecimal
    var equity: FixedDecimal
}
