import ArgumentParser
import Dashboard
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tidemark dashboard`: the central service agents feed. A thin shell over ``DashboardRuntime``
/// (Sources/Dashboard): settings from `--config FILE`, then `TIDEMARK_DASHBOARD_*` environment
/// variables, then these flags.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Run the dashboard: agents feed it over mutual TLS, PostgreSQL keeps it.",
        discussion: """
            The dashboard listens for agents on --feed-listen (TLS 1.2+, only client certificates that chain \
            to --client-ca) and serves HTTPS on --http (/agents with the admin token, /metrics, /health, \
            /ready). It migrates --database at start. It prints `feed listening on HOST:PORT` and `https \
            listening on HOST:PORT` on stdout once both listen. The admin token comes from \
            TIDEMARK_DASHBOARD_ADMIN_TOKEN only. Exit statuses: 78 configuration, 77 insecure setting, 69 \
            database, 71 start-up. SIGINT or SIGTERM stop it gracefully: a batch is stored and acknowledged, \
            or neither.
            """
    )

    @Option(name: .customLong("feed-listen"), help: "HOST:PORT where agents feed (port 0 picks a free port).")
    var feedListen: String?

    @Option(name: .long, help: "HOST:PORT of the HTTPS API (port 0 picks a free port).")
    var http: String?

    @Option(name: .long, help: "postgres://USER:PASSWORD@HOST:PORT/DATABASE")
    var database: String?

    @Option(name: .customLong("tls-cert"), help: "The dashboard's certificate chain (PEM, deploy/pki.sh).")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "The key of that certificate (PEM).")
    var tlsKey: String?

    @Option(name: .customLong("client-ca"), help: "The CA(s) agent certificates must chain to (PEM).")
    var clientCA: String?

    @Option(
        name: .customLong("pinned-agents"),
        help: "A file of agent certificate SHA-256 fingerprints: only those may feed.")
    var pinnedAgents: String?

    @Option(name: .long, help: "A JSON file with any of the dashboard's settings (see DashboardConfiguration).")
    var config: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    func settings() throws(DashboardError) -> DashboardConfiguration {
        var settings =
            try config.map { path throws(DashboardError) in try DashboardConfiguration.load(file: path) }
            ?? DashboardConfiguration()
        try settings.applyEnvironment(ProcessInfo.processInfo.environment)
        if let feedListen { settings.feedListen = feedListen }
        if let http { settings.http = http }
        if let database { settings.database = database }
        if let tlsCertificate { settings.tlsCertificate = tlsCertificate }
        if let tlsKey { settings.tlsKey = tlsKey }
        if let clientCA { settings.clientCA = clientCA }
        if let pinnedAgents { settings.pinnedAgents = pinnedAgents }
        if let logLevel { settings.logLevel = logLevel }
        try settings.validate()
        return settings
    }

    func run() async throws {
        do {
            let settings = try settings()
            let level = Logger.Level(rawValue: settings.logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let runtime = try DashboardRuntime(configuration: settings, logger: Logger(label: "tidemark.dashboard"))
            try await runtime.run(onRunning: { feed, http in
                print("feed listening on \(feed)")
                print("https listening on \(http)")
                fflush(nil)
            })
        } catch let error as DashboardError {
            FileHandle.standardError.write(
                Data("tidemark dashboard: \(error.detail.isEmpty ? error.description : error.detail)\n".utf8))
            throw ExitCode(error.exitCode)
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("tidemark dashboard: \(String(reflecting: error))\n".utf8))
            throw ExitCode(70)
        }
    }
}
