import Foundation

/// Every setting of `tidemark agent`, as plain Codable JSON (the `--config FILE`).
///
/// Precedence, lowest first: the defaults below, the file, environment variables `TIDEMARK_*`,
/// command-line flags. Every key is optional in the file; unknown keys are refused (a typo should
/// not silently fall back to a default).
///
/// | JSON key | env var | default | meaning |
/// |---|---|---|---|
/// | `bridge` | `TIDEMARK_BRIDGE` | `tcp://127.0.0.1:5757` | ZeroMQ endpoint the bridge binds |
/// | `http` | `TIDEMARK_HTTP` | `127.0.0.1:8080` | HOST:PORT of the REST API, `/metrics`, `/health`, `/ready` (port 0: any free port) |
/// | `data` | `TIDEMARK_DATA` | `/var/lib/tidemark` | data directory (created if missing) |
/// | `database` | `TIDEMARK_DATABASE` | `<data>/tidemark.sqlite` | the SQLite file |
/// | `durability` | `TIDEMARK_DURABILITY` | `full` | `full` (fsync every commit) or `normal` (survives kill -9, not power loss) |
/// | `heartbeatMilliseconds` | `TIDEMARK_HEARTBEAT_MS` | 5000 | heartbeat announced to EAs (timeout after 3) |
/// | `curveSecretKey` | `TIDEMARK_CURVE_SECRET_KEY` | none | agent's CURVE certificate file: turns CURVE on |
/// | `allowKeys` | `TIDEMARK_ALLOW_KEYS` | none | file of EA public keys admitted under CURVE |
/// | `record` | `TIDEMARK_RECORD` | none | directory to record every accepted message to (JSON Lines) |
/// | `rules` | `TIDEMARK_RULES` | none | declarations file (`{"declarations": [ … ]}`, protocol/RULES.md) applied at start; ids already declared are kept |
/// | `challengeTemplates` | `TIDEMARK_CHALLENGE_TEMPLATES` | none | directory of challenge templates (`NAME.json`, e.g. deploy/challenge-templates) |
/// | `commitIntervalMilliseconds` | `TIDEMARK_COMMIT_INTERVAL_MS` | 0 | least time between two commits: a batch that would follow the previous commit sooner waits for the rest of it to gather more (fewer fsyncs on a slow disk). 0: none waits; batches still grow with load, since messages gather while a commit runs (measured: p50 breach latency 2 ms instead of 5 at the same throughput) |
/// | `checkpointIntervalMilliseconds` | `TIDEMARK_CHECKPOINT_INTERVAL_MS` | 1000 | how often the risk core's state is saved (`tidemark.checkpoint.sqlite`, beside the store, off the writer); EAs are acknowledged up to the last checkpoint. Each one costs 10–20 ms of CPU for 1,000 accounts, an ACK to every EA at once and a round of account rows: at 250 ms these bursts were most of the slowest breach latencies |
/// | `commitMaximumMessages` | `TIDEMARK_COMMIT_MAX_MESSAGES` | 2048 | messages folded into one commit at most: bounds how long a breach waits behind a batch under load (2,048 TICKS messages fold in a few ms) |
/// | `timeBoundSeconds` | `TIDEMARK_TIME_BOUND_SECONDS` | 86400 | how far ahead of the agent's wall clock (converted with the account's UTC offset from its HELLO) a heartbeat or tick may be; a HEARTBEAT or TICKS frame further ahead is refused whole (counted as `tidemark_implausible_times_total`, logged) and moves no clock |
/// | `wallClockIntervalMilliseconds` | `TIDEMARK_WALL_CLOCK_INTERVAL_MS` | 10000 | how often the wall clock, in each account's broker time, is fed to the accounts without a session whose clock is within `timeBoundSeconds` of it (closes their periods and chart hours, runs their challenges' time limits); 0: never |
/// | `driftTolerance` | `TIDEMARK_DRIFT_TOLERANCE` | `0.01` | terminal vs reconstructed equity difference reported as drift |
/// | `longPollSeconds` | `TIDEMARK_LONG_POLL_SECONDS` | 60 | how long a long poll waits before answering `[]` |
/// | `webhookWorkers` | `TIDEMARK_WEBHOOK_WORKERS` | 4 | concurrent webhook deliveries |
/// | `logLevel` | `TIDEMARK_LOG_LEVEL` | `info` | trace … critical |
/// | (env only) | `TIDEMARK_ADMIN_TOKEN` | generated | admin token adopted on first run (at least 16 characters) |
public struct AgentConfiguration: Hashable, Sendable, Codable {
    public var bridge = "tcp://127.0.0.1:5757"
    public var http = "127.0.0.1:8080"
    public var data = "/var/lib/tidemark"
    public var database: String?
    public var durability = "full"
    public var heartbeatMilliseconds = 5_000
    public var curveSecretKey: String?
    public var allowKeys: String?
    public var record: String?
    public var rules: String?
    public var challengeTemplates: String?
    public var commitIntervalMilliseconds = 0
    public var commitMaximumMessages = 2_048
    public var checkpointIntervalMilliseconds = 1_000
    public var timeBoundSeconds = 86_400
    public var wallClockIntervalMilliseconds = 10_000
    public var driftTolerance = "0.01"
    public var longPollSeconds = 60
    public var webhookWorkers = 4
    public var logLevel = "info"

    /// The defaults.
    public init() {}

    /// The SQLite file: `database`, or `<data>/tidemark.sqlite`.
    public var databasePath: String { database ?? (data.hasSuffix("/") ? data : data + "/") + "tidemark.sqlite" }

    /// `http` split into host and port.
    public func httpAddress() throws(AgentError) -> (host: String, port: Int) {
        guard let colon = http.lastIndex(of: ":"), let port = Int(http[http.index(after: colon)...]), (0...65_535).contains(port)
        else { throw AgentError.configuration.with(detail: "http must be HOST:PORT, got \(http)") }
        var host = String(http[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// Refuses settings that cannot work, naming the key.
    public func validate() throws(AgentError) {
        _ = try httpAddress()
        guard ["full", "normal"].contains(durability) else {
            throw AgentError.configuration.with(detail: "durability must be full or normal, got \(durability)")
        }
        guard heartbeatMilliseconds > 0 else { throw AgentError.configuration.with(detail: "heartbeatMilliseconds must be positive") }
        guard commitIntervalMilliseconds >= 0 else { throw AgentError.configuration.with(detail: "commitIntervalMilliseconds must be ≥ 0") }
        guard checkpointIntervalMilliseconds >= 0 else {
            throw AgentError.configuration.with(detail: "checkpointIntervalMilliseconds must be ≥ 0")
        }
        guard (1...3_153_600_000).contains(timeBoundSeconds) else {
            throw AgentError.configuration.with(detail: "timeBoundSeconds must be between 1 and 3153600000 (100 years)")
        }
        guard wallClockIntervalMilliseconds >= 0 else {
            throw AgentError.configuration.with(detail: "wallClockIntervalMilliseconds must be ≥ 0")
        }
        guard commitMaximumMessages > 0 else { throw AgentError.configuration.with(detail: "commitMaximumMessages must be positive") }
        guard longPollSeconds > 0 else { throw AgentError.configuration.with(detail: "longPollSeconds must be positive") }
        guard webhookWorkers > 0 else { throw AgentError.configuration.with(detail: "webhookWorkers must be positive") }
        guard (curveSecretKey == nil) == (allowKeys == nil) else {
            throw AgentError.configuration.with(detail: "curveSecretKey and allowKeys go together")
        }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw AgentError.configuration.with(detail: "unknown logLevel \(logLevel)")
        }
    }

    // MARK: Layers

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case bridge, http, data, database, durability, heartbeatMilliseconds, curveSecretKey, allowKeys, record, rules, challengeTemplates
        case commitIntervalMilliseconds, commitMaximumMessages, checkpointIntervalMilliseconds, timeBoundSeconds
        case wallClockIntervalMilliseconds, driftTolerance, longPollSeconds, webhookWorkers, logLevel
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Unknown keys are an error: read them through a container that lists every key.
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(forKey: unknown, in: all, debugDescription: "unknown setting \(unknown.stringValue)")
        }
        bridge = try c.decodeIfPresent(String.self, forKey: .bridge) ?? bridge
        http = try c.decodeIfPresent(String.self, forKey: .http) ?? http
        data = try c.decodeIfPresent(String.self, forKey: .data) ?? data
        database = try c.decodeIfPresent(String.self, forKey: .database)
        durability = try c.decodeIfPresent(String.self, forKey: .durability) ?? durability
        heartbeatMilliseconds = try c.decodeIfPresent(Int.self, forKey: .heartbeatMilliseconds) ?? heartbeatMilliseconds
        curveSecretKey = try c.decodeIfPresent(String.self, forKey: .curveSecretKey)
        allowKeys = try c.decodeIfPresent(String.self, forKey: .allowKeys)
        record = try c.decodeIfPresent(String.self, forKey: .record)
        rules = try c.decodeIfPresent(String.self, forKey: .rules)
        challengeTemplates = try c.decodeIfPresent(String.self, forKey: .challengeTemplates)
        commitIntervalMilliseconds = try c.decodeIfPresent(Int.self, forKey: .commitIntervalMilliseconds) ?? commitIntervalMilliseconds
        commitMaximumMessages = try c.decodeIfPresent(Int.self, forKey: .commitMaximumMessages) ?? commitMaximumMessages
        checkpointIntervalMilliseconds = try c.decodeIfPresent(Int.self, forKey: .checkpointIntervalMilliseconds)
            ?? checkpointIntervalMilliseconds
        timeBoundSeconds = try c.decodeIfPresent(Int.self, forKey: .timeBoundSeconds) ?? timeBoundSeconds
        wallClockIntervalMilliseconds = try c.decodeIfPresent(Int.self, forKey: .wallClockIntervalMilliseconds)
            ?? wallClockIntervalMilliseconds
        driftTolerance = try c.decodeIfPresent(String.self, forKey: .driftTolerance) ?? driftTolerance
        longPollSeconds = try c.decodeIfPresent(Int.self, forKey: .longPollSeconds) ?? longPollSeconds
        webhookWorkers = try c.decodeIfPresent(Int.self, forKey: .webhookWorkers) ?? webhookWorkers
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? logLevel
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The defaults overlaid with a JSON file's settings.
    public static func load(file path: String) throws(AgentError) -> AgentConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw AgentError.configuration.with(detail: "cannot read \(path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(AgentConfiguration.self, from: data) } catch {
            throw AgentError.configuration.with(detail: "\(path): \(error)")
        }
    }

    /// Overlays `TIDEMARK_*` environment variables (see the table above).
    public mutating func applyEnvironment(_ environment: [String: String]) throws(AgentError) {
        func integer(_ name: String) throws(AgentError) -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text) else { throw AgentError.configuration.with(detail: "\(name) must be an integer, got \(text)") }
            return value
        }
        if let value = environment["TIDEMARK_BRIDGE"] { bridge = value }
        if let value = environment["TIDEMARK_HTTP"] { http = value }
        if let value = environment["TIDEMARK_DATA"] { data = value }
        if let value = environment["TIDEMARK_DATABASE"] { database = value }
        if let value = environment["TIDEMARK_DURABILITY"] { durability = value }
        if let value = try integer("TIDEMARK_HEARTBEAT_MS") { heartbeatMilliseconds = value }
        if let value = environment["TIDEMARK_CURVE_SECRET_KEY"] { curveSecretKey = value }
        if let value = environment["TIDEMARK_ALLOW_KEYS"] { allowKeys = value }
        if let value = environment["TIDEMARK_RECORD"] { record = value }
        if let value = environment["TIDEMARK_RULES"] { rules = value }
        if let value = environment["TIDEMARK_CHALLENGE_TEMPLATES"] { challengeTemplates = value }
        if let value = try integer("TIDEMARK_COMMIT_INTERVAL_MS") { commitIntervalMilliseconds = value }
        if let value = try integer("TIDEMARK_COMMIT_MAX_MESSAGES") { commitMaximumMessages = value }
        if let value = try integer("TIDEMARK_CHECKPOINT_INTERVAL_MS") { checkpointIntervalMilliseconds = value }
        if let value = try integer("TIDEMARK_TIME_BOUND_SECONDS") { timeBoundSeconds = value }
        if let value = try integer("TIDEMARK_WALL_CLOCK_INTERVAL_MS") { wallClockIntervalMilliseconds = value }
        if let value = environment["TIDEMARK_DRIFT_TOLERANCE"] { driftTolerance = value }
        if let value = try integer("TIDEMARK_LONG_POLL_SECONDS") { longPollSeconds = value }
        if let value = try integer("TIDEMARK_WEBHOOK_WORKERS") { webhookWorkers = value }
        if let value = environment["TIDEMARK_LOG_LEVEL"] { logLevel = value }
    }
}

/// A failure of the agent itself (not of one terminal or one request); ``description`` is a
/// short label usable in metrics.
public struct AgentError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: String, Hashable, Sendable {
        case configuration, store, startup, stopped
    }

    private let code: Code
    /// What exactly went wrong.
    public let detail: String

    private init(_ code: Code, detail: String = "") { self.code = code; self.detail = detail }

    /// A setting is missing, malformed or contradicts another.
    public static let configuration = AgentError(.configuration)
    /// The store refused to open or to commit.
    public static let store = AgentError(.store)
    /// A service could not start (bind failed, directory not writable).
    public static let startup = AgentError(.startup)
    /// The pipeline is stopping and takes no more requests.
    public static let stopped = AgentError(.stopped)

    /// The same error with a detail.
    public func with(detail: String) -> AgentError { AgentError(code, detail: detail) }

    public var description: String { code.rawValue }

    public static func == (lhs: AgentError, rhs: AgentError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
