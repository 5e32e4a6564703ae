import Agent
import ArgumentParser
import Bridge
import Dispatch
import Foundation
import Logging
import RiskCore
import Simulator
import Synchronization
import TidemarkProtocol
import ZeroMQ

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// A `tidemark agent` child process (this executable), on loopback with free ports.
final class ChildAgent {
    let process = Process()
    let token = "tm_bench_admin_token_0123456789abcdef"
    let bridge: String
    let http: String
    var pid: Int32 { process.processIdentifier }

    init(directory: String, rules: String, durability: String, extraArguments: [String] = []) throws {
        let output = directory + "/agent.out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/agent.err", contents: nil)
        process.executableURL = ChildProcess.ownExecutable
        process.arguments =
            [
                "agent", "--bridge", "tcp://127.0.0.1:*", "--http", "127.0.0.1:0", "--data", directory + "/data",
                "--rules", rules, "--durability", durability, "--log-level", "notice",
            ] + extraArguments
        process.environment = ProcessInfo.processInfo.environment.merging(["TIDEMARK_ADMIN_TOKEN": token]) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: directory + "/agent.err")
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        let addresses = ChildProcess.listeningAddresses(
            ["bridge listening on ", "http listening on "], in: output, of: process, deadline: deadline)
        let bridge = addresses["bridge listening on "]
        let http = addresses["http listening on "]
        guard let bridge, let http else {
            throw ValidationError("the agent did not start (see \(directory)/agent.err)")
        }
        self.bridge = bridge
        self.http = http
        // The rules (one tracker per terminal and probe) go in before any input: wait for them, so
        // that the throughput clock does not include them.
        while ContinuousClock.now < deadline + .seconds(240),
            !((try? String(contentsOfFile: directory + "/agent.err", encoding: .utf8)) ?? "").contains("rules applied")
        {
            usleep(50_000)
        }
    }

    /// User + system CPU time the agent process has used.
    func cpuSeconds() -> Double {
        // /proc/PID/stat: fields 14 and 15 (utime, stime) in clock ticks, after the ")" of the name.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The agent's `/metrics`, by series name (labels included).
    func metrics() async throws -> [String: Double] { try await Self.metrics(http: http) }

    /// The agent's `tidemark_ticks_total` every 10 ms, with the seconds since `start`, until cancelled.
    static func sampleTicks(
        http: String, since start: ContinuousClock.Instant
    ) async -> [(seconds: Double, ticks: Double)] {
        var samples: [(seconds: Double, ticks: Double)] = []
        while !Task.isCancelled {
            if let ticks = try? await metrics(http: http)["tidemark_ticks_total"] {
                samples.append(((ContinuousClock.now - start).seconds, ticks))
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return samples
    }

    static func metrics(http: String) async throws -> [String: Double] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://\(http)/metrics")!)
        var values: [String: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    /// One series of ``metrics()`` (0 when absent).
    func metric(_ name: String) async throws -> Double { try await metrics()[name] ?? 0 }

    /// Commits, messages and mean commit time, from the agent's `/metrics`.
    func storeFigures() async throws -> (commits: Int, messages: Int, meanCommitMilliseconds: Double) {
        let values = try await metrics()
        let commits = values["tidemark_store_commits_total"] ?? 0
        let seconds = values["tidemark_store_commit_seconds_sum"] ?? 0
        return (
            Int(commits), Int(values["tidemark_bridge_messages_total"] ?? 0),
            commits > 0 ? seconds * 1_000 / commits : 0
        )
    }

    func residentMegabytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return -1 }
        return kilobytes / 1_024
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
