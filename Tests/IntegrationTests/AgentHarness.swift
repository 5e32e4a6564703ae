import Agent
import AgentFold
import Foundation
import Store
import TestSupport
import Testing
import TidemarkProtocol

/// A real `tidemark agent` with its store, HTTP server and rules, on loopback ports; restartable
/// on the same data directory and bridge port (for crash tests).
final class FullAgent {
    let directory: TemporaryDirectory
    let dataDirectory: String
    let rules: String?
    let adminToken = "tm_integration_admin_token_0123456789"
    private let server = ServerProcess()
    /// The current run, nil while stopped.
    var running: Tidemark.Running? { server.running }
    /// The bridge endpoint (fixed after the first start, so EAs reconnect to the restarted agent).
    private(set) var bridgeEndpoint: String?
    private(set) var httpEndpoint: String?
    private let extraArguments: [String]
    private let extraEnvironment: [String: String]

    init(
        in directory: TemporaryDirectory, name: String = "agent", rules: String? = nil, extraArguments: [String] = [],
        extraEnvironment: [String: String] = [:]
    ) {
        self.directory = directory
        self.dataDirectory = directory.path("\(name)-data")
        self.rules = rules
        self.extraArguments = extraArguments
        self.extraEnvironment = extraEnvironment
    }

    /// Starts the agent and waits until both listeners are up (at most 60 s).
    func start() async throws {
        var arguments = [
            "agent", "--bridge", bridgeEndpoint ?? "tcp://127.0.0.1:*", "--http", "127.0.0.1:0",
            "--data", dataDirectory, "--log-level", "notice",
        ]
        if let rules { arguments += ["--rules", rules] }
        let endpoints = try await server.start(
            arguments + extraArguments, in: directory,
            environment: ["TIDEMARK_ADMIN_TOKEN": adminToken].merging(extraEnvironment) { $1 },
            awaiting: ["bridge listening on ", "http listening on "])
        bridgeEndpoint = endpoints[0]
        httpEndpoint = endpoints[1]
    }

    /// Starts the agent on its data directory expecting it to refuse: waits for it to exit and
    /// returns its status and output (an agent that starts is stopped and fails the test).
    func startExpectingRefusal(
        _ arguments: [String] = [], environment: [String: String] = [:]
    ) async throws -> Tidemark.Outcome {
        let process = try Tidemark.start(
            [
                "agent", "--bridge", "tcp://127.0.0.1:*", "--http", "127.0.0.1:0", "--data", dataDirectory,
                "--log-level", "notice",
            ] + arguments,
            in: directory, environment: ["TIDEMARK_ADMIN_TOKEN": adminToken].merging(environment) { $1 })
        if await !process.waitUntilExit(timeout: 60) {
            await process.stop()
            Issue.record("the agent started instead of refusing: \(process.output) \(process.errors)")
        }
        return Tidemark.Outcome(
            status: process.process.terminationStatus, output: process.output, errors: process.errors)
    }

    /// SIGKILL: no flush, no goodbye.
    func kill9() async { await server.kill9() }

    /// SIGTERM and wait: a graceful stop.
    @discardableResult
    func stop() async -> Int32 { await server.stop() }

    /// For a `defer`, which cannot await: SIGKILL if it still runs.
    func killIfRunning() { server.killIfRunning() }

    /// Every run's stderr so far.
    var log: String { server.log }

    /// The agent's `/metrics` now.
    func metrics() async throws -> String { try await HTTP.request("GET", "http://\(httpEndpoint!)/metrics").text }

    /// One sample of the agent's `/metrics`, by its full name with labels.
    func metric(_ name: String) async throws -> Double? { PrometheusText.sample(name, in: try await metrics()) }

    /// Opens the agent's SQLite file (after ``stop()``) to read what it committed.
    func openStore() throws -> Store { try Store(path: dataDirectory + "/tidemark.sqlite") }

}

/// Recordings made from the real EURUSD ticks.
enum AgentRecordings {
    /// The first `ticks` ticks of 4 February 2019 (00:00–01:23 UTC for 5,000), with trades, a
    /// deposit and partial closes in that window; `batch` ticks per TICKS message.
    static let tradingScript = """
        balance 10000
        2019-02-04 02:05:00 open buy 2.00
        2019-02-04 02:20:00 deposit 1000
        2019-02-04 02:40:00 close 100001 1.00
        2019-02-04 03:00:00 open sell 1.00
        2019-02-04 03:15:00 close 100001

        """

    /// Sells 2 lots at 02:05 (the price rises: 22 USD down at 02:05:01.878) and closes at 02:15.
    static let losingScript = """
        balance 10000
        2019-02-04 02:05:00 open sell 2.00
        2019-02-04 02:15:00 close 100001

        """

    static func eurusdSlice(
        ticks: Int, batch: Int, script scriptText: String = tradingScript,
        in directory: TemporaryDirectory
    ) async throws -> String {
        let source = try String(contentsOfFile: Tidemark.ticksDirectory + "/EURUSD-2019-02-04.csv", encoding: .utf8)
        let lines = source.split(separator: "\n", maxSplits: ticks + 1, omittingEmptySubsequences: true).prefix(
            ticks + 1)
        let csv = directory.path("EURUSD-slice.csv")
        try (lines.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let script = directory.path("trades-\(UUID().uuidString.prefix(6)).script")
        try scriptText.write(toFile: script, atomically: true, encoding: .utf8)
        let output = directory.path("eurusd-\(ticks)-\(UUID().uuidString.prefix(6)).jsonl")
        let made = try await Tidemark.run(
            [
                "make-recording", "--ticks", csv, "--script", script, "--out", output,
                "--batch", "\(batch)",
            ], in: directory)
        guard made.status == 0 else { throw HarnessError("make-recording failed: \(made.errors)") }
        return output
    }

    /// Two trackers (lifetime drawdown above 5 USD, daily profit above 5 USD) and a challenge whose
    /// maximum loss is `maxLoss` USD, failing with `close_all` when `enforce`.
    static func rules(maxLoss: Int = 60, enforce: Bool = false, in directory: TemporaryDirectory) throws -> String {
        let path = directory.path("rules-\(maxLoss)-\(enforce).json")
        try """
        {"declarations": [
         {"action": "createTracker", "tracker": {"id": "dd", "accountId": "Tidemark-Sim:1000001", "name": "drawdown 5",
          "period": "lifetime", "absoluteDrawdownThreshold": 5}},
         {"action": "createTracker", "tracker": {"id": "pf", "accountId": "Tidemark-Sim:1000001", "name": "profit 5",
          "period": "day", "absoluteProfitThreshold": 5}},
         {"action": "createChallenge", "challenge": {"id": "ch", "account": "Tidemark-Sim:1000001", "initialCapital": 10000,
          "startTime": "2019-02-04 00:00:00.000",
          "phases": [{"name": "evaluation", "rules": {"maxLoss": {"limit": {"amount": \(maxLoss)}}}}],
          "enforcement": {"onFailure": \(enforce ? "[\"close_all\"]" : "[]")}}}
        ]}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// What a run committed, in a form two runs can be compared by.
struct CommittedOutcome: Equatable, CustomStringConvertible {
    /// What an agent named "reference", never interrupted, commits from `recording` played at full
    /// speed: the outcome a disturbed run is compared with. `minimumEvents` makes sure the rules
    /// fire, so that the comparison means something.
    static func ofStraightRun(
        _ recording: String, rules: String, in directory: TemporaryDirectory,
        minimumEvents: Int
    ) async throws -> CommittedOutcome {
        let reference = FullAgent(in: directory, name: "reference", rules: rules)
        try await reference.start()
        let straight = try await Tidemark.run(
            ["simulate", "--connect", reference.bridgeEndpoint!, recording], in: directory)
        #expect(straight.status == 0, "\(straight.errors)")
        #expect(await reference.stop() == 0)
        let expected = try await CommittedOutcome(store: reference.openStore())
        #expect(
            expected.events.count >= minimumEvents, "the rules must produce events for the comparison to mean something"
        )
        return expected
    }

    var events: [String]
    var chart: [String]
    var statistics: [String]
    var risk: String

    init(store: Store) async throws {
        events = try await store.events(EventQuery(limit: 1_000)).map {
            "#\($0.sequenceNumber) \($0.kind.rawValue) \($0.type) \($0.subjectId) @\($0.brokerTime.milliseconds) \(String(decoding: $0.body, as: UTF8.self))"
        }
        let account = AccountID("Tidemark-Sim:1000001")
        chart = try await store.equityChart(accountId: account).map { String(decoding: $0.body, as: UTF8.self) }
        statistics = []
        for tracker in ["dd", "pf"] {
            statistics += try await store.statistics(accountId: account, trackerId: tracker, limit: 100)
                .map { "\(tracker) \(String(decoding: $0.body, as: UTF8.self))" }
        }
        // The risk core's whole state (open periods, challenge progress) from the last checkpoint.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        self.risk =
            try await store.checkpoint().map { checkpoint in
                String(decoding: try encoder.encode(try AgentCore(checkpoint: checkpoint).risk), as: UTF8.self)
            } ?? "{}"
    }

    var description: String {
        "events:\n" + events.joined(separator: "\n") + "\nchart:\n" + chart.joined(separator: "\n") + "\nstatistics:\n"
            + statistics.joined(separator: "\n") + "\nrisk: \(risk.prefix(2_000))"
    }
}
