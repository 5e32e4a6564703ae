import API
import Foundation

/// Every setting of `tidemark dashboard`, as plain Codable JSON (`--config FILE`).
///
/// Precedence, lowest first: the defaults, the file, `TIDEMARK_DASHBOARD_*` environment variables,
/// command-line flags. Unknown keys in the file are refused.
///
/// | JSON key | env var | default | meaning |
/// |---|---|---|---|
/// | `feedListen` | `TIDEMARK_DASHBOARD_FEED_LISTEN` | `0.0.0.0:8443` | HOST:PORT where agents feed (mutual TLS) |
/// | `http` | `TIDEMARK_DASHBOARD_HTTP` | `127.0.0.1:8444` | HOST:PORT of the HTTPS API: the agents' REST API (`/users/current/…`, read-only), `/agents`, `/metrics`, `/health`, `/ready` |
/// | `database` | `TIDEMARK_DASHBOARD_DATABASE` | none (required) | `postgres://USER:PASSWORD@HOST:PORT/DATABASE` |
/// | `tlsCertificate` | `TIDEMARK_DASHBOARD_TLS_CERT` | none (required) | the dashboard's certificate chain (PEM, `deploy/pki.sh`) |
/// | `tlsKey` | `TIDEMARK_DASHBOARD_TLS_KEY` | none (required) | its key (PEM) |
/// | `clientCA` | `TIDEMARK_DASHBOARD_CLIENT_CA` | none (required) | the CA(s) an agent certificate must chain to (PEM) |
/// | `pinnedAgents` | `TIDEMARK_DASHBOARD_PINNED_AGENTS` | none | a file of agent certificate SHA-256 fingerprints (hex, one a line, `#` comments): when set, only those agents may feed |
/// | `databaseConnections` | `TIDEMARK_DASHBOARD_DATABASE_CONNECTIONS` | 8 | PostgreSQL connections in the pool at most |
/// | `longPollSeconds` | `TIDEMARK_DASHBOARD_LONG_POLL_SECONDS` | 60 | how long an event long poll waits before answering `[]` (as the agent's setting) |
/// | `logLevel` | `TIDEMARK_DASHBOARD_LOG_LEVEL` | `info` | trace … critical |
/// | (env only) | `TIDEMARK_DASHBOARD_ADMIN_TOKEN` | none (required) | the admin's token: `auth-token` of the REST API, bearer token of `/agents`; at least 128 bits of entropy by the agent's rule (`openssl rand -hex 32`) |
public struct DashboardConfiguration: Hashable, Sendable, Codable {
    public var feedListen = "0.0.0.0:8443"
    public var http = "127.0.0.1:8444"
    public var database: String?
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var clientCA: String?
    public var pinnedAgents: String?
    public var databaseConnections = 8
    public var longPollSeconds = 60
    public var logLevel = "info"
    /// From the environment only (never in a file that may be world-readable).
    public var adminToken: String?

    /// The defaults.
    public init() {}

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case feedListen, http, database, tlsCertificate, tlsKey, clientCA, pinnedAgents, databaseConnections, logLevel
        case longPollSeconds
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: all,
                debugDescription:
                    "unknown setting \"\(unknown.stringValue)\" (known: \(known.sorted().joined(separator: ", ")))")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        feedListen = try c.decodeIfPresent(String.self, forKey: .feedListen) ?? feedListen
        http = try c.decodeIfPresent(String.self, forKey: .http) ?? http
        database = try c.decodeIfPresent(String.self, forKey: .database)
        tlsCertificate = try c.decodeIfPresent(String.self, forKey: .tlsCertificate)
        tlsKey = try c.decodeIfPresent(String.self, forKey: .tlsKey)
        clientCA = try c.decodeIfPresent(String.self, forKey: .clientCA)
        pinnedAgents = try c.decodeIfPresent(String.self, forKey: .pinnedAgents)
        databaseConnections = try c.decodeIfPresent(Int.self, forKey: .databaseConnections) ?? databaseConnections
        longPollSeconds = try c.decodeIfPresent(Int.self, forKey: .longPollSeconds) ?? longPollSeconds
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? logLevel
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(feedListen, forKey: .feedListen)
        try c.encode(http, forKey: .http)
        try c.encodeIfPresent(database, forKey: .database)
        try c.encodeIfPresent(tlsCertificate, forKey: .tlsCertificate)
        try c.encodeIfPresent(tlsKey, forKey: .tlsKey)
        try c.encodeIfPresent(clientCA, forKey: .clientCA)
        try c.encodeIfPresent(pinnedAgents, forKey: .pinnedAgents)
        try c.encode(databaseConnections, forKey: .databaseConnections)
        try c.encode(longPollSeconds, forKey: .longPollSeconds)
        try c.encode(logLevel, forKey: .logLevel)
    }

    /// The defaults overlaid with a JSON file.
    public static func load(file path: String) throws(DashboardError) -> DashboardConfiguration {
        do {
            return try JSONDecoder().decode(
                DashboardConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw DashboardError.configuration.with(detail: "\(path): \(error)")
        }
    }

    /// Overlays `TIDEMARK_DASHBOARD_*` environment variables.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(DashboardError) {
        if let value = environment["TIDEMARK_DASHBOARD_FEED_LISTEN"] { feedListen = value }
        if let value = environment["TIDEMARK_DASHBOARD_HTTP"] { http = value }
        if let value = environment["TIDEMARK_DASHBOARD_DATABASE"] { database = value }
        if let value = environment["TIDEMARK_DASHBOARD_TLS_CERT"] { tlsCertificate = value }
        if let value = environment["TIDEMARK_DASHBOARD_TLS_KEY"] { tlsKey = value }
        if let value = environment["TIDEMARK_DASHBOARD_CLIENT_CA"] { clientCA = value }
        if let value = environment["TIDEMARK_DASHBOARD_PINNED_AGENTS"] { pinnedAgents = value }
        if let value = environment["TIDEMARK_DASHBOARD_LOG_LEVEL"] { logLevel = value }
        if let value = environment["TIDEMARK_DASHBOARD_ADMIN_TOKEN"] { adminToken = value }
        if let text = environment["TIDEMARK_DASHBOARD_DATABASE_CONNECTIONS"] {
            guard let value = Int(text) else {
                throw DashboardError.configuration.with(
                    detail: "TIDEMARK_DASHBOARD_DATABASE_CONNECTIONS must be an integer, got \"\(text)\"")
            }
            databaseConnections = value
        }
        if let text = environment["TIDEMARK_DASHBOARD_LONG_POLL_SECONDS"] {
            guard let value = Int(text) else {
                throw DashboardError.configuration.with(
                    detail: "TIDEMARK_DASHBOARD_LONG_POLL_SECONDS must be an integer, got \"\(text)\"")
            }
            longPollSeconds = value
        }
    }

    /// Refuses settings that cannot work, naming the key.
    public func validate() throws(DashboardError) {
        func refuse(_ detail: String) -> DashboardError { DashboardError.configuration.with(detail: detail) }
        _ = try Self.address(feedListen, key: "feedListen")
        _ = try Self.address(http, key: "http")
        guard let database else { throw refuse("database is required (postgres://USER:PASSWORD@HOST:PORT/DATABASE)") }
        _ = try DatabaseAddress(url: database)
        guard tlsCertificate != nil, tlsKey != nil else {
            throw refuse("tlsCertificate and tlsKey are required (deploy/pki.sh makes them)")
        }
        guard clientCA != nil else {
            throw refuse("clientCA is required: agents are admitted by the CA that signed their certificates")
        }
        guard (1...3_600).contains(longPollSeconds) else {
            throw refuse("longPollSeconds must be between 1 and 3600")
        }
        guard (1...200).contains(databaseConnections) else {
            throw refuse("databaseConnections must be between 1 and 200")
        }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw refuse(
                "logLevel must be one of trace, debug, info, notice, warning, error, critical; got \"\(logLevel)\"")
        }
        guard let adminToken else {
            throw DashboardError.insecure.with(
                detail: "TIDEMARK_DASHBOARD_ADMIN_TOKEN is required (e.g. openssl rand -hex 32)")
        }
        // The agent's rule for its admin token (TokenStrength), so one token policy covers both.
        let bits = TokenStrength.estimatedBits(adminToken)
        guard bits >= TokenStrength.minimumBits else {
            throw DashboardError.insecure.with(
                detail:
                    "TIDEMARK_DASHBOARD_ADMIN_TOKEN carries about \(bits) bits of entropy, fewer than the \(TokenStrength.minimumBits) required (make one with openssl rand -hex 32)"
            )
        }
    }

    /// `HOST:PORT` split, or an error naming the key.
    static func address(_ text: String, key: String) throws(DashboardError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65_535).contains(port)
        else {
            throw DashboardError.configuration.with(detail: "\(key) must be HOST:PORT, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}

/// A `postgres://` URL's parts.
public struct DatabaseAddress: Hashable, Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (or `postgresql://`).
    public init(url: String) throws(DashboardError) {
        guard let components = URLComponents(string: url),
            ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
        else {
            throw DashboardError.configuration.with(
                detail: "database must be postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        let name = String(components.path.drop(while: { $0 == "/" }))
        self.host = host
        self.port = components.port ?? 5432
        self.username = user
        self.password = components.password
        self.database = name.isEmpty ? user : name
    }
}

/// A failure of the dashboard itself; ``description`` is a short label.
public struct DashboardError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: String, Hashable, Sendable {
        case configuration, insecure, database, startup
    }

    private let code: Code
    /// What exactly went wrong.
    public let detail: String

    private init(_ code: Code, detail: String = "") {
        self.code = code
        self.detail = detail
    }

    /// A setting is missing or malformed.
    public static let configuration = DashboardError(.configuration)
    /// A setting would expose the dashboard (no or a short admin token).
    public static let insecure = DashboardError(.insecure)
    /// PostgreSQL refused or failed.
    public static let database = DashboardError(.database)
    /// A listener could not start.
    public static let startup = DashboardError(.startup)

    /// The same error with a detail.
    public func with(detail: String) -> DashboardError { DashboardError(code, detail: detail) }

    /// Exit status at start-up (sysexits(3)): 78 configuration, 77 insecure, 69 database, 71 start-up.
    public var exitCode: Int32 {
        switch code {
        case .configuration: 78
        case .insecure: 77
        case .database: 69
        case .startup: 71
        }
    }

    public var description: String { detail.isEmpty ? code.rawValue : "\(code.rawValue): \(detail)" }
    public static func == (lhs: DashboardError, rhs: DashboardError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
