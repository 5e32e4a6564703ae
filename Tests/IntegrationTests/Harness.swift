import Foundation
import TestSupport
import Testing
import TidemarkProtocol

/// Runs the real `tidemark` binary (built by `swift build --build-tests`) for the integration tests.
enum Tidemark {
    /// The executable beside the test bundle (`.build/<triple>/<config>/tidemark`), else the
    /// package's `.build/debug/tidemark`.
    static let executable: String = {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [bundleDirectory.appendingPathComponent("tidemark").path]
        // From an .xctest bundle directory (macOS layout) go one more level up.
        candidates.append(bundleDirectory.deletingLastPathComponent().appendingPathComponent("tidemark").path)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/tidemark").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }()

    /// The package root (for `protocol/examples`).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let ticksDirectory = "/work/shared/data/ticks"

    /// The outcome of a finished command.
    struct Outcome {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `tidemark ARGUMENTS` to the end (stopped, and the test failed, after `timeout` seconds).
    /// Awaits the child without holding a thread of the cooperative pool.
    static func run(
        _ arguments: [String], in directory: TemporaryDirectory, timeout: Double = 120
    ) async throws
        -> Outcome
    {
        let process = try start(arguments, in: directory)
        if await !process.waitUntilExit(timeout: timeout) {
            await process.stop()
            Issue.record("tidemark \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        return Outcome(status: process.process.terminationStatus, output: process.output, errors: process.errors)
    }

    /// A started process whose output goes to files (a full pipe can never block it).
    final class Running {
        let process: Process
        let outputPath: String
        let errorsPath: String

        init(process: Process, outputPath: String, errorsPath: String) {
            self.process = process
            self.outputPath = outputPath
            self.errorsPath = errorsPath
        }

        var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        var errors: String { (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? "" }

        /// SIGTERM, then wait; SIGKILL after 10 s. A process still there 10 s after SIGKILL fails
        /// the test (it would otherwise hang it).
        func stop() async {
            guard process.isRunning else { return }
            process.terminate()
            if await waitUntilExit(timeout: 10) { return }
            await kill9()
        }

        /// SIGKILL and wait, at most 10 s (a process that survives it fails the test).
        func kill9() async {
            kill(process.processIdentifier, SIGKILL)
            if await !waitUntilExit(timeout: 10) {
                Issue.record("tidemark (pid \(process.processIdentifier)) still runs 10 s after SIGKILL")
            }
        }

        /// Waits until the process has exited, at most `timeout` seconds; whether it has.
        func waitUntilExit(timeout: Double) async -> Bool {
            do {
                try await eventually(
                    "tidemark (pid \(process.processIdentifier)) exits", deadline: .seconds(timeout),
                    interval: .milliseconds(10)
                ) { !process.isRunning }
                return true
            } catch {
                return false
            }
        }

        /// SIGKILL when still running, and a wait of at most 10 s: for a `defer` and a deinit,
        /// which cannot await (the last resort of a test that ended without stopping its process).
        func killIfRunning() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            try? eventuallyBlocking("tidemark exits", deadline: .seconds(10), interval: .milliseconds(10)) {
                !process.isRunning
            }
        }

        deinit { killIfRunning() }
    }

    /// Plays each recording into its bridge endpoint, all at once (one `tidemark simulate` each),
    /// and waits for every one, at most `timeout` seconds each: the test fails for one that does not
    /// finish (it is stopped) or does not end with status 0.
    static func simulateAtOnce(
        _ runs: [(endpoint: String, recording: String)], in directory: TemporaryDirectory, timeout: Double = 120
    ) async throws {
        let simulators = try runs.map {
            try start(["simulate", "--connect", $0.endpoint, $0.recording], in: directory)
        }
        for simulator in simulators {
            if await !simulator.waitUntilExit(timeout: timeout) {
                await simulator.stop()
                Issue.record("a simulator did not finish within \(timeout) s: \(simulator.errors)")
            }
            #expect(simulator.process.terminationStatus == 0, "\(simulator.errors)")
        }
    }

    /// Starts `tidemark ARGUMENTS`; its output and errors go to files of `directory`.
    static func start(
        _ arguments: [String], in directory: TemporaryDirectory, environment: [String: String] = [:]
    ) throws -> Running {
        try Running.start(
            executable, arguments, label: arguments.first ?? "run", in: directory, environment: environment)
    }
}

extension Tidemark.Running {
    /// Starts any program (`tidemark`, Python, openssl, a shell) with its output and errors in files
    /// of `directory` named after `label`, in the test's environment plus `environment`.
    static func start(
        _ executable: String, _ arguments: [String], label: String, in directory: TemporaryDirectory,
        environment: [String: String] = [:], workingDirectory: URL? = nil
    ) throws -> Tidemark.Running {
        let name = UUID().uuidString.prefix(8)
        let outputPath = directory.path("\(label)-\(name).out")
        let errorsPath = directory.path("\(label)-\(name).err")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorsPath)
        try process.run()
        return Tidemark.Running(process: process, outputPath: outputPath, errorsPath: errorsPath)
    }
}

extension Tidemark.Running {
    /// Waits (at most `deadline`) until the process has printed a line starting with each of
    /// `prefixes` and returns the rest of each line (`bridge listening on ` → the endpoint). A
    /// process that exits or stays silent is stopped, and the error carries its stderr.
    func awaitLines(startingWith prefixes: [String], deadline: Duration = .seconds(60)) async throws -> [String] {
        var found: [String?] = prefixes.map { _ in nil }
        do {
            try await eventually(
                "tidemark prints \(prefixes.joined(separator: ", "))", deadline: deadline, interval: .milliseconds(10)
            ) {
                for line in output.split(separator: "\n") {
                    for (index, prefix) in prefixes.enumerated() where found[index] == nil && line.hasPrefix(prefix) {
                        found[index] = String(line.dropFirst(prefix.count))
                    }
                }
                return !found.contains(nil) || !process.isRunning
            }
        } catch {}
        let values = found.compactMap { $0 }
        guard values.count == prefixes.count else {
            let errors = self.errors
            await stop()
            throw HarnessError("tidemark \(process.arguments?.first ?? "") did not start: \(errors)")
        }
        return values
    }
}

/// A `tidemark` server of a test (an agent, a dashboard) that may be stopped, killed and started
/// again: its current run and the stderr of every run so far.
final class ServerProcess {
    private(set) var running: Tidemark.Running?
    private var logs: [String] = []

    /// Starts `tidemark ARGUMENTS` and waits until it prints a line starting with each of
    /// `prefixes`; returns the rest of each line (``Tidemark/Running/awaitLines(startingWith:deadline:)``).
    func start(
        _ arguments: [String], in directory: TemporaryDirectory, environment: [String: String],
        awaiting prefixes: [String]
    ) async throws -> [String] {
        let process = try Tidemark.start(arguments, in: directory, environment: environment)
        running = process
        do {
            return try await process.awaitLines(startingWith: prefixes)
        } catch {
            logs.append(process.errors)
            running = nil
            throw error
        }
    }

    /// SIGKILL: no flush, no goodbye.
    func kill9() async {
        guard let running else { return }
        await running.kill9()
        logs.append(running.errors)
        self.running = nil
    }

    /// SIGTERM and wait: a graceful stop. Its exit status (0 when not running).
    func stop() async -> Int32 {
        guard let running else { return 0 }
        await running.stop()
        logs.append(running.errors)
        self.running = nil
        return running.process.terminationStatus
    }

    /// For a `defer`, which cannot await: SIGKILL if it still runs (``Tidemark/Running/killIfRunning()``).
    func killIfRunning() { running?.killIfRunning() }

    /// Every run's stderr so far.
    var log: String { (logs + [running?.errors ?? ""]).joined(separator: "\n---\n") }
}

/// A running `tidemark agent` on a loopback port the system chose.
final class AgentUnderTest {
    let running: Tidemark.Running
    let endpoint: String
    let recordDirectory: String

    /// Starts the agent and waits until it prints its bound endpoint (at most 30 s).
    init(in directory: TemporaryDirectory, extraArguments: [String] = []) async throws {
        recordDirectory = directory.path("record-\(UUID().uuidString.prefix(8))")
        let running = try Tidemark.start(
            [
                "agent", "--bridge", "tcp://127.0.0.1:*", "--http", "127.0.0.1:0", "--data", directory.path("data"),
                "--record", recordDirectory, "--heartbeat-ms", "1000",
            ] + extraArguments,
            in: directory)
        self.running = running
        let found = try await running.awaitLines(startingWith: ["bridge listening on "], deadline: .seconds(30))[0]
        endpoint = found
    }

    /// Stops the agent (SIGTERM) so its recordings are complete.
    func stop() async -> Int32 {
        await running.stop()
        return running.process.terminationStatus
    }

    var log: String { running.errors }

    /// Every message the agent recorded for `account`, in order.
    func recorded(_ account: String) throws -> [RecordingLine] {
        try Recording.read(recordDirectory + "/" + account + ".jsonl")
    }

    /// The names of the recording files written.
    var recordedFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: recordDirectory)) ?? []).sorted()
    }

}

/// Prometheus text exposition (`/metrics`).
enum PrometheusText {
    /// The value of the sample named exactly `name` (with its labels, if any), nil when absent.
    static func sample(_ name: String, in metrics: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Recording {
    /// The lines of a JSON Lines recording; a bad line fails the test.
    static func read(_ path: String) throws -> [RecordingLine] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        return try RecordingReader(bytes: bytes).map { try $0.result.get() }
    }

    static func messages(_ lines: [RecordingLine]) -> [TerminalMessage] {
        lines.compactMap { if case .message(_, _, _, let message) = $0 { message } else { nil } }
    }

    static func ticks(_ lines: [RecordingLine]) -> [Tick] {
        messages(lines).flatMap { message -> [Tick] in
            if case .ticks(let ticks) = message { return ticks.array }
            return []
        }
    }
}

/// An account's state as the messages describe it — enough to tell whether two runs ended the same.
/// (Balance is followed through deals the way SPEC §4.2 says a deal changes it.)
struct FoldedAccount: Equatable, CustomStringConvertible {
    var balance = FixedDecimal.zero
    var credit = FixedDecimal.zero
    var positions: [Int64: Position] = [:]
    var quotes: [String: Tick] = [:]

    init(_ messages: [TerminalMessage]) {
        for message in messages {
            switch message {
            case .snapshot(let snapshot):
                balance = snapshot.account.balance
                credit = snapshot.account.credit
                positions = Dictionary(uniqueKeysWithValues: snapshot.positions.map { ($0.ticket, $0) })
                for quote in snapshot.quotes { quotes[quote.symbol] = quote }
            case .ticks(let ticks):
                for tick in ticks { quotes[tick.symbol] = tick }
            case .position(let update):
                if update.change == .closed {
                    positions[update.position.ticket] = nil
                } else {
                    positions[update.position.ticket] = update.position
                }
            case .deal(let deal):
                if deal.type == .credit {
                    credit += deal.profit
                } else {
                    balance += deal.profit + deal.commission + deal.swap + deal.fee
                }
            case .hello, .symbol, .report, .heartbeat, .bye, .commandAcknowledgement:
                break
            }
        }
    }

    var description: String {
        "balance \(balance), credit \(credit), positions \(positions.values.sorted { $0.ticket < $1.ticket }), quotes \(quotes.values.map { "\($0.symbol) \($0.bid)/\($0.ask)@\($0.time.milliseconds)" })"
    }
}
