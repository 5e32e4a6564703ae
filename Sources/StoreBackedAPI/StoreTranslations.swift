import API
import Store

// The API owns its vocabulary so that a server over another store (the dashboard's PostgreSQL)
// implements its protocols without linking SQLite; these translate the agent's store to and from it.
// The three kinds and the filters' fields are the same on both sides, so each translation is total.

extension EventKind {
    /// The API's kind of a stored event or definition.
    public init(_ kind: SubjectKind) {
        switch kind {
        case .tracker: self = .tracker
        case .challenge: self = .challenge
        case .competition: self = .competition
        }
    }
}

extension SubjectKind {
    /// The store's kind of an API event kind.
    public init(_ kind: EventKind) {
        switch kind {
        case .tracker: self = .tracker
        case .challenge: self = .challenge
        case .competition: self = .competition
        }
    }
}

extension EventQuery {
    /// The store query of an API selection: the same filters, which the store applies in SQL.
    public init(_ selection: EventSelection) {
        self.init(
            kind: selection.kind.map(SubjectKind.init), accountId: selection.accountId,
            subjectId: selection.subjectId, fromBrokerTime: selection.fromBrokerTime,
            toBrokerTime: selection.toBrokerTime, afterSequenceNumber: selection.afterSequenceNumber,
            allowedAccounts: selection.allowedAccounts, limit: selection.limit)
    }
}

extension WebhookFilter {
    /// The store filter of an API webhook filter.
    public init(_ filter: WebhookEventFilter) {
        self.init(
            kinds: filter.kinds.map { Set($0.map(SubjectKind.init)) }, accountIds: filter.accountIds,
            subjectIds: filter.subjectIds, types: filter.types)
    }
}

extension WebhookEventFilter {
    /// The API filter of a stored webhook filter.
    public init(_ filter: WebhookFilter) {
        self.init(
            kinds: filter.kinds.map { Set($0.map(EventKind.init)) }, accountIds: filter.accountIds,
            subjectIds: filter.subjectIds, types: filter.types)
    }
}
