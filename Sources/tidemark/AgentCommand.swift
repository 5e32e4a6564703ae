import Agent
import ArgumentParser
import Bridge
import Dispatch
import EquityEngine
import Foundation
import Logging
import Store
import TidemarkProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tidemark agent`: the daemon. A thin shell over `AgentRuntime` (Sources/Agent): settings
/// from `--config FILE`, then `TIDEMARK_*` environment variables, then these flags.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the agent: EA sessions over ZeroMQ, equity and risk, the store, the REST API.",
        discussion: """
            The agent binds --bridge (Expert Advisors and `tidemark simulate` connect to it) and serves \
            HTTP on --http (REST API, /metrics, /health, /ready; HTTPS with --tls-cert and --tls-key). It prints `bridge listening on ENDPOINT` \
            and `http listening on HOST:PORT` on stdout (useful with port 0 or *). On a first run without \
            TIDEMARK_ADMIN_TOKEN it generates an admin token into DATA/admin-token (mode 0600); a \
            TIDEMARK_ADMIN_TOKEN of its own must carry at least 128 bits of entropy (32 random bytes in hex, \
            `openssl rand -hex 32`, not a word or a short string) or the agent refuses to start. Every setting \
            can also come from --config FILE (JSON) or TIDEMARK_* environment variables; flags win. A bridge \
            beyond loopback needs CURVE or --allow-plaintext-bridge. A configuration or start-up error prints \
            one line naming the key, file or value and exits with its own status (78 configuration, 77 \
            insecure setting, 65 damaged store, 71 start-up; deploy/README.md). SIGINT or SIGTERM stop it \
            gracefully: nothing taken is lost, everything committed is acknowledged.
            """
    )

    @Option(name: .long, help: "Endpoint to bind, e.g. tcp://0.0.0.0:5757 (tcp://127.0.0.1:* picks a free port).")
    var bridge: String?

    @Option(name: .long, help: "HOST:PORT of the HTTP server (port 0 picks a free port).")
    var http: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS on --http (with --tls-key).")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of the --tls-cert certificate.")
    var tlsKey: String?

    @Option(name: .long, help: "The agent's data directory (created if missing).")
    var data: String?

    @OptionGroup var server: ServerOptions

    @Option(name: .long, help: "Write every accepted message to DIR/<account>.jsonl (JSON Lines recording).")
    var record: String?

    @Option(
        name: .long,
        help:
            "Declarations to apply at start ({\"declarations\": [ … ]}, protocol/RULES.md); ids already declared are kept."
    )
    var rules: String?

    @Option(
        name: .customLong("challenge-templates"),
        help: "Directory of challenge templates (NAME.json), e.g. deploy/challenge-templates.")
    var challengeTemplates: String?

    @Option(
        name: .customLong("curve-secret-key"),
        help: "The agent's CURVE secret certificate (from `tidemark keys`); turns CURVE on.")
    var curveSecretKey: String?

    @Option(
        name: .customLong("allow-keys"),
        help:
            "EA public keys admitted under CURVE: one Z85 key or `public-key = \"…\"` per line, or certificate files listed one per line."
    )
    var allowKeys: String?

    @Option(
        name: .customLong("heartbeat-ms"),
        help: "Heartbeat interval announced to EAs; a peer silent for 3 intervals is dropped.")
    var heartbeatMilliseconds: Int?

    @Option(name: .long, help: "full (fsync every commit) or normal (survives kill -9, not power loss).")
    var durability: String?

    @Option(
        name: .customLong("feed-url"),
        help:
            "The dashboard's feed address (https://HOST:PORT): feeds events, statistics, chart records and account state to it."
    )
    var feedURL: String?

    @Option(
        name: .customLong("feed-certificate"),
        help: "This agent's client certificate for the feed (PEM, deploy/pki.sh --agent NAME).")
    var feedCertificate: String?

    @Option(name: .customLong("feed-key"), help: "The key of the feed certificate (PEM).")
    var feedKey: String?

    @Option(name: .customLong("feed-ca"), help: "The CA the dashboard's certificate must chain to (PEM).")
    var feedCA: String?

    @Option(
        name: .customLong("feed-retention-rows"),
        help:
            "Unacknowledged feed rows kept while the dashboard is away (default 1000000); beyond it the oldest are dropped, counted and reported."
    )
    var feedRetentionRows: Int?

    @Option(
        name: .customLong("feed-retention-seconds"),
        help:
            "How long an unacknowledged feed row is kept (default 604800, 7 days); older rows are dropped, counted and reported."
    )
    var feedRetentionSeconds: Int?

    @Flag(
        name: .customLong("allow-plaintext-bridge"),
        help:
            "Let the bridge bind beyond loopback without CURVE (anyone who reaches the port can speak for any account)."
    )
    var allowPlaintextBridge = false

    @Flag(
        name: .customLong("rebuild-checkpoint"),
        help:
            "Set the checkpoint file aside and resume from the store's own checkpoint (when the file belongs to another store)."
    )
    var rebuildCheckpoint = false

    func settings() throws(AgentError) -> AgentConfiguration {
        try server.settings(AgentConfiguration.self) { settings in
            if let bridge { settings.bridge = bridge }
            if let http { settings.http = http }
            if let tlsCertificate { settings.tlsCertificate = tlsCertificate }
            if let tlsKey { settings.tlsKey = tlsKey }
            if let data { settings.data = data }
            if let record { settings.record = record }
            if let rules { settings.rules = rules }
            if let challengeTemplates { settings.challengeTemplates = challengeTemplates }
            if let curveSecretKey { settings.curveSecretKey = curveSecretKey }
            if let allowKeys { settings.allowKeys = allowKeys }
            if let heartbeatMilliseconds { settings.heartbeatMilliseconds = heartbeatMilliseconds }
            if let durability { settings.durability = durability }
            if allowPlaintextBridge { settings.allowPlaintextBridge = true }
            if let feedURL { settings.feedURL = feedURL }
            if let feedCertificate { settings.feedCertificate = feedCertificate }
            if let feedKey { settings.feedKey = feedKey }
            if let feedCA { settings.feedCA = feedCA }
            if let feedRetentionRows { settings.feedRetentionRows = feedRetentionRows }
            if let feedRetentionSeconds { settings.feedRetentionSeconds = feedRetentionSeconds }
        }
    }

    /// Start-up and configuration failures end the process with the error's own status
    /// (`AgentError/exitCode`) and one line naming the key, file or value: no usage text, which
    /// is for mistakes on the command line itself.
    func run() async throws {
        do {
            try await runAgent()
        } catch let error as AgentError {
            throw ServerOptions.failure(
                of: "agent", error.detail.isEmpty ? error.description : error.detail, status: error.exitCode)
        } catch let error as ExitCode {
            throw error
        } catch let error as StoreError {
            // A commit that failed while running (a full disk, an I/O error): the writer stopped
            // without acknowledging it, so nothing unstored was acknowledged.
            throw ServerOptions.failure(of: "agent", "the store failed while running: \(error)", status: 74)
        } catch {
            throw ServerOptions.failure(of: "agent", "\(error)", status: 70)
        }
    }

    private func runAgent() async throws {
        let settings = try settings()
        ServerOptions.bootstrapLogging(level: settings.logLevel)
        let logger = Logger(label: "tidemark.agent")
        let agent = try await AgentRuntime.start(
            configuration: settings, rebuildCheckpoint: rebuildCheckpoint, logger: logger)
        print("bridge listening on \(agent.bridgeEndpoint)")
        fflush(nil)  // all streams: stdout is a C global that strict concurrency won't let us name
        try await agent.run(onHTTPRunning: { endpoint in
            print("http listening on \(endpoint)")
            fflush(nil)
        })
    }
}
