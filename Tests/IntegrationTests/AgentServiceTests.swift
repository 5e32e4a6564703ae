import Foundation
import Store
import TestSupport
import Testing
import TidemarkProtocol

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A plain HTTP client for the agent's endpoints (URLSession; no test-only server helpers).
enum HTTP {
    struct Reply {
        var status: Int
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
    }

    static func request(
        _ method: String, _ url: String, token: String? = nil, json: String? = nil,
        timeout: TimeInterval = 90
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let token { request.setValue(token, forHTTPHeaderField: "auth-token") }
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(json.utf8)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }
}

@Suite("Agent services over loopback", .serialized)
struct AgentServiceTests {
    @Test func healthReadyAndMetricsAreServed() async throws {
        let directory = try TemporaryDirectory()
        let agent = FullAgent(in: directory)
        try await agent.start()
        let base = "http://\(agent.httpEndpoint!)"
        #expect(try await HTTP.request("GET", base + "/health").status == 200)
        #expect(try await HTTP.request("GET", base + "/ready").status == 200)
        let recording = try await AgentRecordings.eurusdSlice(ticks: 500, batch: 10, in: directory)
        let run = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        let metrics = try await HTTP.request("GET", base + "/metrics").text
        // Ticks are published after each commit: all 500 were committed before the BYE's ACK.
        #expect(metrics.contains("tidemark_ticks_total 500"), "\(metrics)")
        #expect(metrics.contains("tidemark_sessions_opened_total 1"))
        #expect(metrics.contains("tidemark_store_commit_seconds_count"))
        #expect(await agent.stop() == 0)
    }

    @Test func aFailingChallengeSendsCloseAllAndTheAcknowledgementIsStored() async throws {
        let directory = try TemporaryDirectory()
        // 1,000 ticks (02:00–02:17 broker time); 2 lots sold at 02:05 lose 22 USD at 02:05:01.878,
        // beyond the challenge's 20 USD maximum loss (worked out with `tidemark replay`).
        let recording = try await AgentRecordings.eurusdSlice(
            ticks: 1_000, batch: 5, script: AgentRecordings.losingScript,
            in: directory)
        let rules = try AgentRecordings.rules(maxLoss: 20, enforce: true, in: directory)
        let agent = FullAgent(in: directory, rules: rules)
        try await agent.start()
        // Paced (300×: ~3.4 s) so the terminal is still trading when the command arrives.
        let run = try await Tidemark.run(
            ["simulate", "--connect", agent.bridgeEndpoint!, recording, "--speed", "300"], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        #expect(await agent.stop() == 0)

        let store = try agent.openStore()
        let account = AccountID("Tidemark-Sim:1000001")
        let commands = try await store.enforcementCommands(accountId: account)
        #expect(commands.map(\.kind) == [.closeAllPositions])
        #expect(commands.first?.succeeded == true)
        #expect(commands.first?.detail?.contains("closed 1 positions") == true, "\(commands)")
        let failed = try await store.events(EventQuery(kind: .challenge, limit: 10)).filter {
            $0.type == "challengeFailed"
        }
        #expect(failed.count == 1)
        #expect(commands.first?.causeSequenceNumber == failed.first?.sequenceNumber)
        let stored = try await store.account(account)
        #expect(stored?.enforcementState?.contains("succeeded") == true, "\(String(describing: stored))")
    }
}
