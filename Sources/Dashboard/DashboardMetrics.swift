import CoreMetrics
import Prometheus

/// The dashboard's Prometheus metrics (`/metrics`); labels are fixed vocabularies.
final class DashboardMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let batches: CoreMetrics.Counter
    private let items: [String: CoreMetrics.Counter]
    let duplicates: CoreMetrics.Counter
    let accountStates: CoreMetrics.Counter
    /// Live resources stored (open periods, chart hours, progress, leaderboards, account resources).
    let liveResources: CoreMetrics.Counter
    let refusedClaims: CoreMetrics.Counter
    let lostRows: CoreMetrics.Counter
    let storeChanges: CoreMetrics.Counter
    /// Feed requests refused after the handshake (no readable certificate, not pinned).
    let refusedConnections: CoreMetrics.Counter
    let badBatches: CoreMetrics.Counter
    let ingestFailures: CoreMetrics.Counter
    let ingestLatency: CoreMetrics.Timer

    init() {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        self.registry = registry
        batches = CoreMetrics.Counter(label: "tidemark_dashboard_batches_total", factory: factory)
        var items: [String: CoreMetrics.Counter] = [:]
        for kind in ["event", "statistics", "chartRecord", "declaration"] {
            items[kind] = CoreMetrics.Counter(
                label: "tidemark_dashboard_items_total", dimensions: [("kind", kind)], factory: factory)
        }
        self.items = items
        duplicates = CoreMetrics.Counter(label: "tidemark_dashboard_duplicate_items_total", factory: factory)
        accountStates = CoreMetrics.Counter(label: "tidemark_dashboard_account_states_total", factory: factory)
        liveResources = CoreMetrics.Counter(label: "tidemark_dashboard_live_resources_total", factory: factory)
        refusedClaims = CoreMetrics.Counter(label: "tidemark_dashboard_refused_claims_total", factory: factory)
        lostRows = CoreMetrics.Counter(label: "tidemark_dashboard_lost_rows_total", factory: factory)
        storeChanges = CoreMetrics.Counter(label: "tidemark_dashboard_agent_store_changes_total", factory: factory)
        refusedConnections = CoreMetrics.Counter(
            label: "tidemark_dashboard_refused_feed_requests_total", factory: factory)
        badBatches = CoreMetrics.Counter(label: "tidemark_dashboard_bad_batches_total", factory: factory)
        ingestFailures = CoreMetrics.Counter(label: "tidemark_dashboard_ingest_failures_total", factory: factory)
        ingestLatency = CoreMetrics.Timer(label: "tidemark_dashboard_ingest_seconds", factory: factory)
    }

    func record(_ outcome: IngestOutcome, duration: Duration) {
        batches.increment()
        for (kind, count) in outcome.stored { items[kind]?.increment(by: count) }
        duplicates.increment(by: outcome.duplicates)
        accountStates.increment(by: outcome.accountStates)
        liveResources.increment(by: outcome.liveResources)
        refusedClaims.increment(by: outcome.refusedAccounts.count)
        lostRows.increment(by: Int(clamping: outcome.lost))
        if outcome.storeChanged { storeChanges.increment() }
        ingestLatency.recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
