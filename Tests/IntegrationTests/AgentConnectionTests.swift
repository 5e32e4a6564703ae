import Foundation
import Store
import TestSupport
import Testing
import TidemarkProtocol

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// An account's `connected` over HTTP follows its terminal's session: true from HELLO, false after
/// BYE or once the agent times a silent terminal out.
@Suite("Agent connection state over loopback", .serialized)
struct AgentConnectionTests {
    static let account = "Tidemark-Sim:1000001"
    /// Short, so a silent terminal is timed out after 600 ms (3 intervals).
    static let heartbeat = ["--heartbeat-ms", "200"]

    /// The account resource, or nil while the agent does not know the account.
    static func account(_ agent: FullAgent) async throws -> [String: Any]? {
        let reply = try await HTTP.request(
            "GET", "http://\(agent.httpEndpoint!)/users/current/accounts/\(account)",
            token: agent.adminToken, timeout: 10)
        return reply.status == 200 ? reply.json as? [String: Any] : nil
    }

    /// Reads the account until `condition` holds (at most `seconds`); returns the last resource seen.
    static func waitForAccount(
        _ agent: FullAgent, seconds: Double,
        until condition: ([String: Any]) -> Bool
    ) async throws -> [String: Any]? {
        try await readUntil(deadline: .seconds(seconds)) {
            try await account(agent)
        } holds: {
            condition($0)
        }
    }

    @Test func byeDisconnectsTheAccount() async throws {
        let directory = try TemporaryDirectory()
        let agent = FullAgent(in: directory, extraArguments: Self.heartbeat)
        try await agent.start()
        let recording = try await AgentRecordings.eurusdSlice(ticks: 200, batch: 10, in: directory)
        // The simulator ends with BYE and exits once the agent acknowledged it (after its commit).
        let run = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        let shown = try await Self.waitForAccount(agent, seconds: 5) { $0["connected"] as? Bool == false }
        #expect(shown?["connected"] as? Bool == false, "\(shown ?? [:])\n\(agent.log)")
        #expect(shown?["lastConnectedAt"] is String && shown?["lastDisconnectedAt"] is String, "\(shown ?? [:])")
        #expect(await agent.stop() == 0)

        let store = try agent.openStore()
        let sessions = try await store.sessions(accountId: AccountID(Self.account))
        #expect(sessions.count == 1)
        #expect(sessions.first?.closeReason?.hasPrefix("bye") == true, "\(sessions)")
        try store.close()
    }

    @Test func aTerminalThatGoesSilentIsDisconnectedAfterTheTimeout() async throws {
        let directory = try TemporaryDirectory()
        let agent = FullAgent(in: directory, extraArguments: Self.heartbeat)
        try await agent.start()
        // 1,000 ticks span 17 minutes of broker time: at 10× real time the simulator streams for
        // about 100 s, long after it is killed below.
        let recording = try await AgentRecordings.eurusdSlice(ticks: 1_000, batch: 1, in: directory)
        let simulator = try Tidemark.start(
            ["simulate", "--connect", agent.bridgeEndpoint!, "--speed", "10", recording],
            in: directory)
        let connected = try await Self.waitForAccount(agent, seconds: 30) { $0["connected"] as? Bool == true }
        #expect(connected?["connected"] as? Bool == true, "\(connected ?? [:])\n\(simulator.errors)\n\(agent.log)")
        #expect(connected?["lastConnectedAt"] is String)

        // The terminal dies: no BYE, and ZeroMQ tells the ROUTER nothing. Only the heartbeat timeout can notice.
        await simulator.kill9()
        let shown = try await Self.waitForAccount(agent, seconds: 10) { $0["connected"] as? Bool == false }
        #expect(shown?["connected"] as? Bool == false, "\(shown ?? [:])\n\(agent.log)")
        #expect(shown?["lastDisconnectedAt"] is String)
        let metrics = try await HTTP.request("GET", "http://\(agent.httpEndpoint!)/metrics").text
        #expect(metrics.contains(#"tidemark_sessions_closed_total{reason="timed_out"} 1"#), "\(metrics)")
        #expect(await agent.stop() == 0)

        let store = try agent.openStore()
        let sessions = try await store.sessions(accountId: AccountID(Self.account))
        #expect(sessions.map(\.closeReason) == ["timed_out"], "\(sessions)")
        try store.close()
    }
}
