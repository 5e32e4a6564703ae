import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import TestSupport
import Testing

/// Agents feeding `tidemark dashboard`: real processes, the real PostgreSQL of `scripts/postgres`,
/// real mutual TLS on loopback with certificates from `deploy/pki.sh`.
@Suite("Dashboard feed over mutual TLS into PostgreSQL", .serialized)
struct DashboardFeedTests {
    static let accountA = "Tidemark-Sim:1000001"
    static let accountB = "Tidemark-Sim:1000002"

    /// What the dashboard holds for an account equals what its agent stored, byte for byte, and the
    /// agent's outbox is empty.
    static func expectSame(
        _ agent: FullAgent, _ dashboard: FullDashboard, account: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let stored = try FedAccount(agentStore: agent.storePath, account: account)
        let fed = try FedAccount(dashboard: dashboard, account: account)
        #expect(
            stored.events.count >= 3, "the rules must produce events for the comparison to mean something",
            sourceLocation: sourceLocation)
        #expect(!stored.statistics.isEmpty, "a day period must close (statistics)", sourceLocation: sourceLocation)
        #expect(stored.chart.count >= 2, "chart hours must close", sourceLocation: sourceLocation)
        #expect(fed == stored, "dashboard:\n\(fed)\nagent:\n\(stored)", sourceLocation: sourceLocation)
    }

    @Test func twoAgentsFeedOneDashboardWhichStoresExactlyWhatEachAgentStored() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a", "b"])
        let dashboard = FullDashboard(in: directory, database: try PostgresForTests.freshDatabase(), pki: pki)
        try await dashboard.start()
        let agentA = FullAgent(
            in: directory, name: "a", rules: try FeedRecordings.rules(login: 1_000_001, in: directory),
            feeding: dashboard)
        let agentB = FullAgent(
            in: directory, name: "b", rules: try FeedRecordings.rules(login: 1_000_002, in: directory),
            feeding: dashboard)
        try await agentA.start()
        try await agentB.start()
        let recordingA = try await FeedRecordings.aroundMidnight(login: 1_000_001, in: directory)
        let recordingB = try await FeedRecordings.aroundMidnight(login: 1_000_002, in: directory)
        // Both terminals at once.
        try await Tidemark.simulateAtOnce(
            [(agentA.bridgeEndpoint!, recordingA), (agentB.bridgeEndpoint!, recordingB)], in: directory)
        try await agentA.waitUntilFeedDrained()
        try await agentB.waitUntilFeedDrained()

        try Self.expectSame(agentA, dashboard, account: Self.accountA)
        try Self.expectSame(agentB, dashboard, account: Self.accountB)
        // Each account belongs to the agent that fed it; the agents are their certificates' subjects.
        #expect(
            try dashboard.query("SELECT account_id || ' ' || agent_subject FROM account ORDER BY account_id")
                == ["\(Self.accountA) CN=agent-a,O=Tidemark", "\(Self.accountB) CN=agent-b,O=Tidemark"])
        // The live state reached the dashboard: the final balance (10,000 + 500 deposit + results).
        let balanceA = try #require(
            try dashboard.query("SELECT balance FROM account WHERE account_id = '\(Self.accountA)'").first)
        let agentBalance = try #require(
            try PostgresForTests.sqlite(
                agentA.storePath,
                "SELECT last_balance FROM account WHERE id = '\(Self.accountA)'"
            ).first)
        #expect(
            Decimal(string: balanceA) == Decimal(string: agentBalance)! / 100_000_000,
            "dashboard \(balanceA), agent units \(agentBalance)")

        // GET /agents, with the admin token only.
        let agents = try await Self.getAgents(dashboard)
        #expect(agents.status == 200)
        let listed = try #require(try JSONSerialization.jsonObject(with: agents.body) as? [[String: Any]])
        #expect(listed.compactMap { $0["subject"] as? String } == ["CN=agent-a,O=Tidemark", "CN=agent-b,O=Tidemark"])
        #expect(listed.allSatisfy { ($0["outboxBacklog"] as? Int) != nil && ($0["accounts"] as? Int) == 1 })
        #expect(try await Self.getAgents(dashboard, token: "wrong-token").status == 401)
        #expect(await agentA.stop() == 0)
        #expect(await agentB.stop() == 0)
        #expect(await dashboard.stop() == 0, "\(dashboard.log)")
    }

    @Test func theDashboardKilledAndRestartedLosesAndDuplicatesNothing() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a"])
        let dashboard = FullDashboard(in: directory, database: try PostgresForTests.freshDatabase(), pki: pki)
        try await dashboard.start()
        let agent = FullAgent(
            in: directory, name: "a", rules: try FeedRecordings.rules(login: 1_000_001, in: directory),
            feeding: dashboard)
        try await agent.start()
        let recording = try await FeedRecordings.aroundMidnight(login: 1_000_001, in: directory)
        // Played at 400 × real time (100 minutes in about 15 s): the dashboard dies while it runs.
        let simulator = try Tidemark.start(
            ["simulate", "--connect", agent.bridgeEndpoint!, "--speed", "400", recording], in: directory)
        try await eventually("the dashboard to store some events", deadline: .seconds(60), interval: .milliseconds(50))
        {
            try dashboard.query("SELECT COUNT(*) FROM event").first != "0"
        }
        await dashboard.kill9()
        // The agent notices (its feed fails) and keeps committing into its outbox meanwhile.
        try await eventually("the agent to notice the outage", deadline: .seconds(60), interval: .milliseconds(50)) {
            try await agent.metric("tidemark_feed_failures_total{reason=\"unreachable\"}") ?? 0 > 0
        }
        #expect(await simulator.waitUntilExit(timeout: 120), "the simulator did not finish")
        #expect(simulator.process.terminationStatus == 0, "\(simulator.errors)")
        #expect(
            try PostgresForTests.sqlite(agent.storePath, "SELECT COUNT(*) FROM feed_outbox").first != "0",
            "rows must wait in the outbox while the dashboard is down")
        try await dashboard.start()
        try await agent.waitUntilFeedDrained()
        try Self.expectSame(agent, dashboard, account: Self.accountA)
        #expect(try dashboard.query("SELECT lost_rows FROM feed_agent") == ["0"])
        #expect(await agent.stop() == 0)
        #expect(await dashboard.stop() == 0)
    }

    @Test func anAgentKilledMidFeedAndRestartedLosesAndDuplicatesNothing() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a"])
        let dashboard = FullDashboard(in: directory, database: try PostgresForTests.freshDatabase(), pki: pki)
        try await dashboard.start()
        let agent = FullAgent(
            in: directory, name: "a", rules: try FeedRecordings.rules(login: 1_000_001, in: directory),
            feeding: dashboard)
        try await agent.start()
        let recording = try await FeedRecordings.aroundMidnight(login: 1_000_001, in: directory)
        let simulator = try Tidemark.start(
            ["simulate", "--connect", agent.bridgeEndpoint!, "--speed", "400", recording], in: directory)
        try await eventually("the dashboard to store some events", deadline: .seconds(60), interval: .milliseconds(50))
        {
            try dashboard.query("SELECT COUNT(*) FROM event").first != "0"
        }
        await agent.kill9()
        await simulator.stop()
        // Restarted on the same store and bridge port; the terminal plays its whole recording again
        // (the agent resumes and skips what it committed), as an EA reconnecting would.
        try await agent.start()
        let again = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(again.status == 0, "\(again.errors)")
        try await agent.waitUntilFeedDrained()
        try Self.expectSame(agent, dashboard, account: Self.accountA)
        #expect(try dashboard.query("SELECT lost_rows FROM feed_agent") == ["0"])
        #expect(await agent.stop() == 0)
        #expect(await dashboard.stop() == 0)
    }

    @Test func aCertificateFromAnotherCAOrNoneIsRefusedAtTheHandshake() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a"])
        let foreign = try TestPKI(in: directory, name: "other-pki", agents: ["a"])
        let dashboard = FullDashboard(in: directory, database: try PostgresForTests.freshDatabase(), pki: pki)
        try await dashboard.start()
        // The same subject (CN=agent-a) signed by another CA: refused.
        await #expect(throws: (any Error).self) {
            _ = try await FeedClient.postEmptyBatch(
                to: dashboard.feedURL, authority: pki.authority,
                certificate: foreign.certificate("a"), key: foreign.key("a"))
        }
        // No certificate at all: refused.
        await #expect(throws: (any Error).self) {
            _ = try await FeedClient.postEmptyBatch(
                to: dashboard.feedURL, authority: pki.authority, certificate: nil, key: nil)
        }
        #expect(
            try dashboard.query("SELECT COUNT(*) FROM feed_agent") == ["0"], "no refused client may reach the store")
        // The control: the CA's own certificate gets in.
        #expect(
            try await FeedClient.postEmptyBatch(
                to: dashboard.feedURL, authority: pki.authority,
                certificate: pki.certificate("a"), key: pki.key("a")) == 200)
        #expect(try dashboard.query("SELECT subject FROM feed_agent") == ["CN=agent-a,O=Tidemark"])
        #expect(await dashboard.stop() == 0)
    }

    @Test func anAgentClaimingAnotherAgentsAccountIsRefusedAndReported() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a", "b"])
        let dashboard = FullDashboard(in: directory, database: try PostgresForTests.freshDatabase(), pki: pki)
        try await dashboard.start()
        let rules = try FeedRecordings.rules(login: 1_000_001, in: directory)
        let recording = try await FeedRecordings.aroundMidnight(login: 1_000_001, in: directory)
        let owner = FullAgent(in: directory, name: "a", rules: rules, feeding: dashboard)
        try await owner.start()
        #expect(
            try await Tidemark.run(["simulate", "--connect", owner.bridgeEndpoint!, recording], in: directory).status
                == 0)
        try await owner.waitUntilFeedDrained()
        // A second agent with a terminal of the same account.
        let claimant = FullAgent(in: directory, name: "b", rules: rules, feeding: dashboard)
        try await claimant.start()
        #expect(
            try await Tidemark.run(["simulate", "--connect", claimant.bridgeEndpoint!, recording], in: directory).status
                == 0)
        // Refused rows are answered (acknowledged as refused), so the claimant's outbox drains too.
        try await claimant.waitUntilFeedDrained()

        #expect(try dashboard.query("SELECT agent_subject FROM account") == ["CN=agent-a,O=Tidemark"])
        #expect(
            try dashboard.query("SELECT agent_subject || ' ' || account_id || ' ' || owner_subject FROM refused_claim")
                == ["CN=agent-b,O=Tidemark \(Self.accountA) CN=agent-a,O=Tidemark"])
        // Nothing of the claimant's is stored for the account: what is there is exactly the owner's.
        try Self.expectSame(owner, dashboard, account: Self.accountA)
        let ownerStore = try #require(
            try dashboard.query("SELECT store_id FROM feed_agent WHERE subject = 'CN=agent-a,O=Tidemark'").first)
        #expect(try dashboard.query("SELECT DISTINCT store_id FROM event") == [ownerStore])
        // Reported on both sides: the dashboard's /agents and metrics, the claimant's log and metrics.
        #expect(
            try dashboard.query("SELECT refused_claims > 0 FROM feed_agent WHERE subject = 'CN=agent-b,O=Tidemark'")
                == ["t"])
        #expect(try await claimant.metric("tidemark_feed_refused_accounts_total") ?? 0 > 0)
        #expect(claimant.log.contains("refused accounts that belong to another agent"), "\(claimant.log.suffix(2_000))")
        #expect(await owner.stop() == 0)
        #expect(await claimant.stop() == 0)
        #expect(await dashboard.stop() == 0)
    }

    // MARK: Helpers
    static func getAgents(_ dashboard: FullDashboard, token: String? = nil) async throws -> (status: UInt, body: Data) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dashboard.pki.authority))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        var request = HTTPClientRequest(
            url: "https://localhost:\(dashboard.httpEndpoint!.split(separator: ":").last!)/agents")
        request.headers.add(name: "Authorization", value: "Bearer \(token ?? dashboard.adminToken)")
        do {
            let response = try await client.execute(request, timeout: .seconds(20))
            let body = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return (response.status.code, Data(body.readableBytesView))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
