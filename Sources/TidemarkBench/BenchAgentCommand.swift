import Agent
import AgentFold
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

/// `tidemark bench agent`: the whole agent (a child `tidemark agent` process: bridge, equity
/// engine, risk core, SQLite commits, ACKs, HTTP) under simulated terminals on loopback.
struct BenchAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract:
            "The whole agent under 1,000 simulated terminals: ticks/s, breach latency to long poll and SSE, memory.",
        discussion: """
            1. Throughput: every terminal (hello, snapshot with one open 1-lot EURUSD position, a tracker \
            declared) plays --ticks real EURUSD ticks in TICKS messages of --batch as fast as the agent \
            takes them (100 per message by default: the protocol's most per frame, SPEC §2, which is \
            what TidemarkEA sends when a timer pass finds more ticks than that, as it does at this \
            phase's thousands of ticks per second per account); the clock stops when every session's BYE is acknowledged, i.e. everything is \
            committed. The sustained rate is the agent's tick counter (/metrics, read every 10 ms) while \
            10–90 % of the ticks went through: without the thousand handshakes before and the BYEs after. \
            Beside it: the same messages through the in-process engine + risk core (AgentCore, \
            no I/O), the figure the agent is compared with.
            2. Latency: at each --load in turn (a fraction of the measured throughput), the terminals stream \
            again, a day later (--background steady: each at a constant rate, staggered, for as long as the \
            probes run, sending the ticks due in each --timer-ms period together as TidemarkEA's timer \
            pass does; recorded: the file's own times, in lockstep, in messages of --batch), while probe terminals, one at a time, \
            each send one tick that breaches their tracker; measured from the tick leaving the probe to \
            the event arriving at a long-poll client and at an SSE client. Each row gives the load the \
            agent actually carried meanwhile (ticks/s from its /metrics).
            3. Resident memory of the agent process after each phase.
            The simulator runs on the same machine; its threads run at --simulator-priority (idle: Linux \
            SCHED_IDLE), so the agent, the system under test, gets the CPU first, as if the terminals ran \
            on other hosts.
            Build with -c release.
            """
    )

    @Option(name: .long, help: "Simulated terminals.")
    var terminals: Int = 1_000

    @Option(name: .long, help: "Ticks per terminal.")
    var ticks: Int = 5_000

    @Option(name: .long, help: "Ticks per TICKS message (at most; 100 is the protocol's limit per frame).")
    var batch: Int = 100

    @Option(
        name: .customLong("timer-ms"),
        help:
            "Latency phase, steady background: each terminal sends the ticks due in one timer period together, as TidemarkEA does on each timer pass (InpTimerMilliseconds, 200 by default)."
    )
    var timerMilliseconds: Int = 200

    @Option(name: .long, help: "Breach probes in the latency phase (0: no latency phase).")
    var probes: Int = 200

    @Option(
        name: .long,
        help:
            "Loads during the latency phase, as fractions of the measured throughput, comma-separated (one measurement each)."
    )
    var load: String = "0.01,0.1,0.5"

    var loads: [Double] { load.split(separator: ",").compactMap { Double($0) }.filter { $0 > 0 } }

    @Option(
        name: .long,
        help:
            "Latency phase background: steady (each terminal at the day's mean tick rate, terminals staggered) or recorded (the file's own tick times, every terminal in lockstep)."
    )
    var background: Background = .steady

    enum Background: String, ExpressibleByArgument { case steady, recorded }

    @Option(
        name: .customLong("simulator-priority"),
        help:
            "The simulator's threads: idle (SCHED_IDLE: only CPU time the agent does not want, as if the terminals ran elsewhere), a nice value (e.g. 10), or normal (equal shares)."
    )
    var simulatorPriority: SimulatorThreadPriority = .idle

    @Option(name: .long, help: "Store durability: full or normal.")
    var durability: String = "full"

    @Option(name: .customLong("ticks-file"), help: "Tick CSV (time_utc_ms,bid,ask,…).")
    var ticksFile: String = "/work/shared/data/ticks/EURUSD-2019-02-04.csv"

    @Flag(
        name: .customLong("compare-feed"),
        help:
            "Instead of the two phases: the throughput phase --repeats times with each of three fresh agents, without a feed, feeding a live dashboard (a child `tidemark dashboard` over PostgreSQL) and feeding an unreachable one, interleaved; reports each beside the agent without a feed."
    )
    var compareFeed = false

    @Option(name: .long, help: "With --compare-feed: rounds of the three agents.")
    var repeats: Int = 2

    @Option(
        name: .long,
        help:
            "With --compare-feed: postgres://… of a cluster the bench may create a database in (default: the one `scripts/postgres start` runs)."
    )
    var database: String?

    @Option(name: .customLong("pki-script"), help: "With --compare-feed: deploy/pki.sh, for the feed's certificates.")
    var pkiScript: String = "deploy/pki.sh"

    func run() async throws {
        let source = Array(try TickFile.load(ticksFile).prefix(ticks))
        guard source.count == ticks else { throw ValidationError("need \(ticks) ticks in \(ticksFile)") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tidemark-bench-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        guard !loads.isEmpty else { throw ValidationError("--load needs fractions above 0, e.g. 0.01,0.1,0.5") }
        let workload = AgentWorkload(terminals: terminals, ticks: source, batch: batch, probes: probes * loads.count)
        let rules = directory + "/rules.json"
        try workload.rules().write(to: URL(fileURLWithPath: rules))

        print(
            "tidemark bench agent: \(terminals) terminals × \(ticks) ticks (\(batch) per message), durability \(durability), simulator priority \(simulatorPriority)"
        )
        let inProcess = workload.inProcessTicksPerSecond()
        print("in-process engine + risk core (AgentCore, no I/O): \(Int(inProcess)) ticks/s")

        if compareFeed {
            try await compareFeeds(workload: workload, rules: rules, directory: directory, inProcess: inProcess)
            return
        }
        let agent = try ChildAgent(directory: directory, rules: rules, durability: durability)
        defer { agent.stop() }
        print("agent pid \(agent.pid), bridge \(agent.bridge), http \(agent.http), rules applied")

        // 1. Throughput.
        let figures = try await throughput(agent: agent, workload: workload)
        let throughput = figures.sustained
        print("")
        print("| measure | value |")
        print("|---|---:|")
        print("| sessions completed | \(figures.completed) / \(terminals) |")
        print(
            "| ticks through the whole agent (committed, acknowledged), first connection to last BYE acknowledged | \(Int(figures.total)) in \(String(format: "%.2f", figures.elapsed)) s: \(Int(figures.endToEnd))/s |"
        )
        print("| sustained ticks/s through the agent (while 10–90 % of the ticks went through) | \(Int(throughput)) |")
        print("| in-process engine + risk core ticks/s | \(Int(inProcess)) |")
        print("| in-process / agent (sustained) | \(String(format: "%.2f", inProcess / throughput))× |")
        // The machine is shared with the simulator: CPU time per tick says what the agent costs.
        print(
            "| agent CPU per tick (all threads: bridge, writer, store, ZeroMQ I/O) | \(String(format: "%.0f", figures.agentCPUPerTick)) ns |"
        )
        // The other half of the two cores: this process does nothing but simulate during phase 1.
        print(
            "| simulator CPU per tick (this process: poll threads, ZeroMQ I/O thread) | \(String(format: "%.0f", figures.simulatorCPUPerTick)) ns |"
        )
        print("| in-process engine + risk core CPU per tick | \(String(format: "%.0f", 1e9 / inProcess)) ns |")
        let store = try await agent.storeFigures()
        print(
            "| store commits, messages per commit, mean commit time | \(store.commits), \(store.messages / max(1, store.commits)), \(String(format: "%.2f", store.meanCommitMilliseconds)) ms |"
        )
        print("| agent resident memory after phase 1 | \(agent.residentMegabytes()) MB |")

        // 2. Latency under load: at each load in turn, the terminals stream at that fraction of the
        // measured throughput while the probes breach, one at a time; the load lasts until the last probe.
        guard probes > 0 else { return }
        let watcher = try EventWatcher(http: agent.http, token: agent.token)
        try await watcher.start()
        let probeRunner = try ProbeRunner(endpoint: agent.bridge)
        var probeSockets: [ZMQSocket] = []
        print("")
        print(
            "| latency phase load (\(self.background.rawValue)): share of the throughput, agent ticks/s during the probes, per terminal | breach → long poll p50 / p90 / p99 / max | breach → SSE p50 / p90 / p99 / max |"
        )
        print("|---|---:|---:|")
        for (level, fraction) in loads.enumerated() {
            let speed = max(1, fraction * throughput / workload.dataTicksPerSecondAllTerminals)
            // Each probe takes ~25 ms: enough ticks for all of them, the warm-up and some slack.
            let perTerminal = speed * workload.dataTicksPerSecondAllTerminals / Double(terminals)
            let needed = Int((perTerminal * (Double(probes) * 0.04 + 5)).rounded(.up))
            // A timer pass sends the ticks due since the last one: the per-terminal rate times the period.
            let messageTicks =
                background == .steady
                ? min(batch, max(1, Int((perTerminal * Double(timerMilliseconds) / 1_000).rounded()))) : batch
            let scripts =
                background == .steady
                ? workload.steadyScripts(dayOffset: 1 + level, count: needed, batch: messageTicks)
                : workload.scripts(dayOffset: 1 + level)
            let simulator = try TerminalSimulator(
                connection: SimulatorConnection(endpoint: agent.bridge),
                pacing: SimulatorPacing(speed: speed, stallTimeout: .seconds(120)), threads: 2,
                maxSessions: terminals + 16, priority: simulatorPriority,
                logger: Self.simulatorLogger)
            let loadTask = Task { try await simulator.run(scripts) }
            try await Task.sleep(for: .seconds(1))
            var longPoll: [Double] = []
            var sse: [Double] = []
            var missing = 0
            // Probes a day after the background's start: later than its clock, earlier than the next level's.
            let probeDay = workload.shifted(days: 2 + level)[0].time.milliseconds
            let ticksBefore = try await agent.metric("tidemark_ticks_total")
            let windowStart = ContinuousClock.now
            for index in 0..<probes {
                let probe = level * probes + index
                let time = BrokerTime(milliseconds: probeDay + Int64(index) * 1_000)
                let (sent, socket) = try probeRunner.breach(probe: probe, at: time, workload: workload)
                probeSockets.append(socket)
                let (poll, stream) = await watcher.arrival(of: AgentWorkload.probeTracker(probe), timeout: .seconds(10))
                if let poll { longPoll.append((poll - sent).milliseconds) }
                if let stream { sse.append((stream - sent).milliseconds) }
                if poll == nil || stream == nil { missing += 1 }
                try await Task.sleep(for: .milliseconds(20))
            }
            let window = (ContinuousClock.now - windowStart).seconds
            let loadRate = (try await agent.metric("tidemark_ticks_total") - ticksBefore) / window
            simulator.cancel()
            let streaming = try await loadTask.value.filter { $0.outcome != .completed }.count
            if missing > 0 { print("| probes whose event did not reach both clients within 10 s | \(missing) | |") }
            if streaming < terminals {
                print("| terminals that had finished before the last probe (load fell) | \(terminals - streaming) | |")
            }
            print(
                "| \(String(format: "%g", fraction * 100)) %: \(Int(loadRate)) ticks/s, \(String(format: "%.1f", loadRate / Double(terminals))) per terminal, \(messageTicks) per message (n=\(longPoll.count)) "
                    + "| \(Self.percentiles(longPoll)) ms | \(Self.percentiles(sse)) ms |")
        }
        watcher.stop()
        probeSockets.removeAll()
        print("")
        print("agent resident memory after phase 2: \(agent.residentMegabytes()) MB")
    }

    /// What one throughput phase measured.
    struct ThroughputFigures {
        var completed: Int
        var total: Double
        var elapsed: Double
        var endToEnd: Double
        /// Ticks/s while 10–90 % of the ticks went through (the end-to-end rate when too few samples).
        var sustained: Double
        var agentCPUPerTick: Double
        var simulatorCPUPerTick: Double
    }

    /// Phase 1: every terminal plays its ticks as fast as the agent takes them; the clock stops when
    /// every session's BYE is acknowledged.
    func throughput(agent: ChildAgent, workload: AgentWorkload) async throws -> ThroughputFigures {
        let simulator = try TerminalSimulator(
            connection: SimulatorConnection(endpoint: agent.bridge),
            pacing: SimulatorPacing(stallTimeout: .seconds(120)), threads: 2,
            maxSessions: terminals + 16, priority: simulatorPriority,
            logger: Self.simulatorLogger)
        let cpuBefore = agent.cpuSeconds()
        let simulatorCPUBefore = Self.ownCPUSeconds()
        let start = ContinuousClock.now
        let sampling = Task { [http = agent.http] in await ChildAgent.sampleTicks(http: http, since: start) }
        let results = try await simulator.run(workload.scripts(dayOffset: 0))
        let elapsed = (ContinuousClock.now - start).seconds
        sampling.cancel()
        let agentCPU = agent.cpuSeconds() - cpuBefore
        let simulatorCPU = Self.ownCPUSeconds() - simulatorCPUBefore
        let total = Double(terminals * ticks)
        let endToEnd = total / elapsed
        return ThroughputFigures(
            completed: results.filter { $0.outcome == .completed }.count, total: total, elapsed: elapsed,
            endToEnd: endToEnd,
            // Without the thousand handshakes before the first tick and the BYEs after the last.
            sustained: Self.sustainedRate(await sampling.value) ?? endToEnd,
            agentCPUPerTick: agentCPU * 1e9 / total, simulatorCPUPerTick: simulatorCPU * 1e9 / total)
    }

    /// `--compare-feed`: the throughput phase through three kinds of agent, interleaved, each a fresh
    /// process and store: no feed, a feed to a live dashboard, a feed to a dashboard nobody listens for.
    func compareFeeds(workload: AgentWorkload, rules: String, directory: String, inProcess: Double) async throws {
        let pki = try BenchPKI(script: pkiScript, directory: directory + "/pki", agents: ["bench-agent"])
        let postgres = BenchPostgres(serverURL: try database ?? BenchDashboardCommand.scriptsPostgresURL())
        let (databaseName, databaseURL) = try postgres.createDatabase()
        defer { postgres.dropDatabase(databaseName) }
        let dashboard = try ChildDashboard(directory: directory, database: databaseURL, pki: pki)
        defer { dashboard.stop() }
        // A port nothing listens on: every connection attempt is refused, the outbox keeps everything.
        let unreachable = "https://localhost:9"
        let feeds: [(name: String, url: String?)] = [
            ("no feed", nil), ("feed to a live dashboard", dashboard.feedURL),
            ("feed to an unreachable dashboard", unreachable),
        ]
        print("dashboard pid \(dashboard.pid), feed \(dashboard.feed)")
        print("")
        print(
            "| round | agent | sustained ticks/s | / without a feed, same round | agent CPU per tick | feed outbox rows at the end | feed batches acknowledged |"
        )
        print("|---|---|---:|---:|---:|---:|---:|")
        for round in 1...max(1, repeats) {
            var baseline: Double?
            for (index, feed) in feeds.enumerated() {
                let data = directory + "/agent-\(round)-\(index)"
                try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
                let arguments =
                    feed.url.map { url in
                        [
                            "--feed-url", url, "--feed-certificate", pki.certificate("bench-agent"), "--feed-key",
                            pki.key("bench-agent"), "--feed-ca", pki.authority,
                        ]
                    } ?? []
                let agent = try ChildAgent(
                    directory: data, rules: rules, durability: durability, extraArguments: arguments)
                let figures = try await throughput(agent: agent, workload: workload)
                let metrics = try await agent.metrics()
                agent.stop()
                if baseline == nil { baseline = figures.sustained }
                let ratio = figures.sustained / (baseline ?? figures.sustained)
                print(
                    "| \(round) | \(feed.name) | \(Int(figures.sustained)) | \(String(format: "%.2f", ratio)) | "
                        + "\(String(format: "%.0f", figures.agentCPUPerTick)) ns | "
                        + "\(feed.url == nil ? "–" : String(Int(metrics["tidemark_feed_outbox_rows"] ?? 0))) | "
                        + "\(feed.url == nil ? "–" : String(Int(metrics["tidemark_feed_batches_total"] ?? 0))) |")
                // Each row as it is measured, also when the output is a file.
                fflush(nil)
            }
        }
        print("")
        print("in-process engine + risk core: \(Int(inProcess)) ticks/s")
    }

    /// The simulator's sessions log at info when they end: a thousand lines per phase, which would bury the figures.
    static var simulatorLogger: Logger {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        return logger
    }

    /// User + system CPU time of this process so far, exited threads included (`RUSAGE_SELF`).
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Ticks per second between the samples at 10 % and 90 % of the ticks the samples saw go
    /// through (nil with too few samples): the steady rate, without the sessions' handshakes and ends.
    static func sustainedRate(_ samples: [(seconds: Double, ticks: Double)]) -> Double? {
        guard let first = samples.first, let last = samples.last, last.ticks > first.ticks else { return nil }
        let span = last.ticks - first.ticks
        guard let low = samples.first(where: { $0.ticks - first.ticks >= 0.1 * span }),
            let high = samples.last(where: { $0.ticks - first.ticks <= 0.9 * span }),
            high.seconds - low.seconds > 0.05
        else { return nil }
        return (high.ticks - low.ticks) / (high.seconds - low.seconds)
    }

    static func percentiles(_ values: [Double]) -> String {
        [0.5, 0.9, 0.99, 1].map { percentile(values, $0) }.joined(separator: " / ")
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> String {
        guard !values.isEmpty else { return "–" }
        let sorted = values.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))
        return String(format: "%.2f", sorted[index])
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    var milliseconds: Double { seconds * 1_000 }
}

extension SimulatorThreadPriority: ExpressibleByArgument, CustomStringConvertible {
    public init?(argument: String) {
        switch argument {
        case "idle": self = .idle
        case "normal": self = .normal
        default:
            guard let value = Int32(argument) else { return nil }
            self = .nice(value)
        }
    }

    public var description: String {
        switch self {
        case .idle: "idle"
        case .normal: "normal"
        case .nice(let value): "nice \(value)"
        }
    }
}
