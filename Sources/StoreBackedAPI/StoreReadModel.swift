import API
import EquityEngine
import Foundation
import RiskCore
import Store
import TidemarkProtocol

/// What only the live risk engine knows: the open parts. The agent answers from its single
/// writer's engine (a snapshot or a query through the writer).
public protocol LiveRiskView: Sendable {
    /// A tracker's open period.
    func openStatistics(accountId: AccountID, trackerId: String) async throws -> PeriodStatistics?
    /// An account's open chart hour, with the running sums behind its averages.
    func openEquityChartHour(accountId: AccountID) async throws -> OpenEquityChartHour?
    /// A challenge's live progress.
    func challengeProgress(id: String) async throws -> ChallengeProgress?
    /// A competition's live leaderboard.
    func leaderboard(competitionId: String) async throws -> [LeaderboardEntry]?
    /// The account's latest balance/equity observation (newer than the stored account row,
    /// which is written with the engine's checkpoints).
    func latestObservation(accountId: AccountID) async throws -> EquityObservation?
    /// Why the agent refuses the account's input, while it does.
    func accountError(accountId: AccountID) async throws -> AccountErrorResource?
}

extension LiveRiskView {
    /// No live figures: the stored row is the latest.
    public func latestObservation(accountId: AccountID) async throws -> EquityObservation? { nil }
    /// No live errors.
    public func accountError(accountId: AccountID) async throws -> AccountErrorResource? { nil }
}

/// `RiskReadModel` over the SQLite store (what is committed) and the live engine (what is open).
public struct StoreReadModel: RiskReadModel {
    /// The agent's store: what is committed.
    public let store: Store
    /// The agent's engine: what is still open.
    public let live: any LiveRiskView
    /// Challenge templates by name (deploy/challenge-templates/NAME.json, read by the agent).
    public let templates: [String: JSONBody]

    /// A read model over `store` and `live`.
    public init(store: Store, live: any LiveRiskView, templates: [String: JSONBody] = [:]) {
        self.store = store
        self.live = live
        self.templates = templates
    }

    public func accounts(allowed: Set<AccountID>?, limit: Int, offset: Int) async throws -> [AccountResource] {
        var accounts: [AccountResource] = []
        for record in try await store.accounts(allowed: allowed, limit: limit, offset: offset) {
            accounts.append(try await withLiveEquity(AccountResource(record)))
        }
        return accounts
    }

    public func account(_ id: AccountID) async throws -> AccountResource? {
        guard let record = try await store.account(id) else { return nil }
        return try await withLiveEquity(AccountResource(record))
    }

    /// The stored account with its live balance, equity and broker time.
    private func withLiveEquity(_ account: AccountResource) async throws -> AccountResource {
        var account = account
        account.error = try await live.accountError(accountId: account.id)
        guard let observation = try await live.latestObservation(accountId: account.id) else { return account }
        account.equity = observation.equity
        account.balance = observation.balance
        account.lastSeenBrokerTime = observation.time.formatted
        return account
    }

    public func trackers(accountId: AccountID) async throws -> [TrackerResource] {
        try await store.definitions(.tracker, accountId: accountId).map { stored throws -> TrackerResource in
            TrackerResource(try stored.decodeBody(as: TrackerDefinition.self))
        }
    }

    public func events(_ selection: EventSelection) async throws -> [EventRecord] {
        try await store.events(EventQuery(selection)).map(EventRecord.init)
    }

    public func closedStatistics(
        accountId: AccountID, trackerId: String, startingAtOrBefore: BrokerTime?,
        limit: Int
    ) async throws -> [StatisticsRecord] {
        try await store.statistics(
            accountId: accountId, trackerId: trackerId, startingAtOrBefore: startingAtOrBefore,
            limit: limit
        ).map { try StatisticsRecord($0.decodeBody(as: PeriodStatistics.self)) }
    }

    public func openStatistics(accountId: AccountID, trackerId: String) async throws -> StatisticsRecord? {
        try await live.openStatistics(accountId: accountId, trackerId: trackerId).map(StatisticsRecord.init)
    }

    public func closedEquityChart(
        accountId: AccountID, from: BrokerTime?, to: BrokerTime?
    ) async throws -> [ChartRecord] {
        try await store.equityChart(accountId: accountId, from: from, to: to)
            .map { try ChartRecord($0.decodeBody(as: EquityChartRecord.self)) }
    }

    public func openEquityChartHour(accountId: AccountID) async throws -> ChartRecord? {
        try await live.openEquityChartHour(accountId: accountId).map(ChartRecord.init)
    }

    public func challenges(accountId: AccountID?) async throws -> [ChallengeRecord] {
        var records: [ChallengeRecord] = []
        for stored in try await store.definitions(.challenge, accountId: accountId) {
            records.append(
                ChallengeRecord(
                    definition: try stored.decodeBody(as: ChallengeDefinition.self),
                    progress: try await live.challengeProgress(id: stored.id)))
        }
        return records
    }

    public func challengeTemplate(named name: String) async throws -> JSONBody? { templates[name] }

    public func competitions() async throws -> [CompetitionRecord] {
        var records: [CompetitionRecord] = []
        for stored in try await store.definitions(.competition) {
            records.append(
                CompetitionRecord(
                    definition: try stored.decodeBody(as: CompetitionDefinition.self),
                    leaderboard: try await live.leaderboard(competitionId: stored.id)))
        }
        return records
    }
}

extension AccountResource {
    /// The API's view of a stored account.
    public init(_ record: AccountRecord) {
        self.init(
            id: record.id, server: record.server, login: record.login, platform: record.platform,
            currency: record.currency,
            connected: record.connected, equity: record.lastEquity, balance: record.lastBalance,
            lastSeenBrokerTime: record.lastSeenBrokerTime, reconciliationDrift: record.reconciliationDrift,
            enforcementState: record.enforcementState, lastConnectedAt: record.lastConnectedAt,
            lastDisconnectedAt: record.lastDisconnectedAt)
    }
}

extension EventRecord {
    /// A stored event (the risk core's canonical JSON) in the API's form (`EventRecord.init(sequenceNumber:kind:accountId:subjectId:brokerTime:riskCoreJSON:)`).
    public init(_ stored: StoredEvent) throws {
        try self.init(
            sequenceNumber: stored.sequenceNumber, kind: EventKind(stored.kind), accountId: stored.accountId,
            subjectId: stored.subjectId, brokerTime: stored.brokerTime, riskCoreJSON: stored.body)
    }
}
