import FeedProtocol

/// Where the feed takes the agent's live resources from (the agent implements it over its API's
/// read model, so the bodies are exactly what its API answers).
public protocol FeedLiveSource: Sendable {
    /// Every live resource of the accounts that moved since the previous call (every account on the
    /// first call), and the competitions' leaderboards when anything moved. Called from the feed's
    /// own task, at most once per ``FeedSettings/liveResourceInterval``.
    func report() async -> LiveResourceLedger.Report
}
