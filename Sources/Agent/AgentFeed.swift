import API
import Feed
import FeedProtocol
import Logging

extension AgentRuntime {
    /// The dashboard feed, when one is configured: wired to the commits (a commit wakes it; its
    /// observations become the accounts' live state, coalesced; its live resources are read through
    /// `readModel`, the API's). Nil without `feedURL`.
    func makeFeed(readModel: any RiskReadModel) throws(AgentError) -> FeedService? {
        guard let url = configuration.feedURL, let certificate = configuration.feedCertificate,
            let key = configuration.feedKey, let authority = configuration.feedCA
        else { return nil }
        let settings = FeedSettings(
            dashboardURL: url, certificatePath: certificate, privateKeyPath: key,
            certificateAuthorityPath: authority,
            accountStateInterval: .milliseconds(1_000 / configuration.feedAccountUpdatesPerSecond),
            liveResourceInterval: .milliseconds(configuration.feedLiveIntervalMilliseconds),
            retentionRows: configuration.feedRetentionRows,
            retentionAge: .seconds(configuration.feedRetentionSeconds), version: TidemarkVersion.current)
        let live = AgentLiveResources(readModel: readModel)
        let feed: FeedService
        do {
            feed = try FeedService(
                settings: settings, store: store, metricsFactory: metrics.factory, logger: logger, liveSource: live)
        } catch {
            throw AgentError.configuration.with(detail: "\(error)")
        }
        let coalescer = feed.coalescer
        onCommit { notice in
            live.committed(notice)
            for observation in notice.observations {
                coalescer.observe(
                    .init(
                        balance: observation.balance.description, equity: observation.equity.description,
                        credit: observation.credit.description,
                        brokerTime: observation.time.milliseconds),
                    of: observation.account.rawValue)
            }
            feed.committed()
        }
        return feed
    }
}
