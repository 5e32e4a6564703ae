import API
import AgentFold
import Bridge
import EquityEngine
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import RiskCore
import ServiceLifecycle
import Store
import Synchronization
import TidemarkProtocol
import Webhooks
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
/// 2. HTTP: the REST API (the `API` target's routes over `AgentControl` and a store read model),
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
    let logger: Logger
    private let ready = Atomic<Bool>(false)
    private let hooks: CommitHooks
    private let httpBound: Mutex<String?> = Mutex(nil)
    /// HTTPS settings when `tlsCertificate` and `tlsKey` are set; nil serves plain HTTP.
    private let tls: TLSConfiguration?

    private init(
        configuration: AgentConfiguration, store: Store, bridge: BridgeServer, pipeline: Pipeline,
        metrics: AgentMetrics, bridgeEndpoint: String, logger: Logger,
        hooks: CommitHooks, tls: TLSConfiguration?
    ) {
        self.configuration = configuration
        self.store = store
        self.bridge = bridge
        self.pipeline = pipeline
        self.metrics = metrics
        self.bridgeEndpoint = bridgeEndpoint
        self.logger = logger
        self.hooks = hooks
        self.tls = tls
    }

    /// Opens the store (migrating it), makes sure an admin token exists, restores the risk core
    /// from the last checkpoint and binds the bridge. Nothing is processed until
    /// ``run(extraServices:onHTTPRunning:)``.
    ///
    /// Every failure is an ``AgentError`` whose detail names the key, file or value and what to do.
    /// - Parameters:
    ///   - configuration: the agent's settings (file, environment and flags already merged).
    ///   - environment: where `TIDEMARK_ADMIN_TOKEN` and the other secrets are read.
    ///   - rebuildCheckpoint: set the checkpoint file aside and resume from the store's own
    ///     checkpoint (`--rebuild-checkpoint`, for a checkpoint file of another store).
    ///   - logger: for the agent and every service it starts.
    public static func start(
        configuration: AgentConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment,
        rebuildCheckpoint: Bool = false, logger: Logger
    ) async throws(AgentError) -> AgentRuntime {
        do {
            return try await assemble(
                configuration: configuration, environment: environment, rebuildCheckpoint: rebuildCheckpoint,
                logger: logger)
        } catch let error as AgentError {
            throw error
        } catch let error as StoreError {
            throw AgentError.store.with(detail: "store \(configuration.databasePath): \(error)")
        } catch {
            throw AgentError.startup.with(detail: "\(error)")
        }
    }

    private static func assemble(
        configuration: AgentConfiguration, environment: [String: String], rebuildCheckpoint: Bool,
        logger: Logger
    ) async throws -> AgentRuntime {
        try configuration.validate()
        try refuseInsecureSettings(configuration, environment: environment, logger: logger)
        let tls = try HTTPSConfiguration.load(configuration)
        do {
            try FileManager.default.createDirectory(atPath: configuration.data, withIntermediateDirectories: true)
        } catch {
            throw AgentError.startup.with(
                detail: "cannot create the data directory \(configuration.data): \(error.localizedDescription)")
        }
        let store: Store
        do {
            store = try Store(
                path: configuration.databasePath,
                options: Store.Options(
                    durability: configuration.durability == "normal" ? .normal : .full,
                    rebuildCheckpoint: rebuildCheckpoint,
                    feedOutbox: configuration.feedsDashboard))
        } catch  where error == .damaged || error == .checkpointMismatch {
            throw AgentError.store.with(detail: error.detail)
        } catch {
            throw AgentError.store.with(detail: "store \(configuration.databasePath): \(error)")
        }
        if let notice = store.checkpointFileNotice { logger.warning("\(notice)") }
        try await ensureAdminToken(
            store: store, environment: environment, directory: configuration.data, logger: logger)
        // No bridge session survives a restart (kill -9 included): accounts read disconnected until
        // their EAs say hello again.
        let stale = try await store.closeOpenSessions(at: Date())
        if stale > 0 { logger.info("sessions of the previous run closed", metadata: ["sessions": "\(stale)"]) }

        guard let tolerance = FixedDecimal(configuration.driftTolerance) else {
            throw AgentError.configuration.with(
                detail: "driftTolerance must be a decimal, got \(configuration.driftTolerance)")
        }
        let coreConfiguration = AgentCore.Configuration(
            equity: .init(driftTolerance: .fixed(tolerance)),
            timeBoundMilliseconds: Int64(configuration.timeBoundSeconds) * 1_000,
            limits: DeclarationLimits(maximumTrackersPerAccount: configuration.maximumTrackersPerAccount))
        let restored = try await Pipeline.restore(from: store, configuration: coreConfiguration)
        if restored.inputPosition > 0 {
            logger.notice(
                "resumed from checkpoint",
                metadata: [
                    "input_position": "\(restored.inputPosition)",
                    "next_sequence_number": "\(restored.core.risk.nextSequenceNumber)",
                ])
        }

        var curve: BridgeCurveConfiguration?
        if let secret = configuration.curveSecretKey, let allowList = configuration.allowKeys {
            let serverKeys: CurveKeyPair
            do { serverKeys = try CurveKeyPair(certificateFile: secret) } catch {
                throw AgentError.configuration.with(detail: "curveSecretKey \(secret): \(error)")
            }
            let allowed: AllowedKeys
            do { allowed = try AllowedKeys.read(path: allowList) } catch let error as AgentError { throw error } catch {
                throw AgentError.configuration.with(detail: "allowKeys \(allowList): \(error)")
            }
            if allowed.keys.isEmpty {
                logger.warning(
                    "the CURVE allow-list admits no EA: no terminal can connect",
                    metadata: ["allowKeys": "\(allowList)"])
            }
            var bindings: [CurveKey: AccountID] = [:]
            for binding in try await store.curveKeyBindings() {
                if let key = try? CurveKey(z85: binding.publicKey) { bindings[key] = binding.accountId }
            }
            curve = BridgeCurveConfiguration(
                serverKeys: serverKeys, allowedClientKeys: allowed.keys,
                accountsOfKey: allowed.accountsOfKey, bindings: bindings)
        }
        // ACKs follow commits (the pipeline wakes the socket loop to send them).
        let session = BridgeSessionConfiguration(
            heartbeatIntervalMilliseconds: Int64(configuration.heartbeatMilliseconds),
            acknowledgeAfterMilliseconds: 10, acknowledgesOnCommit: true)
        // Queues ahead of the writer are kept short: a breach tick waits behind everything queued
        // before it. libzmq's limit applies per terminal (1,000 frames, its default: bounded
        // memory however many terminals) and its ROUTER reads the terminals in turn, so one busy
        // terminal's backlog does not delay another's tick; the handoff to the pipeline is one
        // queue for all, so it holds two commits' worth: one being folded, the next gathering.
        let inbox = Inbox(capacity: 2 * configuration.commitMaximumMessages)
        let knownAccounts = try await store.accountIDs()
        let bridge: BridgeServer
        do {
            bridge = try BridgeServer(
                configuration: BridgeServerConfiguration(
                    endpoint: configuration.bridge, session: session, curve: curve,
                    receiveHighWaterMark: 1_000, limits: configuration.limits,
                    knownAccounts: knownAccounts),
                sink: inbox, logger: logger)
        } catch {
            throw AgentError.startup.with(detail: "cannot open the bridge \(configuration.bridge): \(error)")
        }
        bridge.onKeyBound { [store, logger] binding in
            // Off the socket thread; a binding lost to a crash is made again by the key's next HELLO.
            Task {
                do { try await store.bindCurveKey(binding.key, to: binding.account, at: Date()) } catch {
                    logger.error(
                        "CURVE key binding not stored",
                        metadata: ["account": "\(binding.account)", "error": "\(error)"])
                }
            }
        }
        let metrics = AgentMetrics()
        let hooks = CommitHooks()
        let pipeline = Pipeline(
            store: store, bridge: bridge, inbox: inbox, restored: restored,
            maximumBatch: configuration.commitMaximumMessages, metrics: metrics, logger: logger,
            recordDirectory: configuration.record,
            commitInterval: .milliseconds(configuration.commitIntervalMilliseconds),
            checkpointInterval: .milliseconds(configuration.checkpointIntervalMilliseconds),
            wallClockInterval: .milliseconds(configuration.wallClockIntervalMilliseconds),
            farewellAcknowledgementDelay: .milliseconds(configuration.heartbeatMilliseconds / 2)
        ) { notice in
            hooks.call(notice)
        }
        let endpoint: String
        do { endpoint = try bridge.start() } catch {
            throw AgentError.startup.with(detail: "cannot bind the bridge \(configuration.bridge): \(error)")
        }
        return AgentRuntime(
            configuration: configuration, store: store, bridge: bridge, pipeline: pipeline, metrics: metrics,
            bridgeEndpoint: endpoint, logger: logger, hooks: hooks, tls: tls)
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
    ///   - extraServices: more services to run beside the agent's own, under the same graceful shutdown.
    ///   - onHTTPRunning: called with `HOST:PORT` once the HTTP server listens.
    public func run(
        extraServices: [any Service] = [], onHTTPRunning: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws {
        let api = makeAPI(templates: Self.loadTemplates(directory: configuration.challengeTemplates))
        let router = Router(context: APIRequestContext.self)
        router.get("health") { _, _ in "ok\n" }
        router.get("ready") { [self] _, _ -> Response in
            isReady
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "starting\n")))
        }
        router.get("metrics") { [metrics, bridge, store, notifier = api.notifier] _, _ -> Response in
            metrics.publish(bridge.counters, eventWaiters: notifier.waiterCount)
            // The outbox backlog is read when scraped: exact, and one indexed COUNT.
            if let backlog = try? await store.pendingDeliveryCount() { metrics.webhookBacklog.record(backlog) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.registry.emitToString())))
        }
        api.addRoutes(to: router)
        let (host, port) = try configuration.httpAddress()
        let ledger = HTTPConnectionLedger(limits: httpLimits(), factory: metrics.factory)
        let connectionLogger = logger
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [HTTPConnectionGuard(ledger: ledger, logger: connectionLogger)]))
        let app = Application(
            router: router,
            server: try tls.map { try .tls(http1, tlsConfiguration: $0) } ?? http1,
            configuration: .init(address: .hostname(host, port: port), serverName: "tidemark", backlog: 1_024),
            onServerRunning: { [self] channel in
                let bound = "\(host):\(channel.localAddress?.port ?? port)"
                httpBound.withLock { $0 = bound }
                onHTTPRunning(bound)
            },
            logger: logger)
        let webhooks = makeWebhookDeliverer()
        onCommit { notice in
            if notice.queuedDeliveries > 0 { webhooks.eventsCommitted() }
        }
        let feed = try makeFeed(readModel: api.readModel)
        let reloader = installAllowListReload()
        defer { reloader.cancel() }
        let core = CoreService(runtime: self)
        let group = ServiceGroup(
            configuration: .init(
                // The feed stops before the core closes the store it reads.
                services: [.init(service: core), .init(service: webhooks)] + (feed.map { [.init(service: $0)] } ?? [])
                    + extraServices.map { .init(service: $0) }
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

    // MARK: Allow-list reload

    /// On SIGHUP, re-reads the CURVE allow-list file: removed keys are refused from the next
    /// handshake on and their live sessions end (`REJECT not_allowed`). Without CURVE a SIGHUP
    /// only logs that there is nothing to reload (it must not stop the agent).
    private func installAllowListReload() -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "tidemark.sighup"))
        source.setEventHandler { [self] in
            guard configuration.curveSecretKey != nil, let path = configuration.allowKeys else {
                logger.notice("SIGHUP: nothing to reload (CURVE is off)")
                return
            }
            reloadAllowList(path: path)
        }
        source.resume()
        return source
    }

    /// Re-reads the allow-list file and hands it to the bridge; a file that cannot be read leaves
    /// the current list in force.
    func reloadAllowList(path: String) {
        do {
            let allowed = try AllowedKeys.read(path: path)
            let changed = bridge.replaceAllowList(keys: allowed.keys, accountsOfKey: allowed.accountsOfKey)
            metrics.allowListReloads.increment()
            logger.notice(
                "CURVE allow-list reloaded",
                metadata: [
                    "file": "\(path)", "keys": "\(allowed.keys.count)",
                    "changed_keys": "\(changed.sorted())",
                ])
        } catch {
            logger.error(
                "CURVE allow-list not reloaded; the previous one stays in force",
                metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }

    // MARK: Rules file

    /// Declares what a rules file lists (protocol/RULES.md), through the single writer. A
    /// declaration whose id exists already (declared on an earlier run) is kept as it is.
    func applyRules(path: String) async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let declarations = object["declarations"] as? [Any]
        else {
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
            case let error as RiskCoreError
            where [.duplicateTrackerID, .duplicateChallengeID, .duplicateCompetitionID].contains(error):
                continue
            case let error as RiskCoreError:
                logger.error(
                    "rules: declaration refused",
                    metadata: [
                        "file": "\(path)", "index": "\(index)", "error": "\(error)",
                        "detail": "\(error.detail)",
                    ])
            case let error?:
                throw error
            }
        }
        logger.notice(
            "rules applied", metadata: ["file": "\(path)", "new": "\(applied)", "listed": "\(declarations.count)"])
    }

    // MARK: Secure defaults

    /// Refuses what would expose the agent (Redis's protected mode is the model) and warns about
    /// what only might: a bridge beyond loopback needs CURVE unless `allowPlaintextBridge` says
    /// otherwise; HTTP beyond loopback without TLS is plaintext (a warning at every start); the adopted admin
    /// token must carry at least 128 bits.
    static func refuseInsecureSettings(
        _ configuration: AgentConfiguration, environment: [String: String], logger: Logger
    ) throws(AgentError) {
        if configuration.bridgeIsBeyondLoopback, configuration.curveSecretKey == nil {
            if configuration.allowPlaintextBridge {
                logger.warning(
                    "the bridge is reachable from other hosts without CURVE: anyone who reaches it can speak for any account",
                    metadata: ["bridge": "\(configuration.bridge)"])
            } else {
                throw AgentError.insecure.with(
                    detail: """
                        the bridge \(configuration.bridge) would be reachable from other hosts without CURVE encryption. \
                        Either turn CURVE on (curveSecretKey and allowKeys; make keys with `tidemark keys`, see deploy/README.md), \
                        bind it to loopback (e.g. tcp://127.0.0.1:5757), or accept plaintext explicitly with \
                        --allow-plaintext-bridge (allowPlaintextBridge: true, TIDEMARK_ALLOW_PLAINTEXT_BRIDGE=1)
                        """)
            }
        }
        let (host, _) = try configuration.httpAddress()
        if !AgentConfiguration.isLoopback(host), configuration.tlsCertificate == nil {
            logger.warning(
                "HTTP is reachable from other hosts without TLS: tokens and data cross the network in clear; serve HTTPS with --tls-cert and --tls-key, or put a TLS proxy in front",
                metadata: ["http": "\(configuration.http)"])
        }
        if let token = environment["TIDEMARK_ADMIN_TOKEN"], !token.isEmpty {
            let bits = TokenStrength.estimatedBits(token)
            guard bits >= TokenStrength.minimumBits else {
                throw AgentError.insecure.with(
                    detail: """
                        TIDEMARK_ADMIN_TOKEN carries about \(bits) bits of entropy, fewer than the \(TokenStrength.minimumBits) required. \
                        Make one with `openssl rand -hex 32` (or `head -c 32 /dev/urandom | base64`), or unset it to have the agent generate one
                        """)
            }
        }
    }

    // MARK: Admin token

    /// The file a generated admin token is written to (mode 0600), inside the data directory.
    public static func adminTokenFile(directory: String) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + "admin-token"
    }

    /// Makes sure an admin token exists: `TIDEMARK_ADMIN_TOKEN` when set (adopted if new), else a
    /// generated one on first run, written to ``adminTokenFile(directory:)`` (mode 0600) and never
    /// to the log or stdout; only its keyed hash is stored.
    static func ensureAdminToken(
        store: Store, environment: [String: String], directory: String, logger: Logger
    ) async throws {
        if let secret = environment["TIDEMARK_ADMIN_TOKEN"], !secret.isEmpty {
            if try await store.verifyToken(secret) == nil {
                _ = try await store.createToken(
                    name: "admin (TIDEMARK_ADMIN_TOKEN)", isAdmin: true, secret: secret, at: Date())
                logger.info("admin token adopted from TIDEMARK_ADMIN_TOKEN")
            }
            return
        }
        let tokens = try await store.tokens()
        guard !tokens.contains(where: { $0.isAdmin && $0.revokedAt == nil }) else { return }
        let path = adminTokenFile(directory: directory)
        let issued = try await store.createToken(name: "admin", isAdmin: true, at: Date())
        // Created 0600 from the start (no moment where another user could read it).
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else {
            throw AgentError.startup.with(
                detail: "cannot write the admin token file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        fchmod(descriptor, 0o600)
        let text = Array((issued.secret + "\n").utf8)
        guard write(descriptor, text, text.count) == text.count, fsync(descriptor) == 0 else {
            throw AgentError.startup.with(
                detail: "cannot write the admin token file \(path): \(String(cString: strerror(errno)))")
        }
        logger.notice("admin token generated", metadata: ["file": "\(path)"])
        print("admin token written to \(path) (mode 0600)")
        fflush(nil)  // stdout is a C global that strict concurrency won't let us name
    }
}

/// Who hears about commits (API notifier, equity streams, webhook worker).
final class CommitHooks: Sendable {
    private let hooks = Mutex<[@Sendable (CommitNotice) -> Void]>([])
    func add(_ hook: @escaping @Sendable (CommitNotice) -> Void) { hooks.withLock { $0.append(hook) } }
    func call(_ notice: CommitNotice) { for hook in hooks.withLock({ $0 }) { hook(notice) } }
}
