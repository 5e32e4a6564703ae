import Foundation
import RiskCore
import TidemarkProtocol

/// One JSON object, already encoded in its API shape (the risk core's `Codable` output, as the
/// store keeps it). The API writes it as is: events, statistics and chart records go from the
/// store to the client without being decoded.
public struct JSONBody: Hashable, Sendable {
    /// The encoded JSON.
    public var data: Data
    /// JSON that is already encoded.
    public init(_ data: Data) { self.data = data }
    /// The JSON encoding of `value`.
    public init(encoding value: some Encodable) throws { data = try APIJSON.encoder.encode(value) }
}

/// One committed risk-core event with the columns the API filters on.
public struct EventRecord: Hashable, Sendable {
    /// The risk core's global, gap-free sequence number.
    public var sequenceNumber: UInt64
    /// Tracker, challenge or competition.
    public var kind: EventKind
    /// Nil for an event of a whole competition.
    public var accountId: AccountID?
    /// The tracker, challenge or competition id.
    public var subjectId: String
    /// The event's broker time.
    public var brokerTime: BrokerTime
    /// The event in its API shape (MetaApi `TrackerEvent` for trackers).
    public var body: JSONBody

    /// An event with every field given.
    public init(
        sequenceNumber: UInt64, kind: EventKind, accountId: AccountID?, subjectId: String,
        brokerTime: BrokerTime, body: JSONBody
    ) {
        self.sequenceNumber = sequenceNumber
        self.kind = kind
        self.accountId = accountId
        self.subjectId = subjectId
        self.brokerTime = brokerTime
        self.body = body
    }
}

/// A period of a tracker (MetaApi `PeriodStatistics`) with its start, for ordering.
public struct StatisticsRecord: Hashable, Sendable {
    /// The period's first millisecond.
    public var startBrokerTime: BrokerTime
    /// The period in its API shape.
    public var body: JSONBody
    /// A period record with every field given.
    public init(startBrokerTime: BrokerTime, body: JSONBody) {
        self.startBrokerTime = startBrokerTime
        self.body = body
    }
}

/// An hour of an account's equity chart (MetaApi `EquityChartItem`) with its start.
public struct ChartRecord: Hashable, Sendable {
    /// The hour's first millisecond.
    public var startBrokerTime: BrokerTime
    /// The hour in its API shape.
    public var body: JSONBody
    /// A chart record with every field given.
    public init(startBrokerTime: BrokerTime, body: JSONBody) {
        self.startBrokerTime = startBrokerTime
        self.body = body
    }
}

/// An account as `GET /users/current/accounts` shows it.
public struct AccountResource: Hashable, Sendable, Codable {
    /// `server:login`.
    public var id: AccountID
    /// The trade server.
    public var server: String
    /// The login on that server.
    public var login: Int64
    /// Nil until registered with a platform or connected.
    public var platform: Platform?
    /// The deposit currency, once the terminal said hello.
    public var currency: String?
    /// Whether a terminal session is live.
    public var connected: Bool
    /// The last equity seen.
    public var equity: FixedDecimal?
    /// The last balance seen.
    public var balance: FixedDecimal?
    /// Broker time of the last equity/balance (`YYYY-MM-DD HH:mm:ss.SSS`).
    public var lastSeenBrokerTime: String?
    /// Terminal-reported equity minus computed equity at the last reconciliation.
    public var reconciliationDrift: FixedDecimal?
    /// What enforcement holds on the account (e.g. `trading_disabled`), nil when none.
    public var enforcementState: String?
    /// When a terminal session last opened (ISO 8601, UTC); nil if none ever did.
    public var lastConnectedAt: String?
    /// When the account last went from connected to disconnected (ISO 8601, UTC); nil if it never did.
    public var lastDisconnectedAt: String?
    /// Why the agent refuses the account's input, while it does (a figure outside the decimal
    /// or calendar range); nil otherwise. A snapshot that folds cleanly ends it.
    public var error: AccountErrorResource?

    /// An account resource; `lastSeenBrokerTime` is formatted the MetaApi way, the connection times
    /// as ISO 8601.
    public init(
        id: AccountID, server: String, login: Int64, platform: Platform? = nil, currency: String? = nil,
        connected: Bool = false, equity: FixedDecimal? = nil, balance: FixedDecimal? = nil,
        lastSeenBrokerTime: BrokerTime? = nil, reconciliationDrift: FixedDecimal? = nil,
        enforcementState: String? = nil, lastConnectedAt: Date? = nil, lastDisconnectedAt: Date? = nil
    ) {
        self.id = id
        self.server = server
        self.login = login
        self.platform = platform
        self.currency = currency
        self.connected = connected
        self.equity = equity
        self.balance = balance
        self.lastSeenBrokerTime = lastSeenBrokerTime?.formatted
        self.reconciliationDrift = reconciliationDrift
        self.enforcementState = enforcementState
        self.lastConnectedAt = lastConnectedAt?.ISO8601Format()
        self.lastDisconnectedAt = lastDisconnectedAt?.ISO8601Format()
    }
}

/// An account in error (``AccountResource/error``).
public struct AccountErrorResource: Hashable, Sendable, Codable {
    /// What could not be represented (`balance_out_of_range`, `deal_out_of_range`,
    /// `time_out_of_range`, …: the label of `tidemark_account_input_refusals_total`).
    public var reason: String
    /// Which figure or component, for people.
    public var message: String
    /// When the agent marked the account (ISO 8601, UTC).
    public var startedAt: String
    /// The broker time of the input that began it (`YYYY-MM-DD HH:mm:ss.SSS`), when it had one
    /// within the calendar.
    public var brokerTime: String?

    /// An error resource with every field given.
    public init(reason: String, message: String, since: Date, brokerTime: BrokerTime?) {
        self.reason = reason
        self.message = message
        self.startedAt = since.ISO8601Format()
        self.brokerTime = brokerTime.flatMap { $0.isInCalendarRange ? $0.formatted : nil }
    }
}

/// The body of `POST /users/current/accounts`: register an account before its terminal connects.
public struct AccountRegistration: Hashable, Sendable, Codable {
    /// The login on the server.
    public var login: Int64
    /// The trade server.
    public var server: String
    /// MT4 or MT5.
    public var platform: Platform

    /// A registration with every field given.
    public init(login: Int64, server: String, platform: Platform) {
        self.login = login
        self.server = server
        self.platform = platform
    }

    /// `server:login`.
    public var accountId: AccountID { AccountID(server: server, login: login) }
}

/// A profit/drawdown tracker: MetaApi's `Tracker` (with `_id`), plus the account.
public struct TrackerResource: Hashable, Sendable, Codable {
    /// The tracker id (MetaApi's `_id`).
    public var id: String
    /// The tracked account.
    public var accountId: AccountID
    /// Unique per account.
    public var name: String
    /// Which periods the tracker measures.
    public var period: TrackerPeriod
    /// When tracking starts; nil: when declared.
    public var startBrokerTime: BrokerTime?
    /// When tracking ends (inclusive); nil: never.
    public var endBrokerTime: BrokerTime?
    /// Absolute drawdown that fires an event when exceeded (account currency).
    public var absoluteDrawdownThreshold: FixedDecimal?
    /// Relative drawdown, a fraction of the period's initial balance.
    public var relativeDrawdownThreshold: FixedDecimal?
    /// Absolute profit that fires an event when exceeded (account currency).
    public var absoluteProfitThreshold: FixedDecimal?
    /// Relative profit, a fraction of the period's initial balance.
    public var relativeProfitThreshold: FixedDecimal?

    /// A tracker with every field given.
    public init(
        id: String, accountId: AccountID, name: String, period: TrackerPeriod,
        startBrokerTime: BrokerTime? = nil, endBrokerTime: BrokerTime? = nil,
        absoluteDrawdownThreshold: FixedDecimal? = nil, relativeDrawdownThreshold: FixedDecimal? = nil,
        absoluteProfitThreshold: FixedDecimal? = nil, relativeProfitThreshold: FixedDecimal? = nil
    ) {
        self.id = id
        self.accountId = accountId
        self.name = name
        self.period = period
        self.startBrokerTime = startBrokerTime
        self.endBrokerTime = endBrokerTime
        self.absoluteDrawdownThreshold = absoluteDrawdownThreshold
        self.relativeDrawdownThreshold = relativeDrawdownThreshold
        self.absoluteProfitThreshold = absoluteProfitThreshold
        self.relativeProfitThreshold = relativeProfitThreshold
    }

    /// MetaApi's `Tracker` JSON, as the risk core encodes a tracker definition (the id as `_id`).
    public init(from decoder: any Decoder) throws {
        self.init(try TrackerDefinition(metaApiTrackerFrom: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try definition(createdBrokerTime: nil).encodeAsMetaApiTracker(to: encoder)
    }
}

/// A challenge as the read model knows it.
public struct ChallengeRecord: Hashable, Sendable {
    /// The challenge id.
    public var id: String { definition.id }
    /// The challenged account.
    public var accountId: AccountID { definition.account }
    /// The definition, as declared (after template expansion).
    public var definition: ChallengeDefinition
    /// The live progress (status, phase, per-rule progress).
    public var progress: ChallengeProgress?

    /// A challenge record with every field given.
    public init(definition: ChallengeDefinition, progress: ChallengeProgress?) {
        self.definition = definition
        self.progress = progress
    }
}

/// A competition as the read model knows it.
public struct CompetitionRecord: Hashable, Sendable {
    /// The competition id.
    public var id: String { definition.id }
    /// The competing accounts.
    public var accountIds: [AccountID] { definition.accounts }
    /// The definition, as declared.
    public var definition: CompetitionDefinition
    /// The live leaderboard.
    public var leaderboard: [LeaderboardEntry]?

    /// A competition record with every field given.
    public init(definition: CompetitionDefinition, leaderboard: [LeaderboardEntry]?) {
        self.definition = definition
        self.leaderboard = leaderboard
    }
}
