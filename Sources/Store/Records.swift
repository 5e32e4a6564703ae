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
    /// Tracker, challenge or competition.
    public var kind: SubjectKind
    /// The event's own type within its kind (`drawdown`, `challengeFailed`, `rankChanged`…), for filters.
    public var type: String
    /// The account, or nil for an event of a whole competition (started, finished).
    public var accountId: AccountID?
    /// The tracker, challenge or competition id.
    public var subjectId: String
    /// The event's broker time.
    public var brokerTime: BrokerTime
    /// The event's canonical JSON.
    public var body: Data

    /// An event whose body is already canonical JSON.
    public init(sequenceNumber: UInt64, kind: SubjectKind, type: String, accountId: AccountID?, subjectId: String,
                brokerTime: BrokerTime, body: Data) {
        self.sequenceNumber = sequenceNumber
        self.kind = kind
        self.type = type
        self.accountId = accountId
        self.subjectId = subjectId
        self.brokerTime = brokerTime
        self.body = body
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
    /// The tracker's account.
    public var accountId: AccountID
    /// The tracker.
    public var trackerId: String
    /// The period's first millisecond.
    public var startBrokerTime: BrokerTime
    /// The period's last millisecond; nil for an open-ended one.
    public var endBrokerTime: BrokerTime?
    /// The canonical JSON of the risk core's `PeriodStatistics`.
    public var body: Data

    /// A closed period with every field given.
    public init(accountId: AccountID, trackerId: String, startBrokerTime: BrokerTime, endBrokerTime: BrokerTime?, body: Data) {
        self.accountId = accountId
        self.trackerId = trackerId
        self.startBrokerTime = startBrokerTime
        self.endBrokerTime = endBrokerTime
        self.body = body
    }

    /// The body decoded as `type`.
    public func decodeBody<T: Decodable>(as type: T.Type) throws(StoreError) -> T {
        try CanonicalJSON.decode(type, from: body)
    }
}

/// A closed hour of an account's equity chart (MetaApi `EquityChartItem`). Natural key: account + hour start.
public struct StoredChartRecord: Hashable, Sendable {
    /// The charted account.
    public var accountId: AccountID
    /// The hour's first millisecond.
    public var startBrokerTime: BrokerTime
    /// The hour's last millisecond.
    public var endBrokerTime: BrokerTime
    /// The canonical JSON of the risk core's `EquityChartRecord`.
    public var body: Data

    /// A closed hour with every field given.
    public init(accountId: AccountID, startBrokerTime: BrokerTime, endBrokerTime: BrokerTime, body: Data) {
        self.accountId = accountId
        self.startBrokerTime = startBrokerTime
        self.endBrokerTime = endBrokerTime
        self.body = body
    }

    /// The body decoded as `type`.
    public func decodeBody<T: Decodable>(as type: T.Type) throws(StoreError) -> T {
        try CanonicalJSON.decode(type, from: body)
    }
}

/// One deal of the deal journal. Unique by account and ticket: journaling it again changes nothing.
public struct JournalDeal: Hashable, Sendable {
    /// The account the deal belongs to.
    public var accountId: AccountID
    /// The deal as the terminal reported it.
    public var deal: Deal

    /// A deal of `accountId`.
    public init(accountId: AccountID, deal: Deal) {
        self.accountId = accountId
        self.deal = deal
    }
}

/// A CURVE key bound to the one account it may speak for (see the agent's allow-list).
public struct CurveKeyBindingRecord: Hashable, Sendable {
    /// The terminal's public key, Z85.
    public var publicKey: String
    public var accountId: AccountID
    public var boundAt: Date

    public init(publicKey: String, accountId: AccountID, boundAt: Date) {
        self.publicKey = publicKey
        self.accountId = accountId
        self.boundAt = boundAt
    }
}

/// An account as the store knows it: registered through the API, seen through the bridge, or both.
public struct AccountRecord: Hashable, Sendable {
    /// `server:login`.
    public var id: AccountID
    /// The trade server.
    public var server: String
    /// The login on that server.
    public var login: Int64
    /// Nil until registered with a platform or connected.
    public var platform: Platform?
    /// The deposit currency, known once the terminal said hello.
    public var currency: String?
    /// When the account was registered through the API; nil when it only connected.
    public var registeredAt: Date?
    /// The last equity seen.
    public var lastEquity: FixedDecimal?
    /// The last balance seen.
    public var lastBalance: FixedDecimal?
    /// Broker time of the last equity/balance seen.
    public var lastSeenBrokerTime: BrokerTime?
    /// Whether a terminal session is live.
    public var connected: Bool
    /// Terminal-reported equity minus computed equity at the last reconciliation.
    public var reconciliationDrift: FixedDecimal?
    /// Free text the agent sets (e.g. `trading_disabled`); nil when nothing is enforced.
    public var enforcementState: String?
    /// When a terminal session of the account last opened; nil if none ever did.
    public var lastConnectedAt: Date?
    /// When the account last went from connected to not connected; nil if it never did.
    public var lastDisconnectedAt: Date?
}

/// A change to an account. Nil fields are left as stored; the account is created when new.
public struct AccountUpdate: Hashable, Sendable {
    /// The account to change.
    public var id: AccountID
    /// The platform, when learned.
    public var platform: Platform?
    /// The deposit currency, when learned.
    public var currency: String?
    /// The latest equity.
    public var lastEquity: FixedDecimal?
    /// The latest balance.
    public var lastBalance: FixedDecimal?
    /// Broker time of the latest equity/balance.
    public var lastSeenBrokerTime: BrokerTime?
    /// Whether a terminal session is live.
    public var connected: Bool?
    /// Terminal-reported minus computed equity at the latest reconciliation.
    public var reconciliationDrift: FixedDecimal?
    /// `.some(nil)` clears the state; nil leaves it.
    public var enforcementState: String??

    /// An update; fields left nil stay as stored.
    public init(id: AccountID, platform: Platform? = nil, currency: String? = nil, lastEquity: FixedDecimal? = nil,
                lastBalance: FixedDecimal? = nil, lastSeenBrokerTime: BrokerTime? = nil, connected: Bool? = nil,
                reconciliationDrift: FixedDecimal? = nil, enforcementState: String?? = nil) {
        self.id = id
        self.platform = platform
        self.currency = currency
        self.lastEquity = lastEquity
        self.lastBalance = lastBalance
        self.lastSeenBrokerTime = lastSeenBrokerTime
        self.connected = connected
        self.reconciliationDrift = reconciliationDrift
        self.enforcementState = enforcementState
    }
}

/// One bridge session of an account (HELLO to BYE, timeout or agent stop).
public struct BridgeSessionRecord: Hashable, Sendable {
    /// The EA's session id.
    public var sessionId: String
    /// The account of the session.
    public var accountId: AccountID
    /// When the session opened.
    public var openedAt: Date
    /// When it closed; nil while open.
    public var closedAt: Date?
    /// `bye`, `bye: <the EA's reason>`, `timed_out`, `superseded`, `rejected_<reason>`,
    /// `too_many_bad_frames`, or `agent_stopped` (closed when the agent started again).
    public var closeReason: String?
}

/// A session opened or closed.
public enum SessionChange: Hashable, Sendable {
    case opened(sessionId: String, accountId: AccountID, at: Date)
    case closed(sessionId: String, at: Date, reason: String)
}

/// A tracker, challenge or competition definition.
public struct StoredDefinition: Hashable, Sendable {
    /// Tracker, challenge or competition.
    public var kind: SubjectKind
    /// Unique within its kind.
    public var id: String
    /// The account; nil for a competition (its accounts are in the body).
    public var accountId: AccountID?
    /// Trackers: unique per account among live definitions.
    public var name: String?
    /// The definition's canonical JSON.
    public var body: Data
    /// When it was first created.
    public var createdAt: Date
    /// When it was deleted; nil while live.
    public var deletedAt: Date?

    /// A definition with every field given.
    public init(kind: SubjectKind, id: String, accountId: AccountID?, name: String?, body: Data,
                createdAt: Date, deletedAt: Date? = nil) {
        self.kind = kind
        self.id = id
        self.accountId = accountId
        self.name = name
        self.body = body
        self.createdAt = createdAt
        self.deletedAt = deletedAt
    }

    /// The body decoded as `type`.
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

/// The agent's state (risk core and its resume marks) after it processed every input up to
/// `inputPosition`, as the store keeps it: a header with the part that belongs to no account
/// (``state``), and one part per account (``accounts``), so a checkpoint after a change writes the
/// changed accounts' rows only.
///
/// The store does not read the parts (they are the agent's encoding); it keeps them consistent:
/// every row of one checkpoint is written in one transaction, at one input position.
public struct Checkpoint: Hashable, Sendable {
    /// How the state is laid out.
    public enum Layout: String, Hashable, Sendable {
        /// All of it in ``Checkpoint/state`` (written before account rows existed; read, never
        /// written, by the agent).
        case whole
        /// ``Checkpoint/state`` holds the part that belongs to no account, ``Checkpoint/accounts``
        /// each account's.
        case perAccount = "per_account"
    }

    /// Position of the last input folded into the state in the agent's input log (monotonic).
    public var inputPosition: UInt64
    /// The sequence number the next event will carry: always the last stored event's + 1.
    public var nextSequenceNumber: UInt64
    /// The part of the state that belongs to no account (``Layout/perAccount``), or all of it
    /// (``Layout/whole``).
    public var state: Data
    /// How the state is laid out.
    public var layout: Layout
    /// Each account's part. Read back: every account's. To write: every account's when
    /// ``isComplete``, else only those changed since the previous checkpoint written to the same
    /// place (the store's rows of the others stay as they are).
    public var accounts: [AccountID: Data]
    /// To write, when not ``isComplete``: accounts whose part is gone (their rows are deleted).
    public var removedAccounts: Set<AccountID>
    /// Whether ``accounts`` is every account's part (then rows of any other account are deleted).
    public var isComplete: Bool
    /// When the checkpoint was written.
    public var savedAt: Date

    /// A checkpoint of the whole state in one blob (``Layout/whole``).
    public init(inputPosition: UInt64, nextSequenceNumber: UInt64, state: Data, savedAt: Date) {
        self.init(inputPosition: inputPosition, nextSequenceNumber: nextSequenceNumber, layout: .whole, state: state,
                  accounts: [:], isComplete: true, savedAt: savedAt)
    }

    /// A checkpoint with every field given.
    public init(inputPosition: UInt64, nextSequenceNumber: UInt64, layout: Layout, state: Data, accounts: [AccountID: Data],
                removedAccounts: Set<AccountID> = [], isComplete: Bool, savedAt: Date) {
        self.inputPosition = inputPosition
        self.nextSequenceNumber = nextSequenceNumber
        self.layout = layout
        self.state = state
        self.accounts = accounts
        self.removedAccounts = removedAccounts
        self.isComplete = isComplete
        self.savedAt = savedAt
    }

    /// Bytes of state this checkpoint carries (header and account parts).
    public var stateByteCount: Int { accounts.values.reduce(state.count) { $0 + $1.count } }
}

/// What writing a checkpoint wrote: rows (the header and each account row written or deleted)
/// and bytes of state.
public struct CheckpointWriteSize: Hashable, Sendable {
    /// Rows written or deleted, the header included.
    public var rows: Int = 0
    /// Bytes of state written.
    public var bytes: Int = 0
    /// Nothing written.
    public init() {}
}

/// What the agent needs per account to resume a terminal after a restart.
public struct TerminalResumeState: Hashable, Sendable {
    /// The account to resume.
    public var accountId: AccountID
    /// The bridge session the acknowledgement belongs to.
    public var sessionId: String
    /// The highest EA sequence number acknowledged (everything up to it is reflected in the checkpoint).
    public var acknowledgedSequence: UInt64
    /// Anything else the agent wants back (e.g. the equity engine's account state), opaque to the store.
    public var state: Data?

    /// A resume state with every field given.
    public init(accountId: AccountID, sessionId: String, acknowledgedSequence: UInt64, state: Data? = nil) {
        self.accountId = accountId
        self.sessionId = sessionId
        self.acknowledgedSequence = acknowledgedSequence
        self.state = state
    }
}

/// A command the agent decided to send to a terminal (e.g. close all on a failed challenge).
public struct EnforcementRequest: Hashable, Sendable {
    /// The account to command.
    public var accountId: AccountID
    /// What the terminal must do.
    public var kind: CommandKind
    /// Why, for the terminal's log.
    public var reason: String
    /// When the agent decided it.
    public var requestedAt: Date
    /// The event that caused it, if any.
    public var causeSequenceNumber: UInt64?

    /// A request with every field given.
    public init(accountId: AccountID, kind: CommandKind, reason: String, requestedAt: Date, causeSequenceNumber: UInt64? = nil) {
        self.accountId = accountId
        self.kind = kind
        self.reason = reason
        self.requestedAt = requestedAt
        self.causeSequenceNumber = causeSequenceNumber
    }
}

/// A terminal's answer to an enforcement command, as received.
public struct EnforcementAcknowledgement: Hashable, Sendable {
    /// The account that answered.
    public var accountId: AccountID
    /// The terminal's answer.
    public var acknowledgement: CommandAcknowledgement
    /// When the agent received it.
    public var receivedAt: Date

    /// An acknowledgement with every field given.
    public init(accountId: AccountID, acknowledgement: CommandAcknowledgement, receivedAt: Date) {
        self.accountId = accountId
        self.acknowledgement = acknowledgement
        self.receivedAt = receivedAt
    }
}

/// An enforcement command and, once answered, its acknowledgement.
public struct EnforcementCommandRecord: Hashable, Sendable {
    /// Assigned by the store, never reused: the id sent to the EA.
    public var id: Int64
    /// The commanded account.
    public var accountId: AccountID
    /// What the terminal must do.
    public var kind: CommandKind
    /// Why, for the terminal's log.
    public var reason: String
    /// When the agent decided it.
    public var requestedAt: Date
    /// The event that caused it, if any.
    public var causeSequenceNumber: UInt64?
    /// When the answer arrived; nil until then.
    public var acknowledgedAt: Date?
    /// The terminal's broker time in the acknowledgement.
    public var acknowledgedBrokerTime: BrokerTime?
    /// Whether the terminal carried it out; nil until answered.
    public var succeeded: Bool?
    /// The terminal's detail text; nil until answered.
    public var detail: String?

    /// The command to send to the terminal.
    public var command: Command { Command(id: id, kind: kind, reason: reason) }
}
