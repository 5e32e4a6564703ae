import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import TestSupport
import Testing

/// The dashboard's REST API (the agents' API over PostgreSQL) against the agents' own: real agent
/// processes with simulators, the real PostgreSQL of `scripts/postgres`, real mutual TLS.
@Suite("Dashboard REST API answers what each owning agent answers", .serialized)
struct DashboardAPITests {
    static let accountA = "Tidemark-Sim:1000001"
    static let accountB = "Tidemark-Sim:1000002"

    @Test func theDashboardAnswersForEachAccountExactlyWhatItsAgentAnswers() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a", "b"])
        let dashboard = FullDashboard(in: directory, database: try PostgresForTests.freshDatabase(), pki: pki)
        try await dashboard.start()
        let agentA = FullAgent(
            in: directory, name: "a", rules: try Self.rules(login: 1_000_001, in: directory), feeding: dashboard)
        let agentB = FullAgent(
            in: directory, name: "b", rules: try Self.rules(login: 1_000_002, in: directory), feeding: dashboard)
        try await agentA.start()
        try await agentB.start()
        let client = try DashboardClient(dashboard)
        defer { client.shutdown() }

        // Both terminals at once, to the end of their recordings.
        let recordingA = try await FeedRecordings.aroundMidnight(login: 1_000_001, in: directory)
        let recordingB = try await FeedRecordings.aroundMidnight(login: 1_000_002, in: directory)
        try await Tidemark.simulateAtOnce(
            [(agentA.bridgeEndpoint!, recordingA), (agentB.bridgeEndpoint!, recordingB)], in: directory)
        try await agentA.waitUntilFeedDrained()
        try await agentB.waitUntilFeedDrained()

        // Committed records are there once the outbox drained; the open parts (realTime periods, the
        // open chart hour, progress, leaderboards, the account's live figures) follow within the
        // feed's live interval: wait until every answer matches, then check them all.
        for (agent, login) in [(agentA, 1_000_001), (agentB, 1_000_002)] {
            let answers = Self.comparedPaths(login: login)
            var differing: [String] = []
            do {
                try await eventually(
                    "the dashboard's answers for \(login) to match its agent's", deadline: .seconds(60),
                    interval: .milliseconds(200)
                ) {
                    differing = []
                    for (path, events) in answers {
                        let mine = try await HTTP.request(
                            "GET", "http://\(agent.httpEndpoint!)" + path, token: agent.adminToken)
                        let theirs = try await client.get(path)
                        #expect(mine.status == 200, "agent \(path): \(mine.text)")
                        if theirs.status != mine.status || !Self.same(mine.body, theirs.body, events: events) {
                            differing.append("\(path)\n  agent:     \(mine.text)\n  dashboard: \(theirs.text)")
                        }
                    }
                    return differing.isEmpty
                }
            } catch {
                let report = "\(error)\n" + differing.joined(separator: "\n")
                Issue.record(Comment(rawValue: report))
            }
            // The comparison means something: the rules produced events, closed periods and hours.
            let events = try #require(
                try JSONSerialization.jsonObject(
                    with: try await client.get(
                        "/users/current/tracker-events/by-broker-time?accountId=Tidemark-Sim:\(login)"
                    )
                    .body) as? [Any])
            #expect(events.count >= 2, "tracker events must fire for the comparison to mean something")
            let chart = try #require(
                try JSONSerialization.jsonObject(
                    with: try await client.get("/users/current/accounts/Tidemark-Sim:\(login)/equity-chart").body)
                    as? [Any])
            #expect(chart.count >= 2, "chart hours must close")
        }

        // Every account of both agents, in id order, as each agent lists its own.
        let listA = try await HTTP.request(
            "GET", "http://\(agentA.httpEndpoint!)/users/current/accounts", token: agentA.adminToken)
        let listB = try await HTTP.request(
            "GET", "http://\(agentB.httpEndpoint!)/users/current/accounts", token: agentB.adminToken)
        let both = try Self.array(listA.body) + Self.array(listB.body)
        let allAccounts = try await client.get("/users/current/accounts")
        #expect(try Self.canonical(allAccounts.body) == Self.canonical(both))

        // One dashboard-wide order of every agent's events: numbered 1…N without gaps, in the order
        // stored (the bodies' sequenceNumber is that number, so a stream resumes from it).
        var numbers: [Int] = []
        for kind in ["tracker", "challenge", "competition"] {
            for event in try Self.array(try await client.get("/users/current/\(kind)-events/by-broker-time").body) {
                numbers.append(try #require((event as? [String: Any])?["sequenceNumber"] as? Int))
            }
        }
        #expect(numbers.sorted() == Array(1...numbers.count), "\(numbers.sorted())")
        #expect(try dashboard.query("SELECT COUNT(*) FROM event") == ["\(numbers.count)"])
        let resumed = try Self.array(
            try await client.get(
                "/users/current/tracker-events/stream?previousSequenceNumber=\(numbers.sorted()[numbers.count - 3])"
            ).body)
        #expect(!resumed.isEmpty && resumed.count <= 2, "a long poll resumes after the given number")

        // A read-only token limited to account A: A only; B is not found, as an unknown account is.
        let created = try await client.request(
            "POST", "/users/current/tokens",
            json: #"{"name": "desk A", "accountIds": ["\#(Self.accountA)"], "readOnly": true}"#)
        #expect(created.status == 201, "\(created.text)")
        let deskToken = try #require(
            (try JSONSerialization.jsonObject(with: created.body) as? [String: Any])?["token"] as? String)
        #expect(try await client.get("/users/current/accounts/\(Self.accountA)", token: deskToken).status == 200)
        #expect(try await client.get("/users/current/accounts/\(Self.accountB)", token: deskToken).status == 404)
        #expect(
            try await client.get("/users/current/accounts/\(Self.accountB)/equity-chart", token: deskToken).status
                == 404)
        #expect(
            try await client.get(
                "/users/current/tracker-events/by-broker-time?accountId=\(Self.accountB)", token: deskToken
            )
            .status == 404)
        let visible = try Self.array(try await client.get("/users/current/accounts", token: deskToken).body)
        #expect(visible.compactMap { ($0 as? [String: Any])?["id"] as? String } == [Self.accountA])
        let deskEvents = try Self.array(
            try await client.get("/users/current/tracker-events/by-broker-time", token: deskToken).body)
        #expect(
            !deskEvents.isEmpty
                && deskEvents.allSatisfy { ($0 as? [String: Any])?["accountId"] as? String == Self.accountA })
        #expect(try await client.get("/users/current/accounts", token: "not-a-token").status == 401)

        // Writes are refused, naming where to make them.
        let write = try await client.request(
            "POST", "/users/current/accounts/\(Self.accountA)/trackers",
            json: #"{"name": "late", "period": "day", "absoluteDrawdownThreshold": 10}"#)
        #expect(write.status == 403 && write.text.contains("agent that owns the account"), "\(write.text)")
        #expect(try await client.request("DELETE", "/users/current/competitions/cup-1000001").status == 403)

        // GET /agents: both agents, with their feed lag and outbox backlog.
        let agents = try #require(
            try JSONSerialization.jsonObject(with: try await DashboardFeedTests.getAgents(dashboard).body)
                as? [[String: Any]])
        #expect(agents.compactMap { $0["subject"] as? String } == ["CN=agent-a,O=Tidemark", "CN=agent-b,O=Tidemark"])
        #expect(
            agents.allSatisfy {
                $0["feedLagMilliseconds"] as? Int != nil && $0["outboxBacklog"] as? Int == 0
                    && $0["version"] as? String != nil && $0["connectedSince"] != nil && $0["lastSeen"] != nil
            }, "\(agents)")

        #expect(await agentA.stop() == 0)
        #expect(await agentB.stop() == 0)
        #expect(await dashboard.stop() == 0, "\(dashboard.log.suffix(3_000))")
    }

    // MARK: Helpers

    /// The routes compared for one account, and whether their answers are events (whose
    /// `sequenceNumber` differs by design: see ``same(_:_:events:)``).
    static func comparedPaths(login: Int) -> [(String, Bool)] {
        let account = "Tidemark-Sim:\(login)"
        var paths: [(String, Bool)] = [
            ("/users/current/accounts/\(account)", false),
            ("/users/current/accounts/\(account)/trackers", false),
            ("/users/current/accounts/\(account)/equity-chart", false),
            ("/users/current/accounts/\(account)/equity-chart?realTime=true", false),
            ("/users/current/accounts/\(account)/challenges", false),
            ("/users/current/accounts/\(account)/challenges/ch-\(login)", false),
            ("/users/current/accounts/\(account)/challenges/ch-\(login)/status", false),
            ("/users/current/competitions/cup-\(login)", false),
            ("/users/current/competitions/cup-\(login)/leaderboard", false),
            ("/users/current/tracker-events/by-broker-time?accountId=\(account)", true),
            ("/users/current/challenge-events/by-broker-time?accountId=\(account)", true),
            ("/users/current/competition-events/by-broker-time?competitionId=cup-\(login)", true),
            (
                "/users/current/tracker-events/by-broker-time?accountId=\(account)&startBrokerTime=2019-02-05%2000:00:00.000",
                true
            ),
        ]
        for tracker in ["dd-\(login)", "pf-\(login)"] {
            paths.append(("/users/current/accounts/\(account)/trackers/\(tracker)/statistics?limit=1000", false))
            paths.append(
                ("/users/current/accounts/\(account)/trackers/\(tracker)/statistics?limit=1000&realTime=true", false))
        }
        return paths
    }

    /// Whether two answers are the same JSON: equal values, arrays in the same order. Objects are
    /// compared as objects (the API's encoder writes keys in no fixed order, which differs from one
    /// process to the next). Events are compared without their `sequenceNumber`: the dashboard's is
    /// its own, one order across every agent's events, which no agent's numbers can give.
    static func same(_ agent: Data, _ dashboard: Data, events: Bool) -> Bool {
        guard let mine = try? JSONSerialization.jsonObject(with: agent, options: [.fragmentsAllowed]),
            let theirs = try? JSONSerialization.jsonObject(with: dashboard, options: [.fragmentsAllowed])
        else { return false }
        guard events else { return (try? canonical(mine)) == (try? canonical(theirs)) }
        guard let mineEvents = mine as? [Any], let theirEvents = theirs as? [Any] else { return false }
        return (try? canonical(withoutSequenceNumbers(mineEvents)))
            == (try? canonical(withoutSequenceNumbers(theirEvents)))
    }

    static func withoutSequenceNumbers(_ events: [Any]) -> [Any] {
        events.map { event -> Any in
            guard var object = event as? [String: Any] else { return event }
            object["sequenceNumber"] = nil
            return object
        }
    }

    static func array(_ data: Data) throws -> [Any] {
        guard let array = try JSONSerialization.jsonObject(with: data) as? [Any] else {
            throw HarnessError("not a JSON array: \(String(decoding: data, as: UTF8.self).prefix(300))")
        }
        return array
    }

    static func canonical(_ data: Data) throws -> String { try canonical(JSONSerialization.jsonObject(with: data)) }

    static func canonical(_ value: Any) throws -> String {
        String(
            decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]),
            as: UTF8.self)
    }

    /// Two trackers and a challenge (as the feed tests declare them) plus a competition of the account.
    static func rules(login: Int, in directory: TemporaryDirectory) throws -> String {
        let base = try FeedRecordings.rules(login: login, in: directory)
        var rules = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base))) as? [String: Any])
        var declarations = try #require(rules["declarations"] as? [Any])
        declarations.append([
            "action": "createCompetition",
            "competition": [
                "id": "cup-\(login)", "accounts": ["Tidemark-Sim:\(login)"], "startTime": "2019-02-04 00:00:00.000",
                "endTime": "2019-02-06 00:00:00.000", "metric": "gainPercent", "rules": [String: Any](),
            ] as [String: Any],
        ])
        rules["declarations"] = declarations
        let path = directory.path("api-rules-\(login).json")
        try JSONSerialization.data(withJSONObject: rules).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// An HTTPS client of the dashboard's API port (trusting the test CA), with the admin token by default.
final class DashboardClient: Sendable {
    let client: HTTPClient
    let base: String
    let adminToken: String

    init(_ dashboard: FullDashboard) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dashboard.pki.authority))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        base = "https://localhost:\(dashboard.httpEndpoint!.split(separator: ":").last!)"
        adminToken = dashboard.adminToken
    }

    func get(_ path: String, token: String? = nil) async throws -> HTTP.Reply {
        try await request("GET", path, token: token)
    }

    func request(_ method: String, _ path: String, token: String? = nil, json: String? = nil) async throws -> HTTP.Reply
    {
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "auth-token", value: token ?? adminToken)
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await client.execute(request, timeout: .seconds(90))
        let body = try await response.body.collect(upTo: 16 << 20)
        return HTTP.Reply(status: Int(response.status.code), body: Data(body.readableBytesView))
    }

    func shutdown() { try? client.syncShutdown() }
}

/// The dashboard's live streams: what an agent commits reaches the dashboard's Server-Sent Events
/// (events and equity) while the agent's terminal trades, through the one `published` entry point.
@Suite("Dashboard live streams", .serialized)
struct DashboardStreamTests {
    @Test func eventsAndEquityReachTheDashboardsStreamsWhileTheTerminalTrades() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a"])
        let dashboard = FullDashboard(in: directory, database: try PostgresForTests.freshDatabase(), pki: pki)
        try await dashboard.start()
        let agent = FullAgent(
            in: directory, name: "a", rules: try FeedRecordings.rules(login: 1_000_001, in: directory),
            feeding: dashboard)
        try await agent.start()
        let client = try DashboardClient(dashboard)
        defer { client.shutdown() }
        // 100 minutes at 100 × real time: about a minute of trading, with a tracker event after midnight.
        let simulator = try await Tidemark.start(
            [
                "simulate", "--connect", agent.bridgeEndpoint!, "--speed", "100",
                try FeedRecordings.aroundMidnight(login: 1_000_001, in: directory),
            ], in: directory)
        let account = DashboardAPITests.accountA
        try await eventually("the dashboard to know the account", deadline: .seconds(60), interval: .milliseconds(20)) {
            try dashboard.query("SELECT COUNT(*) FROM account WHERE account_id = '\(account)'") == ["1"]
        }
        // From the newest event stored now on: only what is committed after the subscription counts.
        let after = try dashboard.query("SELECT COALESCE(MAX(dashboard_sequence), 0) FROM event").first ?? "0"
        async let equity = client.firstFrame(
            "/users/current/accounts/\(account)/equity-stream", containing: "event: equity")
        async let event = client.firstFrame(
            "/users/current/events/stream?previousSequenceNumber=\(after)", containing: "event: tracker")
        // The equity stream has no way in but `published` after an ingest commit; the event stream
        // is woken by it too (and would also find the event when it next re-reads, on its keep-alive).
        let (equityFrame, eventFrame) = try await (equity, event)
        #expect(equityFrame.contains(account) && equityFrame.contains("\"equity\""), "\(equityFrame)")
        let id = try #require(
            eventFrame.split(separator: "\n").first { $0.hasPrefix("id: ") }.flatMap { Int($0.dropFirst(4)) })
        #expect(id > Int(after)!, "\(eventFrame)")
        await simulator.stop()
        #expect(await agent.stop() == 0)
        #expect(await dashboard.stop() == 0)
    }
}

/// The dashboard's admin token is held to the agent's rule (``TokenStrength``): length alone is not enough.
@Suite("Dashboard admin token")
struct DashboardAdminTokenTests {
    @Test func aLongButGuessableAdminTokenIsRefusedAtStart() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: [])
        // 32 characters, but eight letters repeated: about 75 bits of entropy.
        let process = try await Tidemark.start(
            [
                "dashboard", "--feed-listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--database",
                "postgres://tidemark@127.0.0.1:1/tidemark", "--tls-cert", pki.dashboardCertificate, "--tls-key",
                pki.dashboardKey, "--client-ca", pki.authority,
            ], in: directory, environment: ["TIDEMARK_DASHBOARD_ADMIN_TOKEN": "passwordpasswordpasswordpassword"])
        #expect(await process.waitUntilExit(timeout: 60))
        #expect(process.process.terminationStatus == 77, "\(process.errors)")
        #expect(process.errors.contains("bits of entropy"), "\(process.errors)")
    }
}

extension DashboardClient {
    /// Reads a Server-Sent Events stream until a frame containing `marker` arrives (at most 90 s); returns it.
    func firstFrame(_ path: String, containing marker: String) async throws -> String {
        var request = HTTPClientRequest(url: base + path)
        request.headers.add(name: "auth-token", value: adminToken)
        let response = try await client.execute(request, timeout: .seconds(90))
        guard response.status == .ok else { throw HarnessError("\(path): HTTP \(response.status.code)") }
        var text = ""
        for try await chunk in response.body {
            text += String(buffer: chunk)
            let frames = text.components(separatedBy: "\n\n")
            if let frame = frames.dropLast().first(where: { $0.contains(marker) }) { return frame }
        }
        throw HarnessError("\(path) ended without a frame containing \(marker): \(text.suffix(500))")
    }
}
