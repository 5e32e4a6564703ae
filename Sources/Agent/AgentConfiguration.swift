import Bridge
import Foundation
import TidemarkProtocol

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
/// | `tlsCertificate` | `TIDEMARK_TLS_CERT` | none | PEM certificate chain (server first): serves HTTPS on `http` instead of plain HTTP |
/// | `tlsKey` | `TIDEMARK_TLS_KEY` | none | PEM private key of that certificate (goes with `tlsCertificate`) |
/// | `apiDomain` | `TIDEMARK_API_DOMAIN` | none | domain the MetaApi discovery routes name (`/users/current/servers/mt-client-api`); none: the domain the client asked for, from its `Host` |
/// | `apiRegion` | `TIDEMARK_API_REGION` | `tidemark` | the one region `/users/current/regions` lists: MetaApi's SDKs then call `risk-management-api-v1.<region>.<domain>` |
/// | `data` | `TIDEMARK_DATA` | `/var/lib/tidemark` | data directory (created if missing) |
/// | `database` | `TIDEMARK_DATABASE` | `<data>/tidemark.sqlite` | the SQLite file |
/// | `durability` | `TIDEMARK_DURABILITY` | `full` | `full` (fsync every commit) or `normal` (survives kill -9, not power loss) |
/// | `heartbeatMilliseconds` | `TIDEMARK_HEARTBEAT_MS` | 5000 | heartbeat announced to EAs (timeout after 3) |
/// | `curveSecretKey` | `TIDEMARK_CURVE_SECRET_KEY` | none | agent's CURVE certificate file: turns CURVE on |
/// | `allowKeys` | `TIDEMARK_ALLOW_KEYS` | none | file of EA public keys admitted under CURVE, each optionally followed by the accounts (`server:login`, comma-separated) it may speak for; re-read on SIGHUP |
/// | `maxSessionsPerPeer` | `TIDEMARK_MAX_SESSIONS_PER_PEER` | 10000 | live EA sessions one peer may hold (its CURVE key, else its IP address: every terminal on loopback is one peer) |
/// | `maxSessions` | `TIDEMARK_MAX_SESSIONS` | 20000 | live EA sessions in total |
/// | `maxNewAccountsPerPeerPerMinute` | `TIDEMARK_MAX_NEW_ACCOUNTS_PER_PEER_PER_MINUTE` | 2000 | accounts the agent has not seen before that one peer may open sessions for in a minute |
/// | `maxNewAccountsPerMinute` | `TIDEMARK_MAX_NEW_ACCOUNTS_PER_MINUTE` | 4000 | the same for all peers together |
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
/// | `allowPlaintextBridge` | `TIDEMARK_ALLOW_PLAINTEXT_BRIDGE` | `false` | lets the bridge bind beyond loopback without CURVE (refused otherwise) |
/// | `maximumTrackersPerAccount` | `TIDEMARK_MAX_TRACKERS_PER_ACCOUNT` | 100 | live trackers one account may have |
/// | `httpIdleTimeoutSeconds` | `TIDEMARK_HTTP_IDLE_TIMEOUT_SECONDS` | 30 | a kept-alive connection with no new request is closed after this |
/// | `httpHeaderTimeoutSeconds` | `TIDEMARK_HTTP_HEADER_TIMEOUT_SECONDS` | 10 | a new connection must have sent a whole request head within this |
/// | `httpBodyTimeoutSeconds` | `TIDEMARK_HTTP_BODY_TIMEOUT_SECONDS` | 30 | a request body must have arrived whole within this |
/// | `httpMaximumConnections` | `TIDEMARK_HTTP_MAX_CONNECTIONS` | 4096 | open HTTP connections; beyond it a connection may only ask `/health` or `/ready`, anything else gets 503 |
/// | `feedURL` | `TIDEMARK_FEED_URL` | none | the dashboard's feed address (`https://HOST:PORT`): turns the feed on (with the three files below). None: no feed, nothing queued for one |
/// | `feedCertificate` | `TIDEMARK_FEED_CERTIFICATE` | none | this agent's client certificate (PEM; `deploy/pki.sh --agent NAME` makes it): its subject is the agent's identity at the dashboard |
/// | `feedKey` | `TIDEMARK_FEED_KEY` | none | the key of that certificate (PEM) |
/// | `feedCA` | `TIDEMARK_FEED_CA` | none | the CA(s) the dashboard's certificate must chain to (PEM) |
/// | `feedAccountUpdatesPerSecond` | `TIDEMARK_FEED_ACCOUNT_UPDATES_PER_SECOND` | 4 | live account states fed per account and second at most (the latest wins) |
/// | `feedLiveIntervalMilliseconds` | `TIDEMARK_FEED_LIVE_INTERVAL_MS` | 1000 | least time between two looks at the open periods, chart hour, challenge progress and leaderboards fed to the dashboard (those that changed are sent, the latest wins) |
/// | `feedRetentionRows` | `TIDEMARK_FEED_RETENTION_ROWS` | 1000000 | unacknowledged feed rows kept while the dashboard is away (a warning at 80 %; beyond it the oldest are dropped, counted and reported to the dashboard) |
/// | `feedRetentionSeconds` | `TIDEMARK_FEED_RETENTION_SECONDS` | 604800 (7 days) | how long an unacknowledged feed row is kept (a warning when the oldest reaches 80 % of it; older rows are dropped, counted and reported to the dashboard) |
/// | (env only) | `TIDEMARK_ADMIN_TOKEN` | generated | admin token adopted on first run (at least 128 bits of entropy, e.g. `openssl rand -hex 32`) |
public struct AgentConfiguration: Hashable, Sendable, Codable {
    public var bridge = "tcp://127.0.0.1:5757"
    public var http = "127.0.0.1:8080"
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var apiDomain: String?
    public var apiRegion = "tidemark"
    public var data = "/var/lib/tidemark"
    public var database: String?
    public var durability = "full"
    public var heartbeatMilliseconds = 5_000
    public var curveSecretKey: String?
    public var allowKeys: String?
    public var maxSessionsPerPeer = BridgeAdmissionLimits().sessionsPerPeer
    public var maxSessions = BridgeAdmissionLimits().sessions
    public var maxNewAccountsPerPeerPerMinute = BridgeAdmissionLimits().newAccountsPerPeerPerMinute
    public var maxNewAccountsPerMinute = BridgeAdmissionLimits().newAccountsPerMinute
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
    public var allowPlaintextBridge = false
    public var maximumTrackersPerAccount = 100
    public var httpIdleTimeoutSeconds = 30
    public var httpHeaderTimeoutSeconds = 10
    public var httpBodyTimeoutSeconds = 30
    public var httpMaximumConnections = 4_096
    public var feedURL: String?
    public var feedCertificate: String?
    public var feedKey: String?
    public var feedCA: String?
    public var feedAccountUpdatesPerSecond = 4
    public var feedRetentionRows = 1_000_000
    public var feedRetentionSeconds = 604_800
    public var feedLiveIntervalMilliseconds = 1_000

    /// The defaults.
    public init() {}

    /// The SQLite file: `database`, or `<data>/tidemark.sqlite`.
    public var databasePath: String { database ?? (data.hasSuffix("/") ? data : data + "/") + "tidemark.sqlite" }

    /// Whether the dashboard feed is configured.
    public var feedsDashboard: Bool { feedURL != nil }

    /// `http` split into host and port.
    public func httpAddress() throws(AgentError) -> (host: String, port: Int) {
        guard let colon = http.lastIndex(of: ":"), let port = Int(http[http.index(after: colon)...]),
            (0...65_535).contains(port)
        else { throw AgentError.configuration.with(detail: "http must be HOST:PORT, got \"\(http)\"") }
        var host = String(http[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // An empty host means loopback: every interface must be asked for by name (0.0.0.0 or ::).
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    /// Refuses settings that cannot work, naming the key and the value.
    public func validate() throws(AgentError) {
        _ = try httpAddress()
        func refuse(_ detail: String) -> AgentError { AgentError.configuration.with(detail: detail) }
        guard ["full", "normal"].contains(durability) else {
            throw refuse("durability must be full or normal, got \"\(durability)\"")
        }
        let positive: [(String, Int)] = [
            ("heartbeatMilliseconds", heartbeatMilliseconds), ("commitMaximumMessages", commitMaximumMessages),
            ("longPollSeconds", longPollSeconds), ("webhookWorkers", webhookWorkers),
            ("maximumTrackersPerAccount", maximumTrackersPerAccount),
            ("httpIdleTimeoutSeconds", httpIdleTimeoutSeconds),
            ("httpHeaderTimeoutSeconds", httpHeaderTimeoutSeconds), ("httpBodyTimeoutSeconds", httpBodyTimeoutSeconds),
            ("httpMaximumConnections", httpMaximumConnections),
            ("maxSessionsPerPeer", maxSessionsPerPeer), ("maxSessions", maxSessions),
            ("maxNewAccountsPerPeerPerMinute", maxNewAccountsPerPeerPerMinute),
            ("maxNewAccountsPerMinute", maxNewAccountsPerMinute),
        ]
        for (key, value) in positive where value <= 0 { throw refuse("\(key) must be positive, got \(value)") }
        for (key, value) in [
            ("commitIntervalMilliseconds", commitIntervalMilliseconds),
            ("checkpointIntervalMilliseconds", checkpointIntervalMilliseconds),
            ("wallClockIntervalMilliseconds", wallClockIntervalMilliseconds),
        ] where value < 0 {
            throw refuse("\(key) must be ≥ 0, got \(value)")
        }
        guard (1...3_153_600_000).contains(timeBoundSeconds) else {
            throw refuse("timeBoundSeconds must be between 1 and 3153600000 (100 years), got \(timeBoundSeconds)")
        }
        guard (curveSecretKey == nil) == (allowKeys == nil) else {
            throw refuse("curveSecretKey and allowKeys go together")
        }
        let feedSettings = [feedURL, feedCertificate, feedKey, feedCA]
        guard feedSettings.allSatisfy({ $0 == nil }) || feedSettings.allSatisfy({ $0 != nil }) else {
            throw refuse("feedURL, feedCertificate, feedKey and feedCA go together (all four, or none for no feed)")
        }
        if let feedURL {
            guard let url = URLComponents(string: feedURL), url.scheme == "https", url.host?.isEmpty == false,
                url.port != nil,
                url.path.isEmpty || url.path == "/"
            else {
                throw refuse("feedURL must be https://HOST:PORT, got \"\(feedURL)\"")
            }
        }
        guard (1...1_000).contains(feedAccountUpdatesPerSecond) else {
            throw refuse("feedAccountUpdatesPerSecond must be between 1 and 1000, got \(feedAccountUpdatesPerSecond)")
        }
        guard (100...60_000).contains(feedLiveIntervalMilliseconds) else {
            throw refuse(
                "feedLiveIntervalMilliseconds must be between 100 and 60000, got \(feedLiveIntervalMilliseconds)")
        }
        guard feedRetentionRows >= 1_000 else {
            throw refuse("feedRetentionRows must be at least 1000, got \(feedRetentionRows)")
        }
        guard (1...3_153_600_000).contains(feedRetentionSeconds) else {
            throw refuse(
                "feedRetentionSeconds must be between 1 and 3153600000 (100 years), got \(feedRetentionSeconds)")
        }
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw refuse("tlsCertificate and tlsKey go together (--tls-cert and --tls-key)")
        }
        // A DNS label: the SDKs put the region between two other labels of a host name.
        guard !apiRegion.isEmpty, apiRegion.count <= 63,
            apiRegion.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else {
            throw refuse("apiRegion must be one DNS label (letters, digits, -), got \"\(apiRegion)\"")
        }
        if let apiDomain,
            apiDomain.isEmpty
                || !apiDomain.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
        {
            throw refuse("apiDomain must be a DNS name (letters, digits, -, .), got \"\(apiDomain)\"")
        }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw refuse(
                "logLevel must be one of trace, debug, info, notice, warning, error, critical; got \"\(logLevel)\"")
        }
    }

    /// Whether the bridge endpoint is reachable from other hosts: any TCP host but a loopback
    /// address or `localhost` (`ipc://` and `inproc://` stay on the host).
    public var bridgeIsBeyondLoopback: Bool {
        guard bridge.hasPrefix("tcp://") else { return false }
        let address = bridge.dropFirst("tcp://".count)
        guard let colon = address.lastIndex(of: ":") else { return true }
        return !Self.isLoopback(String(address[..<colon]))
    }

    /// Whether `host` names only this machine (127.0.0.0/8, ::1, localhost).
    public static func isLoopback(_ host: String) -> Bool {
        var host = host
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The bridge's admission limits.
    public var limits: BridgeAdmissionLimits {
        BridgeAdmissionLimits(
            sessionsPerPeer: maxSessionsPerPeer, sessions: maxSessions,
            newAccountsPerPeerPerMinute: maxNewAccountsPerPeerPerMinute, newAccountsPerMinute: maxNewAccountsPerMinute)
    }

    // MARK: Layers

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case bridge, http, tlsCertificate, tlsKey, apiDomain, apiRegion, data, database, durability,
            heartbeatMilliseconds, curveSecretKey, allowKeys, record, rules, challengeTemplates
        case maxSessionsPerPeer, maxSessions, maxNewAccountsPerPeerPerMinute, maxNewAccountsPerMinute
        case commitIntervalMilliseconds, commitMaximumMessages, checkpointIntervalMilliseconds, timeBoundSeconds
        case wallClockIntervalMilliseconds, driftTolerance, longPollSeconds, webhookWorkers, logLevel
        case allowPlaintextBridge, maximumTrackersPerAccount, httpIdleTimeoutSeconds, httpHeaderTimeoutSeconds,
            httpBodyTimeoutSeconds
        case httpMaximumConnections
        case feedURL, feedCertificate, feedKey, feedCA, feedAccountUpdatesPerSecond, feedRetentionRows,
            feedRetentionSeconds
        case feedLiveIntervalMilliseconds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Unknown keys are an error: read them through a container that lists every key.
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(forKey: unknown, in: all, debugDescription: "unknown setting")
        }
        bridge = try c.decodeIfPresent(String.self, forKey: .bridge) ?? bridge
        http = try c.decodeIfPresent(String.self, forKey: .http) ?? http
        tlsCertificate = try c.decodeIfPresent(String.self, forKey: .tlsCertificate)
        tlsKey = try c.decodeIfPresent(String.self, forKey: .tlsKey)
        apiDomain = try c.decodeIfPresent(String.self, forKey: .apiDomain)
        apiRegion = try c.decodeIfPresent(String.self, forKey: .apiRegion) ?? apiRegion
        data = try c.decodeIfPresent(String.self, forKey: .data) ?? data
        database = try c.decodeIfPresent(String.self, forKey: .database)
        durability = try c.decodeIfPresent(String.self, forKey: .durability) ?? durability
        heartbeatMilliseconds = try c.decodeIfPresent(Int.self, forKey: .heartbeatMilliseconds) ?? heartbeatMilliseconds
        curveSecretKey = try c.decodeIfPresent(String.self, forKey: .curveSecretKey)
        allowKeys = try c.decodeIfPresent(String.self, forKey: .allowKeys)
        maxSessionsPerPeer = try c.decodeIfPresent(Int.self, forKey: .maxSessionsPerPeer) ?? maxSessionsPerPeer
        maxSessions = try c.decodeIfPresent(Int.self, forKey: .maxSessions) ?? maxSessions
        maxNewAccountsPerPeerPerMinute =
            try c.decodeIfPresent(Int.self, forKey: .maxNewAccountsPerPeerPerMinute)
            ?? maxNewAccountsPerPeerPerMinute
        maxNewAccountsPerMinute =
            try c.decodeIfPresent(Int.self, forKey: .maxNewAccountsPerMinute) ?? maxNewAccountsPerMinute
        record = try c.decodeIfPresent(String.self, forKey: .record)
        rules = try c.decodeIfPresent(String.self, forKey: .rules)
        challengeTemplates = try c.decodeIfPresent(String.self, forKey: .challengeTemplates)
        commitIntervalMilliseconds =
            try c.decodeIfPresent(Int.self, forKey: .commitIntervalMilliseconds) ?? commitIntervalMilliseconds
        commitMaximumMessages = try c.decodeIfPresent(Int.self, forKey: .commitMaximumMessages) ?? commitMaximumMessages
        checkpointIntervalMilliseconds =
            try c.decodeIfPresent(Int.self, forKey: .checkpointIntervalMilliseconds)
            ?? checkpointIntervalMilliseconds
        timeBoundSeconds = try c.decodeIfPresent(Int.self, forKey: .timeBoundSeconds) ?? timeBoundSeconds
        wallClockIntervalMilliseconds =
            try c.decodeIfPresent(Int.self, forKey: .wallClockIntervalMilliseconds)
            ?? wallClockIntervalMilliseconds
        driftTolerance = try c.decodeIfPresent(String.self, forKey: .driftTolerance) ?? driftTolerance
        longPollSeconds = try c.decodeIfPresent(Int.self, forKey: .longPollSeconds) ?? longPollSeconds
        webhookWorkers = try c.decodeIfPresent(Int.self, forKey: .webhookWorkers) ?? webhookWorkers
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? logLevel
        allowPlaintextBridge = try c.decodeIfPresent(Bool.self, forKey: .allowPlaintextBridge) ?? allowPlaintextBridge
        maximumTrackersPerAccount =
            try c.decodeIfPresent(Int.self, forKey: .maximumTrackersPerAccount) ?? maximumTrackersPerAccount
        httpIdleTimeoutSeconds =
            try c.decodeIfPresent(Int.self, forKey: .httpIdleTimeoutSeconds) ?? httpIdleTimeoutSeconds
        httpHeaderTimeoutSeconds =
            try c.decodeIfPresent(Int.self, forKey: .httpHeaderTimeoutSeconds) ?? httpHeaderTimeoutSeconds
        httpBodyTimeoutSeconds =
            try c.decodeIfPresent(Int.self, forKey: .httpBodyTimeoutSeconds) ?? httpBodyTimeoutSeconds
        httpMaximumConnections =
            try c.decodeIfPresent(Int.self, forKey: .httpMaximumConnections) ?? httpMaximumConnections
        feedURL = try c.decodeIfPresent(String.self, forKey: .feedURL)
        feedCertificate = try c.decodeIfPresent(String.self, forKey: .feedCertificate)
        feedKey = try c.decodeIfPresent(String.self, forKey: .feedKey)
        feedCA = try c.decodeIfPresent(String.self, forKey: .feedCA)
        feedAccountUpdatesPerSecond =
            try c.decodeIfPresent(Int.self, forKey: .feedAccountUpdatesPerSecond) ?? feedAccountUpdatesPerSecond
        feedRetentionRows = try c.decodeIfPresent(Int.self, forKey: .feedRetentionRows) ?? feedRetentionRows
        feedRetentionSeconds = try c.decodeIfPresent(Int.self, forKey: .feedRetentionSeconds) ?? feedRetentionSeconds
        feedLiveIntervalMilliseconds =
            try c.decodeIfPresent(Int.self, forKey: .feedLiveIntervalMilliseconds) ?? feedLiveIntervalMilliseconds
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The defaults overlaid with a JSON file's settings. Errors name the file and the key.
    public static func load(file path: String) throws(AgentError) -> AgentConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw AgentError.configuration.with(
                detail: "cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(AgentConfiguration.self, from: data) } catch let error as DecodingError {
            throw AgentError.configuration.with(detail: "\(path): \(describe(error))")
        } catch {
            throw AgentError.configuration.with(detail: "\(path): \(error.localizedDescription)")
        }
    }

    /// A decoding failure in an operator's words: the key, what it should be.
    private static func describe(_ error: DecodingError) -> String {
        func key(_ path: [any CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .dataCorrupted(let context) where context.debugDescription == "unknown setting":
            let known = CodingKeys.allCases.map(\.stringValue).joined(separator: ", ")
            return "unknown setting \"\(key(context.codingPath))\" (known settings: \(known))"
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return
                "not valid JSON (\((context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] ?? context.debugDescription))"
        case .dataCorrupted(let context):
            return "setting \"\(key(context.codingPath))\": \(context.debugDescription)"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let expected =
                type == Int.self
                ? "an integer" : type == Bool.self ? "true or false" : type == String.self ? "a string" : "\(type)"
            return context.codingPath.isEmpty
                ? "expected a JSON object of settings"
                : "setting \"\(key(context.codingPath))\" must be \(expected)"
        case .keyNotFound(let missing, _):
            return "setting \"\(missing.stringValue)\" is missing"
        @unknown default:
            return "\(error)"
        }
    }

    /// Overlays `TIDEMARK_*` environment variables (see the table above).
    public mutating func applyEnvironment(_ environment: [String: String]) throws(AgentError) {
        func integer(_ name: String) throws(AgentError) -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text) else {
                throw AgentError.configuration.with(
                    detail: "environment variable \(name) must be an integer, got \"\(text)\"")
            }
            return value
        }
        func flag(_ name: String) throws(AgentError) -> Bool? {
            guard let text = environment[name] else { return nil }
            switch text.lowercased() {
            case "1", "true", "yes": return true
            case "0", "false", "no", "": return false
            default:
                throw AgentError.configuration.with(
                    detail: "environment variable \(name) must be true or false, got \"\(text)\"")
            }
        }
        if let value = environment["TIDEMARK_BRIDGE"] { bridge = value }
        if let value = environment["TIDEMARK_HTTP"] { http = value }
        if let value = environment["TIDEMARK_TLS_CERT"] { tlsCertificate = value }
        if let value = environment["TIDEMARK_TLS_KEY"] { tlsKey = value }
        if let value = environment["TIDEMARK_API_DOMAIN"] { apiDomain = value }
        if let value = environment["TIDEMARK_API_REGION"] { apiRegion = value }
        if let value = environment["TIDEMARK_DATA"] { data = value }
        if let value = environment["TIDEMARK_DATABASE"] { database = value }
        if let value = environment["TIDEMARK_DURABILITY"] { durability = value }
        if let value = try integer("TIDEMARK_HEARTBEAT_MS") { heartbeatMilliseconds = value }
        if let value = environment["TIDEMARK_CURVE_SECRET_KEY"] { curveSecretKey = value }
        if let value = environment["TIDEMARK_ALLOW_KEYS"] { allowKeys = value }
        if let value = try integer("TIDEMARK_MAX_SESSIONS_PER_PEER") { maxSessionsPerPeer = value }
        if let value = try integer("TIDEMARK_MAX_SESSIONS") { maxSessions = value }
        if let value = try integer("TIDEMARK_MAX_NEW_ACCOUNTS_PER_PEER_PER_MINUTE") {
            maxNewAccountsPerPeerPerMinute = value
        }
        if let value = try integer("TIDEMARK_MAX_NEW_ACCOUNTS_PER_MINUTE") { maxNewAccountsPerMinute = value }
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
        if let value = try flag("TIDEMARK_ALLOW_PLAINTEXT_BRIDGE") { allowPlaintextBridge = value }
        if let value = try integer("TIDEMARK_MAX_TRACKERS_PER_ACCOUNT") { maximumTrackersPerAccount = value }
        if let value = try integer("TIDEMARK_HTTP_IDLE_TIMEOUT_SECONDS") { httpIdleTimeoutSeconds = value }
        if let value = try integer("TIDEMARK_HTTP_HEADER_TIMEOUT_SECONDS") { httpHeaderTimeoutSeconds = value }
        if let value = try integer("TIDEMARK_HTTP_BODY_TIMEOUT_SECONDS") { httpBodyTimeoutSeconds = value }
        if let value = try integer("TIDEMARK_HTTP_MAX_CONNECTIONS") { httpMaximumConnections = value }
        if let value = environment["TIDEMARK_FEED_URL"] { feedURL = value }
        if let value = environment["TIDEMARK_FEED_CERTIFICATE"] { feedCertificate = value }
        if let value = environment["TIDEMARK_FEED_KEY"] { feedKey = value }
        if let value = environment["TIDEMARK_FEED_CA"] { feedCA = value }
        if let value = try integer("TIDEMARK_FEED_ACCOUNT_UPDATES_PER_SECOND") { feedAccountUpdatesPerSecond = value }
        if let value = try integer("TIDEMARK_FEED_RETENTION_ROWS") { feedRetentionRows = value }
        if let value = try integer("TIDEMARK_FEED_RETENTION_SECONDS") { feedRetentionSeconds = value }
        if let value = try integer("TIDEMARK_FEED_LIVE_INTERVAL_MS") { feedLiveIntervalMilliseconds = value }
    }
}

/// A failure of the agent itself (not of one terminal or one request); ``description`` is a
/// short label usable in metrics.
public struct AgentError: CodeComparedError {
    private enum Code: String, Hashable, Sendable {
        case configuration, store, startup, stopped, insecure
    }

    private let codeValue: Code
    /// What exactly went wrong.
    public var detail: String

    private init(_ code: Code, detail: String = "") {
        self.codeValue = code
        self.detail = detail
    }

    /// A setting is missing, malformed or contradicts another.
    public static let configuration = AgentError(.configuration)
    /// The store refused to open or to commit.
    public static let store = AgentError(.store)
    /// A service could not start (bind failed, directory not writable).
    public static let startup = AgentError(.startup)
    /// The pipeline is stopping and takes no more requests.
    public static let stopped = AgentError(.stopped)
    /// A setting would expose the agent (plaintext bridge beyond loopback, a guessable admin token).
    public static let insecure = AgentError(.insecure)

    /// The process exit status for this failure at start-up, distinct per kind (sysexits(3)
    /// values where one fits): 78 configuration, 77 insecure setting, 65 store damaged or
    /// refused, 71 start-up (bind, directories), 70 anything else.
    public var exitCode: Int32 {
        switch codeValue {
        case .configuration: 78
        case .insecure: 77
        case .store: 65
        case .startup: 71
        case .stopped: 70
        }
    }

    /// The short label (`configuration`, `store`, …).
    public var code: String { codeValue.rawValue }

    /// The ``code`` alone (``detail`` is for logs).
    public var description: String { code }
}
