import AsyncHTTPClient
import FeedProtocol
import Foundation
import NIOCore
import NIOSSL
import TestSupport
import Testing

/// The private PostgreSQL cluster of `scripts/postgres` (started if it is not running), with a
/// fresh database per test, queried through `psql` (the server's own client).
enum PostgresForTests {
    /// The cluster's superuser URL (`…/tidemark`).
    static let serverURL: Result<String, HarnessError> = {
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: Tidemark.packageRoot.appendingPathComponent("scripts/postgres").path)
        process.arguments = ["start"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { return .failure(HarnessError("scripts/postgres: \(error)")) }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let url = text.split(separator: "\n").last else {
            return .failure(HarnessError("scripts/postgres start failed: \(errorText)"))
        }
        return .success(String(url))
    }()

    /// A new, empty database; its URL.
    static func freshDatabase() throws -> String {
        let server = try serverURL.get()
        let name = "feed_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        _ = try query(server, "CREATE DATABASE \(name)")
        guard server.hasSuffix("/tidemark") else { throw HarnessError("unexpected server URL \(server)") }
        return String(server.dropLast("tidemark".count)) + name
    }

    /// The rows of a one-column query, as text (`psql -At`).
    static func query(_ url: String, _ sql: String) throws -> [String] {
        try run("psql", [url, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql])
    }

    /// The rows of a one-column query of a SQLite file (read-only, beside a running agent: WAL).
    static func sqlite(_ path: String, _ sql: String) throws -> [String] {
        try run("sqlite3", ["-readonly", path, sql])
    }

    private static func run(_ command: String, _ arguments: [String]) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HarnessError("\(command) \(arguments.last ?? ""): \(errorText)")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(
            String.init)
    }
}

/// Certificates made by `deploy/pki.sh` in a test's directory.
struct TestPKI {
    let directory: String

    /// A CA, the dashboard's certificate (localhost, 127.0.0.1) and one certificate per agent name.
    init(in directory: TemporaryDirectory, name: String = "pki", agents: [String]) throws {
        self.directory = directory.path(name)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Tidemark.packageRoot.appendingPathComponent("deploy/pki.sh").path)
        process.arguments = ["--dir", self.directory] + agents.flatMap { ["--agent", $0] }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("deploy/pki.sh failed") }
    }

    var authority: String { directory + "/ca-bundle.pem" }
    var dashboardCertificate: String { directory + "/dashboard.pem" }
    var dashboardKey: String { directory + "/dashboard.key" }
    func certificate(_ agent: String) -> String { directory + "/agents/\(agent).pem" }
    func key(_ agent: String) -> String { directory + "/agents/\(agent).key" }
}

/// A real `tidemark dashboard` on loopback; restartable on the same ports (so agents find it again).
final class FullDashboard {
    let directory: TemporaryDirectory
    let database: String
    let pki: TestPKI
    let adminToken = "dashboard_integration_admin_token_0123456789abcdef"
    /// More `TIDEMARK_DASHBOARD_*` settings for its environment.
    var extraEnvironment: [String: String] = [:]
    private let server = ServerProcess()
    /// The current run, nil while stopped.
    var running: Tidemark.Running? { server.running }
    private(set) var feedEndpoint: String?
    private(set) var httpEndpoint: String?

    init(in directory: TemporaryDirectory, database: String, pki: TestPKI) {
        self.directory = directory
        self.database = database
        self.pki = pki
    }

    /// The agents' feed URL (the name the dashboard certificate carries).
    var feedURL: String { "https://localhost:\(feedEndpoint!.split(separator: ":").last!)" }

    /// Starts it and waits until both listeners are up (at most 60 s).
    func start() async throws {
        let endpoints = try await server.start(
            [
                "dashboard", "--feed-listen", feedEndpoint ?? "127.0.0.1:0", "--http", httpEndpoint ?? "127.0.0.1:0",
                "--database", database, "--tls-cert", pki.dashboardCertificate, "--tls-key", pki.dashboardKey,
                "--client-ca", pki.authority, "--log-level", "notice",
            ],
            in: directory,
            environment: ["TIDEMARK_DASHBOARD_ADMIN_TOKEN": adminToken].merging(extraEnvironment) { $1 },
            awaiting: ["feed listening on ", "https listening on "])
        feedEndpoint = endpoints[0]
        httpEndpoint = endpoints[1]
    }

    /// SIGKILL: no flush, no goodbye.
    func kill9() async { await server.kill9() }

    /// SIGTERM and wait: a graceful stop.
    @discardableResult
    func stop() async -> Int32 { await server.stop() }

    /// Every run's stderr so far.
    var log: String { server.log }

    /// One-column query of the dashboard's database.
    func query(_ sql: String) throws -> [String] { try PostgresForTests.query(database, sql) }

}

extension FullAgent {
    /// An agent feeding `dashboard` with the certificate of `name` (wall-clock inputs off, so that
    /// nothing is committed once its simulator has finished: "drained" then means "all of it").
    convenience init(in directory: TemporaryDirectory, name: String, rules: String?, feeding dashboard: FullDashboard) {
        self.init(
            in: directory, name: name, rules: rules,
            extraArguments: [
                "--feed-url", dashboard.feedURL, "--feed-certificate", dashboard.pki.certificate(name),
                "--feed-key", dashboard.pki.key(name), "--feed-ca", dashboard.pki.authority,
            ],
            extraEnvironment: ["TIDEMARK_WALL_CLOCK_INTERVAL_MS": "0"])
    }

    var storePath: String { dataDirectory + "/tidemark.sqlite" }

    /// Waits (at most `timeout` seconds) until the dashboard acknowledged every feed row this agent queued.
    func waitUntilFeedDrained(timeout: Double = 90) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let pending = try PostgresForTests.sqlite(storePath, "SELECT COUNT(*) FROM feed_outbox").first
            let queued = try PostgresForTests.sqlite(
                storePath, "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'feed_outbox'"
            ).first
            if pending == "0", queued == "1" { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("the feed outbox did not drain within \(timeout) s: \(log.suffix(3_000))")
    }
}

/// Recordings and rules for the dashboard tests: 100 minutes around broker midnight of 4–5 February
/// 2019 (so a calendar-day period closes: statistics, and chart hours), for any login.
enum FeedRecordings {
    static let script = """
        balance 10000
        2019-02-04 23:40:00 open buy 3.00
        2019-02-05 00:05:00 deposit 500
        2019-02-05 00:20:00 close 100001 1.00
        2019-02-05 00:25:00 open sell 1.00
        2019-02-05 00:40:00 close 100001

        """

    /// The recording for `Tidemark-Sim:LOGIN`.
    static func aroundMidnight(login: Int, in directory: TemporaryDirectory) async throws -> String {
        let source = try String(contentsOfFile: Tidemark.ticksDirectory + "/EURUSD-2019-02-04.csv", encoding: .utf8)
        // 21:30–23:10 UTC is 23:30–01:10 broker time (UTC+2): the calendar day and two chart hours close.
        let from: Int64 = 1_549_315_800_000
        let to: Int64 = 1_549_321_800_000
        var lines = [String(source.prefix { $0 != "\n" })]
        for line in source.split(separator: "\n").dropFirst() {
            guard let time = Int64(line.prefix { $0 != "," }) else { continue }
            if time >= from && time < to { lines.append(String(line)) }
        }
        let csv = directory.path("EURUSD-midnight.csv")
        try (lines.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let script = directory.path("midnight.script")
        try self.script.write(toFile: script, atomically: true, encoding: .utf8)
        let base = directory.path("midnight-1000001.jsonl")
        if !FileManager.default.fileExists(atPath: base) {
            let made = try await Tidemark.run(
                ["make-recording", "--ticks", csv, "--script", script, "--out", base, "--batch", "20"], in: directory)
            guard made.status == 0 else { throw HarnessError("make-recording failed: \(made.errors)") }
        }
        guard login != 1_000_001 else { return base }
        let text = try String(contentsOfFile: base, encoding: .utf8)
            .replacingOccurrences(of: "\"Tidemark-Sim:1000001\"", with: "\"Tidemark-Sim:\(login)\"")
            .replacingOccurrences(of: "\"login\":1000001", with: "\"login\":\(login)")
        let path = directory.path("midnight-\(login).jsonl")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A lifetime drawdown tracker, a calendar-day profit tracker and a challenge, for `Tidemark-Sim:LOGIN`.
    static func rules(login: Int, in directory: TemporaryDirectory) throws -> String {
        let path = directory.path("rules-\(login).json")
        let account = "Tidemark-Sim:\(login)"
        try """
        {"declarations": [
         {"action": "createTracker", "tracker": {"id": "dd-\(login)", "accountId": "\(account)", "name": "drawdown 5",
          "period": "lifetime", "absoluteDrawdownThreshold": 5}},
         {"action": "createTracker", "tracker": {"id": "pf-\(login)", "accountId": "\(account)", "name": "profit 5",
          "period": "date", "absoluteProfitThreshold": 5}},
         {"action": "createChallenge", "challenge": {"id": "ch-\(login)", "account": "\(account)", "initialCapital": 10000,
          "startTime": "2019-02-04 00:00:00.000",
          "phases": [{"name": "evaluation", "rules": {"maxLoss": {"limit": {"amount": 60}}}}]}}
        ]}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// What an agent's store and the dashboard's database hold for one account, in one text form, so the
/// two compare byte for byte (the same SQL projection runs on both; bodies are the stored JSON text).
struct FedAccount: Equatable, CustomStringConvertible {
    var events: [String]
    var statistics: [String]
    var chart: [String]
    var declarations: [String]

    private static let eventColumns =
        "sequence || ' ' || kind || ' ' || type || ' ' || subject_id || ' ' || broker_time || ' ' || body"
    private static let statisticsColumns =
        "tracker_id || ' ' || start_broker_time || ' ' || COALESCE(end_broker_time, -1) || ' ' || body"
    private static let chartColumns = "start_broker_time || ' ' || end_broker_time || ' ' || body"
    private static let declarationColumns = "kind || ' ' || id || ' ' || body || ' ' || COALESCE(deleted_at, -1)"

    /// From the agent's SQLite store.
    init(agentStore path: String, account: String) throws {
        events = try PostgresForTests.sqlite(
            path, "SELECT \(Self.eventColumns) FROM event WHERE account_id = '\(account)' ORDER BY sequence")
        statistics = try PostgresForTests.sqlite(
            path,
            """
            SELECT \(Self.statisticsColumns) FROM period_statistics WHERE account_id = '\(account)' ORDER BY tracker_id, start_broker_time
            """)
        chart = try PostgresForTests.sqlite(
            path,
            "SELECT \(Self.chartColumns) FROM equity_chart WHERE account_id = '\(account)' ORDER BY start_broker_time")
        declarations = try PostgresForTests.sqlite(
            path,
            """
            SELECT \(Self.declarationColumns) FROM definition WHERE account_id = '\(account)' ORDER BY kind, id
            """)
    }

    /// From the dashboard's PostgreSQL database.
    init(dashboard: FullDashboard, account: String) throws {
        events = try dashboard.query(
            "SELECT \(Self.eventColumns) FROM event WHERE account_id = '\(account)' ORDER BY sequence")
        statistics = try dashboard.query(
            """
            SELECT \(Self.statisticsColumns) FROM period_statistics WHERE account_id = '\(account)' ORDER BY tracker_id, start_broker_time
            """)
        chart = try dashboard.query(
            "SELECT \(Self.chartColumns) FROM equity_chart WHERE account_id = '\(account)' ORDER BY start_broker_time")
        declarations = try dashboard.query(
            "SELECT \(Self.declarationColumns) FROM declaration WHERE account_id = '\(account)' ORDER BY kind, id")
    }

    var description: String {
        "events (\(events.count)):\n" + events.joined(separator: "\n") + "\nstatistics (\(statistics.count)):\n"
            + statistics.joined(separator: "\n") + "\nchart (\(chart.count)):\n" + chart.joined(separator: "\n")
            + "\ndeclarations (\(declarations.count)):\n" + declarations.joined(separator: "\n")
    }
}

/// A TLS client of the feed port with a chosen certificate (or none), outside any agent.
enum FeedClient {
    /// POSTs an empty batch; returns the HTTP status, or throws what the connection threw.
    static func postEmptyBatch(
        to url: String, authority: String, certificate: String?, key: String?
    ) async throws -> UInt {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(authority))
        if let certificate, let key {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            let batch = FeedBatch(
                agent: FeedAgentStatus(
                    version: "test", storeId: "test-store", terminalsConnected: 0, outboxBacklog: 0,
                    outboxOldestAgeMilliseconds: 0, overflowedRows: 0, lostThrough: 0),
                items: [], accountStates: [])
            var request = HTTPClientRequest(url: url + FeedPath.batches)
            request.method = .POST
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(batch)))
            let response = try await client.execute(request, timeout: .seconds(20))
            _ = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return response.status.code
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
