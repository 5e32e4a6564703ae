import Foundation
import RiskCore
import TidemarkProtocol

/// What the API reads: the store for what is committed, the live risk engine for what is still
/// open (the current period, the current chart hour, challenge progress, leaderboards).
///
/// The agent implements it. The API applies MetaApi's semantics (ordering, limits, `realTime`)
/// on top, so every implementation answers alike. Throw ``APIError`` for a client-facing failure;
/// any other error becomes a 500 with a generic message (and is logged).
public protocol RiskReadModel: Sendable {
    /// Known accounts (registered or connected) in id order: `limit` of them from `offset` on,
    /// only those in `allowed` when it is given.
    func accounts(allowed: Set<AccountID>?, limit: Int, offset: Int) async throws -> [AccountResource]
    /// One account, or nil when unknown.
    func account(_ id: AccountID) async throws -> AccountResource?

    /// The account's trackers, in declaration order.
    func trackers(accountId: AccountID) async throws -> [TrackerResource]

    /// Committed events the selection matches (``EventSelection/matches(_:)``), ascending by
    /// sequence number, at most `selection.limit`.
    func events(_ selection: EventSelection) async throws -> [EventRecord]

    /// A tracker's closed periods starting at or before `startingAtOrBefore` (nil: any), newest
    /// first, at most `limit`.
    func closedStatistics(
        accountId: AccountID, trackerId: String, startingAtOrBefore: BrokerTime?,
        limit: Int
    ) async throws -> [StatisticsRecord]
    /// A tracker's open period ("realTime"), nil when none is open.
    func openStatistics(accountId: AccountID, trackerId: String) async throws -> StatisticsRecord?

    /// Closed chart hours starting within `from...to` (nil: unbounded), ascending.
    func closedEquityChart(accountId: AccountID, from: BrokerTime?, to: BrokerTime?) async throws -> [ChartRecord]
    /// The account's open chart hour ("realTime"), nil when none.
    func openEquityChartHour(accountId: AccountID) async throws -> ChartRecord?

    /// Challenges of one account (nil: of every account), in creation order.
    func challenges(accountId: AccountID?) async throws -> [ChallengeRecord]
    /// A challenge template (a partial challenge definition JSON object) by name.
    func challengeTemplate(named name: String) async throws -> JSONBody?

    /// Every competition, in creation order.
    func competitions() async throws -> [CompetitionRecord]
}

/// What the API asks the agent to change. Every call is a declaration that must go through the
/// agent's single writer, so it enters the risk core's deterministic input sequence (and is
/// stored) before the call returns.
///
/// Throw ``APIError`` for a client-facing failure: `.notFound` (no such tracker), `.conflict`
/// (duplicate name or id), `.validation` (the risk core rejected a definition; say which field).
///
/// A server that only reads (one answering from a copy of the agents' data) implements every
/// method by throwing ``APIError/readOnlyServer(_:)``: a 403 `ForbiddenError` naming where to
/// write instead, the answer a read-only token gets for the same request.
public protocol RiskControl: Sendable {
    /// Registers an account before its terminal connects. `.conflict` when it is registered already.
    func registerAccount(_ registration: AccountRegistration) async throws -> AccountResource

    /// Declares a tracker (its `id` chosen by the API, unique). The account exists.
    func createTracker(_ tracker: TrackerResource) async throws
    /// Renames a tracker (MetaApi's update: only the name).
    func renameTracker(accountId: AccountID, trackerId: String, name: String) async throws
    /// Removes a tracker.
    func deleteTracker(accountId: AccountID, trackerId: String) async throws

    /// Declares a challenge (its id and account are the definition's; the API checked the id is free).
    func createChallenge(_ definition: ChallengeDefinition) async throws
    /// Removes a challenge.
    func deleteChallenge(accountId: AccountID, id: String) async throws

    /// Declares a competition (its id and accounts are the definition's; the API checked the id is
    /// free and the accounts exist).
    func createCompetition(_ definition: CompetitionDefinition) async throws
    /// Removes a competition.
    func deleteCompetition(id: String) async throws
}

/// The CURVE keys of the terminals and the accounts they may speak for (admin only). The agent
/// implements it when CURVE is on.
public protocol TerminalKeyAdministration: Sendable {
    /// Every key on the allow-list, and every key bound to an account, by public key.
    func terminalKeys() async throws -> [TerminalKeyResource]
    /// Binds a key listed without accounts to `account` (nil: unbinds it, so its next HELLO binds
    /// it); its live session ends if the account changed. `.notFound` for a key not on the list,
    /// `.conflict` for a key whose accounts the allow-list names or an account another key owns.
    func bindTerminalKey(_ publicKey: String, to account: AccountID?) async throws -> TerminalKeyResource
}

/// One terminal key as the admin API shows it.
public struct TerminalKeyResource: Codable, Hashable, Sendable {
    /// The terminal's CURVE public key, Z85.
    public var publicKey: String
    /// Whether the key is on the allow-list now (a removed key keeps its binding).
    public var allowed: Bool
    /// The accounts the allow-list names after the key; empty: the key is bound to one account.
    public var listedAccounts: [String]
    /// The account the key is bound to (its first HELLO's, or set here); nil while unbound.
    public var boundAccount: String?

    private enum CodingKeys: String, CodingKey {
        case publicKey, allowed
        case listedAccounts = "listedAccountIds"
        case boundAccount = "boundAccountId"
    }

    public init(publicKey: String, allowed: Bool, listedAccounts: [String], boundAccount: String?) {
        self.publicKey = publicKey
        self.allowed = allowed
        self.listedAccounts = listedAccounts
        self.boundAccount = boundAccount
    }
}
