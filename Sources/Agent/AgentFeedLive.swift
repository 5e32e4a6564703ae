import API
import Feed
import FeedProtocol
import Foundation
import Synchronization
import TidemarkProtocol

/// The agent's live resources for the dashboard feed, read through the agent's own API read model,
/// so the dashboard's read model hands the API's routes exactly the values this one does.
///
/// Commits mark accounts as moved (those with an observation); a commit without observations (a
/// declaration, a connection, a heartbeat that turned a period) marks every account, since it may
/// change any open part. The feed asks at most once per `feedLiveIntervalMilliseconds`, so the cost is
/// bounded by that interval, not by the tick rate.
final class AgentLiveResources: FeedLiveSource {
    private let readModel: any RiskReadModel
    private let moved = Mutex<(all: Bool, accounts: Set<AccountID>)>((true, []))

    init(readModel: any RiskReadModel) {
        self.readModel = readModel
    }

    /// Called from the commit hook (the writer's thread): one lock, a set insert.
    func committed(_ notice: CommitNotice) {
        moved.withLock { moved in
            if notice.observations.isEmpty {
                moved.all = true
            } else if !moved.all {
                for observation in notice.observations { moved.accounts.insert(observation.account) }
            }
        }
    }

    func report() async -> LiveResourceLedger.Report {
        let (all, accounts) = moved.withLock { moved in
            defer { moved = (false, []) }
            return (moved.all, moved.accounts)
        }
        guard all || !accounts.isEmpty else { return .init(accounts: [], coversCompetitions: false, resources: []) }
        do {
            var ids = accounts.sorted()
            if all { ids = try await everyAccount() }
            var resources: [FeedLiveResource] = []
            for id in ids { resources += try await self.resources(of: id) }
            for competition in try await readModel.competitions() {
                resources.append(
                    FeedLiveResource(
                        kind: .leaderboard, accountId: nil, subjectId: competition.id,
                        body: try competition.leaderboard.map(Self.riskCoreJSON)))
            }
            return .init(accounts: Set(ids.map(\.rawValue)), coversCompetitions: true, resources: resources)
        } catch {
            // Looked at again next time (the store or the engine failed for a moment).
            moved.withLock { $0.all = true }
            return .init(accounts: [], coversCompetitions: false, resources: [])
        }
    }

    private func everyAccount() async throws -> [AccountID] {
        var ids: [AccountID] = []
        while true {
            let page = try await readModel.accounts(allowed: nil, limit: 1_000, offset: ids.count)
            ids += page.map(\.id)
            if page.count < 1_000 { return ids }
        }
    }

    /// Everything live of one account, as the API answers it.
    private func resources(of id: AccountID) async throws -> [FeedLiveResource] {
        guard let account = try await readModel.account(id) else { return [] }
        let accountId = id.rawValue
        var resources = [FeedLiveResource(kind: .account, accountId: accountId, body: try Self.json(account))]
        for tracker in try await readModel.trackers(accountId: id) {
            if let open = try await readModel.openStatistics(accountId: id, trackerId: tracker.id) {
                resources.append(
                    FeedLiveResource(
                        kind: .openStatistics, accountId: accountId, subjectId: tracker.id,
                        startBrokerTime: open.startBrokerTime.milliseconds,
                        body: String(decoding: open.body.data, as: UTF8.self)))
            }
        }
        if let hour = try await readModel.openEquityChartHour(accountId: id) {
            resources.append(
                FeedLiveResource(
                    kind: .openChartHour, accountId: accountId, startBrokerTime: hour.startBrokerTime.milliseconds,
                    body: String(decoding: hour.body.data, as: UTF8.self)))
        }
        for challenge in try await readModel.challenges(accountId: id) {
            guard let progress = challenge.progress else { continue }
            resources.append(
                FeedLiveResource(
                    kind: .challengeProgress, accountId: accountId, subjectId: challenge.id,
                    body: try Self.riskCoreJSON(progress)))
        }
        return resources
    }

    /// An API resource as the API writes it.
    private static func json(_ value: some Encodable) throws -> String {
        String(decoding: try APIJSON.encoder.encode(value), as: UTF8.self)
    }

    /// A risk-core value in its own Codable form (sorted keys, as the store keeps definitions and events).
    private static func riskCoreJSON(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
