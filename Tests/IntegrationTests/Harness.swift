import Foundation
import Testing
import TestSupport
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
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
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

    /// Runs `tidemark ARGUMENTS` to the end (killed after `timeout` seconds).
    static func run(_ arguments: [String], in directory: TemporaryDirectory, timeout: Double = 120) throws -> Outcome {
        let process = try start(arguments, in: directory)
        let deadline = Date().addingTimeInterval(timeout)
        while process.process.isRunning, Date() < deadline { usleep(10_000) }
        if process.process.isRunning {
            process.process.terminate()
            process.process.waitUntilExit()
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
            self.process = process; self.outputPath = outputPath; self.errorsPath = errorsPath
        }

        var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        var errors: String { (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? "" }

        /// SIGTERM, then wait (SIGKILL after 10 s).
        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }

        func waitUntilExit(timeout: Double) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            return !process.isRunning
        }

        deinit { stop() }
    }

    static func start(_ arguments: [String], in directory: TemporaryDirectory, environment: [String: String] = [:]) throws -> Running {
        let name = UUID().uuidString.prefix(8)
        let outputPath = directory.path("\(arguments.first ?? "run")-\(name).out")
        let errorsPath = directory.path("\(arguments.first ?? "run")-\(name).err")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorsPath)
        try process.run()
        return Running(process: process, outputPath: outputPath, errorsPath: errorsPath)
    }
}

/// A running `tidemark agent` on a loopback port the system chose.
final class AgentUnderTest {
    let running: Tidemark.Running
    let endpoint: String
    let recordDirectory: String

    /// Starts the agent and waits until it prints its bound endpoint.
    init(in directory: TemporaryDirectory, extraArguments: [String] = []) throws {
        recordDirectory = directory.path("record-\(UUID().uuidString.prefix(8))")
        running = try Tidemark.start(["agent", "--bridge", "tcp://127.0.0.1:*", "--http", "127.0.0.1:0", "--data", directory.path("data"),
                                      "--record", recordDirectory, "--heartbeat-ms", "1000"] + extraArguments,
                                     in: directory)
        let deadline = Date().addingTimeInterval(30)
        var found: String?
        while found == nil, Date() < deadline, running.process.isRunning {
            found = running.output.split(separator: "\n").lazy
                .compactMap { $0.hasPrefix("bridge listening on ") ? String($0.dropFirst("bridge listening on ".count)) : nil }
                .first
            if found == nil { usleep(20_000) }
        }
        guard let found else {
            running.stop()
            throw HarnessError("agent did not start: \(running.errors)")
        }
        endpoint = found
    }

    /// Stops the agent (SIGTERM) so its recordings are complete.
    func stop() -> Int32 {
        running.stop()
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

    deinit { running.stop() }
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
                if update.change == .closed { positions[update.position.ticket] = nil }
                else { positions[update.position.ticket] = update.position }
            case .deal(let deal):
                if deal.type == .credit { credit += deal.profit }
                else { balance += deal.profit + deal.commission + deal.swap + deal.fee }
            case .hello, .symbol, .report, .heartbeat, .bye, .commandAcknowledgement:
                break
            }
        }
    }

    var description: String {
        "balance \(balance), credit \(credit), positions \(positions.values.sorted { $0.ticket < $1.ticket }), quotes \(quotes.values.map { "\($0.symbol) \($0.bid)/\($0.ask)@\($0.time.milliseconds)" })"
    }
}

/// Runs blocking work (a child process run to its end, an agent started or stopped, polling with
/// `usleep`) on a thread of its own and awaits it: the cooperative pool has one thread per core,
/// shared by every suite running in parallel, and a test that blocks one of them starves the
/// others' async work (webhook retries, HTTP clients).
func onOwnThread<T>(_ body: @escaping () throws -> T) async throws -> T {
    let work = UncheckedSendable(body)
    let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<UncheckedSendable<T>, any Error>) in
        Thread { continuation.resume(with: Result { UncheckedSendable(try work.value()) }) }.start()
    }
    return result.value
}

/// A value handed between threads by ``onOwnThread(_:)``, which awaits the thread: one owner at a time.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
