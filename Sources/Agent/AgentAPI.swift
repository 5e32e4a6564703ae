import API
import Bridge
import EquityEngine
import Foundation
import RiskCore
import Store
import StoreBackedAPI
import TidemarkProtocol
import ZeroMQ

/// The API's ``RiskControl``: every change is a declaration through the pipeline's single writer,
/// so it takes its place in the risk core's input sequence and is committed (definition row and
/// checkpoint together) before the call returns.
struct AgentControl: RiskControl {
    let pipeline: Pipeline
    let store: Store

    func registerAccount(_ registration: AccountRegistration) async throws -> AccountResource {
        do {
            try await pipeline.declare(.registerAccount(registration.accountId, registration.platform))
        } catch let error as StoreError where error == .conflict {
            throw APIError.conflict("Account \(registration.accountId) is registered already")
        } catch let error as StoreError where error == .invalidArgument {
            throw APIError.validation(details: [ValidationDetail(parameter: "login", message: error.detail)])
        }
        guard let record = try await store.account(registration.accountId) else {
            throw APIError.notFound("Account \(registration.accountId) not found")
        }
        return AccountResource(record)
    }

    func createTracker(_ tracker: TrackerResource) async throws {
        try await declare(.createTracker(tracker.definition(createdBrokerTime: nil)))
    }

    func renameTracker(accountId: AccountID, trackerId: String, name: String) async throws {
        try await declare(.renameTracker(accountId: accountId, trackerId: trackerId, name: name))
    }

    func deleteTracker(accountId: AccountID, trackerId: String) async throws {
        try await declare(.deleteTracker(accountId: accountId, trackerId: trackerId))
    }

    func createChallenge(_ definition: ChallengeDefinition) async throws {
        try await declare(.createChallenge(definition))
    }

    func deleteChallenge(accountId: AccountID, id: String) async throws {
        try await declare(.deleteChallenge(challengeId: id))
    }

    func createCompetition(_ definition: CompetitionDefinition) async throws {
        try await declare(.createCompetition(definition))
    }

    func deleteCompetition(id: String) async throws {
        try await declare(.deleteCompetition(competitionId: id))
    }

    private func declare(_ command: RiskCommand) async throws {
        do { try await pipeline.declare(.risk(command)) } catch let error as RiskCoreError { throw APIError(error) }
    }
}

/// The API's ``LiveRiskView``: the open parts, read from the writer's risk core between batches.
struct AgentLiveView: LiveRiskView {
    let pipeline: Pipeline

    func openStatistics(accountId: AccountID, trackerId: String) async throws -> PeriodStatistics? {
        pipeline.read { $0.risk.currentPeriodStatistics(accountId: accountId, trackerId: trackerId) }
    }

    func openEquityChartHour(accountId: AccountID) async throws -> OpenEquityChartHour? {
        pipeline.read { $0.risk.currentEquityChartHour(accountId: accountId) }
    }

    func challengeProgress(id: String) async throws -> ChallengeProgress? {
        pipeline.read { $0.risk.challenge(id: id)?.progress }
    }

    func leaderboard(competitionId: String) async throws -> [LeaderboardEntry]? {
        pipeline.read { $0.risk.competition(id: competitionId)?.leaderboard }
    }

    func latestObservation(accountId: AccountID) async throws -> EquityObservation? {
        pipeline.latestObservation(of: accountId)
    }

    func accountError(accountId: AccountID) async throws -> AccountErrorResource? {
        pipeline.accountError(of: accountId).map {
            AccountErrorResource(
                reason: $0.error.reason.rawValue, message: $0.error.detail, since: $0.since,
                brokerTime: $0.error.brokerTime)
        }
    }
}

extension AgentRuntime {
    /// The REST API over this agent: the store for what is committed, the writer for what is open
    /// and for declarations, tokens from the store; wired to the commits (long polls, SSE, equity).
    func makeAPI(templates: [String: JSONBody]) -> TidemarkAPI {
        let notifier = EventNotifier(latestSequenceNumber: store.lastSequenceNumber)
        let equity = EquityBroadcaster()
        onCommit { notice in
            if notice.newEvents != nil { notifier.published(through: notice.lastSequenceNumber) }
            for observation in notice.observations { equity.publish(observation) }
        }
        let readModel = StoreReadModel(store: store, live: AgentLiveView(pipeline: pipeline), templates: templates)
        return TidemarkAPI(
            readModel: readModel, control: AgentControl(pipeline: pipeline, store: store),
            tokens: StoreTokenAuthority(store: store), webhooks: StoreWebhookRegistry(store: store),
            notifier: notifier, equity: equity,
            configuration: APIConfiguration(
                longPollTimeout: .seconds(configuration.longPollSeconds),
                discovery: DiscoveryConfiguration(
                    domain: configuration.apiDomain,
                    region: configuration.apiRegion)),
            terminalKeys: configuration.curveSecretKey == nil ? nil : AgentTerminalKeys(bridge: bridge, store: store))
    }

    /// Challenge templates: every `NAME.json` in the directory, by NAME.
    static func loadTemplates(directory: String?) -> [String: JSONBody] {
        guard let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            return [:]
        }
        var templates: [String: JSONBody] = [:]
        for name in names where name.hasSuffix(".json") {
            if let data = FileManager.default.contents(atPath: directory + "/" + name) {
                templates[String(name.dropLast(5))] = JSONBody(data)
            }
        }
        return templates
    }
}

/// The API's ``TerminalKeyAdministration``: the bridge's allow-list and bindings, with bindings
/// stored before the bridge applies them.
struct AgentTerminalKeys: TerminalKeyAdministration {
    let bridge: BridgeServer
    let store: Store

    func terminalKeys() async throws -> [TerminalKeyResource] {
        guard let access = bridge.curveKeyAccess else { return [] }
        return Set(access.allowList.keys).union(access.bindings.keys).sorted().map { resource($0, in: access) }
    }

    func bindTerminalKey(_ publicKey: String, to account: AccountID?) async throws -> TerminalKeyResource {
        guard let access = bridge.curveKeyAccess, let key = try? CurveKey(z85: publicKey) else {
            throw APIError.notFound("Terminal key \(publicKey) is not on the allow-list")
        }
        let listed = access.allowList[publicKey]
        // Binding needs the key on the list; unbinding also works for a key removed from it, so
        // its account can go to another key.
        guard listed != nil || (account == nil && access.bindings[publicKey] != nil) else {
            throw APIError.notFound("Terminal key \(publicKey) is not on the allow-list")
        }
        guard listed?.isEmpty ?? true else {
            throw APIError.conflict("The allow-list names this key's accounts; edit the list and reload it")
        }
        if let account, let owner = access.owner(of: account), owner != publicKey {
            throw APIError.conflict("\(account) belongs to another key")
        }
        try await store.bindCurveKey(publicKey, to: account, at: Date())
        bridge.bind(key, to: account)
        return resource(publicKey, in: bridge.curveKeyAccess ?? access)
    }

    private func resource(_ key: String, in access: CurveKeyAccess) -> TerminalKeyResource {
        TerminalKeyResource(
            publicKey: key, allowed: access.allowList[key] != nil,
            listedAccounts: (access.allowList[key] ?? []).map(\.rawValue).sorted(),
            boundAccount: access.bindings[key]?.rawValue)
    }
}
