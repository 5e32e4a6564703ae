import Foundation
import TidemarkProtocol

// The values the store keeps. Bodies are canonical JSON (see ``CanonicalJSON``) of the risk core's
// own Codable types, so a field added there needs no migration here; the other properties are the
// columns that queries filter and sort on.

/// What a definition or an event belongs to.
public enum SubjectKind: String, Hashable, Sendable, Codable, CaseIterable {
    case tracker, challenge, competition
}

/// One risk-core event (tracker, challenge or competition), numbered by the core's global,
/// gap-free sequence.
public struct StoredEvent: Hashable, Sendable {
    /// The risk core's global sequence number: the primary key, from 1, without gaps.
    public var sequenceNumber: UInt64
    public var kind: SubjectKind
    /// The event's own type within its kind (`drawdown`, `challengeFailed`, `rankChanged`…), for filters.
    public var type: String
    /// The account, or nil for an event of a whole competition (started, finished).
    public var accountId: AccountID?
    /// The tracker, challenge or competition id.
    public var subjectId: String
    public var brokerTime: BrokerTime
    /// The event's canonical JSON.
    public var body: Data

    public init(sequenceNumber: UInt64, kind: SubjectKind, type: String, accountId: AccountID?, subjectId: String,
                brokerTime: BrokerTime, body: Data) {
        self.sequenceNumber = sequenceNumber; self.kind = kind; self.type = type; self.accountId = accountId
        self.subjectId = subjectId; self.brokerTime = brokerTime; self.body = body
    }

    /// An event whose body is the canonical JSON of `value`.
    public init(sequenceNumber: UInt64, kind: SubjectKind, type: String, accountId: AccountID?, subjectId: String,
                brokerTime: BrokerTime, encoding value: some Encodable) throws(StoreError) {
        self.init(sequenceNumber: sequenceNumber, kind: kind, type: type, accountId: accountId, subjectId: subjectId,
                  brokerTime: brokerTime, body: try CanonicalJSON.encode(value))
    }

    /// The body decoded as `type`.
    public func decodeBody<T: Decodable>(as type: T.Type) throws(StoreError) -> T {
        try CanonicalJSON.decode(type, from: body)
    }
}

/// A closed period of a tracker (MetaApi `PeriodStatistics`). Natural key: tracker id + period start.
public struct StoredStatistics: Hashable, Sendable {
    public var accountId: AccountID
    public var trackerId: String
    public var startBrokerTime: BrokerTime
    public var endBrokerTime: BrokerTime?
    public var body: Data

    public init(accountId: AccountID, trackerId: String, startBrokerTime: BrokerTime, endBrokerTime: BrokerTime?, body: Data) {
        self.accountId = accountId; self.trackerId = trackerId
        self.startBrokerTime = startBrokerTime; self.endBrokerTime = endBrokerTime; self.body = body
    }

    public func decodeBody<T: Decodable>(as type: T.Type) throws(StoreError) -> T {
        try CanonicalJSON.decode(type, from: body)
    }
}

/// A closed hour of an account's equity chart (MetaApi `EquityChartItem`). Natural key: account + hour start.
public struct StoredChartRecord: Hashable, Sendable {
    public var accountId: AccountID
    public var startBrokerTime: BrokerTime
    public var endBrokerTime: BrokerTime
    public var body: Data

    public init(accountId: AccountID, startBrokerTime: BrokerTime, endBrokerTime: BrokerTime, body: Data) {
        self.accountId = accountId; self.startBrokerTime = startBrokerTime
        self.endBrokerTime = endBrokerTime; self.body = body
    }

    public func decodeBody<T: Decodable>(as type: T.Type) throws(StoreError) -> T {
        try CanonicalJSON.decode(type, from: body)
    }
}

/// One deal of the deal journal. Unique by account and ticket: journaling it again changes nothing.
public struct JournalDeal: Hashable, Sendable {
    public var accountId: AccountID
    public var deal: Deal

    public init(accountId: AccountID, deal: Deal) { self.accountId = accountId; self.deal = deal }
}

/// An account as the store knows it: registered through the API, seen through the bridge, or both.
public struct AccountRecord: Hashable, Sendable {
    public var id: AccountID
    public var server: String
    public var login: Int64
    /// Nil until registered with a platform or connected.
    public var platform: Platform?
    /// The deposit currency, known once the terminal said hello.
    public var currency: String?
    /// When the account was registered through the API; nil when it only connected.
    public var registeredAt: Date?
    public var lastEquity: FixedDecimal?
    public var lastBalance: FixedDecimal?
    /// Broker time of the last equity/balance seen.
    public var lastSeenBrokerTime: BrokerTime?
    public var connected: Bool
    /// Terminal-reported equity minus computed equity at the last reconciliation.
    public var reconciliationDrift: FixedDecimal?
    /// Free text the agent sets (e.g. `trading_disabled`); nil when nothing is enforced.
    public var enforcementState: String?
}

/// A change to an account. Nil fields are left as stored; the account is created when new.
public struct AccountUpdate: Hashable, Sendable {
    public var id: AccountID
    public var platform: Platform?
    public var currency: String?
    public var lastEquity: FixedDecimal?
    public var lastBalance: FixedDecimal?
    public var lastSeenBrokerTime: BrokerTime?
    public var connected: Bool?
    public var reconciliationDrift: FixedDecimal?
    /// `.some(nil)` clears the state; nil leaves it.
    public var enforcementState: String??

    public init(id: AccountID, platform: Platform? = nil, currency: String? = nil, lastEquity: FixedDecimal? = nil,
                lastBalance: FixedDecimal? = nil, lastSeenBrokerTime: BrokerTime? = nil, connected: Bool? = nil,
                reconciliationDrift: FixedDecimal? = nil, enforcementState: String?? = nil) {
        self.id = id; self.platform = platform; self.currency = currency; self.lastEquity = lastEquity
        self.lastBalance = lastBalance; self.lastSeenBrokerTime = lastSeenBrokerTime; self.connected = connected
        self.reconciliationDrift = reconciliationDrift; self.enforcementState = enforcementState
    }
}

/// One bridge session of an account (HELLO to BYE, timeout or agent stop).
public struct BridgeSessionRecord: Hashable, Sendable {
    public var sessionId: String
    public var accountId: AccountID
    public var openedAt: Date
    public var closedAt: Date?
    /// `bye:<reason>`, `timeout`, `agent_stopped`… as the agent names it.
    public var closeReason: String?
}

/// A session opened or closed.
public enum SessionChange: Hashable, Sendable {
    case opened(sessionId: String, accountId: AccountID, at: Date)
    case closed(sessionId: String, at: Date, reason: String)
}

/// A tracker, challenge or competition definition.
public struct StoredDefinition: Hashable, Sendable {
    public var kind: SubjectKind
    /// Unique within its kind.
    public var id: String
    /// The account; nil for a competition (its accounts are in the body).
    public var accountId: AccountID?
    /// Trackers: unique per account among live definitions.
    public var name: String?
    /// The definition's canonical JSON.
    public var body: Data
    public var createdAt: Date
    public var deletedAt: Date?

    public init(kind: SubjectKind, id: String, accountId: AccountID?, name: String?, body: Data,
                createdAt: Date, deletedAt: Date? = nil) {
        self.kind = kind; self.id = id; self.accountId = accountId; self.name = name; self.body = body
        self.createdAt = createdAt; self.deletedAt = deletedAt
    }

    public func decodeBody<T: Decodable>(as type: T.Type) throws(StoreError) -> T {
        try CanonicalJSON.decode(type, from: body)
    }
}

/// A definition created, changed or deleted. Declarations are risk-core inputs, so they commit in the
/// same batch as the checkpoint that includes them.
public enum DefinitionChange: Hashable, Sendable {
    /// Creates the definition, or replaces its name and body (its `createdAt` stays).
    case put(StoredDefinition)
    /// Marks it deleted (kept for its events' sake; its name becomes free).
    case delete(kind: SubjectKind, id: String, at: Date)
}

/// The risk core's state after it processed every input up to `inputPosition`.
public struct Checkpoint: Hashable, Sendable {
    /// Position of the last input folded into `state` in the agent's input log (monotonic).
    public var inputPosition: UInt64
    /// The sequence number the next event will carry: always the last stored event's + 1.
    public var nextSequenceNumber: UInt64
    /// The core's Codable state (JSON).
    public var state: Data
    public var savedAt: Date

    public init(inputPosition: UInt64, nextSequenceNumber: UInt64, state: Data, savedAt: Date) {
        self.inputPosition = inputPosition; self.nextSequenceNumber = nextSequenceNumber
        self.state = state; self.savedAt = savedAt
    }
}

/// What the agent needs per account to resume a terminal after a restart.
public struct TerminalResumeState: Hashable, Sendable {
    public var accountId: AccountID
    /// The bridge session the acknowledgement belongs to.
    public var sessionId: String
    /// The highest EA sequence number acknowledged (everything up to it is reflected in the checkpoint).
    public var acknowledgedSequence: UInt64
    /// Anything else the agent wants back (e.g. the equity engine's account state), opaque to the store.
    public var state: Data?

    public init(accountId: AccountID, sessionId: String, acknowledgedSequence: UInt64, state: Data? = nil) {
        self.accountId = accountId; self.sessionId = sessionId
        self.acknowledgedSequence = acknowledgedSequence; self.state = state
    }
}

/// A command the agent decided to send to a terminal (e.g. close all on a failed challenge).
public struct EnforcementRequest: Hashable, Sendable {
    public var accountId: AccountID
    public var kind: CommandKind
    public var reason: String
    public var requestedAt: Date
    /// The event that caused it, if any.
    public var causeSequenceNumber: UInt64?

    public init(accountId: AccountID, kind: CommandKind, reason: String, requestedAt: Date, causeSequenceNumber: UInt64? = nil) {
        self.accountId = accountId; self.kind = kind; self.reason = reason
        self.requestedAt = requestedAt; self.causeSequenceNumber = causeSequenceNumber
    }
}

/// A terminal's answer to an enforcement command, as received.
public struct EnforcementAcknowledgement: Hashable, Sendable {
    public var accountId: AccountID
    public var acknowledgement: CommandAcknowledgement
    public var receivedAt: Date

    public init(accountId: AccountID, acknowledgement: CommandAcknowledgement, receivedAt: Date) {
        self.accountId = accountId; self.acknowledgement = acknowledgement; self.receivedAt = receivedAt
    }
}

/// An enforcement command and, once answered, its acknowledgement.
public struct EnforcementCommandRecord: Hashable, Sendable {
    /// Assigned by the store, never reused: the id sent to the EA.
    public var id: Int64
    public var accountId: AccountID
    public var kind: CommandKind
    public var reason: String
    public var requestedAt: Date
    public var causeSequenceNumber: UInt64?
    public var acknowledgedAt: Date?
    /// The terminal's broker time in the acknowledgement.
    public var acknowledgedBrokerTime: BrokerTime?
    public var succeeded: Bool?
    public var detail: String?

    /// The command to send to the terminal.
    public var command: Command { Command(id: id, kind: kind, reason: reason) }
}
