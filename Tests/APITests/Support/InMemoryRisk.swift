import EquityEngine
import Foundation
import RiskCore
import Store
import StoreBackedAPI
import Synchronization
import TidemarkProtocol

@testable import API

/// The agent in miniature, for the API tests: one writer over the REAL ``RiskEngine`` (trackers,
/// challenges, competitions). Its outputs are committed — to memory, and to a real SQLite
/// ``Store`` when one is given — before the notifier is told, the order the agent keeps. Nothing
/// here computes a risk figure itself. It serves as ``RiskReadModel`` itself (memory), or as the
/// ``LiveRiskView`` behind a ``StoreReadModel``.
final class InMemoryRisk: RiskReadModel, RiskControl, LiveRiskView {
    struct State {
        var engine = RiskEngine()
        var accounts: [AccountID: AccountResource] = [:]
        var events: [EventRecord] = []
        /// Closed periods by tracker id, oldest first.
        var closedStatistics: [String: [StatisticsRecord]] = [:]
        /// Closed chart hours by account, oldest first.
        var closedChart: [AccountID: [ChartRecord]] = [:]
        /// Definitions as declared, by id, in creation order.
        var challengeDefinitions: [ChallengeDefinition] = []
        var competitionDefinitions: [CompetitionDefinition] = []
    }

    let state = Mutex(State())
    let notifier: EventNotifier
    let equity: EquityBroadcaster
    /// Also commits everything here when set.
    let store: Store?

    init(notifier: EventNotifier, equity: EquityBroadcaster, store: Store? = nil) {
        self.notifier = notifier
        self.equity = equity
        self.store = store
    }

    /// Commits a batch to the store, if any (inside the writer's lock: commit before serving).
    private func commit(_ batch: StoreBatch) throws {
        if let store, !batch.isEmpty { _ = try store.commitBlocking(batch) }
    }

    // MARK: Feeding it, as the agent's pipeline would

    /// Adds an account as if its terminal had connected.
    func connect(_ account: AccountID, platform: Platform = .mt5, currency: String = "USD") {
        state.withLock { state in
            let parts = account.rawValue.split(separator: ":")
            state.accounts[account] = AccountResource(
                id: account, server: String(parts[0]), login: Int64(parts[1])!,
                platform: platform, currency: currency, connected: true)
            try? commit(
                StoreBatch(accountUpdates: [
                    AccountUpdate(id: account, platform: platform, currency: currency, connected: true)
                ]))
        }
    }

    /// Folds one input through the engine, commits what comes out, then tells the notifier and
    /// the equity subscribers.
    func ingest(_ input: RiskInput) throws {
        let latest = try state.withLock { state -> UInt64 in
            var batch = StoreBatch()
            for output in state.engine.apply(input) {
                try batch.append(output)
                if let event = try EventRecord(output) {
                    state.events.append(event)
                } else if case .periodStatistics(_, let trackerId, let statistics) = output {
                    state.closedStatistics[trackerId, default: []].append(try StatisticsRecord(statistics))
                } else if case .equityChart(let accountId, let record) = output {
                    state.closedChart[accountId, default: []].append(try ChartRecord(record))
                }
            }
            if case .observation(let observation) = input {
                state.accounts[observation.account]?.equity = observation.equity
                state.accounts[observation.account]?.balance = observation.balance
                state.accounts[observation.account]?.lastSeenBrokerTime = observation.time.formatted
                batch.accountUpdates.append(
                    AccountUpdate(
                        id: observation.account, lastEquity: observation.equity,
                        lastBalance: observation.balance, lastSeenBrokerTime: observation.time))
            }
            try commit(batch)
            return state.engine.nextSequenceNumber - 1
        }
        notifier.published(through: latest)
        if case .observation(let observation) = input { equity.publish(observation) }
    }

    /// Applies a declaration through the engine, mapping its refusal to the API's error.
    private func declare(_ command: RiskCommand, in state: inout State) throws {
        do { try state.engine.apply(command) } catch { throw APIError(error) }
    }

    // MARK: RiskReadModel

    func accounts(allowed: Set<AccountID>?, limit: Int, offset: Int) async throws -> [AccountResource] {
        let all = state.withLock { $0.accounts.values.sorted { $0.id < $1.id } }.filter {
            allowed?.contains($0.id) ?? true
        }
        return Array(all.dropFirst(offset).prefix(limit))
    }

    func account(_ id: AccountID) async throws -> AccountResource? {
        state.withLock { $0.accounts[id] }
    }

    func trackers(accountId: AccountID) async throws -> [TrackerResource] {
        state.withLock { $0.engine.trackers(accountId: accountId).map(TrackerResource.init) }
    }

    func events(_ query: EventSelection) async throws -> [EventRecord] {
        state.withLock { Array($0.events.filter(query.matches).prefix(query.limit)) }
    }

    func closedStatistics(
        accountId: AccountID, trackerId: String, startingAtOrBefore: BrokerTime?,
        limit: Int
    ) async throws -> [StatisticsRecord] {
        state.withLock { state in
            let records = (state.closedStatistics[trackerId] ?? []).filter { record in
                startingAtOrBefore.map { record.startBrokerTime <= $0 } ?? true
            }
            return Array(records.reversed().prefix(limit))
        }
    }

    func openStatistics(accountId: AccountID, trackerId: String) async throws -> StatisticsRecord? {
        try state.withLock { state in
            try state.engine.currentPeriodStatistics(accountId: accountId, trackerId: trackerId).map(
                StatisticsRecord.init)
        }
    }

    func closedEquityChart(accountId: AccountID, from: BrokerTime?, to: BrokerTime?) async throws -> [ChartRecord] {
        state.withLock { state in
            (state.closedChart[accountId] ?? []).filter { record in
                // An hour overlaps [from, to] when it starts by `to` and ends after `from`.
                (to.map { record.startBrokerTime <= $0 } ?? true)
                    && (from.map { record.startBrokerTime.milliseconds + 3_600_000 > $0.milliseconds } ?? true)
            }
        }
    }

    func openEquityChartHour(accountId: AccountID) async throws -> ChartRecord? {
        try state.withLock { try $0.engine.currentEquityChartHour(accountId: accountId).map(ChartRecord.init) }
    }

    func challenges(accountId: AccountID?) async throws -> [ChallengeRecord] {
        try state.withLock { state in
            try state.challengeDefinitions.compactMap { entry in
                guard let challenge = state.engine.challenge(id: entry.id),
                    accountId.map({ challenge.definition.account == $0 }) ?? true
                else { return nil }
                return ChallengeRecord(definition: entry, progress: challenge.progress)
            }
        }
    }

    func challengeTemplate(named name: String) async throws -> JSONBody? {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { return nil }
        let url = Self.repositoryRoot.appendingPathComponent("deploy/challenge-templates/\(name).json")
        return (try? Data(contentsOf: url)).map(JSONBody.init)
    }

    func competitions() async throws -> [CompetitionRecord] {
        try state.withLock { state in
            try state.competitionDefinitions.compactMap { entry in
                guard let competition = state.engine.competition(id: entry.id) else { return nil }
                return CompetitionRecord(definition: entry, leaderboard: competition.leaderboard)
            }
        }
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    // MARK: RiskControl

    func registerAccount(_ registration: AccountRegistration) async throws -> AccountResource {
        if let store {
            _ = try await store.registerAccount(registration.accountId, platform: registration.platform, at: Date())
        }
        return try state.withLock { state in
            guard state.accounts[registration.accountId] == nil else { throw APIError.conflict("Account exists") }
            let account = AccountResource(
                id: registration.accountId, server: registration.server, login: registration.login,
                platform: registration.platform)
            state.accounts[registration.accountId] = account
            return account
        }
    }

    func createTracker(_ tracker: TrackerResource) async throws {
        try state.withLock { state in
            let definition = tracker.definition(createdBrokerTime: state.engine.clock(accountId: tracker.accountId))
            try declare(.createTracker(definition), in: &state)
            try commit(
                StoreBatch(definitionChanges: [.put(try StoredDefinition(tracker: definition, createdAt: Date()))]))
        }
    }

    func renameTracker(accountId: AccountID, trackerId: String, name: String) async throws {
        try state.withLock { state in
            try declare(.renameTracker(accountId: accountId, trackerId: trackerId, name: name), in: &state)
            if let renamed = state.engine.tracker(id: trackerId) {
                try commit(
                    StoreBatch(definitionChanges: [.put(try StoredDefinition(tracker: renamed, createdAt: Date()))]))
            }
        }
    }

    func deleteTracker(accountId: AccountID, trackerId: String) async throws {
        try state.withLock { state in
            try declare(.deleteTracker(accountId: accountId, trackerId: trackerId), in: &state)
            try commit(StoreBatch(definitionChanges: [.delete(kind: .tracker, id: trackerId, at: Date())]))
        }
    }

    func createChallenge(_ decoded: ChallengeDefinition) async throws {
        try state.withLock { state in
            try declare(.createChallenge(decoded), in: &state)
            state.challengeDefinitions.append(decoded)
            try commit(
                StoreBatch(definitionChanges: [.put(try StoredDefinition(challenge: decoded, createdAt: Date()))]))
        }
    }

    func deleteChallenge(accountId: AccountID, id: String) async throws {
        try state.withLock { state in
            try declare(.deleteChallenge(challengeId: id), in: &state)
            state.challengeDefinitions.removeAll { $0.id == id }
            try commit(StoreBatch(definitionChanges: [.delete(kind: .challenge, id: id, at: Date())]))
        }
    }

    func createCompetition(_ decoded: CompetitionDefinition) async throws {
        try state.withLock { state in
            try declare(.createCompetition(decoded), in: &state)
            state.competitionDefinitions.append(decoded)
            try commit(
                StoreBatch(definitionChanges: [.put(try StoredDefinition(competition: decoded, createdAt: Date()))]))
        }
    }

    func deleteCompetition(id: String) async throws {
        try state.withLock { state in
            try declare(.deleteCompetition(competitionId: id), in: &state)
            state.competitionDefinitions.removeAll { $0.id == id }
            try commit(StoreBatch(definitionChanges: [.delete(kind: .competition, id: id, at: Date())]))
        }
    }

    // MARK: LiveRiskView (behind a StoreReadModel)

    func openStatistics(accountId: AccountID, trackerId: String) async throws -> PeriodStatistics? {
        state.withLock { $0.engine.currentPeriodStatistics(accountId: accountId, trackerId: trackerId) }
    }

    func openEquityChartHour(accountId: AccountID) async throws -> OpenEquityChartHour? {
        state.withLock { $0.engine.currentEquityChartHour(accountId: accountId) }
    }

    func challengeProgress(id: String) async throws -> ChallengeProgress? {
        state.withLock { $0.engine.challenge(id: id)?.progress }
    }

    func leaderboard(competitionId: String) async throws -> [LeaderboardEntry]? {
        state.withLock { $0.engine.competition(id: competitionId)?.leaderboard }
    }
}
