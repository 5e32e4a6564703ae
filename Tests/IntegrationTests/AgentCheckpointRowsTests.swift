import Foundation
import Store
import TestSupport
import Testing
import TidemarkProtocol

/// The real agent's declaration commits write the declared account's checkpoint row, not the
/// whole risk state: the bytes a tracker's commit writes are the same with 1 or 500 other
/// accounts in the core (`tidemark_checkpoint_bytes_total{file="store"}`).
@Suite("Agent checkpoint rows over loopback", .serialized)
struct AgentCheckpointRowsTests {
    /// A rules file with a tracker on each of `accounts` other accounts.
    static func rules(accounts: Int, in directory: TemporaryDirectory) throws -> String {
        let path = directory.path("rules-\(accounts).json")
        let declarations = (0..<accounts).map { index in
            #"{"action": "createTracker", "tracker": {"id": "t\#(index)", "accountId": "Other:\#(5_000 + index)", "name": "dd", "#
                + #""period": "lifetime", "absoluteDrawdownThreshold": 5}}"#
        }
        try #"{"declarations": [\#(declarations.joined(separator: ",\n"))]}"#.write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Bytes and checkpoints the store's checkpoints wrote for one tracker declared through the API,
    /// with `others` other accounts declared by the rules file.
    static func declarationBytes(others: Int) async throws -> (bytes: Int, checkpoints: Int, stored: Int) {
        let directory = try TemporaryDirectory()
        let agent = FullAgent(in: directory, rules: try rules(accounts: others, in: directory))
        try await agent.start()
        defer { agent.killIfRunning() }
        // The rules file's declarations are committed by the writer while HTTP already serves:
        // measure after them.
        try await eventually("the rules file's declarations committed", deadline: .seconds(30)) {
            ((agent.running?.output ?? "") + (agent.running?.errors ?? "")).contains("rules applied")
        }
        let base = "http://\(agent.httpEndpoint!)/users/current"
        let registered = try await HTTP.request(
            "POST", base + "/accounts", token: agent.adminToken,
            json: #"{"login": 7, "server": "Declared", "platform": "mt5"}"#)
        #expect(registered.status == 201)
        func storeCounters() async throws -> (bytes: Int, checkpoints: Int) {
            let metrics = try await HTTP.request("GET", "http://\(agent.httpEndpoint!)/metrics").text
            return (
                try #require(
                    PrometheusText.sample(#"tidemark_checkpoint_bytes_total{file="store"}"#, in: metrics).map {
                        Int($0)
                    }),
                try #require(
                    PrometheusText.sample(#"tidemark_checkpoints_total{file="store"}"#, in: metrics).map { Int($0) })
            )
        }
        let before = try await storeCounters()
        let created = try await HTTP.request(
            "POST", base + "/accounts/Declared:7/trackers", token: agent.adminToken,
            json: #"{"name": "daily", "period": "day", "absoluteDrawdownThreshold": 50}"#)
        #expect(created.status == 201)
        let after = try await storeCounters()
        #expect(await agent.stop() == 0)
        let stored = try await agent.openStore().checkpoint()?.accounts.count ?? 0
        return (after.bytes - before.bytes, after.checkpoints - before.checkpoints, stored)
    }

    @Test(.timeLimit(.minutes(2))) func aDeclarationWritesTheSameBytesWithOneOrFiveHundredOtherAccounts() async throws {
        let one = try await Self.declarationBytes(others: 1)
        let many = try await Self.declarationBytes(others: 500)
        #expect(one.checkpoints == 1)
        #expect(many.checkpoints == 1)
        #expect(one.bytes > 0)
        #expect(many.bytes == one.bytes)
        // Every account is in the stored checkpoint all the same (the declared one has a row too).
        #expect(one.stored == 2)
        #expect(many.stored == 501)
    }
}
