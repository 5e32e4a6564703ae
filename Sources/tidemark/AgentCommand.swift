import ArgumentParser
import Bridge
import Dispatch
import EquityEngine
import Logging
import TidemarkProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tidemark agent`: runs the bridge (and, downstream of it, what the agent does with the messages).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the agent: accept EA sessions on a ZeroMQ ROUTER socket.",
        discussion: """
        The agent binds --bridge; Expert Advisors (and `tidemark simulate`) connect to it. The bound \
        endpoint is printed on stdout as `bridge listening on ENDPOINT` (useful with port 0 or *). \
        SIGINT or SIGTERM stop it cleanly: queued messages are recorded, counters are logged.
        """
    )

    @Option(name: .long, help: "Endpoint to bind, e.g. tcp://0.0.0.0:5757 (tcp://127.0.0.1:0 picks a free port).")
    var bridge: String

    @Option(name: .long, help: "The agent's data directory (created if missing).")
    var data: String

    @Option(name: .long, help: "Write every accepted message to DIR/<account>.jsonl (JSON Lines recording).")
    var record: String?

    @Option(name: .customLong("curve-secret-key"), help: "The agent's CURVE secret certificate (from `tidemark keys`); turns CURVE on.")
    var curveSecretKey: String?

    @Option(name: .customLong("allow-keys"), help: "EA public keys admitted under CURVE: one Z85 key or `public-key = \"…\"` per line, or certificate files listed one per line.")
    var allowKeys: String?

    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat interval announced to EAs; a peer silent for 3 intervals is dropped.")
    var heartbeatMilliseconds: Int = 5_000

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        if (curveSecretKey == nil) != (allowKeys == nil) {
            throw ValidationError("--curve-secret-key and --allow-keys go together")
        }
        guard heartbeatMilliseconds > 0 else { throw ValidationError("--heartbeat-ms must be positive") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tidemark.agent")
        try Self.makeDirectory(data)

        var curve: BridgeCurveConfiguration?
        if let curveSecretKey, let allowKeys {
            let keys = try CurveKeyPair(certificateFile: curveSecretKey)
            let allowed = try Self.readAllowedKeys(path: allowKeys)
            logger.info("CURVE on", metadata: ["server_key": "\(keys.publicKey)", "allowed_keys": "\(allowed.count)"])
            curve = BridgeCurveConfiguration(serverKeys: keys, allowedClientKeys: allowed)
        }
        let session = BridgeSessionConfiguration(heartbeatIntervalMilliseconds: Int64(heartbeatMilliseconds))
        let server = try BridgeServer(configuration: BridgeServerConfiguration(endpoint: bridge, session: session, curve: curve),
                                      logger: logger)
        let recorder = try record.map { try BridgeRecorder(directory: $0) }

        let stopSignals = StopSignals { signal in
            logger.info("stopping", metadata: ["signal": "\(signal)"])
            server.stop()
        }
        let endpoint = try server.start()
        print("bridge listening on \(endpoint)")
        fflush(nil)   // all streams: stdout is a C global that strict concurrency won't let us name

        var accepted = 0
        var equity = AgentEquity(logger: logger)
        for await batch in server.deliveryBatches {
            for delivery in batch {
                accepted += 1
                try recorder?.record(delivery)
                equity.fold(delivery)
            }
        }
        recorder?.close()
        equity.logFinalEquity()
        try await server.waitUntilStopped()
        stopSignals.cancel()
        let counters = server.counters
        logger.info("agent stopped", metadata: [
            "frames": "\(counters.frames)", "messages": "\(accepted)", "ticks": "\(counters.ticks)",
            "sessions_opened": "\(counters.sessionsOpened)", "resyncs": "\(counters.resyncs)",
            "duplicates": "\(counters.duplicates)",
            "rejects": "\(counters.rejects.map { "\($0.key.rawValue)=\($0.value)" }.sorted().joined(separator: ","))",
            "bad_frames": "\(counters.badFrames.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ","))",
        ])
    }

    /// `mkdir -p` for one level or more.
    static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component + "/"
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw ValidationError("cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Public keys from an allow-list file: each non-empty, non-`#` line is a Z85 key, a
    /// `public-key = "…"` line, or the path of a certificate file (`NAME.key` from `tidemark keys`).
    static func readAllowedKeys(path: String) throws -> [CurveKey] {
        guard let file = fopen(path, "r") else {
            throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var keys: [CurveKey] = []
        var buffer = [CChar](repeating: 0, count: 4_096)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("public-key") {
                let parts = line.split(separator: "\"", omittingEmptySubsequences: false)
                guard parts.count >= 3 else { throw ValidationError("\(path): cannot read `\(line)`") }
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

extension String {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

/// The equity engine downstream of the bridge: folds every accepted message and logs what matters
/// (balance operations, drift, equity unknown/known; equity itself at most every 10 s per account).
/// The risk core and the store plug in here later.
struct AgentEquity {
    let logger: Logger
    private var engine = EquityEngine()
    private var outputs: [EquityOutput] = []
    private var latest: [AccountID: EquityObservation] = [:]
    private var lastLogged: [AccountID: ContinuousClock.Instant] = [:]
    private var refusedAccounts: Set<AccountID> = []
    private let clock = ContinuousClock()

    init(logger: Logger) { self.logger = logger }

    mutating func fold(_ delivery: BridgeDelivery) {
        outputs.removeAll(keepingCapacity: true)
        do {
            try engine.apply(delivery.message, account: delivery.account, into: &outputs)
        } catch {
            // The bridge already refuses netting accounts; anything else is logged once per account.
            if refusedAccounts.insert(delivery.account).inserted {
                logger.warning("equity engine refused a message", metadata: [
                    "account": "\(delivery.account)", "error": "\(error)",
                ])
            }
            return
        }
        for output in outputs {
            switch output {
            case .observation(let observation):
                latest[observation.account] = observation
                let now = clock.now
                if let last = lastLogged[observation.account], now - last < .seconds(10) { continue }
                lastLogged[observation.account] = now
                log(observation)
            case .balanceOperation(let operation):
                logger.info("balance operation", metadata: [
                    "account": "\(operation.account)", "type": "\(operation.dealType.rawValue)",
                    "amount": "\(operation.amount)", "balance": "\(operation.balanceAfter)",
                ])
            case .equityUnknown(let unknown):
                logger.notice("equity unknown", metadata: [
                    "account": "\(unknown.account)", "reason": "\(unknown.reason)", "since": "\(unknown.since)",
                ])
            case .equityKnown(let account, let time):
                logger.notice("equity known again", metadata: ["account": "\(account)", "time": "\(time)"])
            case .drift(let drift):
                logger.warning("terminal equity drifts from the reconstruction", metadata: [
                    "account": "\(drift.account)", "terminal": "\(drift.terminalEquity)",
                    "reconstructed": "\(drift.reconstructedEquity)", "tolerance": "\(drift.tolerance)",
                ])
            }
        }
    }

    func logFinalEquity() {
        for observation in latest.values.sorted(by: { $0.account < $1.account }) { log(observation) }
    }

    private func log(_ observation: EquityObservation) {
        logger.info("equity", metadata: [
            "account": "\(observation.account)", "time": "\(observation.time)", "balance": "\(observation.balance)",
            "credit": "\(observation.credit)", "equity": "\(observation.equity)", "floating": "\(observation.floating)",
        ])
    }
}

/// SIGINT and SIGTERM, turned into one call of `handler` each, on a Dispatch queue (never in a
/// signal handler).
/// Not Sendable: created and cancelled by the command's own task.
final class StopSignals {
    private let sources: [any DispatchSourceSignal]

    init(_ handler: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "tidemark.signals")
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
