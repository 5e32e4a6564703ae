import Foundation

extension DashboardRuntime {
    /// What the pages read, over the store's pool.
    var uiReads: UIReads { UIReads(client: store.client, logger: logger) }

    /// The web dashboard's routes (added to the HTTPS API router).
    func userInterface() -> UIRoutes {
        let adminToken = configuration.adminToken ?? ""
        return UIRoutes(
            reads: uiReads,
            tokens: DashboardTokens(store: store, adminToken: adminToken, logger: logger),
            sessions: UISessions(adminToken: adminToken), hub: live,
            agents: { [store] in try await store.agents() }, logger: logger)
    }

    /// The LISTEN side of live updates, on its own connection; it also wakes this process's API
    /// waiters (long polls, event and equity streams) for other processes' ingests (this
    /// process's own wake them at once, in `receiveBatch`).
    func liveListener() throws -> LiveListener {
        live.observe { [api, processId = store.processId] update in
            guard update.change.origin != processId else { return }
            api.published(eventsThrough: update.eventsThrough, accountStates: update.accounts.map(\.feedState))
        }
        return LiveListener(
            address: try DatabaseAddress(url: configuration.database ?? ""), reader: uiReads, hub: live,
            metrics: LiveMetrics(registry: metrics.registry), logger: logger)
    }
}
