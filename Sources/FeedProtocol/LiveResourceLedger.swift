/// What an agent has still to send of its live resources: pure, so that the coalescing rule is
/// tested without a network.
///
/// The agent's live source reports, for some accounts (those that moved) and possibly for the
/// competitions, every live resource they have now. The ledger keeps what the dashboard
/// acknowledged last, and turns each report into the resources that differ from it: changed ones,
/// and ones that are gone (sent with no body). Until a batch carrying them is acknowledged they stay
/// pending, and a newer report of the same resource replaces the pending one (the latest wins), so
/// what waits is bounded by the number of resources, however long the dashboard is away.
public struct LiveResourceLedger: Hashable, Sendable {
    /// The dashboard's copy, as far as this agent knows: by key, resources with a body.
    private var acknowledged: [FeedLiveResource.Key: FeedLiveResource] = [:]
    /// What differs from it, to send.
    private var pending: [FeedLiveResource.Key: FeedLiveResource] = [:]

    /// An empty ledger (a new feed: everything reported is sent).
    public init() {}

    /// What one look at the agent's live engine found.
    public struct Report: Hashable, Sendable {
        /// The accounts whose resources are all in `resources` (a resource of theirs not in it is gone).
        public var accounts: Set<String>
        /// Whether every competition's leaderboard is in `resources`.
        public var coversCompetitions: Bool
        /// The resources, each with its body.
        public var resources: [FeedLiveResource]

        /// A report.
        public init(accounts: Set<String>, coversCompetitions: Bool, resources: [FeedLiveResource]) {
            self.accounts = accounts
            self.coversCompetitions = coversCompetitions
            self.resources = resources
        }
    }

    /// Takes in a report: resources that differ from the dashboard's copy become pending; those of the
    /// covered accounts (and competitions) that are no longer reported become pending with no body.
    public mutating func take(_ report: Report) {
        var reported = Set<FeedLiveResource.Key>()
        for resource in report.resources {
            let key = resource.key
            reported.insert(key)
            if acknowledged[key] == resource { pending[key] = nil } else { pending[key] = resource }
        }
        func covered(_ key: FeedLiveResource.Key) -> Bool {
            key.kind == .leaderboard ? report.coversCompetitions : report.accounts.contains(key.accountId)
        }
        for key in Set(acknowledged.keys).union(pending.keys) where covered(key) && !reported.contains(key) {
            if let known = acknowledged[key] {
                var gone = known
                gone.body = nil
                gone.startBrokerTime = nil
                pending[key] = gone
            } else {
                pending[key] = nil
            }
        }
    }

    /// The resources to send, in a stable order (by kind, account, subject).
    public var toSend: [FeedLiveResource] {
        pending.values.sorted {
            ($0.kind.rawValue, $0.accountId ?? "", $0.subjectId) < ($1.kind.rawValue, $1.accountId ?? "", $1.subjectId)
        }
    }

    /// The dashboard acknowledged a batch carrying `sent`: that is its copy now. Resources reported
    /// again meanwhile stay pending.
    public mutating func acknowledge(_ sent: [FeedLiveResource]) {
        for resource in sent {
            let key = resource.key
            if resource.body == nil { acknowledged[key] = nil } else { acknowledged[key] = resource }
            if pending[key] == resource { pending[key] = nil }
        }
    }

    /// Forgets the dashboard's copy (it may have been restored from a backup): everything reported
    /// from now on is sent again.
    public mutating func forgetAcknowledged() { acknowledged = [:] }
}
