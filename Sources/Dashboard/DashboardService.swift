import API
import Crypto
import FeedProtocol
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Prometheus
import ServiceLifecycle
import Synchronization
import X509

/// `tidemark dashboard`: the feed's receiving end and the dashboard's HTTPS API, over PostgreSQL.
///
/// Two listeners: the feed port (``DashboardConfiguration/feedListen``) completes a TLS handshake
/// only with clients whose certificate chains to the configured client CA (TLS 1.2 or newer), and
/// takes `POST /feed/v1/batches`; the API port (``DashboardConfiguration/http``, HTTPS with the same
/// server certificate, no client certificate) serves the agents' REST API across every agent
/// (``DashboardAPI``, read-only), `/agents` (admin token), `/metrics`, `/health` and `/ready`.
///
/// Services start in order and stop in reverse: the PostgreSQL pool, then the feed listener, then
/// the API. On SIGTERM the API stops, the feed listener finishes the batches in flight (each is one
/// transaction: stored and acknowledged, or neither), then the pool closes.
public final class DashboardRuntime: Sendable {
    public let configuration: DashboardConfiguration
    public let store: DashboardStore
    /// The agents' REST API over ``store``, and this process's notifier and equity broadcaster.
    public let api: DashboardAPI
    let metrics: DashboardMetrics
    let logger: Logger
    private let pinned: Set<String>?
    /// This process's live updates (from every process's ingest, through LISTEN/NOTIFY).
    public let live = LiveHub()
    private let bound = Mutex<(feed: String?, http: String?)>((nil, nil))

    /// Checks the configuration, reads the certificate files and connects nothing yet.
    public init(configuration: DashboardConfiguration, logger: Logger) throws(DashboardError) {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        self.metrics = DashboardMetrics()
        self.store = DashboardStore(
            address: try DatabaseAddress(url: configuration.database ?? ""),
            connections: configuration.databaseConnections, logger: logger)
        self.api = DashboardAPI(
            store: store, adminToken: configuration.adminToken ?? "",
            configuration: APIConfiguration(longPollTimeout: .seconds(configuration.longPollSeconds)), logger: logger,
            sessions: UIAPISessions(store: store, adminToken: configuration.adminToken ?? "", logger: logger))
        if let path = configuration.pinnedAgents {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw DashboardError.configuration.with(detail: "pinnedAgents \(path) cannot be read")
            }
            pinned = Set(
                text.split(whereSeparator: \.isNewline).compactMap { line in
                    let entry = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                    let fingerprint = entry.filter { !$0.isWhitespace && $0 != ":" }.lowercased()
                    return fingerprint.isEmpty ? nil : fingerprint
                })
        } else {
            pinned = nil
        }
    }

    /// The feed address actually bound, once listening.
    public var feedEndpoint: String? { bound.withLock { $0.feed } }
    /// The API address actually bound, once listening.
    public var httpEndpoint: String? { bound.withLock { $0.http } }

    /// The server side of TLS: TLS 1.2 or newer; with `requireClients`, a client certificate that
    /// chains to the client CA is required (checked in the handshake; no hostname for clients).
    func serverTLS(requireClients: Bool) throws(DashboardError) -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(configuration.tlsCertificate ?? "").map {
                NIOSSLCertificateSource.certificate($0)
            }
            let key = try NIOSSLPrivateKey(file: configuration.tlsKey ?? "", format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            if requireClients {
                tls.certificateVerification = .noHostnameVerification
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(configuration.clientCA ?? ""))
            }
            return tls
        } catch {
            throw DashboardError.configuration.with(detail: "TLS certificate, key or client CA: \(error)")
        }
    }

    /// Migrates the database and runs until SIGTERM or SIGINT.
    /// - Parameter onRunning: called once both listeners are bound, with the feed and API addresses.
    public func run(onRunning: @escaping @Sendable (_ feed: String, _ http: String) -> Void = { _, _ in }) async throws
    {
        let feedApplication = try makeFeedApplication(onRunning: onRunning)
        let apiApplication = try makeAPIApplication(onRunning: onRunning)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: store.client), .init(service: Migrations(runtime: self)),
                    .init(service: try liveListener()), .init(service: feedApplication), .init(service: apiApplication),
                    .init(service: DashboardAPI.Shutdown(api: api)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    /// Runs the migrations once the pool runs, before the listeners accept anything (a failure stops the process).
    private struct Migrations: Service {
        let runtime: DashboardRuntime
        func run() async throws {
            // A database that never answers (wrong password, host down) must end the start-up with
            // an error, not leave the pool retrying silently.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await runtime.store.migrate()
                    try await runtime.api.catchUp()
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(30))
                    throw DashboardError.database.with(
                        detail: "PostgreSQL did not answer within 30 s (address, password, server running?)")
                }
                try await group.next()
                group.cancelAll()
            }
            runtime.migrated.signal()
            try? await gracefulShutdown()
        }
    }

    let migrated = Gate()

    private func reportBound(feed: String? = nil, http: String? = nil, onRunning: @Sendable (String, String) -> Void) {
        let both = bound.withLock { state -> (String, String)? in
            if let feed { state.feed = feed }
            if let http { state.http = http }
            guard let feed = state.feed, let http = state.http else { return nil }
            return (feed, http)
        }
        if let both {
            logger.notice("dashboard running", metadata: ["feed": "\(both.0)", "http": "\(both.1)"])
            onRunning(both.0, both.1)
        }
    }

    // MARK: Feed listener

    private func makeFeedApplication(
        onRunning: @escaping @Sendable (String, String) -> Void
    ) throws -> some ApplicationProtocol {
        let router = Router(context: FeedRequestContext.self)
        router.post(RouterPath(FeedPath.batches)) { [self] request, context in
            try await receiveBatch(request, context: context)
        }
        let (host, port) = try DashboardConfiguration.address(configuration.feedListen, key: "feedListen")
        return Application(
            router: router,
            server: try .tls(.http1(), tlsConfiguration: try serverTLS(requireClients: true)),
            configuration: .init(address: .hostname(host, port: port), serverName: "tidemark-dashboard"),
            onServerRunning: { [self] channel in
                await migrated.wait()
                reportBound(feed: "\(host):\(channel.localAddress?.port ?? port)", onRunning: onRunning)
            },
            logger: logger)
    }

    /// One batch: identify the agent by its certificate, store, acknowledge.
    private func receiveBatch(_ request: Request, context: FeedRequestContext) async throws -> Response {
        await migrated.wait()
        let identity: AgentIdentity
        do {
            identity = try await context.agentIdentity()
        } catch {
            metrics.refusedConnections.increment()
            logger.warning("feed request without a readable client certificate", metadata: ["error": "\(error)"])
            return Self.text(.forbidden, "a client certificate is required\n")
        }
        if let pinned, !pinned.contains(identity.fingerprint) {
            metrics.refusedConnections.increment()
            logger.warning(
                "feed refused: certificate not on the pinned list",
                metadata: [
                    "agent": "\(identity.subject)", "fingerprint": "\(identity.fingerprint)",
                ])
            return Self.text(.forbidden, "this certificate is not on the dashboard's pinned list\n")
        }
        let body = try await request.body.collect(upTo: 64 << 20)
        let batch: FeedBatch
        do {
            batch = try JSONDecoder().decode(FeedBatch.self, from: Data(body.readableBytesView))
        } catch {
            metrics.badBatches.increment()
            logger.warning(
                "feed batch refused: not a feed batch", metadata: ["agent": "\(identity.subject)", "error": "\(error)"])
            return Self.text(.badRequest, "not a feed batch: \(error)\n")
        }
        let start = ContinuousClock.now
        let outcome: IngestOutcome
        do {
            outcome = try await store.ingest(batch, from: identity)
        } catch {
            metrics.ingestFailures.increment()
            logger.error(
                "feed batch not stored (the agent will send it again)",
                metadata: [
                    "agent": "\(identity.subject)", "error": "\(String(reflecting: error))",
                ])
            return Self.text(.serviceUnavailable, "not stored, send it again\n")
        }
        metrics.record(outcome, duration: ContinuousClock.now - start)
        api.published(eventsThrough: outcome.lastEventSequence, accountStates: outcome.appliedStates)
        if !outcome.refusedAccounts.isEmpty {
            logger.error(
                "accounts refused: they belong to another agent",
                metadata: [
                    "agent": "\(identity.subject)", "accounts": "\(outcome.refusedAccounts.joined(separator: ","))",
                ])
        }
        if outcome.lost > 0 {
            logger.error(
                "agent reports feed rows lost to its outbox retention",
                metadata: [
                    "agent": "\(identity.subject)", "lost_rows": "\(outcome.lost)",
                ])
        }
        var response = try Self.json(outcome.acknowledgement)
        response.status = .ok
        return response
    }

    // MARK: API listener

    private func makeAPIApplication(
        onRunning: @escaping @Sendable (String, String) -> Void
    ) throws -> some ApplicationProtocol {
        let router = Router(context: APIRequestContext.self)
        router.get("health") { _, _ in "ok\n" }
        router.get("ready") { [store, migrated] _, _ -> Response in
            guard migrated.isOpen, await store.isReachable() else {
                return Self.text(.serviceUnavailable, "not ready\n")
            }
            return Self.text(.ok, "ready\n")
        }
        router.get("metrics") { [metrics] _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.registry.emitToString())))
        }
        router.get("agents") { [self] request, _ -> Response in
            guard authorized(request) else {
                return Self.text(.unauthorized, "an admin token is required (Authorization: Bearer …)\n")
            }
            return try Self.json(try await store.agents())
        }
        userInterface().add(to: router)
        api.addRoutes(to: router)
        let (host, port) = try DashboardConfiguration.address(configuration.http, key: "http")
        return Application(
            router: router,
            server: try .tls(.http1(), tlsConfiguration: try serverTLS(requireClients: false)),
            configuration: .init(address: .hostname(host, port: port), serverName: "tidemark-dashboard"),
            onServerRunning: { [self] channel in
                await migrated.wait()
                reportBound(http: "\(host):\(channel.localAddress?.port ?? port)", onRunning: onRunning)
            },
            logger: logger)
    }

    /// Constant-time comparison of the bearer token with the admin token.
    private func authorized(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            let admin = configuration.adminToken
        else { return false }
        let given = SHA256.hash(data: Data(header.dropFirst("Bearer ".count).utf8))
        let expected = SHA256.hash(data: Data(admin.utf8))
        return given == expected
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

/// A request on the feed port: it keeps its connection's channel, whose TLS handler holds the
/// agent's verified certificate.
struct FeedRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The agent's subject and fingerprint, from the certificate the handshake verified.
    func agentIdentity() async throws -> AgentIdentity {
        guard let certificate = try await channel.nioSSL_peerCertificate().get() else {
            throw DashboardError.configuration.with(detail: "no client certificate")
        }
        let der = try certificate.toDERBytes()
        let parsed = try Certificate(derEncoded: der)
        let fingerprint = SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
        return AgentIdentity(subject: String(describing: parsed.subject), fingerprint: fingerprint)
    }
}

/// Opens once; every wait after that returns at once.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var isOpen: Bool { state.withLock { $0.open } }

    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
