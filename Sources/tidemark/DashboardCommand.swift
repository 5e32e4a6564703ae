import ArgumentParser
import Dashboard
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tidemark dashboard`: the central service agents feed. A thin shell over `DashboardRuntime`
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

    @OptionGroup var server: ServerOptions

    func settings() throws(DashboardError) -> DashboardConfiguration {
        try server.settings(DashboardConfiguration.self) { settings in
            if let feedListen { settings.feedListen = feedListen }
            if let http { settings.http = http }
            if let database { settings.database = database }
            if let tlsCertificate { settings.tlsCertificate = tlsCertificate }
            if let tlsKey { settings.tlsKey = tlsKey }
            if let clientCA { settings.clientCA = clientCA }
            if let pinnedAgents { settings.pinnedAgents = pinnedAgents }
        }
    }

    func run() async throws {
        do {
            let settings = try settings()
            ServerOptions.bootstrapLogging(level: settings.logLevel)
            let runtime = try DashboardRuntime(configuration: settings, logger: Logger(label: "tidemark.dashboard"))
            try await runtime.run(onRunning: { feed, http in
                print("feed listening on \(feed)")
                print("https listening on \(http)")
                fflush(nil)
            })
        } catch let error as DashboardError {
            throw ServerOptions.failure(
                of: "dashboard", error.detail.isEmpty ? error.description : error.detail, status: error.exitCode)
        } catch let error as ExitCode {
            throw error
        } catch {
            throw ServerOptions.failure(of: "dashboard", String(reflecting: error), status: 70)
        }
    }
}
