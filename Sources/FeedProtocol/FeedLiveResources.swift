/// One open part of an agent's state, in the form the agent's API read model hands its routes, so
/// that the dashboard stores it and hands the same routes the same value: what only the agent's
/// live engine knows (the open period of a tracker, the open chart hour, a challenge's progress, a
/// competition's leaderboard) and the account resource itself (platform, currency, drift,
/// enforcement, connection times, error).
///
/// Bodies that the read model carries as API JSON (the account, the open period, the open hour) are
/// that JSON, served verbatim; progress and leaderboards, which it carries as risk-core values, are
/// those values' own Codable JSON (as every other feed body is), which the API renders alike on
/// both sides.
///
/// Live resources are state, not history: the agent sends one again whenever it changes, at most
/// about once a second per account (``FeedBatch/liveResources``), the latest wins, and a resource
/// that is gone (a period closed and none open yet, a challenge deleted) comes with no body.
/// They travel beside the outbox rows, never in the outbox: a dashboard that was away gets the
/// current ones when it returns, and nothing older is worth keeping.
public struct FeedLiveResource: Codable, Hashable, Sendable {
    /// What a live resource is, and so which API answer its body is.
    public enum Kind: String, Codable, Hashable, Sendable, CaseIterable {
        /// `GET /users/current/accounts/{accountId}` (the agent's `AccountResource`).
        case account
        /// The open period of a tracker (`subjectId`): the first item of `…/statistics?realTime=true`.
        case openStatistics
        /// The open hour of the account's equity chart: the last item of `…/equity-chart?realTime=true`.
        case openChartHour
        /// A challenge's (`subjectId`) live progress, behind `GET …/challenges/{subjectId}/status`.
        case challengeProgress
        /// A competition's (`subjectId`) leaderboard, behind `GET …/competitions/{subjectId}/leaderboard`
        /// (no account).
        case leaderboard
    }

    /// Which resource.
    public var kind: Kind
    /// The account; nil for a leaderboard.
    public var accountId: String?
    /// The tracker, challenge or competition id; empty for an account or its chart hour.
    public var subjectId: String
    /// The open period's or hour's first millisecond (broker time), for those kinds.
    public var startBrokerTime: Int64?
    /// The resource (JSON text, see above); nil when there is none now.
    public var body: String?

    /// A live resource.
    public init(kind: Kind, accountId: String?, subjectId: String = "", startBrokerTime: Int64? = nil, body: String?) {
        self.kind = kind
        self.accountId = accountId
        self.subjectId = subjectId
        self.startBrokerTime = startBrokerTime
        self.body = body
    }

    /// What identifies the resource (the latest with one key wins).
    public var key: Key { Key(kind: kind, accountId: accountId ?? "", subjectId: subjectId) }

    /// The identity of a live resource.
    public struct Key: Hashable, Sendable {
        /// Which resource.
        public var kind: Kind
        /// The account, empty for a leaderboard.
        public var accountId: String
        /// The tracker, challenge or competition id, empty when none.
        public var subjectId: String

        /// A key.
        public init(kind: Kind, accountId: String, subjectId: String) {
            self.kind = kind
            self.accountId = accountId
            self.subjectId = subjectId
        }
    }
}
