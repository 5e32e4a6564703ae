import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Store
import Synchronization
import TidemarkProtocol

/// Delivers webhook events from the store's outbox: a long-running `Service` of the agent.
///
/// Each pending delivery (one event for one webhook, queued by the store in the same transaction
/// that stored the event) is POSTed to the webhook's URL over HTTP or HTTPS with the event's body
/// (what `eventBody` makes of the stored event: the agent gives the REST API's resource of the event)
/// and the headers of ``WebhookRequest`` (among them the event id for de-duplication and
/// the ``WebhookSignature``). A 2xx answer acknowledges it (`Store/markDelivered(webhookId:sequenceNumber:at:)`);
/// anything else — another status, a redirect (never followed), a timeout, a refused connection —
/// records a failure with the next attempt time from the ``WebhookRetryPolicy``, or abandons the
/// delivery when the policy gives up.
///
/// **At least once.** The outbox row changes only after the receiver answered, so a crash between
/// the POST and the store update sends the event again after the restart, with the same
/// `Tidemark-Event-Id`: receivers de-duplicate on it. An acknowledged delivery is never sent again.
/// Ordering is not guaranteed: a retried event may arrive after later ones.
///
/// **When it works.** It delivers everything due, then sleeps until the earliest pending retry or
/// until ``eventsCommitted()`` wakes it — the agent calls that after each commit that queued
/// deliveries (`CommitReceipt/queuedDeliveryCount` > 0), so an event leaves within milliseconds of
/// being stored. Up to ``Configuration/maximumConcurrentDeliveries`` requests run at once; a page of
/// due deliveries is finished before the next is read, so one slow receiver holds a page back for
/// at most the request timeout.
///
/// **Stopping.** ``run()`` returns on graceful shutdown (or cancellation): no new delivery starts,
/// requests already sent finish (within the request timeout) and are recorded.
public final class WebhookDeliverer: Service {
    /// Settings.
    public struct Configuration: Hashable, Sendable {
        public var retryPolicy: WebhookRetryPolicy
        /// How long a receiver has to answer one request, connection included.
        public var requestTimeout: Duration
        /// Requests in flight at once.
        public var maximumConcurrentDeliveries: Int
        /// Due deliveries read from the store at a time.
        public var pageSize: Int
        /// Seeds the jitter's generator, for repeatable schedules in tests; nil seeds it randomly.
        public var jitterSeed: UInt64?
        /// How long to wait before trying again after the store failed.
        public var storeRetryDelay: Duration

        public init(
            retryPolicy: WebhookRetryPolicy = WebhookRetryPolicy(), requestTimeout: Duration = .seconds(10),
            maximumConcurrentDeliveries: Int = 8, pageSize: Int = 64, jitterSeed: UInt64? = nil,
            storeRetryDelay: Duration = .seconds(1)
        ) {
            self.retryPolicy = retryPolicy
            self.requestTimeout = requestTimeout
            self.maximumConcurrentDeliveries = maximumConcurrentDeliveries
            self.pageSize = pageSize
            self.jitterSeed = jitterSeed
            self.storeRetryDelay = storeRetryDelay
        }
    }

    /// Counts since the deliverer was made, for the agent's metrics.
    public struct Statistics: Hashable, Sendable {
        /// Deliveries acknowledged with 2xx.
        public var delivered = 0
        /// Attempts that failed (each retry counts).
        public var failedAttempts = 0
        /// Deliveries given up by the retry policy.
        public var abandoned = 0
        /// Store reads or writes that failed.
        public var storeErrors = 0
        /// Failed attempts by ``WebhookDeliveryError/code``.
        public var failuresByCode: [String: Int] = [:]
    }

    private struct State {
        var random: SplitMix64
        var statistics = Statistics()
    }

    /// How one attempt ended, as it is recorded in the outbox: what metrics count.
    public enum AttemptOutcome: Hashable, Sendable {
        /// The receiver answered 2xx. `latency` runs from the commit that stored the event (and
        /// queued the delivery) to that answer, retries included; nil for rows queued before the
        /// store kept that time.
        case delivered(latency: Duration?)
        /// The attempt failed for `reason` (a ``WebhookDeliveryError/code``: `rejected` for a
        /// non-2xx status, `timeout`, `connection`, `invalid_url`, `unrenderable`); `abandoned` when the retry
        /// policy gave up on the delivery with it.
        case failed(reason: String, abandoned: Bool)
    }

    private let store: Store
    private let configuration: Configuration
    private let logger: Logger
    private let eventBody: @Sendable (StoredEvent) throws -> Data
    private let now: @Sendable () -> Date
    private let observe: @Sendable (AttemptOutcome) -> Void
    private let wake = WakeSignal()
    private let state: Mutex<State>

    /// A deliverer for `store`'s outbox. `eventBody` turns a stored event into the bytes POSTed (the
    /// agent passes the API's encoding, so a webhook receives what the REST API returns for the
    /// event; a throw is a failed attempt, `unrenderable`). `now` is the wall clock used for due times and signatures
    /// (injected for tests); `observe` hears every attempt once the outbox recorded it (keep it
    /// short: it runs on the delivery task).
    public init(
        store: Store, eventBody: @escaping @Sendable (StoredEvent) throws -> Data,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "tidemark.webhooks"),
        now: @escaping @Sendable () -> Date = { Date() },
        observe: @escaping @Sendable (AttemptOutcome) -> Void = { _ in }
    ) {
        self.store = store
        self.eventBody = eventBody
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.observe = observe
        let seed = configuration.jitterSeed ?? UInt64.random(in: .min ... .max)
        self.state = Mutex(State(random: SplitMix64(seed: seed)))
    }

    /// Wakes the deliverer: call after a commit that queued deliveries. Cheap, never blocks; calls
    /// while it is busy coalesce.
    public func eventsCommitted() {
        wake.signal()
    }

    /// Counts so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Delivers until graceful shutdown or cancellation.
    public func run() async throws {
        var clientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        clientConfiguration.timeout = .init(connect: TimeAmount(configuration.requestTimeout))
        // A refused or failed connection is a failed attempt now, retried by our own policy. (The
        // client's default retries connecting until the timeout: a receiver that is down then held
        // every delivery of the page, to healthy receivers too, for the whole request timeout.)
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        try await HTTPClient.withHTTPClient(configuration: clientConfiguration) { client in
            await withTaskCancellationOrGracefulShutdownHandler {
                await self.deliverUntilStopped(using: client)
            } onCancelOrGracefulShutdown: {
                self.wake.stop()
            }
        }
        logger.debug("webhook deliverer stopped")
    }

    private func deliverUntilStopped(using client: HTTPClient) async {
        while !wake.isStopped {
            guard await deliverDue(using: client) else {
                await wake.wait(atMost: configuration.storeRetryDelay)
                continue
            }
            guard !wake.isStopped else { break }
            let nextDue: Date?
            do {
                nextDue = try await store.nextDeliveryDue()
            } catch {
                recordStoreError(error, while: "reading the next due time")
                await wake.wait(atMost: configuration.storeRetryDelay)
                continue
            }
            let timeout = nextDue.map {
                Duration.milliseconds(max(0, Int64(($0.timeIntervalSince(now()) * 1000).rounded(.up))))
            }
            await wake.wait(atMost: timeout)
        }
    }

    /// Delivers every delivery due now, page by page. False when the store failed (the caller waits
    /// before trying again, rather than re-sending rows it could not update).
    func deliverDue(using client: HTTPClient) async -> Bool {
        while !wake.isStopped {
            let page: [OutboxDelivery]
            do {
                page = try await store.dueDeliveries(at: now(), limit: max(1, configuration.pageSize))
            } catch {
                recordStoreError(error, while: "reading due deliveries")
                return false
            }
            if page.isEmpty { return true }
            let allRecorded = await withTaskGroup(of: Bool.self) { group in
                var pending = page.makeIterator()
                var running = 0
                var allRecorded = true
                while running < max(1, configuration.maximumConcurrentDeliveries), let delivery = pending.next() {
                    group.addTask { await self.deliver(delivery, using: client) }
                    running += 1
                }
                while let recorded = await group.next() {
                    allRecorded = allRecorded && recorded
                    if !wake.isStopped, let delivery = pending.next() {
                        group.addTask { await self.deliver(delivery, using: client) }
                    }
                }
                return allRecorded
            }
            guard allRecorded else { return false }
            if page.count < configuration.pageSize { return true }
        }
        return true
    }

    /// One attempt, recorded in the store. False when the store could not record it.
    private func deliver(_ delivery: OutboxDelivery, using client: HTTPClient) async -> Bool {
        let timestamp = Int64(now().timeIntervalSince1970.rounded(.down))
        let outcome: Result<Void, WebhookDeliveryError>
        do {
            let request = WebhookRequest(delivery: delivery, body: try eventBody(delivery.event), timestamp: timestamp)
            outcome = await post(request, using: client)
        } catch {
            outcome = .failure(WebhookDeliveryError.unrenderable.with(detail: "\(error)"))
        }
        if case .failure = outcome, Task.isCancelled {
            // Our own stop interrupted the attempt; the receiver did nothing wrong. The row stays due
            // and is sent again after the restart.
            return true
        }
        let sequence = delivery.event.sequenceNumber
        var metadata: Logger.Metadata = [
            "webhook": "\(delivery.webhookId)", "event": "\(sequence)",
            "attempt": "\(delivery.attempts + 1)",
        ]
        do throws(StoreError) {
            switch outcome {
            case .success:
                let answeredAt = now()
                try await store.markDelivered(webhookId: delivery.webhookId, sequenceNumber: sequence, at: answeredAt)
                state.withLock { $0.statistics.delivered += 1 }
                observe(
                    .delivered(
                        latency: delivery.queuedAt.map { .milliseconds(max(0, answeredAt.storedMillisecondsSince($0))) }
                    ))
                logger.trace("webhook delivered", metadata: metadata)
            case .failure(let error):
                let fraction = state.withLock { $0.random.nextFraction() }
                let decision = configuration.retryPolicy.decision(
                    afterFailedAttempts: delivery.attempts + 1,
                    randomFraction: fraction)
                metadata["error"] = "\(error)"
                let retryAt: Date?
                switch decision {
                case .retry(let delay):
                    retryAt = now().addingTimeInterval(Self.seconds(delay))
                    metadata["retry_in_ms"] = "\(Int64(Self.seconds(delay) * 1000))"
                    logger.info("webhook delivery failed", metadata: metadata)
                case .giveUp:
                    retryAt = nil
                    logger.warning("webhook delivery abandoned", metadata: metadata)
                }
                try await store.markFailed(
                    webhookId: delivery.webhookId, sequenceNumber: sequence,
                    error: error.description, retryAt: retryAt)
                state.withLock { state in
                    state.statistics.failedAttempts += 1
                    state.statistics.failuresByCode[error.code, default: 0] += 1
                    if retryAt == nil { state.statistics.abandoned += 1 }
                }
                observe(.failed(reason: error.code, abandoned: retryAt == nil))
            }
            return true
        } catch  where error == .notFound {
            // The webhook was deleted meanwhile (its rows with it): nothing left to record.
            logger.debug("webhook delivery no longer pending", metadata: metadata)
            return true
        } catch {
            recordStoreError(error, while: "recording a delivery attempt")
            return false
        }
    }

    /// POSTs `request`; success only for a 2xx answer.
    private func post(_ request: WebhookRequest, using client: HTTPClient) async -> Result<Void, WebhookDeliveryError> {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            return .failure(WebhookDeliveryError.invalidURL.with(detail: request.url))
        }
        var httpRequest = HTTPClientRequest(url: request.url)
        httpRequest.method = .POST
        for header in request.headers { httpRequest.headers.add(name: header.name, value: header.value) }
        httpRequest.body = .bytes(ByteBuffer(bytes: request.body))
        do {
            let response = try await client.execute(
                httpRequest, timeout: TimeAmount(configuration.requestTimeout),
                logger: logger)
            // Read (and drop) a short body so the connection can be reused; the status alone decides.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            return (200..<300).contains(status) ? .success(()) : .failure(.rejected(status: status))
        } catch let error as HTTPClientError
            where [
                HTTPClientError.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .tlsHandshakeTimeout,
            ].contains(error)
        {
            return .failure(WebhookDeliveryError.timeout.with(detail: "\(error)"))
        } catch {
            return .failure(WebhookDeliveryError.connection.with(detail: "\(error)"))
        }
    }

    private func recordStoreError(_ error: any Error, while activity: String) {
        state.withLock { $0.statistics.storeErrors += 1 }
        logger.error("webhook store error while \(activity)", metadata: ["error": "\(error)"])
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension Date {
    /// Whole milliseconds from `earlier` to this date (the outbox keeps milliseconds).
    fileprivate func storedMillisecondsSince(_ earlier: Date) -> Int64 {
        Int64((timeIntervalSince(earlier) * 1000).rounded())
    }
}

/// The retry jitter draws from a seeded SplitMix64, so a schedule repeats from its seed.
extension SplitMix64 {
    /// A uniform fraction in [0, 1) from the top 53 bits.
    mutating func nextFraction() -> Double { Double(next() >> 11) * 0x1p-53 }
}

extension WebhookDeliverer.Configuration: Codable {
    /// The JSON form, for a `webhooks` object in the agent's config file: keys `initialDelaySeconds`,
    /// `maximumDelaySeconds`, `jitter`, `maximumAttempts`, `maximumAgeSeconds`, `requestTimeoutSeconds`,
    /// `maximumConcurrentDeliveries`, `pageSize`. Every key is optional (missing: the default);
    /// durations are seconds, fractions allowed. The jitter seed and store retry delay are not settings.
    enum CodingKeys: String, CodingKey {
        case initialDelaySeconds, maximumDelaySeconds, jitter, maximumAttempts, maximumAgeSeconds
        case requestTimeoutSeconds, maximumConcurrentDeliveries, pageSize
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        func seconds(_ key: CodingKeys, _ fallback: Duration) throws -> Duration {
            guard let value = try container.decodeIfPresent(Double.self, forKey: key) else { return fallback }
            guard value.isFinite, value > 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "must be a positive number of seconds")
            }
            return .milliseconds(Int64((value * 1000).rounded()))
        }
        func count(_ key: CodingKeys, _ fallback: Int) throws -> Int {
            guard let value = try container.decodeIfPresent(Int.self, forKey: key) else { return fallback }
            guard value > 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "must be at least 1")
            }
            return value
        }
        let jitter = try container.decodeIfPresent(Double.self, forKey: .jitter) ?? defaults.retryPolicy.jitter
        guard (0...1).contains(jitter) else {
            throw DecodingError.dataCorruptedError(
                forKey: .jitter, in: container, debugDescription: "must be between 0 and 1")
        }
        self.init(
            retryPolicy: WebhookRetryPolicy(
                initialDelay: try seconds(.initialDelaySeconds, defaults.retryPolicy.initialDelay),
                maximumDelay: try seconds(.maximumDelaySeconds, defaults.retryPolicy.maximumDelay),
                jitter: jitter,
                maximumAttempts: try count(.maximumAttempts, defaults.retryPolicy.maximumAttempts),
                maximumAge: try seconds(.maximumAgeSeconds, defaults.retryPolicy.maximumAge)),
            requestTimeout: try seconds(.requestTimeoutSeconds, defaults.requestTimeout),
            maximumConcurrentDeliveries: try count(.maximumConcurrentDeliveries, defaults.maximumConcurrentDeliveries),
            pageSize: try count(.pageSize, defaults.pageSize))
    }

    public func encode(to encoder: any Encoder) throws {
        func seconds(_ duration: Duration) -> Double {
            let (whole, attoseconds) = duration.components
            return Double(whole) + Double(attoseconds) / 1e18
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seconds(retryPolicy.initialDelay), forKey: .initialDelaySeconds)
        try container.encode(seconds(retryPolicy.maximumDelay), forKey: .maximumDelaySeconds)
        try container.encode(retryPolicy.jitter, forKey: .jitter)
        try container.encode(retryPolicy.maximumAttempts, forKey: .maximumAttempts)
        try container.encode(seconds(retryPolicy.maximumAge), forKey: .maximumAgeSeconds)
        try container.encode(seconds(requestTimeout), forKey: .requestTimeoutSeconds)
        try container.encode(maximumConcurrentDeliveries, forKey: .maximumConcurrentDeliveries)
        try container.encode(pageSize, forKey: .pageSize)
    }
}
