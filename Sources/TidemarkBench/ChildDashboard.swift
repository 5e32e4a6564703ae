import ArgumentParser
import Foundation

/// A `tidemark dashboard` child process (this executable) on loopback with free ports, over a
/// database of its own in the PostgreSQL cluster the bench is given.
final class ChildDashboard {
    let process = Process()
    let token = "tm_bench_dashboard_admin_token_0123456789abcdef"
    /// `HOST:PORT` of the feed listener (mutual TLS).
    let feed: String
    /// `HOST:PORT` of the HTTPS API.
    let http: String
    var pid: Int32 { process.processIdentifier }

    init(directory: String, database: String, pki: BenchPKI) throws {
        let output = directory + "/dashboard.out"
        let errors = directory + "/dashboard.err"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        process.executableURL = ChildProcess.ownExecutable
        process.arguments = [
            "dashboard", "--feed-listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--tls-cert", pki.dashboardCertificate, "--tls-key", pki.dashboardKey, "--client-ca", pki.authority,
            "--log-level", "warning",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging([
            // The environment, not the command line: process listings show arguments (and the password).
            "TIDEMARK_DASHBOARD_ADMIN_TOKEN": token, "TIDEMARK_DASHBOARD_DATABASE": database,
        ]) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: errors)
        try process.run()
        let addresses = ChildProcess.listeningAddresses(
            ["feed listening on ", "https listening on "], in: output, of: process,
            deadline: ContinuousClock.now + .seconds(60))
        let feed = addresses["feed listening on "]
        let http = addresses["https listening on "]
        guard let feed, let http else {
            throw ValidationError("the dashboard did not start (see \(errors))")
        }
        self.feed = feed
        self.http = http
    }

    /// The agents' feed URL (the name the dashboard's certificate carries).
    var feedURL: String { "https://localhost:\(feed.split(separator: ":").last ?? "")" }

    /// User + system CPU time the dashboard process has used.
    func cpuSeconds() -> Double { ProcessCPU.seconds(of: pid) }

    func residentMegabytes() -> Int { ProcessCPU.residentMegabytes(of: pid) }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// CPU time and memory of another process, from `/proc`.
enum ProcessCPU {
    /// User + system CPU seconds of `pid` (`/proc/PID/stat` fields 14 and 15, after the name's ")").
    static func seconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident memory of `pid` in MB (-1 when unknown).
    static func residentMegabytes(of pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return -1 }
        return kilobytes / 1_024
    }

}

/// Certificates made by `deploy/pki.sh`: a CA, the dashboard's certificate, one per agent.
struct BenchPKI {
    let directory: String

    init(script: String, directory: String, agents: [String]) throws {
        self.directory = directory
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = ["--dir", directory] + agents.flatMap { ["--agent", $0] }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("\(script) failed") }
    }

    var authority: String { directory + "/ca-bundle.pem" }
    var dashboardCertificate: String { directory + "/dashboard.pem" }
    var dashboardKey: String { directory + "/dashboard.key" }
    func certificate(_ agent: String) -> String { directory + "/agents/\(agent).pem" }
    func key(_ agent: String) -> String { directory + "/agents/\(agent).key" }
}

/// PostgreSQL through `psql` (the server's own client): databases of the bench and the server's row counters.
struct BenchPostgres {
    /// The cluster's URL (any database of it).
    let serverURL: String

    /// A new, empty database; its URL.
    func createDatabase() throws -> (name: String, url: String) {
        let name = "bench_\(UUID().uuidString.prefix(8).lowercased())"
        _ = try query(serverURL, "CREATE DATABASE \(name)")
        return (name, url(of: name))
    }

    func dropDatabase(_ name: String) {
        _ = try? query(serverURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Rows inserted, updated and deleted in `database` so far (`pg_stat_database`).
    ///
    /// The server counts rows when a backend reports its statistics: at the end of a transaction, at
    /// most once a second while busy, and when it goes idle; the bench reads after its clients stop.
    func rowsWritten(in database: String) throws -> Double {
        let rows = try query(
            serverURL,
            "SELECT tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = '\(database)'")
        return Double(rows.first ?? "") ?? 0
    }

    /// The dashboard-wide number of the newest event stored in `database` (0: none yet).
    func lastEventSequence(in database: String) throws -> UInt64 {
        UInt64(try query(url(of: database), "SELECT last FROM dashboard_sequence").first ?? "") ?? 0
    }

    /// The server processes (backends) serving connections to `database` now.
    func backends(of database: String) throws -> [Int32] {
        try query(serverURL, "SELECT pid FROM pg_stat_activity WHERE datname = '\(database)'").compactMap { Int32($0) }
    }

    private func url(of database: String) -> String {
        guard let slash = serverURL.lastIndex(of: "/") else { return serverURL }
        return String(serverURL[...slash]) + database
    }

    func query(_ url: String, _ sql: String) throws -> [String] {
        try Self.run("psql", [url, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql])
    }

    static func run(_ command: String, _ arguments: [String]) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(command) \(arguments.last ?? ""): \(errorText)")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
