import Foundation
import TestSupport
import Testing

/// The README's API examples, run as a reader would paste them: every `sh` block of the
/// "REST API" section after the first (which starts the agent; the test starts it instead, with
/// the same environment variables), in order, with `curl` against a real agent. A block that fails
/// (curl's `-f` turns any 4xx/5xx into a non-zero exit) fails the test, naming the block.
@Suite("README API examples", .serialized)
struct ReadmeExampleTests {
    @Test func everyExampleRunsAgainstARealAgent() async throws {
        let blocks = try Self.shellBlocks(
            ofSection: "## REST API", in: Tidemark.packageRoot.appendingPathComponent("README.md"))
        #expect(blocks.count >= 8, "the section lost its examples")
        let start = try #require(blocks.first)
        #expect(
            start.contains("TIDEMARK_ADMIN_TOKEN") && start.contains("tidemark agent"),
            "the first block starts the agent")

        let directory = try TemporaryDirectory()
        // Long polls with nothing to say answer after a second, not the default minute.
        let agent = FullAgent(in: directory, extraEnvironment: ["TIDEMARK_LONG_POLL_SECONDS": "1"])
        try await agent.start()
        defer { agent.killIfRunning() }
        // Every curl of the examples is bounded: a stream (curl -N) runs until this deadline.
        let curlHome = directory.path("curl-home")
        try FileManager.default.createDirectory(atPath: curlHome, withIntermediateDirectories: true)
        try "max-time = 3\n".write(toFile: curlHome + "/.curlrc", atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["TIDEMARK"] = "http://\(agent.httpEndpoint!)"
        environment["TOKEN"] = agent.adminToken
        environment["CURL_HOME"] = curlHome

        for block in blocks.dropFirst() {
            let outcome = try await Self.runShell(block, environment: environment, in: directory)
            let isStream = block.contains("curl -fsSN")
            // curl's 28 is its own deadline: a stream that was answered 200 and held open.
            let expected: Set<Int32> = isStream ? [28] : [0]
            #expect(
                expected.contains(outcome.status),
                "block failed (\(outcome.status)):\n\(block)\n\(outcome.output)\(outcome.errors)")
            if isStream { #expect(outcome.output.hasPrefix("retry:"), "\(outcome.output)") }
        }

        // What the examples declared is there.
        let base = "http://\(agent.httpEndpoint!)/users/current"
        let account = "Broker-Live:1000001"
        let token = agent.adminToken
        #expect(
            (try await HTTP.request("GET", base + "/accounts/\(account)", token: token).json as? [String: Any])?["id"]
                as? String == account)
        let trackers =
            try await HTTP.request("GET", base + "/accounts/\(account)/trackers", token: token).json as? [[String: Any]]
        #expect(trackers?.map { $0["name"] as? String } == ["daily-drawdown"])
        let challenge = try await HTTP.request(
            "GET", base + "/accounts/\(account)/challenges/eval-1000001", token: token)
        #expect(challenge.status == 200)
        let tokens = try await HTTP.request("GET", base + "/tokens", token: token).json as? [[String: Any]]
        #expect(
            tokens?.contains {
                $0["name"] as? String == "risk desk" && $0["readOnly"] as? Bool == true
                    && $0["accountIds"] as? [String] == [account]
            } == true, "\(String(describing: tokens))")
        let webhooks = try await HTTP.request("GET", base + "/webhooks", token: token).json as? [[String: Any]]
        #expect(webhooks?.count == 1)
    }

    /// The fenced ```sh blocks between `heading` and the next `## ` heading.
    static func shellBlocks(ofSection heading: String, in file: URL) throws -> [String] {
        let text = try String(contentsOf: file, encoding: .utf8)
        guard let start = text.range(of: "\n\(heading)\n") else { throw HarnessError("README.md has no \(heading)") }
        let rest = text[start.upperBound...]
        let section = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
        var blocks: [String] = []
        var current: [Substring]?
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```sh" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// Runs `script` with `sh -e`, stopped (and the test failed) after 30 s.
    static func runShell(
        _ script: String, environment: [String: String], in directory: TemporaryDirectory
    ) async throws -> Tidemark.Outcome {
        let shell = try Tidemark.Running.start(
            "/bin/sh", ["-ec", script], label: "sh", in: directory, environment: environment)
        if await !shell.waitUntilExit(timeout: 30) {
            await shell.stop()
            Issue.record("a README block did not finish within 30 s:\n\(script)")
        }
        return Tidemark.Outcome(status: shell.process.terminationStatus, output: shell.output, errors: shell.errors)
    }
}
