import AgentFold
import Bridge
import CoreMetrics
import Prometheus
import Store
import Synchronization
import Webhooks

/// The agent's Prometheus metrics. Created once (swift-metrics objects are registered by label);
/// labels are bounded (reject reasons and bad-frame codes are fixed vocabularies, never account ids).
///
/// Served at `/metrics` as `registry.emitToString()`.
public final class AgentMetrics: Sendable {
    /// What `/metrics` shows.
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    let ticks: CoreMetrics.Counter
    let messages: CoreMetrics.Counter
    let frames: CoreMetrics.Counter
    let sessionsOpened: CoreMetrics.Counter
    let liveSessions: CoreMetrics.Gauge
    let resyncs: CoreMetrics.Counter
    let duplicates: CoreMetrics.Counter
    let driftReports: CoreMetrics.Counter
    let lastDrift: CoreMetrics.Gauge
    let commits: CoreMetrics.Counter
    let commitLatency: CoreMetrics.Timer
    let eventLag: CoreMetrics.Timer
    let events: CoreMetrics.Counter
    let resentSkipped: CoreMetrics.Counter
    /// HEARTBEAT and TICKS frames refused for a time too far ahead of the wall clock.
    let implausibleTimes: CoreMetrics.Counter
    /// Wall-clock time inputs fed to quiet accounts.
    let wallClockTimes: CoreMetrics.Counter
    let commandsSent: CoreMetrics.Counter
    /// SIGHUP reloads of the CURVE allow-list that took effect.
    let allowListReloads: CoreMetrics.Counter
    /// HELLOs refused with `limit_reached`, by limit (made for every limit, so each shows from 0).
    private let limitRefusals: [BridgeLimit: CoreMetrics.Counter]
    let webhookDeliveries: CoreMetrics.Counter
    let webhookAbandoned: CoreMetrics.Counter
    let webhookBacklog: CoreMetrics.Gauge
    let webhookLatency: CoreMetrics.Timer
    /// Failed attempts by reason, made once for the known reasons (others on first use).
    private let webhookFailures: [String: CoreMetrics.Counter]
    /// Inputs refused as not representable, by ``AccountInputError/Reason`` (a fixed vocabulary).
    private let inputRefusals: [String: CoreMetrics.Counter]
    /// Accounts in error now (``AccountInputError``).
    let accountsInError: CoreMetrics.Gauge
    /// Long polls and event streams waiting for a new event now (read when scraped).
    let eventWaiters: CoreMetrics.Gauge
    /// Checkpoints written and their bytes of state, by where (``CheckpointPlace``).
    private let checkpointsWritten: [CheckpointPlace: (count: CoreMetrics.Counter, bytes: CoreMetrics.Counter)]
    private let lastBridge = Mutex(BridgeCounters())

    /// Metrics in a fresh registry.
    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        factory = PrometheusMetricsFactory(registry: registry)
        ticks = CoreMetrics.Counter(label: "tidemark_ticks_total", factory: factory)
        messages = CoreMetrics.Counter(label: "tidemark_bridge_messages_total", factory: factory)
        frames = CoreMetrics.Counter(label: "tidemark_bridge_frames_total", factory: factory)
        sessionsOpened = CoreMetrics.Counter(label: "tidemark_sessions_opened_total", factory: factory)
        liveSessions = CoreMetrics.Gauge(label: "tidemark_sessions", factory: factory)
        resyncs = CoreMetrics.Counter(label: "tidemark_resyncs_total", factory: factory)
        duplicates = CoreMetrics.Counter(label: "tidemark_duplicate_frames_total", factory: factory)
        driftReports = CoreMetrics.Counter(label: "tidemark_reconciliation_drift_reports_total", factory: factory)
        lastDrift = CoreMetrics.Gauge(label: "tidemark_reconciliation_drift_last", factory: factory)
        commits = CoreMetrics.Counter(label: "tidemark_store_commits_total", factory: factory)
        commitLatency = CoreMetrics.Timer(label: "tidemark_store_commit_seconds", factory: factory)
        eventLag = CoreMetrics.Timer(label: "tidemark_event_lag_seconds", factory: factory)
        events = CoreMetrics.Counter(label: "tidemark_events_total", factory: factory)
        resentSkipped = CoreMetrics.Counter(label: "tidemark_resent_inputs_skipped_total", factory: factory)
        implausibleTimes = CoreMetrics.Counter(label: "tidemark_implausible_times_total", factory: factory)
        wallClockTimes = CoreMetrics.Counter(label: "tidemark_wall_clock_time_inputs_total", factory: factory)
        commandsSent = CoreMetrics.Counter(label: "tidemark_commands_sent_total", factory: factory)
        allowListReloads = CoreMetrics.Counter(label: "tidemark_allow_list_reloads_total", factory: factory)
        var limitRefusals: [BridgeLimit: CoreMetrics.Counter] = [:]
        for limit in BridgeLimit.allCases {
            limitRefusals[limit] = CoreMetrics.Counter(
                label: "tidemark_bridge_limit_refusals_total", dimensions: [("limit", limit.rawValue)],
                factory: factory)
        }
        self.limitRefusals = limitRefusals
        webhookDeliveries = CoreMetrics.Counter(label: "tidemark_webhook_deliveries_total", factory: factory)
        webhookAbandoned = CoreMetrics.Counter(label: "tidemark_webhook_deliveries_abandoned_total", factory: factory)
        webhookBacklog = CoreMetrics.Gauge(label: "tidemark_webhook_backlog", factory: factory)
        webhookLatency = CoreMetrics.Timer(label: "tidemark_webhook_delivery_latency_seconds", factory: factory)
        var failures: [String: CoreMetrics.Counter] = [:]
        for error in [WebhookDeliveryError.rejected, .timeout, .connection, .invalidURL, .unrenderable] {
            failures[error.code] = CoreMetrics.Counter(
                label: "tidemark_webhook_failed_attempts_total",
                dimensions: [("reason", error.code)], factory: factory)
        }
        webhookFailures = failures
        var refusals: [String: CoreMetrics.Counter] = [:]
        for reason in AccountInputError.Reason.allCases {
            refusals[reason.rawValue] = CoreMetrics.Counter(
                label: "tidemark_account_input_refusals_total",
                dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        inputRefusals = refusals
        accountsInError = CoreMetrics.Gauge(label: "tidemark_accounts_in_error", factory: factory)
        eventWaiters = CoreMetrics.Gauge(label: "tidemark_event_waiters", factory: factory)
        var checkpoints: [CheckpointPlace: (count: CoreMetrics.Counter, bytes: CoreMetrics.Counter)] = [:]
        for place in CheckpointPlace.allCases {
            checkpoints[place] = (
                CoreMetrics.Counter(
                    label: "tidemark_checkpoints_total", dimensions: [("file", place.rawValue)],
                    factory: factory),
                CoreMetrics.Counter(
                    label: "tidemark_checkpoint_bytes_total", dimensions: [("file", place.rawValue)],
                    factory: factory)
            )
        }
        checkpointsWritten = checkpoints
    }

    /// Counts one checkpoint written to `place` and its bytes of state.
    func recordCheckpoint(_ written: CheckpointWriteSize, to place: CheckpointPlace) {
        checkpointsWritten[place]?.count.increment()
        checkpointsWritten[place]?.bytes.increment(by: Int64(written.bytes))
    }

    /// Counts refused inputs by reason (``AgentCore/Effects/refusalsByReason``).
    func recordRefusals(_ byReason: [String: Int]) {
        for (reason, count) in byReason { inputRefusals[reason]?.increment(by: Int64(count)) }
    }

    /// Counts one webhook delivery attempt (``WebhookDeliverer``'s observer).
    func record(_ attempt: WebhookDeliverer.AttemptOutcome) {
        switch attempt {
        case .delivered(let latency):
            webhookDeliveries.increment()
            if let latency {
                let (seconds, attoseconds) = latency.components
                webhookLatency.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            }
        case .failed(let reason, let abandoned):
            let counter =
                webhookFailures[reason]
                ?? CoreMetrics.Counter(
                    label: "tidemark_webhook_failed_attempts_total", dimensions: [("reason", reason)], factory: factory)
            counter.increment()
            if abandoned { webhookAbandoned.increment() }
        }
    }

    /// Publishes the bridge's counters (cumulative) as the difference since the last call. (Ticks and
    /// messages are counted by the pipeline as it commits them, so they are exact at any moment.)
    /// `eventWaiters`: the long polls and streams waiting now, when known (a scrape reads it).
    func publish(_ counters: BridgeCounters, eventWaiters waiting: Int? = nil) {
        if let waiting { eventWaiters.record(waiting) }
        let previous = lastBridge.withLock { last in
            defer { last = counters }
            return last
        }
        frames.increment(by: Int64(max(0, counters.frames - previous.frames)))
        sessionsOpened.increment(by: Int64(max(0, counters.sessionsOpened - previous.sessionsOpened)))
        for (reason, count) in counters.closes {
            // Labels: bye, timed_out, superseded, too_many_bad_frames, shutdown, rejected_<reason>.
            let delta = count - (previous.closes[reason] ?? 0)
            if delta > 0 {
                CoreMetrics.Counter(
                    label: "tidemark_sessions_closed_total", dimensions: [("reason", reason)], factory: factory
                ).increment(by: Int64(delta))
            }
        }
        liveSessions.record(counters.liveSessions)
        for (limit, count) in counters.limitRefusals {
            let delta = count - (previous.limitRefusals[limit] ?? 0)
            if delta > 0 { limitRefusals[limit]?.increment(by: Int64(delta)) }
        }
        resyncs.increment(by: Int64(max(0, counters.resyncs - previous.resyncs)))
        duplicates.increment(by: Int64(max(0, counters.duplicates - previous.duplicates)))
        for (reason, count) in counters.rejects {
            let delta = count - (previous.rejects[reason] ?? 0)
            if delta > 0 {
                CoreMetrics.Counter(
                    label: "tidemark_rejects_total", dimensions: [("reason", reason.rawValue)], factory: factory
                ).increment(by: Int64(delta))
            }
        }
        for (code, count) in counters.badFrames {
            let delta = count - (previous.badFrames[code] ?? 0)
            if delta > 0 {
                CoreMetrics.Counter(
                    label: "tidemark_decode_errors_total", dimensions: [("code", code)], factory: factory
                ).increment(by: Int64(delta))
            }
        }
    }
}
