import Feed
import FeedProtocol
import Logging

extension AgentRuntime {
    /// The dashboard feed, when one is configured: wired to the commits (a commit wakes it; its
    /// observations become the accounts' live state, coalesced). Nil without `feedURL`.
    func makeFeed() throws(AgentError) -> FeedService? {
        guard let url = configuration.feedURL, let certificate = configuration.feedCertificate,
            let key = configuration.feedKey, let authority = configuration.feedCA
        else { return nil }
        let settings = FeedSettings(
            dashboardURL: url, certificatePath: certificate, privateKeyPath: key,
            certificateAuthorityPath: authority,
            accountStateInterval: .milliseconds(1_000 / configuration.feedAccountUpdatesPerSecond),
            retentionRows: configuration.feedRetentionRows,
            retentionAge: .seconds(configuration.feedRetentionSeconds), version: TidemarkVersion.current)
        let feed: FeedService
        do {
            feed = try FeedService(settings: settings, store: store, metricsFactory: metrics.factory, logger: logger)
        } catch {
            throw AgentError.configuration.with(detail: "\(error)")
        }
        let coalescer = feed.coalescer
        onCommit { notice in
            for observation in notice.observations {
                coalescer.observe(
                    .init(
                        balance: observation.balance.description, equity: observation.equity.description,
                        brokerTime: observation.time.milliseconds),
                    of: observation.account.rawValue)
            }
            feed.committed()
        }
        return feed
    }
}
