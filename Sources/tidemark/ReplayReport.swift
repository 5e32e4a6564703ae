import API
import AgentFold
import Foundation
import RiskCore
import TidemarkProtocol

/// The JSON report `tidemark replay` prints, in the REST API's contract (README "API",
/// protocol/openapi.json): references end in `Id`, broker times read `YYYY-MM-DD HH:mm:ss.SSS`,
/// amounts are exact JSON numbers. Trackers, their periods and events, chart hours, challenges,
/// leaderboards and competition events are the API's own resources, so code that reads the API
/// reads a replay too.
///
/// Per account: its equity over the replay, its trackers (closed periods, the open one, events),
/// its challenges (definition, status, events) and its equity chart; then the competitions; and
/// what could not be read or was refused.
struct ReplayReport: Encodable {
    /// One refused or unreadable line of the recording or the rules file.
    struct Problem: Encodable {
        /// The recording's or the rules file's name.
        var source: String
        /// The 1-based line of the recording, or the declaration's 1-based index in the rules file.
        var line: Int?
        /// A short, label-like reason.
        var error: String
        /// What exactly was wrong.
        var detail: String
    }

    /// Balance and equity over the replay, from every observation of the account's equity.
    struct EquitySummary: Encodable {
        /// Observations made.
        var observations: Int
        /// Broker time of the first observation.
        var firstBrokerTime: BrokerTime?
        /// Broker time of the last observation.
        var lastBrokerTime: BrokerTime?
        /// Balance at the first observation.
        var startBalance: FixedDecimal?
        /// Equity at the first observation.
        var startEquity: FixedDecimal?
        /// Balance at the last observation.
        var lastBalance: FixedDecimal?
        /// Equity at the last observation.
        var lastEquity: FixedDecimal?
        /// Lowest equity seen.
        var minEquity: FixedDecimal?
        /// When the lowest equity was first seen.
        var minEquityBrokerTime: BrokerTime?
        /// Highest equity seen.
        var maxEquity: FixedDecimal?
        /// When the highest equity was first seen.
        var maxEquityBrokerTime: BrokerTime?
        /// Times the terminal's own equity differed from the reconstruction beyond the tolerance.
        var drifts: Int
        /// Times equity became unknown (a missing quote or conversion rate).
        var equityUnknownEvents: Int

        init(_ summary: RecordingReplay.EquitySummary) {
            observations = summary.observations
            firstBrokerTime = summary.first?.time
            lastBrokerTime = summary.last?.time
            startBalance = summary.first?.balance
            startEquity = summary.first?.equity
            lastBalance = summary.last?.balance
            lastEquity = summary.last?.equity
            minEquity = summary.lowest?.equity
            minEquityBrokerTime = summary.lowest?.time
            maxEquity = summary.highest?.equity
            maxEquityBrokerTime = summary.highest?.time
            drifts = summary.drifts
            equityUnknownEvents = summary.equityUnknownEvents
        }
    }

    /// A tracker at the end of the replay.
    struct TrackerReport: Encodable {
        /// The tracker (MetaApi `Tracker`, the API's `GET …/trackers/{trackerId}`).
        var tracker: TrackerResource
        /// Whether its end time has passed (it then has no open period).
        var finished: Bool
        /// Closed periods, oldest first (MetaApi `PeriodStatistics`).
        var periods: [PeriodStatistics]
        /// The open period at the end of the replay (the API's `realTime` period).
        var currentPeriod: PeriodStatistics?
        /// Its events, in order (MetaApi `TrackerEvent`).
        var events: [TrackerEvent]
    }

    /// A challenge at the end of the replay.
    struct ChallengeReport: Encodable {
        /// Its definition and status (the API's `GET …/challenges/{challengeId}`).
        var challenge: ChallengeResource
        /// Its events, in order.
        var events: [ChallengeEventResource]
    }

    /// A competition at the end of the replay.
    struct CompetitionReport: Encodable {
        /// Its definition (the API's `GET /users/current/competitions/{competitionId}`).
        var competition: CompetitionResource
        /// `notStarted`, `running` or `finished`.
        var status: CompetitionStatus
        /// The final (or current) ranking (the API's `…/leaderboard`).
        var leaderboard: [LeaderboardEntryResource]
        /// Its events, in order.
        var events: [CompetitionEventResource]
    }

    /// Everything about one account.
    struct AccountReport: Encodable {
        /// The account (`server:login`).
        var accountId: AccountID
        /// Its balance and equity over the replay.
        var equity: EquitySummary
        /// Its trackers, in declaration order (a deleted one too: it keeps its history).
        var trackers: [TrackerReport]
        /// Its challenges, in declaration order.
        var challenges: [ChallengeReport]
        /// Closed hours, then the open one, if any (MetaApi `EquityChartItem`).
        var equityChart: [EquityChartRecord]
    }

    /// The recording's name (its path).
    var recording: String
    /// The rules file's name, when one was given.
    var rules: String?
    /// Lines of the recording read.
    var linesRead: Int
    /// What could not be read or was refused.
    var problems: [Problem]
    /// Events the risk core emitted.
    var eventCount: Int
    /// Risk inputs skipped as already folded (what a reconnected terminal resent).
    var resentInputsSkipped: Int
    /// Per account, in id order.
    var accounts: [AccountReport]
    /// Competitions, in declaration order.
    var competitions: [CompetitionReport]

    /// The report of everything `replay` played.
    init(_ replay: RecordingReplay) {
        let risk = replay.core.risk
        var closedPeriods: [String: [PeriodStatistics]] = [:]
        var trackerEvents: [String: [TrackerEvent]] = [:]
        var chart: [AccountID: [EquityChartRecord]] = [:]
        var challengeEvents: [String: [ChallengeEventResource]] = [:]
        var competitionEvents: [String: [CompetitionEventResource]] = [:]
        var eventCount = 0
        for output in replay.outputs {
            switch output {
            case .trackerEvent(let event):
                eventCount += 1
                trackerEvents[event.trackerId, default: []].append(event)
            case .periodStatistics(_, let trackerId, let statistics):
                closedPeriods[trackerId, default: []].append(statistics)
            case .equityChart(let accountId, let record):
                chart[accountId, default: []].append(record)
            case .challengeEvent(let sequenceNumber, let event):
                eventCount += 1
                challengeEvents[event.challengeID, default: []].append(
                    ChallengeEventResource(sequenceNumber: sequenceNumber, event))
            case .competitionEvent(let sequenceNumber, let event):
                eventCount += 1
                competitionEvents[event.competitionID, default: []].append(
                    CompetitionEventResource(sequenceNumber: sequenceNumber, event))
            case .inputRefused:
                break  // the fold lists refusals as problems
            }
        }

        recording = replay.recordingName
        rules = replay.rulesName
        linesRead = replay.linesRead
        problems = replay.problems.map {
            Problem(source: $0.source, line: $0.line, error: $0.error, detail: $0.detail)
        }
        self.eventCount = eventCount
        resentInputsSkipped = replay.skippedResentInputs
        accounts = Set(risk.accountIds).union(replay.equitySummaries.keys).sorted().map { accountId in
            let trackers = replay.declaredTrackers.filter { $0.accountId == accountId }.map { declared in
                TrackerReport(
                    tracker: TrackerResource(risk.tracker(id: declared.id) ?? declared),
                    finished: risk.isFinished(accountId: accountId, trackerId: declared.id),
                    periods: closedPeriods[declared.id] ?? [],
                    currentPeriod: risk.currentPeriodStatistics(accountId: accountId, trackerId: declared.id),
                    events: trackerEvents[declared.id] ?? [])
            }
            let challenges = risk.challenges(accountId: accountId).map { challenge in
                ChallengeReport(
                    challenge: ChallengeResource(
                        ChallengeRecord(definition: challenge.definition, progress: challenge.progress)),
                    events: challengeEvents[challenge.definition.id] ?? [])
            }
            var equityChart = chart[accountId] ?? []
            if let open = risk.currentEquityChartRecord(accountId: accountId) { equityChart.append(open) }
            return AccountReport(
                accountId: accountId,
                equity: EquitySummary(replay.equitySummaries[accountId] ?? RecordingReplay.EquitySummary()),
                trackers: trackers, challenges: challenges, equityChart: equityChart)
        }
        competitions = risk.allCompetitions.map { competition in
            CompetitionReport(
                competition: CompetitionResource(
                    CompetitionRecord(definition: competition.definition, leaderboard: competition.leaderboard)),
                status: competition.status,
                leaderboard: competition.leaderboard.map(LeaderboardEntryResource.init),
                events: competitionEvents[competition.definition.id] ?? [])
        }
    }

    /// The API's JSON coding (`APIJSON`: exact numbers, formatted broker times), with sorted keys,
    /// indented unless `compact`.
    static func encoder(compact: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.userInfo = APIJSON.encoder.userInfo
        encoder.outputFormatting =
            compact
            ? [.sortedKeys, .withoutEscapingSlashes]
            : [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }
}
