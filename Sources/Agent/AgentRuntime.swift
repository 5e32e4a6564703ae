import API
import Bridge
import EquityEngine
import Foundation
import Hummingbird
import Logging
import Notifications
import RiskCore
import ServiceLifecycle
import Store
import Synchronization
import TidemarkProtocol
import ZeroMQ

/// The whole agent, assembled from an ``AgentConfiguration``: store, bridge, pipeline, HTTP.
///
/// ```swift
/// let agent = try await AgentRuntime.start(configuration: configuration, logger: logger)
/// try await agent.run()   // until SIGTERM/SIGINT: stop accepting, commit what is pending, close
/// ```
///
/// Services (swift-service-lifecycle) start in this order and stop in reverse:
/// 1. the core: the bridge's socket loop and the pipeline (single writer);
/// 1b. webhook delivery (the store's outbox, woken after commits that queued deliveries);
/// 2. HTTP: the REST API (the `API` target's routes over ``AgentControl`` and a store read model),
///    `/metrics`, `/health`, `/ready`.
/// On SIGTERM the HTTP server stops first (long polls answer, streams end), then the bridge
/// stops reading, the pipeline commits what it has taken and acknowledges it, and the store closes.
public final class AgentRuntime: Sendable {
    public let configuration: AgentConfiguration
    public let store: Store
    public let bridge: BridgeServer
    public let pipeline: Pipeline
    public let metrics: AgentMetrics
    /// The bridge endpoint actually bound (wildcard ports resolved).
    public let bridgeEndpoint: String
    private let logger: Logger
    private let ready = Atomic<Bool>(false)
    private let hooks: CommitHooks
    private let httpBound: Mutex<String?> = Mutex(nil)

    private init(configuration: AgentConfiguration, store: Store, bridge: BridgeServer, pipeline: Pipeline,
                 metrics: AgentMetrics, bridgeEndpoint: String, logger: Logger,
                 hooks: CommitHooks) {
        self.configuration = configuration; self.store = store; self.bridge = bridge; self.pipeline = pipeline
        self.metrics = metrics; self.bridgeEndpoint = bridgeEndpoint; self.logger = logger; self.hooks = hooks
    }

    /// Opens the store (migrating it), makes sure an admin token exists, restores the risk core
    /// from the last checkpoint and binds the bridge. Nothing is processed until ``run()``.
    public static func start(configuration: AgentConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment,
                             logger: Logger) async throws -> AgentRuntime {
        try configuration.validate()
        try FileManager.default.createDirectory(atPath: configuration.data, withIntermediateDirectories: true)
        let store: Store
        do {
            store = try Store(path: configuration.databasePath,
                              options: Store.Options(durability: configuration.durability == "normal" ? .normal : .full))
        } catch {
            throw AgentError.store.with(detail: "\(configuration.databasePath): \(error) \(error.detail)")
        }
        try await ensureAdminToken(store: store, environment: environment, logger: logger)
        // No bridge session survives a restart (kill -9 included): accounts read disconnected until
        // their EAs say hello again.
        let stale = try await store.closeOpenSessions(at: Date())
        if stale > 0 { logger.info("sessions of the previous run closed", metadata: ["sessions": "\(stale)"]) }

        guard let tolerance = FixedDecimal(configuration.driftTolerance) else {
            throw AgentError.configuration.with(detail: "driftTolerance must be a decimal, got \(configuration.driftTolerance)")
        }
        let coreConfiguration = AgentCore.Configuration(equity: .init(driftTolerance: .fixed(tolerance)),
                                                        timeBoundMilliseconds: Int64(configuration.timeBoundSeconds) * 1_000)
        let (core, position) = try await Pipeline.restore(from: store, configuration: coreConfiguration)
        if position > 0 {
            logger.notice("resumed from checkpoint", metadata: [
                "input_position": "\(position)", "next_sequence_number": "\(core.risk.nextSequenceNumber)",
            ])
        }

        var curve: BridgeCurveConfiguration?
        if let secret = configuration.curveSecretKey, let allowList = configuration.allowKeys {
            curve = BridgeCurveConfiguration(serverKeys: try CurveKeyPair(certificateFile: secret),
                                             allowedClientKeys: try AllowedKeys.read(path: allowList))
        }
        // ACKs follow commits (the pipeline wakes the socket loop to send them).
        let session = BridgeSessionConfiguration(heartbeatIntervalMilliseconds: Int64(configuration.heartbeatMilliseconds),
                                                 acknowledgeAfterMilliseconds: 10, acknowledgesOnCommit: true)
        // Queues ahead of the writer are kept short: a breach tick waits behind everything queued
        // before it. libzmq's limit applies per terminal (1,000 frames, its default: bounded
        // memory however many terminals) and its ROUTER reads the terminals in turn, so one busy
        // terminal's backlog does not delay another's tick; the handoff to the pipeline is one
        // queue for all, so it holds two commits' worth: one being folded, the next gathering.
        let inbox = Inbox(capacity: 2 * configuration.commitMaximumMessages)
        let bridge = try BridgeServer(configuration: BridgeServerConfiguration(
                                          endpoint: configuration.bridge, session: session, curve: curve,
                                          receiveHighWaterMark: 1_000),
                                      sink: inbox, logger: logger)
        let metrics = AgentMetrics()
        let hooks = CommitHooks()
        let pipeline = Pipeline(store: store, bridge: bridge, inbox: inbox, core: core, inputPosition: position,
                                maximumBatch: configuration.commitMaximumMessages, metrics: metrics, logger: logger,
                                recordDirectory: configuration.record,
                                commitInterval: .milliseconds(configuration.commitIntervalMilliseconds),
                                checkpointInterval: .milliseconds(configuration.checkpointIntervalMilliseconds),
                                wallClockInterval: .milliseconds(configuration.wallClockIntervalMilliseconds),
                                farewellAcknowledgementDelay: .milliseconds(configuration.heartbeatMilliseconds / 2)) { notice in
            hooks.call(notice)
        }
        let endpoint = try bridge.start()
        return AgentRuntime(configuration: configuration, store: store, bridge: bridge, pipeline: pipeline, metrics: metrics,
                            bridgeEndpoint: endpoint, logger: logger, hooks: hooks)
    }

    /// Calls `hook` after every commit (on the writer's thread: keep it short and non-blocking).
    public func onCommit(_ hook: @escaping @Sendable (CommitNotice) -> Void) {
        hooks.add(hook)
    }

    /// Whether the pipeline runs (for `/ready`).
    public var isReady: Bool { ready.load(ordering: .relaxed) }

    /// The HTTP address actually bound, once listening.
    public var httpEndpoint: String? { httpBound.withLock { $0 } }

    /// Runs every service until SIGTERM or SIGINT, then shuts down gracefully.
    /// - Parameters:
    ///   - addRoutes: adds the REST API's routes to the router (the agent's own come first).
    ///   - onHTTPRunning: called with `HOST:PORT` once the HTTP server listens.
    public func run(extraServices: [any Service] = [], onHTTPRunning: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let api = makeAPI(templates: Self.loadTemplates(directory: configuration.challengeTemplates))
        let router = Router(context: APIRequestContext.self)
        router.get("health") { _, _ in "ok\n" }
        router.get("ready") { [self] _, _ -> Response in
            isReady ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "starting\n")))
        }
        router.get("metrics") { [metrics, bridge, store] _, _ -> Response in
            metrics.publish(bridge.counters)
            // The outbox backlog is read when scraped: exact, and one indexed COUNT.
            if let backlog = try? await store.pendingDeliveryCount() { metrics.webhookBacklog.record(backlog) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.registry.emitToString())))
        }
        api.addRoutes(to: router)
        let (host, port) = try configuration.httpAddress()
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "tidemark"),
                              onServerRunning: { [self] channel in
                                  let bound = "\(host):\(channel.localAddress?.port ?? port)"
                                  httpBound.withLock { $0 = bound }
                                  onHTTPRunning(bound)
                              },
                              logger: logger)
        let webhooks = WebhookDeliverer(store: store,
                                        configuration: .init(maximumConcurrentDeliveries: configuration.webhookWorkers),
                                        logger: logger, observe: { [metrics] attempt in metrics.record(attempt) })
        onCommit { notice in
            if notice.queuedDeliveries > 0 { webhooks.eventsCommitted() }
        }
        let core = CoreService(runtime: self)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: core), .init(service: webhooks)] + extraServices.map { .init(service: $0) }
                + [.init(service: app), .init(service: APIShutdown(api: api))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }

    /// The bridge and the pipeline, as one service: on graceful shutdown the bridge stops reading,
    /// the pipeline commits and acknowledges what it took, then the store closes.
    private struct CoreService: Service {
        let runtime: AgentRuntime

        func run() async throws {
            runtime.ready.store(true, ordering: .relaxed)
            defer { runtime.ready.store(false, ordering: .relaxed) }
            let bridge = runtime.bridge
            try await withGracefulShutdownHandler {
                try await runtime.pipeline.run(prelude: {
                    guard let rules = runtime.configuration.rules else { return }
                    do { try await runtime.applyRules(path: rules) } catch {
                        runtime.logger.error("rules not applied", metadata: ["file": "\(rules)", "error": "\(error)"])
                    }
                })
            } onGracefulShutdown: {
                bridge.stop()
            }
            bridge.stop()
            try await bridge.waitUntilStopped()
            runtime.metrics.publish(bridge.counters)
            try? runtime.store.close()
            runtime.logger.info("agent stopped", metadata: ["messages": "\(bridge.counters.messages)"])
        }
    }

    /// Stops first on graceful shutdown: long polls answer `[]` and streams end, so the HTTP
    /// server can drain.
    private struct APIShutdown: Service {
        let api: TidemarkAPI
        func run() async throws {
            try? await gracefulShutdown()
            api.shutdown()
        }
    }

    // MARK: Rules file

    /// Declares what a rules file lists (protocol/RULES.md), through the single writer. A
    /// declaration whose id exists already (declared on an earlier run) is kept as it is.
    func applyRules(path: String) async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let declarations = object["declarations"] as? [Any] else {
            throw AgentError.configuration.with(detail: "\(path): expected {\"declarations\": [ … ]}")
        }
        let commands = try declarations.map {
            try JSONDecoder().decode(RiskCommand.self, from: JSONSerialization.data(withJSONObject: $0))
        }
        var applied = 0
        for (index, refusal) in try await pipeline.declare(all: commands).enumerated() {
            switch refusal {
            case nil:
                applied += 1
            case let error as RiskCoreError where [.duplicateTrackerID, .duplicateChallengeID, .duplicateCompetitionID].contains(error):
                continue
            case let error as RiskCoreError:
                logger.error("rules: declaration refused", metadata: ["file": "\(path)", "index": "\(index)", "error": "\(error)",
                                                                     "detail": "\(error.detail)"])
            case let error?:
                throw error
            }
        }
        logger.notice("rules applied", metadata: ["file": "\(path)", "new": "\(applied)", "listed": "\(declarations.count)"])
    }

    // MARK: Admin token

    /// Makes sure an admin token exists: `TIDEMARK_ADMIN_TOKEN` when set (adopted if new), else a
    /// generated one on first run, printed once on stdout (only its hash is stored).
    static func ensureAdminToken(store: Store, environment: [String: String], logger: Logger) async throws {
        if let secret = environment["TIDEMARK_ADMIN_TOKEN"], !secret.isEmpty {
            if try await store.verifyToken(secret) == nil {
                _ = try await store.createToken(name: "admin (TIDEMARK_ADMIN_TOKEN)", isAdmin: true, secret: secret, at: Date())
                logger.info("admin token adopted from TIDEMARK_ADMIN_TOKEN")
            }
            return
        }
        let tokens = try await store.tokens()
        guard !tokens.contains(where: { $0.isAdmin && $0.revokedAt == nil }) else { return }
        let issued = try await store.createToken(name: "admin", isAdmin: true, at: Date())
        print("admin token (shown once, keep it): \(issued.secret)")
        fflush(nil)   // stdout is a C global that strict concurrency won't let us name
    }
}

/// Who hears about commits (API notifier, equity streams, webhook worker).
final class CommitHooks: Sendable {
    private let hooks = Mutex<[@Sendable (CommitNotice) -> Void]>([])
    func add(_ hook: @escaping @Sendable (CommitNotice) -> Void) { hooks.withLock { $0.append(hook) } }
    func call(_ notice: CommitNotice) { for hook in hooks.withLock({ $0 }) { hook(notice) } }
}

/// Reads a CURVE allow-list file: each non-empty, non-`#` line is a Z85 public key, a
/// `public-key = "…"` line, or the path of a certificate file.
enum AllowedKeys {
    static func read(path: String) throws -> [CurveKey] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var keys: [CurveKey] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("public-key") {
                let parts = line.split(separator: "\"", omittingEmptySubsequences: false)
                guard parts.count >= 3 else { throw AgentError.configuration.with(detail: "\(path): cannot read `\(line)`") }
                keys.append(try CurveKey(z85: String(parts[1])))
            } else if line.utf8.count == 40, let key = try? CurveKey(z85: line) {
                keys.append(key)
            } else {
                keys.append(try CurveKeyPair.publicKey(certificateFile: line))
            }
        }
        return keys
    }
}
