import Foundation
import TestSupport
import Testing

/// Live updates across dashboard processes: two real `tidemark dashboard` processes on one
/// PostgreSQL database; an agent feeds one, a page's stream on the other shows it (LISTEN/NOTIFY).
@Suite("Dashboard live updates through PostgreSQL LISTEN/NOTIFY", .serialized)
struct DashboardLiveTests {
    static let account = "Tidemark-Sim:1000001"

    @Test func aFeedIngestedByOneProcessShowsUpLiveOnAnothersStream() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a"])
        let database = try PostgresForTests.freshDatabase()
        let ingesting = FullDashboard(in: directory, database: database, pki: pki)
        let watching = FullDashboard(in: directory, database: database, pki: pki)
        try await ingesting.start()
        try await watching.start()
        defer {
            ingesting.running?.killIfRunning()
            watching.running?.killIfRunning()
        }
        // A page's stream on the process that receives no feed.
        let browser = try await DashboardBrowserSession(dashboard: watching, token: watching.adminToken, in: directory)
        let stream = try browser.openStream()
        defer { stream.killIfRunning() }
        try await eventually("the stream to open", deadline: .seconds(20)) { stream.output.contains(": connected") }

        let agent = FullAgent(
            in: directory, name: "a", rules: try FeedRecordings.rules(login: 1_000_001, in: directory),
            feeding: ingesting)
        try await agent.start()
        defer { agent.running?.killIfRunning() }
        let recording = try await FeedRecordings.aroundMidnight(login: 1_000_001, in: directory)
        // 100 minutes of ticks at 200 × real time: the API's equity stream on the watching process
        // opens once the account exists, while it still trades.
        let simulator = try Tidemark.start(
            ["simulate", "--connect", agent.bridgeEndpoint!, "--speed", "200", recording], in: directory)
        defer { simulator.killIfRunning() }
        try await eventually("the account stored", deadline: .seconds(60)) {
            try ingesting.query("SELECT COUNT(*) FROM account") == ["1"]
        }
        let equity = try browser.openAPIStream(
            "/users/current/accounts/\(Self.account.replacingOccurrences(of: ":", with: "%3A"))/equity-stream")
        defer { equity.killIfRunning() }
        #expect(await simulator.waitUntilExit(timeout: 120), "the simulator did not finish")
        #expect(simulator.process.terminationStatus == 0, "\(simulator.errors)")
        try await agent.waitUntilFeedDrained()
        // The API's equity stream of the process that ingests nothing: only LISTEN/NOTIFY feeds it.
        try await eventually("equity on the watching process's API stream", deadline: .seconds(30)) {
            !equity.frames(named: "equity").isEmpty
        }

        // The account's live row and its breach events reached the other process's page.
        try await eventually("the account's row on the watching process's stream", deadline: .seconds(30)) {
            stream.frames(named: "accounts").contains { frame in
                (frame as? [[String: Any]])?.contains { $0["accountId"] as? String == Self.account } ?? false
            }
        }
        let storedBreaches = try ingesting.query(
            """
            SELECT COUNT(*) FROM event WHERE account_id = '\(Self.account)'
              AND ((kind = 'tracker' AND type = 'drawdown') OR (kind = 'challenge' AND type = 'challengeFailed'))
            """)
        #expect(storedBreaches != ["0"], "the rules must produce a breach for this test to mean something")
        let storedEvents = try ingesting.query("SELECT sequence FROM event ORDER BY sequence").compactMap { Int64($0) }
        try await eventually("every stored event on the watching process's stream", deadline: .seconds(30)) {
            let streamed = stream.frames(named: "events").flatMap { ($0 as? [[String: Any]]) ?? [] }
            return Set(streamed.compactMap { ($0["sequence"] as? NSNumber)?.int64Value }) == Set(storedEvents)
        }
        // The final figures: the last account row streamed equals the database's.
        let lastRow = try #require(
            stream.frames(named: "accounts").compactMap { $0 as? [[String: Any]] }.joined()
                .last { $0["accountId"] as? String == Self.account })
        let stored = try ingesting.query(
            "SELECT balance::text || ' ' || equity::text FROM account WHERE account_id = '\(Self.account)'")
        #expect(["\(lastRow["balance"] ?? "") \(lastRow["equity"] ?? "")"] == stored)
        #expect(try await watching.metric("tidemark_dashboard_live_notifications_total") ?? 0 > 0)
        await stream.stop()
        await equity.stop()
        #expect(await agent.stop() == 0)
        #expect(await ingesting.stop() == 0)
        #expect(await watching.stop() == 0)
    }

    @Test func aLostListenConnectionIsOpenedAgainAndThePagesReload() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a"])
        let dashboard = FullDashboard(in: directory, database: try PostgresForTests.freshDatabase(), pki: pki)
        try await dashboard.start()
        defer { dashboard.running?.killIfRunning() }
        let browser = try await DashboardBrowserSession(
            dashboard: dashboard, token: dashboard.adminToken, in: directory)
        let stream = try browser.openStream()
        defer { stream.killIfRunning() }
        try await eventually("the stream to open", deadline: .seconds(20)) { stream.output.contains(": connected") }
        try await eventually("the listen connection", deadline: .seconds(20)) {
            try Self.listeners(dashboard) == 1
        }
        // PostgreSQL ends the listening backend (as a failover or a restart would).
        _ = try dashboard.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        try await eventually("a reconnect counted", deadline: .seconds(20)) {
            try await dashboard.metric("tidemark_dashboard_live_reconnects_total") ?? 0 >= 1
        }
        try await eventually("pages told to reload", deadline: .seconds(20)) {
            !stream.frames(named: "reload").isEmpty
        }
        // And it listens again: a notification sent now is heard.
        try await eventually("listening again", deadline: .seconds(20)) { try Self.listeners(dashboard) == 1 }
        let before = try await dashboard.metric("tidemark_dashboard_live_notifications_total") ?? 0
        _ = try dashboard.query("SELECT pg_notify('tidemark_live', '{\"a\":[]}')")
        try await eventually("the notification heard", deadline: .seconds(20)) {
            try await dashboard.metric("tidemark_dashboard_live_notifications_total") ?? 0 > before
        }
        // SIGTERM with a page's stream open: the stream ends and the process exits cleanly
        // (the harness would SIGKILL it after 10 s, which is not status 0).
        #expect(await dashboard.stop() == 0, "\(dashboard.log.suffix(2_000))")
        #expect(await stream.waitUntilExit(timeout: 20), "the page's stream must end with the server")
    }

    /// Backends of the test's database that are listening.
    static func listeners(_ dashboard: FullDashboard) throws -> Int {
        Int(
            try dashboard.query(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            ).first ?? "0") ?? 0
    }
}

/// A signed-in session of the web dashboard, through curl (the server's real TLS, cookies as a
/// browser keeps them).
struct DashboardBrowserSession {
    let dashboard: FullDashboard
    let directory: TemporaryDirectory
    let cookieJar: String

    /// Signs in with `token` (POST /login) and keeps the session cookie.
    init(dashboard: FullDashboard, token: String, in directory: TemporaryDirectory) async throws {
        self.dashboard = dashboard
        self.directory = directory
        cookieJar = directory.path("cookies-\(UUID().uuidString.prefix(8))")
        let login = try Tidemark.Running.start(
            "/usr/bin/curl",
            [
                "-sS", "--cacert", dashboard.pki.authority, "-c", cookieJar, "-o", "/dev/null", "-w", "%{http_code}",
                "--data-urlencode", "token=\(token)", "\(dashboard.baseURL)/login",
            ], label: "curl-login", in: directory)
        guard await login.waitUntilExit(timeout: 30), login.output == "303" else {
            throw HarnessError("sign-in failed: \(login.output) \(login.errors)")
        }
    }

    /// An API stream (`auth-token`: the admin token), running until stopped.
    func openAPIStream(_ path: String) throws -> Tidemark.Running {
        try Tidemark.Running.start(
            "/usr/bin/curl",
            [
                "-sS", "-N", "--cacert", dashboard.pki.authority, "-H", "auth-token: \(dashboard.adminToken)",
                "\(dashboard.baseURL)\(path)",
            ],
            label: "curl-api-stream", in: directory)
    }

    /// `GET /ui/stream`, running until stopped.
    func openStream() throws -> Tidemark.Running {
        try Tidemark.Running.start(
            "/usr/bin/curl",
            ["-sS", "-N", "--cacert", dashboard.pki.authority, "-b", cookieJar, "\(dashboard.baseURL)/ui/stream"],
            label: "curl-stream", in: directory)
    }
}

extension Tidemark.Running {
    /// The JSON data of every Server-Sent Event of this name received so far.
    func frames(named name: String) -> [Any] {
        output.components(separatedBy: "\n\n").compactMap { frame -> Any? in
            let lines = frame.split(separator: "\n")
            guard lines.contains(where: { $0 == "event: \(name)" }),
                let data = lines.first(where: { $0.hasPrefix("data: ") })
            else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(data.dropFirst("data: ".count).utf8))
        }
    }
}

extension FullDashboard {
    /// The HTTPS base URL, by the name the dashboard's certificate carries.
    var baseURL: String { "https://localhost:\(httpEndpoint!.split(separator: ":").last!)" }

    /// One sample of the dashboard's `/metrics`.
    func metric(_ name: String) async throws -> Double? {
        let program = try Tidemark.Running.start(
            "/usr/bin/curl", ["-sS", "--cacert", pki.authority, "\(baseURL)/metrics"], label: "curl-metrics",
            in: directory)
        guard await program.waitUntilExit(timeout: 20) else {
            await program.stop()
            return nil
        }
        return PrometheusText.sample(name, in: program.output)
    }
}
