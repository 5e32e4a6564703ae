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
        let blocks = try Self.shellBlocks(ofSection: "## REST API", in: Tidemark.packageRoot.appendingPathComponent("README.md"))
        #expect(blocks.count >= 8, "the section lost its examples")
        let start = try #require(blocks.first)
        #expect(start.contains("TIDEMARK_ADMIN_TOKEN") && start.contains("tidemark agent"), "the first block starts the agent")

        let directory = try TemporaryDirectory()
        // Long polls with nothing to say answer after a second, not the default minute.
        let agent = FullAgent(in: directory, extraEnvironment: ["TIDEMARK_LONG_POLL_SECONDS": "1"])
        try agent.start()
        defer { agent.stop() }
        // Every curl of the examples is bounded: a stream (curl -N) runs until this deadline.
        let curlHome = directory.path("curl-home")
        try FileManager.default.createDirectory(atPath: curlHome, withIntermediateDirectories: true)
        try "max-time = 3\n".write(toFile: curlHome + "/.curlrc", atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["TIDEMARK"] = "http://\(agent.httpEndpoint!)"
        environment["TOKEN"] = agent.adminToken
        environment["CURL_HOME"] = curlHome

        for block in blocks.dropFirst() {
            let outcome = try Self.runShell(block, environment: environment, in: directory)
            let isStream = block.contains("curl -fsSN")
            // curl's 28 is its own deadline: a stream that was answered 200 and held open.
            let expected: Set<Int32> = isStream ? [28] : [0]
            #expect(expected.contains(outcome.status), "block failed (\(outcome.status)):\n\(block)\n\(outcome.output)\(outcome.errors)")
            if isStream { #expect(outcome.output.hasPrefix("retry:"), "\(outcome.output)") }
        }

        // What the examples declared is there.
        let base = "http://\(agent.httpEndpoint!)/users/current"
        let account = "Broker-Live:1000001"
        let token = agent.adminToken
        #expect((try await HTTP.request("GET", base + "/accounts/\(account)", token: token).json as? [String: Any])?["id"] as? String == account)
        let trackers = try await HTTP.request("GET", base + "/accounts/\(account)/trackers", token: token).json as? [[String: Any]]
        #expect(trackers?.map { $0["name"] as? String } == ["daily-drawdown"])
        let challenge = try await HTTP.request("GET", base + "/accounts/\(account)/challenges/eval-1000001", token: token)
        #expect(challenge.status == 200)
        let tokens = try await HTTP.request("GET", base + "/tokens", token: token).json as? [[String: Any]]
        #expect(tokens?.contains {
            $0["name"] as? String == "risk desk" && $0["readOnly"] as? Bool == true && $0["accountIds"] as? [String] == [account]
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

    /// Runs `script` with `sh -e`, killed after 30 s.
    static func runShell(_ script: String, environment: [String: String], in directory: TemporaryDirectory) throws -> Tidemark.Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-ec", script]
        process.environment = environment
        let outputPath = directory.path("sh-\(UUID().uuidString).out"), errorsPath = outputPath + ".err"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            Issue.record("a README block did not finish within 30 s:\n\(script)")
        }
        process.waitUntilExit()
        return Tidemark.Outcome(status: process.terminationStatus,
                                output: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
                                errors: (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? "")
    }
}
