import ArgumentParser
import FeedProtocol
import Foundation
import Simulator
import TidemarkProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// `tidemark bench dashboard`: one `tidemark dashboard` (a child process, over a fresh database in
/// a PostgreSQL cluster) fed by many agents at once, on this machine.
struct BenchDashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract:
            "The dashboard's ingest: 10 agents × 100 accounts feeding one dashboard; events/s, account updates/s, PostgreSQL rows/s.",
        discussion: """
            Certificates come from deploy/pki.sh (a CA, the dashboard's, one per agent); the dashboard is a \
            child `tidemark dashboard` over a new database in the cluster at --database (default: the one \
            `scripts/postgres start` runs), dropped at the end.
            The agents are feed clients: each has its own client certificate and connection (mutual TLS \
            1.2+) and posts real FeedBatch JSON to POST /feed/v1/batches, one batch at a time, waiting for \
            each acknowledgement, as the agent's feed service does. Driving real agent processes would put \
            ten agents' bridges, writers and simulators on the same two cores as the dashboard and \
            PostgreSQL; the feed clients measure what the dashboard ingests. Each phase's batches are \
            encoded before its clock starts (an agent encodes on its own host), so the clients spend \
            their CPU on TLS and HTTP only.
            Phase 1, events: every agent posts --event-batches batches of --events-per-batch tracker events \
            for its accounts (the agent's outbox pages are up to 1,000 rows), as fast as they are acknowledged.
            Phase 2, account updates: every agent posts --state-batches batches carrying the live state of \
            each of its --accounts accounts (what the agent's coalescer sends when every account moved), as \
            fast as they are acknowledged.
            Phase 3, latency (--probes > 0): a real `tidemark agent` (a child process) with --accounts \
            simulated terminals streaming --latency-ticks ticks/s in all (steady, as TidemarkEA's timer \
            passes send them) feeds the dashboard beside the other agents' feed clients, which post \
            --load of phase 1's events/s and phase 2's updates/s (every 250 ms). Probe terminals, one at a \
            time, connect, then send one tick that breaches their tracker and drops their equity; measured \
            from the tick leaving the probe to the breach event on the dashboard's \
            /users/current/events/stream (opened at the newest event stored) and to the new equity on the \
            account's equity-stream (coalesced: the agent sends an account's state at most 4 times a second). \
            The bench says so when the agent carried under 95 % of --latency-ticks: the figures then \
            measure a saturated machine (lower --load or --latency-ticks).
            Phases 1 and 2 report what was acknowledged per second (first post to last acknowledgement), the \
            batch round trip, the rows PostgreSQL wrote (pg_stat_database: inserted + updated + deleted) \
            per second, and CPU per item of the dashboard, of PostgreSQL (the backends serving the \
            dashboard's connections; not the WAL writer or checkpointer) and of the feed clients (this process).
            Build with -c release.
            """
    )

    @Option(
        name: .long,
        help: "postgres://USER:PASSWORD@HOST:PORT/DATABASE of a cluster the bench may create databases in.")
    var database: String?

    @Option(name: .long, help: "Agents feeding the dashboard.")
    var agents: Int = 10

    @Option(name: .long, help: "Accounts per agent.")
    var accounts: Int = 100

    @Option(name: .customLong("events-per-batch"), help: "Events per batch in the events phase.")
    var eventsPerBatch: Int = 1_000

    @Option(name: .customLong("event-batches"), help: "Batches of events per agent (phase 1).")
    var eventBatches: Int = 30

    @Option(name: .customLong("state-batches"), help: "Batches of account states per agent (phase 2).")
    var stateBatches: Int = 300

    @Option(name: .customLong("pki-script"), help: "deploy/pki.sh (openssl), for the certificates.")
    var pkiScript: String = "deploy/pki.sh"

    @Option(
        name: .long,
        help:
            "Breach probes in the latency phase (0: no latency phase; at most 45: each opens an equity stream, the API allows a token 50 open streams, and a closed one's slot is freed at its next keep-alive)."
    )
    var probes: Int = 40

    @Option(
        name: .customLong("latency-ticks"),
        help: "Latency phase: ticks per second the real agent's terminals stream, in all.")
    var latencyTicks: Double = 40_000

    @Option(
        name: .long,
        help: "Latency phase: the feed clients' load, as a fraction of phases 1 and 2's measured rates.")
    var load: Double = 0.1

    @Option(name: .customLong("ticks-file"), help: "Tick CSV (time_utc_ms,bid,ask,…) for the real agent's terminals.")
    var ticksFile: String = "/work/shared/data/ticks/EURUSD-2019-02-04.csv"

    func validate() throws {
        guard (0...45).contains(probes) else { throw ValidationError("--probes must be between 0 and 45") }
        guard agents >= 1, accounts >= 1, eventsPerBatch >= 1, eventBatches >= 1, stateBatches >= 1 else {
            throw ValidationError(
                "--agents, --accounts, --events-per-batch, --event-batches and --state-batches must be positive")
        }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tidemark-bench-dashboard-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let names = (0..<agents).map { String(format: "bench-%02d", $0) }
        let pki = try BenchPKI(script: pkiScript, directory: directory + "/pki", agents: names + ["bench-live"])
        let postgres = BenchPostgres(serverURL: try database ?? Self.scriptsPostgresURL())
        let (databaseName, databaseURL) = try postgres.createDatabase()
        defer { postgres.dropDatabase(databaseName) }
        let dashboard = try ChildDashboard(directory: directory, database: databaseURL, pki: pki)
        defer { dashboard.stop() }
        print(
            "tidemark bench dashboard: \(agents) agents × \(accounts) accounts, dashboard pid \(dashboard.pid) (feed \(dashboard.feed))"
        )

        let clients = try names.map { name in
            try FeedBenchClient(
                name: name, accounts: (0..<accounts).map { "Bench-\(name):\(100_000 + $0)" },
                dashboardURL: dashboard.feedURL, pki: pki)
        }
        do {
            let (events, updates) = try await measure(
                clients: clients, postgres: postgres, database: databaseName, dashboard: dashboard)
            if probes > 0 {
                try await latency(
                    clients: clients, eventsPerSecond: events * load, updatesPerSecond: updates * load,
                    dashboard: dashboard, pki: pki, directory: directory,
                    eventsStoredBefore: try postgres.lastEventSequence(in: databaseName))
            }
        } catch {
            for client in clients { await client.shutdown() }
            throw error
        }
        for client in clients { await client.shutdown() }
    }

    /// Claims, then the two phases.
    private func measure(
        clients: [FeedBenchClient], postgres: BenchPostgres, database databaseName: String, dashboard: ChildDashboard
    ) async throws -> (events: Double, updates: Double) {
        // Each agent claims its accounts (and opens its connection) before the clock starts.
        for client in clients {
            let states = client.accounts.map { FeedBenchRecords.state(account: $0, step: 0, observedAt: Self.now()) }
            _ = try await client.post(
                FeedBatch(agent: client.status(acknowledged: 0), items: [], accountStates: states))
        }

        print("")
        print(
            "| phase | acknowledged per s | batches per s | batch round trip p50 / p99 / max | PostgreSQL rows per s | CPU per item: dashboard / PostgreSQL / feed clients |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        let eventsPerBatch = eventsPerBatch
        let events = try await phase(
            "events (\(eventsPerBatch) per batch)", clients: clients, batches: eventBatches, postgres: postgres,
            database: databaseName, dashboard: dashboard
        ) { client, round in
            let first = UInt64(round * eventsPerBatch) + 1
            let items = (0..<UInt64(eventsPerBatch)).map { offset in
                let sequence = first + offset
                return FeedItem(
                    sequence: sequence,
                    record: .event(
                        FeedBenchRecords.event(
                            sequence: sequence, account: client.accounts[Int(sequence) % client.accounts.count],
                            brokerTime: 1_549_238_400_000 + Int64(sequence) * 100)))
            }
            return FeedBatch(agent: client.status(acknowledged: first - 1), items: items, accountStates: [])
        }
        let eventsSent = UInt64(eventBatches * eventsPerBatch)
        let observedFrom = Self.now()
        let updates = try await phase(
            "account updates (\(accounts) per batch)", clients: clients, batches: stateBatches, postgres: postgres,
            database: databaseName, dashboard: dashboard
        ) { client, round in
            let states = client.accounts.map {
                FeedBenchRecords.state(account: $0, step: round + 1, observedAt: observedFrom + Int64(round))
            }
            return FeedBatch(agent: client.status(acknowledged: eventsSent), items: [], accountStates: states)
        }
        print("")
        print(
            "events ingested: \(Int(events)) per s (target ≥ 20,000); account updates ingested: \(Int(updates)) per s (target ≥ 50,000)"
        )
        print("dashboard resident memory: \(dashboard.residentMegabytes()) MB")
        return (events, updates)
    }

    /// Phase 3: breach and equity latency from a real agent's terminal to the dashboard's streams.
    private func latency(
        clients: [FeedBenchClient], eventsPerSecond: Double, updatesPerSecond: Double, dashboard: ChildDashboard,
        pki: BenchPKI, directory: String, eventsStoredBefore: UInt64
    ) async throws {
        let source = Array(try TickFile.load(ticksFile).prefix(2_000))
        let workload = AgentWorkload(terminals: accounts, ticks: source, batch: 100, probes: probes)
        let rules = directory + "/rules.json"
        try workload.rules().write(to: URL(fileURLWithPath: rules))
        try FileManager.default.createDirectory(atPath: directory + "/live", withIntermediateDirectories: true)
        let agent = try ChildAgent(
            directory: directory + "/live", rules: rules, durability: "full",
            extraArguments: [
                "--feed-url", dashboard.feedURL, "--feed-certificate", pki.certificate("bench-live"), "--feed-key",
                pki.key("bench-live"), "--feed-ca", pki.authority,
            ])
        defer { agent.stop() }
        let reader = try DashboardReader(http: dashboard.http, token: dashboard.token, pki: pki)
        // From the newest event stored, as a desk's EventSource resumes (Last-Event-ID): opened at 0
        // the stream would first replay the ingest phases' hundreds of thousands of events, and the
        // first probes would measure that replay.
        let events = try await reader.stream(
            "/users/current/events/stream?kind=tracker&previousSequenceNumber=\(eventsStoredBefore)")

        // The real agent's terminals, steady, as TidemarkEA's 200 ms timer passes send them.
        let perTerminal = latencyTicks / Double(accounts)
        let speed = max(1, latencyTicks / workload.dataTicksPerSecondAllTerminals)
        let needed = Int((perTerminal * (Double(probes) * 1.5 + 10)).rounded(.up))
        let messageTicks = min(100, max(1, Int((perTerminal * 0.2).rounded())))
        let simulator = try TerminalSimulator(
            connection: SimulatorConnection(endpoint: agent.bridge),
            pacing: SimulatorPacing(speed: speed, stallTimeout: .seconds(120)), threads: 2,
            maxSessions: accounts + 16, priority: .idle, logger: BenchAgentCommand.simulatorLogger)
        let background = Task {
            try await simulator.run(workload.steadyScripts(dayOffset: 1, count: needed, batch: messageTicks))
        }
        // The other agents: every 250 ms, each posts its accounts' states and its share of the events.
        let eventBase = UInt64(eventBatches * eventsPerBatch)
        let eventsPerPost = max(0, Int((eventsPerSecond / 4 / Double(clients.count)).rounded()))
        let statesPerPost = min(accounts, max(1, Int((updatesPerSecond / 4 / Double(clients.count)).rounded())))
        let feeding = Task {
            try await Self.feedClients(
                clients, eventBase: eventBase, eventsPerPost: eventsPerPost, statesPerPost: statesPerPost)
        }
        try await Task.sleep(for: .seconds(2))

        let probeRunner = try ProbeRunner(endpoint: agent.bridge)
        var breach: [Double] = []
        var equity: [Double] = []
        var missing = 0
        var sockets: [ZMQSocket] = []
        let probeDay = workload.shifted(days: 2)[0].time.milliseconds
        let ticksBefore = try await agent.metric("tidemark_ticks_total")
        let windowStart = ContinuousClock.now
        for probe in 0..<probes {
            let time = BrokerTime(milliseconds: probeDay + Int64(probe) * 1_000)
            let terminal = try probeRunner.connect(probe: probe, at: time)
            sockets.append(terminal.socket)
            // The equity stream needs the account at the dashboard: its snapshot's state arrives first.
            let account = AgentWorkload.probeAccount(probe).rawValue
            let path =
                "/users/current/accounts/\(account.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? account)"
            let known = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < known, !(await reader.exists(path)) {
                try await Task.sleep(for: .milliseconds(5))
            }
            let equityStream = try await reader.stream(path + "/equity-stream")
            let tracker = "\"trackerId\":\"\(AgentWorkload.probeTracker(probe))\""
            let fallen = "\"equity\":9000"
            events.watch(tracker)
            equityStream.watch(fallen)
            let sent = try probeRunner.drop(terminal, at: time)
            let deadline = ContinuousClock.now + .seconds(10)
            let breached = await events.arrival(of: tracker, deadline: deadline)
            let moved = await equityStream.arrival(of: fallen, deadline: deadline)
            equityStream.stop()
            if let breached { breach.append((breached - sent).milliseconds) }
            if let moved { equity.append((moved - sent).milliseconds) }
            if breached == nil || moved == nil { missing += 1 }
        }
        let window = (ContinuousClock.now - windowStart).seconds
        let agentRate = (try await agent.metric("tidemark_ticks_total") - ticksBefore) / window
        simulator.cancel()
        feeding.cancel()
        _ = try? await background.value
        _ = try? await feeding.value
        sockets.removeAll()
        events.stop()
        await reader.shutdown()
        print("")
        print(
            "| latency phase: real agent ticks/s, feed clients' events/s and updates/s | tick → dashboard SSE, breach event p50 / p90 / p99 / max | tick → dashboard equity stream (coalesced) p50 / p90 / p99 / max |"
        )
        print("|---|---:|---:|")
        print(
            "| \(Int(agentRate)) ticks/s (\(accounts) terminals), \(Int(eventsPerSecond)) events/s, \(Int(updatesPerSecond)) updates/s (n=\(breach.count)) | \(BenchAgentCommand.percentiles(breach)) ms | \(BenchAgentCommand.percentiles(equity)) ms |"
        )
        if missing > 0 {
            print("probes whose event or equity did not reach the dashboard's streams within 10 s: \(missing)")
        }
        if agentRate < latencyTicks * 0.95 {
            // The agent's simulator runs at SCHED_IDLE: a shortfall means the cores are saturated, and the
            // figures measure that, not the feed and the dashboard.
            print(
                "the real agent carried \(Int(agentRate)) of the \(Int(latencyTicks)) ticks/s asked: the machine is saturated (the dashboard, PostgreSQL, the feed clients and the agent on the same cores), so the figures measure it; run again with a lower --load or --latency-ticks"
            )
        }
    }

    /// The other agents at a steady load until cancelled: every 250 ms each posts the states of
    /// `statesPerPost` of its accounts and `eventsPerPost` events numbered on from `eventBase`.
    private static func feedClients(
        _ clients: [FeedBenchClient], eventBase: UInt64, eventsPerPost: Int, statesPerPost: Int
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients {
                group.addTask {
                    var next = eventBase + 1
                    var round = 0
                    var due = ContinuousClock.now
                    while !Task.isCancelled {
                        let items = (0..<UInt64(eventsPerPost)).map { offset in
                            FeedItem(
                                sequence: next + offset,
                                record: .event(
                                    FeedBenchRecords.event(
                                        sequence: next + offset,
                                        account: client.accounts[Int(next + offset) % client.accounts.count],
                                        brokerTime: 1_549_238_400_000 + Int64(next + offset) * 100)))
                        }
                        let states = client.accounts.prefix(statesPerPost).map {
                            FeedBenchRecords.state(account: $0, step: 1_000 + round, observedAt: Self.now())
                        }
                        _ = try await client.post(
                            FeedBatch(agent: client.status(acknowledged: next - 1), items: items, accountStates: states)
                        )
                        next += UInt64(eventsPerPost)
                        round += 1
                        due += .milliseconds(250)
                        try await Task.sleep(until: due, clock: .continuous)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// One phase: every client posts the `batches` batches `make` builds (encoded before the clock
    /// starts), one at a time. Returns items acknowledged per second.
    private func phase(
        _ title: String, clients: [FeedBenchClient], batches: Int, postgres: BenchPostgres, database: String,
        dashboard: ChildDashboard, make: (_ client: FeedBenchClient, _ round: Int) -> FeedBatch
    ) async throws -> Double {
        let encoder = JSONEncoder()
        var prepared: [[FeedBenchClient.PreparedBatch]] = []
        for client in clients {
            prepared.append(
                try (0..<batches).map { round in
                    let batch = make(client, round)
                    return FeedBenchClient.PreparedBatch(
                        body: try encoder.encode(batch), items: batch.items.count + batch.accountStates.count,
                        expectedAcknowledgement: batch.items.last?.sequence)
                })
        }
        let rowsBefore = try postgres.rowsWritten(in: database)
        let dashboardCPU = dashboard.cpuSeconds()
        // The backends of the dashboard's pooled connections do the phase's database work (one opened
        // during the phase counts from zero).
        var postgresCPU: [Int32: Double] = [:]
        for backend in try postgres.backends(of: database) { postgresCPU[backend] = ProcessCPU.seconds(of: backend) }
        let ownCPU = BenchAgentCommand.ownCPUSeconds()
        let start = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: (items: Int, trips: [Double]).self) { group in
            for (client, batches) in zip(clients, prepared) {
                group.addTask {
                    var items = 0
                    var trips: [Double] = []
                    for batch in batches {
                        let sent = ContinuousClock.now
                        let answer = try await client.post(encoded: batch.body)
                        trips.append((ContinuousClock.now - sent).milliseconds)
                        if let expected = batch.expectedAcknowledgement, answer.acknowledgedThrough != expected {
                            throw FeedBenchError(
                                "\(client.name): acknowledged \(answer.acknowledgedThrough), expected \(expected)")
                        }
                        items += batch.items
                    }
                    return (items, trips)
                }
            }
            var all: [(items: Int, trips: [Double])] = []
            for try await result in group { all.append(result) }
            return all
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let dashboardUsed = dashboard.cpuSeconds() - dashboardCPU
        let postgresUsed = try postgres.backends(of: database).map { backend in
            ProcessCPU.seconds(of: backend) - (postgresCPU[backend] ?? 0)
        }.reduce(0, +)
        let ownUsed = BenchAgentCommand.ownCPUSeconds() - ownCPU
        // PostgreSQL's backends report their row counts when idle, at most a second later.
        try await Task.sleep(for: .milliseconds(1_500))
        let rows = try postgres.rowsWritten(in: database) - rowsBefore
        let items = Double(results.map(\.items).reduce(0, +))
        let trips = results.flatMap(\.trips)
        func micro(_ cpu: Double) -> String { String(format: "%.1f", cpu * 1e6 / max(1, items)) }
        print(
            "| \(title) | \(Int(items / elapsed)) | \(Int(Double(trips.count) / elapsed)) | "
                + "\(BenchAgentCommand.percentile(trips, 0.5)) / \(BenchAgentCommand.percentile(trips, 0.99)) / \(BenchAgentCommand.percentile(trips, 1)) ms | "
                + "\(Int(rows / elapsed)) | \(micro(dashboardUsed)) / \(micro(postgresUsed)) / \(micro(ownUsed)) µs |")
        // Each row as it is measured, also when the output is a file.
        fflush(nil)
        return items / elapsed
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }

    /// The URL `scripts/postgres start` prints (it starts the cluster if it is not running).
    static func scriptsPostgresURL() throws -> String {
        guard let url = try BenchPostgres.run("scripts/postgres", ["start"]).last else {
            throw ValidationError("scripts/postgres start printed no URL; pass --database")
        }
        return url
    }
}
