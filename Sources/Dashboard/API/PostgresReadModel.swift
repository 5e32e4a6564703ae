import API
import FeedProtocol
import Foundation
import Logging
import PostgresNIO
import RiskCore
import TidemarkProtocol

/// The API's `RiskReadModel` over the dashboard's PostgreSQL, across every agent: what each agent
/// committed (events, closed periods, closed chart hours, declarations: the agent store's own JSON,
/// turned into the API's shapes by the same conversions the agent uses) and what each agent's live
/// engine reported last (`FeedLiveResource`: open periods, the open chart hour, progress,
/// leaderboards, the account resource).
///
/// Two things differ from an agent's answers by design: an event's `sequenceNumber` is the
/// dashboard's own (one order across all agents, so that `previousSequenceNumber` resumes a
/// stream of several agents' events), and an account's live figures are as fresh as the feed.
/// Ids are ordered by their bytes (`COLLATE "C"`), as the agent's SQLite orders them.
public struct PostgresReadModel: RiskReadModel {
    let client: PostgresClient
    let logger: Logger

    /// A read model over the dashboard store's pool.
    public init(store: DashboardStore, logger: Logger) {
        self.client = store.client
        self.logger = logger
    }

    // MARK: Accounts

    public func accounts(allowed: Set<AccountID>?, limit: Int, offset: Int) async throws -> [AccountResource] {
        let ids = allowed.map { $0.map(\.rawValue) }
        let rows = try await client.query(
            """
            SELECT a.account_id, a.connected, a.balance::text, a.equity::text, a.broker_time, a.observed_at IS NOT NULL,
                   l.body
            FROM account a
            LEFT JOIN live_resource l ON l.kind = 'account' AND l.account_id = a.account_id AND l.agent_subject = a.agent_subject
            WHERE \(ids == nil) OR a.account_id = ANY(\(ids ?? [])::text[])
            ORDER BY a.account_id COLLATE "C" LIMIT \(Int64(max(0, limit))) OFFSET \(Int64(max(0, offset)))
            """, logger: logger)
        var accounts: [AccountResource] = []
        for try await row in rows.decode((String, Bool, String?, String?, Int64?, Bool, String?).self) {
            accounts.append(try Self.account(row))
        }
        return accounts
    }

    public func account(_ id: AccountID) async throws -> AccountResource? {
        try await accounts(allowed: [id], limit: 1, offset: 0).first
    }

    /// The agent's account resource, its live figures replaced by the latest account state (fed
    /// more often), as the agent's own read model overlays its latest observation on the stored row.
    static func account(
        _ row: (
            id: String, connected: Bool, balance: String?, equity: String?, brokerTime: Int64?, hasState: Bool,
            live: String?
        )
    ) throws -> AccountResource {
        var account: AccountResource
        if let live = row.live {
            account = try APIJSON.decoder.decode(AccountResource.self, from: Data(live.utf8))
        } else {
            // Only account state so far: what it says, under the id's server and login.
            let separator = row.id.lastIndex(of: ":")
            account = AccountResource(
                id: AccountID(row.id), server: separator.map { String(row.id[..<$0]) } ?? row.id,
                login: separator.flatMap { Int64(row.id[row.id.index(after: $0)...]) } ?? 0)
        }
        guard row.hasState else { return account }
        account.connected = row.connected
        if let balance = row.balance.flatMap(FixedDecimal.init) { account.balance = balance }
        if let equity = row.equity.flatMap(FixedDecimal.init) { account.equity = equity }
        if let time = row.brokerTime { account.lastSeenBrokerTime = BrokerTime(milliseconds: time).formatted }
        return account
    }

    // MARK: Declarations

    public func trackers(accountId: AccountID) async throws -> [TrackerResource] {
        try await declarations(kind: .tracker, accountId: accountId).map { body in
            TrackerResource(try JSONDecoder().decode(TrackerDefinition.self, from: Data(body.body.utf8)))
        }
    }

    public func challenges(accountId: AccountID?) async throws -> [ChallengeRecord] {
        var records: [ChallengeRecord] = []
        for declaration in try await declarations(kind: .challenge, accountId: accountId) {
            let definition = try JSONDecoder().decode(ChallengeDefinition.self, from: Data(declaration.body.utf8))
            let progress = try await live(
                .challengeProgress, agent: declaration.agent, accountId: definition.account.rawValue,
                subjectId: definition.id
            ).map { try JSONDecoder().decode(ChallengeProgress.self, from: Data($0.body.utf8)) }
            records.append(ChallengeRecord(definition: definition, progress: progress))
        }
        return records
    }

    public func challengeTemplate(named name: String) async throws -> JSONBody? { nil }

    public func competitions() async throws -> [CompetitionRecord] {
        var records: [CompetitionRecord] = []
        for declaration in try await declarations(kind: .competition, accountId: nil) {
            let definition = try JSONDecoder().decode(CompetitionDefinition.self, from: Data(declaration.body.utf8))
            let leaderboard = try await live(
                .leaderboard, agent: declaration.agent, accountId: "", subjectId: definition.id
            )
            .map { try JSONDecoder().decode([LeaderboardEntry].self, from: Data($0.body.utf8)) }
            records.append(CompetitionRecord(definition: definition, leaderboard: leaderboard))
        }
        return records
    }

    /// Declarations not deleted, in declaration order (as the agent's store orders them).
    private func declarations(
        kind: EventKind, accountId: AccountID?
    ) async throws -> [(agent: String, body: String)] {
        let rows = try await client.query(
            """
            SELECT agent_subject, body FROM declaration
            WHERE kind = \(kind.rawValue) AND deleted_at IS NULL
                AND (\(accountId == nil) OR account_id = \(accountId?.rawValue ?? ""))
            ORDER BY created_at, id COLLATE "C"
            """, logger: logger)
        var declarations: [(agent: String, body: String)] = []
        for try await (agent, body) in rows.decode((String, String).self) { declarations.append((agent, body)) }
        return declarations
    }

    // MARK: Live resources

    /// The latest live resource with this key (of the agent that owns the account, or that declared
    /// the competition).
    private func live(
        _ kind: FeedLiveResource.Kind, agent: String?, accountId: String, subjectId: String
    ) async throws -> (start: Int64?, body: String)? {
        let rows = try await client.query(
            """
            SELECT l.start_broker_time, l.body FROM live_resource l
            WHERE l.kind = \(kind.rawValue) AND l.account_id = \(accountId) AND l.subject_id = \(subjectId)
                AND l.agent_subject = COALESCE(\(agent), (SELECT agent_subject FROM account WHERE account_id = \(accountId)))
            """, logger: logger)
        for try await (start, body) in rows.decode((Int64?, String).self) { return (start, body) }
        return nil
    }

    public func openStatistics(accountId: AccountID, trackerId: String) async throws -> StatisticsRecord? {
        try await live(.openStatistics, agent: nil, accountId: accountId.rawValue, subjectId: trackerId).map {
            StatisticsRecord(
                startBrokerTime: BrokerTime(milliseconds: $0.start ?? 0), body: JSONBody(Data($0.body.utf8)))
        }
    }

    public func openEquityChartHour(accountId: AccountID) async throws -> ChartRecord? {
        try await live(.openChartHour, agent: nil, accountId: accountId.rawValue, subjectId: "").map {
            ChartRecord(startBrokerTime: BrokerTime(milliseconds: $0.start ?? 0), body: JSONBody(Data($0.body.utf8)))
        }
    }

    // MARK: Committed records

    public func events(_ selection: EventSelection) async throws -> [EventRecord] {
        let allowed = selection.allowedAccounts.map { $0.map(\.rawValue) }
        let rows = try await client.query(
            """
            SELECT dashboard_sequence, kind, account_id, subject_id, broker_time, body FROM event
            WHERE (\(selection.kind == nil) OR kind = \(selection.kind?.rawValue ?? ""))
                AND (\(selection.accountId == nil) OR account_id = \(selection.accountId?.rawValue ?? ""))
                AND (\(selection.subjectId == nil) OR subject_id = \(selection.subjectId ?? ""))
                AND broker_time >= \(selection.fromBrokerTime?.milliseconds ?? .min)
                AND broker_time <= \(selection.toBrokerTime?.milliseconds ?? .max)
                AND dashboard_sequence > \(Int64(clamping: selection.afterSequenceNumber ?? 0))
                AND (\(allowed == nil) OR account_id = ANY(\(allowed ?? [])::text[]))
            ORDER BY dashboard_sequence LIMIT \(Int64(max(1, selection.limit)))
            """, logger: logger)
        var events: [EventRecord] = []
        for try await (sequence, kind, account, subject, time, body) in rows.decode(
            (Int64, String, String?, String, Int64, String).self)
        {
            guard let kind = EventKind(rawValue: kind) else { continue }
            events.append(
                try EventRecord(
                    sequenceNumber: UInt64(sequence), kind: kind, accountId: account.map(AccountID.init),
                    subjectId: subject, brokerTime: BrokerTime(milliseconds: time), riskCoreJSON: Data(body.utf8)))
        }
        return events
    }

    public func closedStatistics(
        accountId: AccountID, trackerId: String, startingAtOrBefore: BrokerTime?, limit: Int
    ) async throws -> [StatisticsRecord] {
        let rows = try await client.query(
            """
            SELECT body FROM period_statistics
            WHERE tracker_id = \(trackerId) AND account_id = \(accountId.rawValue)
                AND start_broker_time <= \(startingAtOrBefore?.milliseconds ?? .max)
                AND agent_subject = (SELECT agent_subject FROM account WHERE account_id = \(accountId.rawValue))
            ORDER BY start_broker_time DESC LIMIT \(Int64(max(1, limit)))
            """, logger: logger)
        var records: [StatisticsRecord] = []
        for try await body in rows.decode(String.self) {
            records.append(try StatisticsRecord(JSONDecoder().decode(PeriodStatistics.self, from: Data(body.utf8))))
        }
        return records
    }

    public func closedEquityChart(
        accountId: AccountID, from: BrokerTime?, to: BrokerTime?
    ) async throws -> [ChartRecord] {
        let rows = try await client.query(
            """
            SELECT body FROM equity_chart
            WHERE account_id = \(accountId.rawValue) AND end_broker_time >= \(from?.milliseconds ?? .min)
                AND start_broker_time <= \(to?.milliseconds ?? .max)
            ORDER BY start_broker_time
            """, logger: logger)
        var records: [ChartRecord] = []
        for try await body in rows.decode(String.self) {
            records.append(try ChartRecord(JSONDecoder().decode(EquityChartRecord.self, from: Data(body.utf8))))
        }
        return records
    }
}
