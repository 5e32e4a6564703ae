/// The feed between an agent and the dashboard: what one POST carries and what the dashboard answers.
///
/// Transport: HTTPS (TLS 1.2 or newer, the agent's client certificate required) `POST
/// /feed/v1/batches` with a JSON ``FeedBatch``; the answer is a JSON ``FeedAcknowledgement``.
/// Delivery is at least once: an agent sends its outbox oldest first, numbered by its own feed
/// sequence (gap-free, starting at 1), and drops rows only once acknowledged; the dashboard stores
/// idempotently and acknowledges the highest sequence up to which it holds everything.
///
/// Record bodies travel as the agent store's JSON text (a string field), so the dashboard keeps
/// exactly what the agent stored, byte for byte.
public enum FeedPath {
    /// Where batches are posted.
    public static let batches = "/feed/v1/batches"
}

/// One POST from an agent.
public struct FeedBatch: Codable, Hashable, Sendable {
    /// Who is sending and how it is doing.
    public var agent: FeedAgentStatus
    /// Outbox rows, in feed-sequence order, without gaps between them.
    public var items: [FeedItem]
    /// The latest state of accounts that changed since the last batch (coalesced, latest wins).
    public var accountStates: [FeedAccountState]
    /// Open parts of the agent's state that changed since the last batch, as its API answers them
    /// (coalesced per resource, latest wins; absent in a batch that carries none).
    public var liveResources: [FeedLiveResource]

    /// A batch.
    public init(
        agent: FeedAgentStatus, items: [FeedItem], accountStates: [FeedAccountState],
        liveResources: [FeedLiveResource] = []
    ) {
        self.agent = agent
        self.items = items
        self.accountStates = accountStates
        self.liveResources = liveResources
    }

    private enum CodingKeys: String, CodingKey {
        case agent, items, accountStates, liveResources
    }

    /// Decodes a batch; `liveResources` may be absent (an agent with nothing live to say).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        agent = try container.decode(FeedAgentStatus.self, forKey: .agent)
        items = try container.decode([FeedItem].self, forKey: .items)
        accountStates = try container.decode([FeedAccountState].self, forKey: .accountStates)
        liveResources = try container.decodeIfPresent([FeedLiveResource].self, forKey: .liveResources) ?? []
    }

    /// Encodes every field; `liveResources` only when there are some.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(agent, forKey: .agent)
        try container.encode(items, forKey: .items)
        try container.encode(accountStates, forKey: .accountStates)
        if !liveResources.isEmpty { try container.encode(liveResources, forKey: .liveResources) }
    }
}

/// An agent's identity and health, sent with every batch. (Its authenticated identity is its TLS
/// certificate's subject, not anything in here.)
public struct FeedAgentStatus: Codable, Hashable, Sendable {
    /// The agent's version.
    public var version: String
    /// The agent store's identity (stable across restarts of that store).
    public var storeId: String
    /// Terminals with a live session now.
    public var terminalsConnected: Int
    /// Outbox rows not acknowledged yet.
    public var outboxBacklog: Int
    /// Age in milliseconds of the oldest unacknowledged row (0 when empty).
    public var outboxOldestAgeMilliseconds: Int64
    /// Rows dropped unacknowledged by the outbox's retention bound, since the store was created.
    public var overflowedRows: Int64
    /// The agent no longer has any row up to here (acknowledged, or dropped by the retention bound):
    /// whatever of them the dashboard has not got is lost, so it records the loss and moves its
    /// acknowledgement past it instead of waiting for rows that will never come.
    public var lostThrough: UInt64

    /// A status.
    public init(
        version: String, storeId: String, terminalsConnected: Int, outboxBacklog: Int,
        outboxOldestAgeMilliseconds: Int64, overflowedRows: Int64, lostThrough: UInt64
    ) {
        self.version = version
        self.storeId = storeId
        self.terminalsConnected = terminalsConnected
        self.outboxBacklog = outboxBacklog
        self.outboxOldestAgeMilliseconds = outboxOldestAgeMilliseconds
        self.overflowedRows = overflowedRows
        self.lostThrough = lostThrough
    }
}

/// One outbox row.
public struct FeedItem: Codable, Hashable, Sendable {
    /// The agent's feed sequence number.
    public var sequence: UInt64
    /// What it carries.
    public var record: FeedRecord

    /// An item.
    public init(sequence: UInt64, record: FeedRecord) {
        self.sequence = sequence
        self.record = record
    }
}

/// What an outbox row carries: one of the agent store's rows, as stored.
public enum FeedRecord: Codable, Hashable, Sendable {
    /// A risk-core event (tracker, challenge, competition).
    case event(FeedEvent)
    /// A closed tracker period's statistics.
    case statistics(FeedStatistics)
    /// A closed equity-chart hour.
    case chartRecord(FeedChartRecord)
    /// A tracker, challenge or competition declaration (or its deletion: `deletedAt`).
    case declaration(FeedDeclaration)

    /// The account the record belongs to (nil for a declaration over several accounts).
    public var accountId: String? {
        switch self {
        case .event(let event): event.accountId
        case .statistics(let statistics): statistics.accountId
        case .chartRecord(let record): record.accountId
        case .declaration(let declaration): declaration.accountId
        }
    }
}

/// An event row of the agent's store.
public struct FeedEvent: Codable, Hashable, Sendable {
    /// The agent's event sequence number.
    public var sequence: UInt64
    /// `tracker`, `challenge` or `competition`.
    public var kind: String
    /// The event type.
    public var type: String
    /// The account, when the event is about one.
    public var accountId: String?
    /// The tracker, challenge or competition id.
    public var subjectId: String
    /// Broker time, milliseconds.
    public var brokerTime: Int64
    /// The event as the agent stored it (JSON text).
    public var body: String

    /// An event.
    public init(
        sequence: UInt64, kind: String, type: String, accountId: String?, subjectId: String, brokerTime: Int64,
        body: String
    ) {
        self.sequence = sequence
        self.kind = kind
        self.type = type
        self.accountId = accountId
        self.subjectId = subjectId
        self.brokerTime = brokerTime
        self.body = body
    }
}

/// A period-statistics row of the agent's store.
public struct FeedStatistics: Codable, Hashable, Sendable {
    /// The tracker.
    public var trackerId: String
    /// The period's start, broker time in milliseconds.
    public var startBrokerTime: Int64
    /// The account.
    public var accountId: String
    /// The period's end, when closed.
    public var endBrokerTime: Int64?
    /// The statistics as the agent stored them (JSON text).
    public var body: String

    /// Statistics.
    public init(trackerId: String, startBrokerTime: Int64, accountId: String, endBrokerTime: Int64?, body: String) {
        self.trackerId = trackerId
        self.startBrokerTime = startBrokerTime
        self.accountId = accountId
        self.endBrokerTime = endBrokerTime
        self.body = body
    }
}

/// An equity-chart row of the agent's store.
public struct FeedChartRecord: Codable, Hashable, Sendable {
    /// The account.
    public var accountId: String
    /// The hour's start, broker time in milliseconds.
    public var startBrokerTime: Int64
    /// The hour's end.
    public var endBrokerTime: Int64
    /// The record as the agent stored it (JSON text).
    public var body: String

    /// A chart record.
    public init(accountId: String, startBrokerTime: Int64, endBrokerTime: Int64, body: String) {
        self.accountId = accountId
        self.startBrokerTime = startBrokerTime
        self.endBrokerTime = endBrokerTime
        self.body = body
    }
}

/// A definition row of the agent's store.
public struct FeedDeclaration: Codable, Hashable, Sendable {
    /// `tracker`, `challenge` or `competition`.
    public var kind: String
    /// Its id.
    public var id: String
    /// Its account (nil for a competition).
    public var accountId: String?
    /// Its name, if any.
    public var name: String?
    /// The declaration as the agent stored it (JSON text).
    public var body: String
    /// When it was declared (Unix milliseconds).
    public var createdAt: Int64
    /// When it was deleted (Unix milliseconds), if it was.
    public var deletedAt: Int64?

    /// A declaration.
    public init(
        kind: String, id: String, accountId: String?, name: String?, body: String, createdAt: Int64, deletedAt: Int64?
    ) {
        self.kind = kind
        self.id = id
        self.accountId = accountId
        self.name = name
        self.body = body
        self.createdAt = createdAt
        self.deletedAt = deletedAt
    }
}

/// An account's live state, coalesced at the agent (at most a few a second, the latest wins).
public struct FeedAccountState: Codable, Hashable, Sendable {
    /// `server:login`.
    public var accountId: String
    /// Whether a terminal session is live.
    public var connected: Bool
    /// Balance, as a decimal string (exact).
    public var balance: String?
    /// Equity, as a decimal string (exact).
    public var equity: String?
    /// Credit, as a decimal string (exact), when the latest figures came from a live observation.
    public var credit: String?
    /// The broker time of the latest observation, milliseconds.
    public var brokerTime: Int64?
    /// When the agent took this state (Unix milliseconds).
    public var observedAt: Int64

    /// A state.
    public init(
        accountId: String, connected: Bool, balance: String?, equity: String?, credit: String? = nil,
        brokerTime: Int64?, observedAt: Int64
    ) {
        self.accountId = accountId
        self.connected = connected
        self.balance = balance
        self.equity = equity
        self.credit = credit
        self.brokerTime = brokerTime
        self.observedAt = observedAt
    }
}

/// The dashboard's answer to a batch.
public struct FeedAcknowledgement: Codable, Hashable, Sendable {
    /// Every sequence up to here is stored (or recorded as lost): the agent may drop those rows.
    public var acknowledgedThrough: UInt64
    /// Accounts in this batch that belong to another agent: their records were not stored.
    public var refusedAccounts: [String]

    /// An acknowledgement.
    public init(acknowledgedThrough: UInt64, refusedAccounts: [String]) {
        self.acknowledgedThrough = acknowledgedThrough
        self.refusedAccounts = refusedAccounts
    }
}

/// Works out what a batch acknowledges, given what the dashboard had: pure, so the rule is tested
/// without a database.
public struct FeedSequencing: Hashable, Sendable {
    /// The items to store (new ones, in order), and the acknowledgement after storing them.
    public struct Plan: Hashable, Sendable {
        /// Items after the previous acknowledgement that continue it without a gap.
        public var itemsToStore: [FeedItem]
        /// The acknowledgement once those are stored.
        public var acknowledgedThrough: UInt64
        /// Sequences skipped as lost to the agent's overflow (the dashboard reports them).
        public var lostCount: UInt64
    }

    /// Plans a batch: items already acknowledged are duplicates (skipped); the batch's
    /// `lostThrough` moves the acknowledgement past rows the agent no longer has; items beyond
    /// a gap are not stored (the agent sends them again after the gap is filled).
    public static func plan(previouslyAcknowledged: UInt64, batch: FeedBatch) -> Plan {
        let lostThrough = batch.agent.lostThrough
        var acknowledged = previouslyAcknowledged
        var lost: UInt64 = 0
        var toStore: [FeedItem] = []
        for item in batch.items.sorted(by: { $0.sequence < $1.sequence }) where item.sequence > acknowledged {
            if item.sequence != acknowledged + 1 {
                // A hole is lost rows only when the agent says so for all of it.
                guard item.sequence - 1 <= lostThrough else { break }
                lost += item.sequence - 1 - acknowledged
                acknowledged = item.sequence - 1
            }
            toStore.append(item)
            acknowledged += 1
        }
        if acknowledged < lostThrough {
            lost += lostThrough - acknowledged
            acknowledged = lostThrough
        }
        return Plan(itemsToStore: toStore, acknowledgedThrough: acknowledged, lostCount: lost)
    }
}

extension FeedRecord {
    private enum CodingKeys: String, CodingKey {
        case event, statistics, chartRecord, declaration
    }

    /// `{"event": {…}}` and so on: one key naming the kind (the agent's store composes the same shape).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let event = try container.decodeIfPresent(FeedEvent.self, forKey: .event) {
            self = .event(event)
        } else if let statistics = try container.decodeIfPresent(FeedStatistics.self, forKey: .statistics) {
            self = .statistics(statistics)
        } else if let record = try container.decodeIfPresent(FeedChartRecord.self, forKey: .chartRecord) {
            self = .chartRecord(record)
        } else if let declaration = try container.decodeIfPresent(FeedDeclaration.self, forKey: .declaration) {
            self = .declaration(declaration)
        } else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "a feed record needs one of event, statistics, chartRecord, declaration"))
        }
    }

    /// Encodes the one key of its kind.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .event(let event): try container.encode(event, forKey: .event)
        case .statistics(let statistics): try container.encode(statistics, forKey: .statistics)
        case .chartRecord(let record): try container.encode(record, forKey: .chartRecord)
        case .declaration(let declaration): try container.encode(declaration, forKey: .declaration)
        }
    }
}

/// The version agents report to the dashboard (and the dashboard reports of itself).
public enum TidemarkVersion {
    /// This build's version.
    public static let current = "0.1.0"
}
