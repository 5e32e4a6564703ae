import TidemarkProtocol

/// The JSON report `tidemark replay` prints: per account, an equity summary, the trackers with
/// their closed and open period statistics and events, and the equity chart; plus what could not
/// be read or was refused. Built from the risk core's outputs and its final state.
public struct ReplayReport: Encodable {
    /// One refused or unreadable line of the recording or the rules file.
    public struct Problem: Encodable {
        /// `recording` or `rules`.
        public var source: String
        /// The 1-based line, when the problem is on one.
        public var line: Int?
        /// A short, label-like reason.
        public var error: String
        /// What exactly was wrong.
        public var detail: String
    }

    /// Balance and equity over the replay, from the observations the risk core saw.
    public struct EquitySummary: Encodable {
        /// Observations seen.
        public var observations = 0
        /// Broker time of the first observation.
        public var firstBrokerTime: String?
        /// Broker time of the last observation.
        public var lastBrokerTime: String?
        /// Balance at the first observation.
        public var startBalance: FixedDecimal?
        /// Equity at the first observation.
        public var startEquity: FixedDecimal?
        /// Balance at the last observation.
        public var lastBalance: FixedDecimal?
        /// Equity at the last observation.
        public var lastEquity: FixedDecimal?
        /// Lowest equity seen.
        public var minEquity: FixedDecimal?
        /// When the lowest equity was seen.
        public var minEquityBrokerTime: String?
        /// Highest equity seen.
        public var maxEquity: FixedDecimal?
        /// When the highest equity was seen.
        public var maxEquityBrokerTime: String?
        /// Times the terminal's own equity differed from the reconstruction beyond the tolerance.
        public var drifts = 0
        /// Times equity became unknown (a missing quote or conversion rate).
        public var equityUnknownEvents = 0
    }

    /// A challenge at the end of the replay, with its events.
    public struct ChallengeReport: Encodable {
        /// Status, phase, the failure if any, and every rule's value, limit and headroom.
        public var progress: ChallengeProgress
        /// Its events, in order.
        public var events: [ChallengeEvent]
    }

    /// A competition at the end of the replay, with its events.
    public struct CompetitionReport: Encodable {
        /// The competition id.
        public var id: String
        /// Its status at the end.
        public var status: String
        /// The final (or current) ranking.
        public var leaderboard: [LeaderboardEntry]
        /// Its events, in order.
        public var events: [CompetitionEvent]
    }

    /// A tracker at the end of the replay, with its periods and events.
    public struct TrackerReport: Encodable {
        /// The declaration.
        public var tracker: TrackerDefinition
        /// Whether its end time has passed (it then has no open period).
        public var finished: Bool
        /// Closed periods, in order.
        public var periods: [PeriodStatistics]
        /// The open period at the end of the replay ("realTime").
        public var currentPeriod: PeriodStatistics?
        /// Its events, in order.
        public var events: [TrackerEvent]
    }

    /// Everything about one account.
    public struct AccountReport: Encodable {
        /// The account.
        public var accountId: AccountID
        /// Its balance and equity over the replay.
        public var equity: EquitySummary
        /// Its trackers, in declaration order.
        public var trackers: [TrackerReport]
        /// Its challenges, in declaration order.
        public var challenges: [ChallengeReport] = []
        /// Closed hours, then the open one (if any).
        public var equityChart: [EquityChartRecord]
    }

    /// The recording's name (its path).
    public var recording: String
    /// The rules file's name, when one was given.
    public var rules: String?
    /// Lines of the recording read.
    public var linesRead = 0
    /// What could not be read or was refused.
    public var problems: [Problem] = []
    /// Events the risk core emitted.
    public var eventCount = 0
    /// Per account, in id order.
    public var accounts: [AccountReport] = []
    /// Competitions, in declaration order.
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
            case .inputRefused:
                break  // a problem of the replay (see RiskReplay)
            }
        }
    }

    /// The report, in account-id and declaration order.
    func report(
        engine: RiskEngine, recording: String, rules: String?, linesRead: Int,
        problems: [ReplayReport.Problem]
    ) -> ReplayReport {
        var report = ReplayReport(
            recording: recording, rules: rules, linesRead: linesRead, problems: problems,
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
            report.accounts.append(
                ReplayReport.AccountReport(
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
