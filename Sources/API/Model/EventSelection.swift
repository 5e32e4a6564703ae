import TidemarkProtocol

/// What an event belongs to: its `kind` in the events stream (`event: tracker`) and in webhook filters.
public enum EventKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// A MetaApi tracker's event (`drawdown`, `profit`, …).
    case tracker
    /// A challenge's event (`phasePassed`, `challengeFailed`, …).
    case challenge
    /// A competition's event (`competitionStarted`, `rankChanged`, …).
    case competition
}

/// Which events a route reads: every filter given must hold; results ascend by sequence number.
///
/// A ``RiskReadModel`` answers it from wherever it keeps events; ``matches(_:)`` is the rule, for
/// read models that hold events in memory and for checking those that translate it to a query.
public struct EventSelection: Hashable, Sendable {
    /// Only events of this kind.
    public var kind: EventKind?
    /// Only events of this account.
    public var accountId: AccountID?
    /// Only events of this tracker, challenge or competition.
    public var subjectId: String?
    /// Inclusive lower bound on broker time.
    public var fromBrokerTime: BrokerTime?
    /// Inclusive upper bound on broker time.
    public var toBrokerTime: BrokerTime?
    /// Only events after this sequence number (a stream's or long poll's resume point).
    public var afterSequenceNumber: UInt64?
    /// The accounts the caller's token may see; nil: all. When set, events without an account
    /// (a whole competition's) are hidden too.
    public var allowedAccounts: Set<AccountID>?
    /// At most this many events (the routes ask for 1…1,000).
    public var limit: Int

    /// A selection; every filter left nil matches all.
    public init(
        kind: EventKind? = nil, accountId: AccountID? = nil, subjectId: String? = nil,
        fromBrokerTime: BrokerTime? = nil, toBrokerTime: BrokerTime? = nil, afterSequenceNumber: UInt64? = nil,
        allowedAccounts: Set<AccountID>? = nil, limit: Int = 1000
    ) {
        self.kind = kind
        self.accountId = accountId
        self.subjectId = subjectId
        self.fromBrokerTime = fromBrokerTime
        self.toBrokerTime = toBrokerTime
        self.afterSequenceNumber = afterSequenceNumber
        self.allowedAccounts = allowedAccounts
        self.limit = limit
    }

    /// Whether `event` passes every filter (the limit aside).
    public func matches(_ event: EventRecord) -> Bool {
        if let kind, event.kind != kind { return false }
        if let accountId, event.accountId != accountId { return false }
        if let subjectId, event.subjectId != subjectId { return false }
        if let fromBrokerTime, event.brokerTime < fromBrokerTime { return false }
        if let toBrokerTime, event.brokerTime > toBrokerTime { return false }
        if let afterSequenceNumber, event.sequenceNumber <= afterSequenceNumber { return false }
        if let allowedAccounts {
            guard let account = event.accountId, allowedAccounts.contains(account) else { return false }
        }
        return true
    }
}
