import AsyncHTTPClient
import CoreMetrics
import FeedProtocol
import Foundation
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Store
import Synchronization
import TidemarkProtocol
import Webhooks

/// Where and how an agent feeds the dashboard.
public struct FeedSettings: Hashable, Sendable {
    /// The dashboard's feed address, `https://HOST:PORT`.
    public var dashboardURL: String
    /// The agent's client certificate (PEM, leaf first, chain after it).
    public var certificatePath: String
    /// The agent's private key (PEM).
    public var privateKeyPath: String
    /// The CA(s) that signed the dashboard's certificate (PEM).
    public var certificateAuthorityPath: String
    /// Least time between two states of one account (default 250 ms: at most 4 updates a second).
    public var accountStateInterval: Duration
    /// Least time between two looks at the live resources (open periods, progress, leaderboards;
    /// default 1 s): heavier than account state, so rarer.
    public var liveResourceInterval: Duration
    /// Outbox rows per POST at most.
    public var batchSize: Int
    /// Unacknowledged rows kept at most; beyond it the oldest are dropped, counted and reported.
    public var retentionRows: Int
    /// How long an unacknowledged row is kept at most; older rows are dropped, counted and reported.
    public var retentionAge: Duration
    /// A batch is sent at least this often, even with nothing new (the dashboard's "last seen").
    public var heartbeatInterval: Duration
    /// How long one POST may take.
    public var requestTimeout: Duration
    /// The agent's version, reported to the dashboard.
    public var version: String

    /// Settings with the defaults for everything but the addresses and files.
    public init(
        dashboardURL: String, certificatePath: String, privateKeyPath: String, certificateAuthorityPath: String,
        accountStateInterval: Duration = .milliseconds(250), liveResourceInterval: Duration = .seconds(1),
        batchSize: Int = 1_000, retentionRows: Int = 1_000_000, retentionAge: Duration = .seconds(604_800),
        heartbeatInterval: Duration = .seconds(5), requestTimeout: Duration = .seconds(10), version: String
    ) {
        self.liveResourceInterval = liveResourceInterval
        self.dashboardURL = dashboardURL
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.certificateAuthorityPath = certificateAuthorityPath
        self.accountStateInterval = accountStateInterval
        self.batchSize = batchSize
        self.retentionRows = retentionRows
        self.retentionAge = retentionAge
        self.heartbeatInterval = heartbeatInterval
        self.requestTimeout = requestTimeout
        self.version = version
    }
}

/// Why a feed attempt failed: a short, fixed ``code`` (a metric label) and a detail for the log.
public struct FeedError: CodeComparedError {
    private enum Code: String, Hashable, Sendable {
        case configuration, unreachable, refused
        case badAnswer = "bad_answer"
        case store
    }

    private let codeValue: Code
    /// What happened, for the log.
    public var detail = ""

    private init(_ code: Code) { codeValue = code }

    /// A certificate, key or URL setting that cannot work.
    public static let configuration = FeedError(.configuration)
    /// The dashboard could not be reached (connect, TLS handshake, timeout).
    public static let unreachable = FeedError(.unreachable)
    /// The dashboard answered with an error status.
    public static let refused = FeedError(.refused)
    /// The dashboard's answer could not be read.
    public static let badAnswer = FeedError(.badAnswer)
    /// The agent's store failed.
    public static let store = FeedError(.store)

    /// The reason, as a metric label (`bad_answer`, …).
    public var code: String { codeValue.rawValue }
}

/// Live account figures, coalesced per account: the writer's commit hook puts the latest in (one
/// lock, one dictionary write), the feed takes the accounts that moved. Bounded by the number of accounts, so
/// a dashboard outage costs no memory growth here; the latest value wins.
public final class AccountStateCoalescer: Sendable {
    /// The newest observation of one account.
    public struct Observation: Hashable, Sendable {
        /// Balance (decimal text, exact).
        public var balance: String
        /// Equity (decimal text, exact).
        public var equity: String
        /// Credit (decimal text, exact).
        public var credit: String?
        /// Broker time, milliseconds.
        public var brokerTime: Int64

        /// An observation.
        public init(balance: String, equity: String, credit: String? = nil, brokerTime: Int64) {
            self.balance = balance
            self.equity = equity
            self.credit = credit
            self.brokerTime = brokerTime
        }
    }

    private let latest = Mutex<[String: Observation]>([:])

    /// An empty coalescer.
    public init() {}

    /// Keeps `observation` as the account's latest.
    public func observe(_ observation: Observation, of accountId: String) {
        latest.withLock { $0[accountId] = observation }
    }

    /// The latest observation of every account seen.
    public func snapshot() -> [String: Observation] { latest.withLock { $0 } }
}

/// The agent's side of the dashboard feed, as a service: drains the store's feed outbox to the
/// dashboard, oldest first, and sends each account's live state (coalesced) beside it, and the live
/// resources of a ``FeedLiveSource`` (open periods, progress, leaderboards: at most every
/// ``FeedSettings/liveResourceInterval``, only the changed ones, the latest wins; see `LiveResourceLedger`).
///
/// Delivery is at least once: a row leaves the outbox only once the dashboard acknowledged it. A
/// failed POST is retried with backoff (0.5 s doubling to 30 s); the outbox meanwhile keeps what
/// commits queue, up to ``FeedSettings/retentionRows`` rows and for up to
/// ``FeedSettings/retentionAge`` (a warning at 80 % of either, then the oldest rows are dropped,
/// counted, and reported to the dashboard with the next batch). The service runs on
/// its own task and only reads the store and deletes acknowledged rows: it never holds up the bridge
/// or the writer, whose commit hook only stores the latest figures in ``AccountStateCoalescer``.
public final class FeedService: Service, Sendable {
    private let settings: FeedSettings
    private let store: Store
    private let client: HTTPClient
    private let logger: Logger
    private let wake = WakeSignal()
    /// Live figures from the commit hook.
    public let coalescer = AccountStateCoalescer()
    private let metrics: FeedMetrics
    private let status = Mutex(Status())
    /// Accounts with an open terminal session, as of the latest account read.
    private let connectedCount = Mutex(0)
    /// The open parts (periods, chart hour, progress, leaderboards); nil: none are fed.
    private let liveSource: (any FeedLiveSource)?

    /// What the feed last saw, for `/metrics` and tests.
    public struct Status: Hashable, Sendable {
        /// Unacknowledged outbox rows.
        public var backlog = 0
        /// Age of the oldest of them.
        public var oldestAge: Duration = .zero
        /// The dashboard's latest acknowledgement.
        public var acknowledgedThrough: UInt64 = 0
        /// Rows dropped by the retention bound.
        public var overflowedRows: Int64 = 0
        /// Whether the latest POST succeeded.
        public var isConnected = false
    }

    /// The feed; it sends nothing until ``run()``. Throws ``FeedError/configuration`` for a
    /// certificate, key or CA file that cannot be read.
    public init(
        settings: FeedSettings, store: Store, metricsFactory: any MetricsFactory, logger: Logger,
        liveSource: (any FeedLiveSource)? = nil
    ) throws(FeedError) {
        self.liveSource = liveSource
        guard let url = URL(string: settings.dashboardURL), url.scheme == "https", url.host != nil else {
            throw FeedError.configuration.with(
                detail: "the dashboard URL must be https://HOST:PORT, got \(settings.dashboardURL)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(settings.certificateAuthorityPath))
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(settings.certificatePath).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: settings.privateKeyPath, format: .pem))
        } catch {
            throw FeedError.configuration.with(detail: "feed certificate, key or CA: \(error)")
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var settings = settings
        if settings.dashboardURL.hasSuffix("/") { settings.dashboardURL.removeLast() }
        self.settings = settings
        self.store = store
        self.logger = logger
        self.metrics = FeedMetrics(factory: metricsFactory)
    }

    /// What the feed last saw.
    public var currentStatus: Status { status.withLock { $0 } }

    /// Tells the feed that a commit queued rows (wakes it if it waits).
    public func committed() { wake.signal() }

    /// Feeds until graceful shutdown; then stops after the POST in flight (unacknowledged rows stay
    /// in the outbox for the next start).
    public func run() async throws {
        logger.info("feeding the dashboard", metadata: ["dashboard": "\(settings.dashboardURL)"])
        await withGracefulShutdownHandler {
            await loop()
        } onGracefulShutdown: { [wake] in
            wake.stop()
        }
        try? await client.shutdown()
    }

    private func loop() async {
        var sentStates: [String: FeedAccountState] = [:]
        var lastSent = ContinuousClock.now - settings.heartbeatInterval
        var lastStates = ContinuousClock.now - settings.accountStateInterval
        var lastLive = ContinuousClock.now - settings.liveResourceInterval
        var live = LiveResourceLedger()
        var backoff = Duration.milliseconds(500)
        var failing = false
        var warnedRetention = false
        while !wake.isStopped {
            let page: FeedOutboxPage
            do {
                page = try await store.feedOutboxPage(limit: settings.batchSize)
            } catch {
                metrics.failure(reason: FeedError.store.code)
                logger.error("feed outbox not readable", metadata: ["error": "\(error)"])
                await wake.wait(atMost: .seconds(1))
                continue
            }
            observe(page)
            let oldestAge = page.oldestQueuedAt.map { Duration.seconds(max(0, Date().timeIntervalSince($0))) } ?? .zero
            if page.backlog > settings.retentionRows || oldestAge > settings.retentionAge {
                await enforceRetention()
                continue
            }
            let nearlyFull =
                page.backlog >= settings.retentionRows / 10 * 8 || oldestAge >= settings.retentionAge * 0.8
            if nearlyFull != warnedRetention {
                warnedRetention = nearlyFull
                if nearlyFull {
                    logger.warning(
                        "feed outbox at 80 % of its retention: the oldest rows will be dropped at the bound",
                        metadata: [
                            "backlog": "\(page.backlog)", "retention_rows": "\(settings.retentionRows)",
                            "oldest_age_seconds": "\(Int(oldestAge.components.seconds))",
                            "retention_seconds": "\(settings.retentionAge.components.seconds)",
                        ])
                }
            }
            let now = ContinuousClock.now
            let statesDue = now - lastStates >= settings.accountStateInterval
            let states = statesDue ? await changedStates(since: sentStates) : []
            if statesDue { lastStates = now }
            if let liveSource, now - lastLive >= settings.liveResourceInterval {
                lastLive = now
                live.take(await liveSource.report())
            }
            let liveResources = live.toSend
            let heartbeatDue = now - lastSent >= settings.heartbeatInterval
            if page.rows.isEmpty && states.isEmpty && liveResources.isEmpty && !heartbeatDue {
                // Woken by a commit, or when account states, live resources or the heartbeat are due.
                var until = min(
                    settings.accountStateInterval - (now - lastStates), settings.heartbeatInterval - (now - lastSent))
                if liveSource != nil { until = min(until, settings.liveResourceInterval - (now - lastLive)) }
                await wake.wait(atMost: max(.milliseconds(10), until))
                continue
            }
            do {
                let acknowledgement = try await send(page: page, states: states, live: liveResources)
                live.acknowledge(liveResources)
                if failing {
                    failing = false
                    logger.notice("dashboard feed restored", metadata: ["backlog": "\(page.backlog)"])
                }
                backoff = .milliseconds(500)
                lastSent = ContinuousClock.now
                for state in states { sentStates[state.accountId] = state }
                if !acknowledgement.refusedAccounts.isEmpty {
                    metrics.refusedAccounts.increment(by: acknowledgement.refusedAccounts.count)
                    logger.error(
                        "the dashboard refused accounts that belong to another agent",
                        metadata: [
                            "accounts": "\(acknowledgement.refusedAccounts.joined(separator: ","))"
                        ])
                }
                if acknowledgement.acknowledgedThrough > page.acknowledgedThrough {
                    try await store.acknowledgeFeed(through: acknowledgement.acknowledgedThrough)
                }
                status.withLock {
                    $0.isConnected = true
                    $0.acknowledgedThrough = max($0.acknowledgedThrough, acknowledgement.acknowledgedThrough)
                }
                metrics.acknowledged.record(Int64(clamping: acknowledgement.acknowledgedThrough))
            } catch {
                let feedError = error as? FeedError ?? FeedError.store.with(detail: "\(error)")
                metrics.failure(reason: feedError.code)
                status.withLock { $0.isConnected = false }
                if !failing {
                    failing = true
                    logger.warning(
                        "dashboard feed failing; retrying with backoff (nothing is lost: the outbox keeps it)",
                        metadata: ["error": "\(feedError)", "backlog": "\(page.backlog)"])
                } else {
                    logger.debug("dashboard feed still failing", metadata: ["error": "\(feedError)"])
                }
                // Backs off; a graceful shutdown ends the wait within 100 ms (the outbox keeps everything).
                let retryAt = ContinuousClock.now + backoff
                while !wake.isStopped, ContinuousClock.now < retryAt {
                    try? await Task.sleep(for: min(.milliseconds(100), retryAt - ContinuousClock.now))
                }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    private func observe(_ page: FeedOutboxPage) {
        let age = page.oldestQueuedAt.map { max(0, Date().timeIntervalSince($0)) } ?? 0
        metrics.backlog.record(page.backlog)
        metrics.oldestAge.record(age)
        metrics.overflowed.record(page.overflowedRows)
        status.withLock {
            $0.backlog = page.backlog
            $0.oldestAge = .milliseconds(Int64(age * 1_000))
            $0.overflowedRows = page.overflowedRows
        }
    }

    private func enforceRetention() async {
        do {
            let cutoff = Date().addingTimeInterval(-Double(settings.retentionAge.components.seconds))
            let byRows = try await store.trimFeedOutbox(maximumRows: settings.retentionRows)
            let byAge = try await store.trimFeedOutbox(queuedBefore: cutoff)
            let dropped = byRows + byAge
            guard dropped > 0 else {
                // Nothing older than the bound any more (acknowledged meanwhile): read the outbox again.
                await wake.wait(atMost: .milliseconds(100))
                return
            }
            metrics.overflowRows.increment(by: dropped)
            logger.error(
                "feed outbox over its retention: the oldest unacknowledged rows were dropped (reported to the dashboard)",
                metadata: [
                    "dropped": "\(dropped)", "dropped_by_rows": "\(byRows)", "dropped_by_age": "\(byAge)",
                    "retention_rows": "\(settings.retentionRows)",
                    "retention_seconds": "\(settings.retentionAge.components.seconds)",
                ])
        } catch {
            logger.error("feed outbox not trimmed", metadata: ["error": "\(error)"])
            await wake.wait(atMost: .seconds(1))
        }
    }

    /// Account states that differ from what was last sent: stored rows (connection, last figures)
    /// overlaid with the newest live observation.
    private func changedStates(since sent: [String: FeedAccountState]) async -> [FeedAccountState] {
        guard let rows = try? await store.accountStates() else { return [] }
        let live = coalescer.snapshot()
        connectedCount.withLock { $0 = rows.count(where: \.connected) }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        var changed: [FeedAccountState] = []
        for row in rows {
            var state = FeedAccountState(
                accountId: row.accountId, connected: row.connected,
                balance: row.balanceUnits.map { FixedDecimal(units: $0).description },
                equity: row.equityUnits.map { FixedDecimal(units: $0).description },
                brokerTime: row.lastSeenBrokerTime, observedAt: now)
            if let observation = live[row.accountId], observation.brokerTime >= (row.lastSeenBrokerTime ?? .min) {
                state.balance = observation.balance
                state.equity = observation.equity
                state.credit = observation.credit
                state.brokerTime = observation.brokerTime
            }
            var comparable = state
            comparable.observedAt = sent[row.accountId]?.observedAt ?? 0
            if sent[row.accountId] != comparable { changed.append(state) }
        }
        return changed
    }

    private func send(
        page: FeedOutboxPage, states: [FeedAccountState], live: [FeedLiveResource]
    ) async throws -> FeedAcknowledgement {
        let decoder = JSONDecoder()
        var items: [FeedItem] = []
        items.reserveCapacity(page.rows.count)
        for row in page.rows {
            do {
                items.append(
                    FeedItem(
                        sequence: row.sequence, record: try decoder.decode(FeedRecord.self, from: Data(row.record.utf8))
                    ))
            } catch {
                throw FeedError.store.with(detail: "outbox row \(row.sequence) is not a feed record: \(error)")
            }
        }
        let batch = FeedBatch(
            agent: FeedAgentStatus(
                version: settings.version, storeId: store.storeId,
                terminalsConnected: connectedCount.withLock { $0 },
                outboxBacklog: page.backlog,
                outboxOldestAgeMilliseconds: page.oldestQueuedAt.map {
                    Int64(max(0, Date().timeIntervalSince($0)) * 1_000)
                } ?? 0,
                overflowedRows: page.overflowedRows,
                // Rows up to the acknowledgement are gone here too: a dashboard restored
                // from an older backup records them as lost instead of waiting for them.
                lostThrough: max(page.lostThrough, page.acknowledgedThrough)),
            items: items, accountStates: states, liveResources: live)
        var request = HTTPClientRequest(url: settings.dashboardURL + FeedPath.batches)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body: Data
        do { body = try JSONEncoder().encode(batch) } catch {
            throw FeedError.store.with(detail: "batch not encodable: \(error)")
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(
                request, timeout: .nanoseconds(Int64(settings.requestTimeout.components.seconds) * 1_000_000_000))
        } catch {
            throw FeedError.unreachable.with(detail: "\(error)")
        }
        let answer: ByteBuffer
        do { answer = try await response.body.collect(upTo: 1 << 20) } catch {
            throw FeedError.badAnswer.with(detail: "\(error)")
        }
        guard response.status == .ok else {
            throw FeedError.refused.with(detail: "HTTP \(response.status.code): \(String(buffer: answer).prefix(300))")
        }
        do {
            let acknowledgement = try JSONDecoder().decode(
                FeedAcknowledgement.self, from: Data(answer.readableBytesView))
            metrics.batches.increment()
            metrics.items.increment(by: items.count)
            return acknowledgement
        } catch {
            throw FeedError.badAnswer.with(detail: "\(error)")
        }
    }

}

/// The feed's Prometheus metrics (fixed labels).
struct FeedMetrics: Sendable {
    let batches: CoreMetrics.Counter
    let items: CoreMetrics.Counter
    let backlog: CoreMetrics.Gauge
    let oldestAge: CoreMetrics.Gauge
    let overflowed: CoreMetrics.Gauge
    let overflowRows: CoreMetrics.Counter
    let acknowledged: CoreMetrics.Gauge
    let refusedAccounts: CoreMetrics.Counter
    private let failures: [String: CoreMetrics.Counter]

    init(factory: any MetricsFactory) {
        batches = CoreMetrics.Counter(label: "tidemark_feed_batches_total", factory: factory)
        items = CoreMetrics.Counter(label: "tidemark_feed_items_total", factory: factory)
        backlog = CoreMetrics.Gauge(label: "tidemark_feed_outbox_rows", factory: factory)
        oldestAge = CoreMetrics.Gauge(label: "tidemark_feed_outbox_oldest_age_seconds", factory: factory)
        overflowed = CoreMetrics.Gauge(label: "tidemark_feed_outbox_overflowed_rows", factory: factory)
        overflowRows = CoreMetrics.Counter(label: "tidemark_feed_outbox_dropped_total", factory: factory)
        acknowledged = CoreMetrics.Gauge(label: "tidemark_feed_acknowledged_sequence", factory: factory)
        refusedAccounts = CoreMetrics.Counter(label: "tidemark_feed_refused_accounts_total", factory: factory)
        var failures: [String: CoreMetrics.Counter] = [:]
        for reason in [FeedError.configuration, .unreachable, .refused, .badAnswer, .store].map(\.code) {
            failures[reason] = CoreMetrics.Counter(
                label: "tidemark_feed_failures_total", dimensions: [("reason", reason)], factory: factory)
        }
        self.failures = failures
    }

    func failure(reason: String) { failures[reason]?.increment() }
}
