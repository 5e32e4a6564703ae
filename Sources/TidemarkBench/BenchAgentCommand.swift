import Agent
import AgentFold
import ArgumentParser
import Bridge
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import RiskCore
import Simulator
import Synchronization
import TidemarkProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// `tidemark bench agent`: the whole agent (a child `tidemark agent` process: bridge, equity
/// engine, risk core, SQLite commits, ACKs, HTTP) under simulated terminals on loopback.
struct BenchAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "The whole agent under 1,000 simulated terminals: ticks/s, breach latency to long poll and SSE, memory.",
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

    @Option(name: .customLong("timer-ms"), help: "Latency phase, steady background: each terminal sends the ticks due in one timer period together, as TidemarkEA does on each timer pass (InpTimerMilliseconds, 200 by default).")
    var timerMilliseconds: Int = 200

    @Option(name: .long, help: "Breach probes in the latency phase (0: no latency phase).")
    var probes: Int = 200

    @Option(name: .long, help: "Loads during the latency phase, as fractions of the measured throughput, comma-separated (one measurement each).")
    var load: String = "0.01,0.1,0.5"

    var loads: [Double] { load.split(separator: ",").compactMap { Double($0) }.filter { $0 > 0 } }

    @Option(name: .long, help: "Latency phase background: steady (each terminal at the day's mean tick rate, terminals staggered) or recorded (the file's own tick times, every terminal in lockstep).")
    var background: Background = .steady

    enum Background: String, ExpressibleByArgument { case steady, recorded }

    @Option(name: .customLong("simulator-priority"), help: "The simulator's threads: idle (SCHED_IDLE: only CPU time the agent does not want, as if the terminals ran elsewhere), a nice value (e.g. 10), or normal (equal shares).")
    var simulatorPriority: SimulatorThreadPriority = .idle

    @Option(name: .long, help: "Store durability: full or normal.")
    var durability: String = "full"

    @Option(name: .customLong("ticks-file"), help: "Tick CSV (time_utc_ms,bid,ask,…).")
    var ticksFile: String = "/work/shared/data/ticks/EURUSD-2019-02-04.csv"

    func run() async throws {
        let source = Array(try TickFile.load(ticksFile).prefix(ticks))
        guard source.count == ticks else { throw ValidationError("need \(ticks) ticks in \(ticksFile)") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-bench-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        guard !loads.isEmpty else { throw ValidationError("--load needs fractions above 0, e.g. 0.01,0.1,0.5") }
        let workload = AgentWorkload(terminals: terminals, ticks: source, batch: batch, probes: probes * loads.count)
        let rules = directory + "/rules.json"
        try workload.rules().write(to: URL(fileURLWithPath: rules))

        print("tidemark bench agent: \(terminals) terminals × \(ticks) ticks (\(batch) per message), durability \(durability), simulator priority \(simulatorPriority)")
        let inProcess = workload.inProcessTicksPerSecond()
        print("in-process engine + risk core (AgentCore, no I/O): \(Int(inProcess)) ticks/s")

        let agent = try ChildAgent(directory: directory, rules: rules, durability: durability)
        defer { agent.stop() }
        print("agent pid \(agent.pid), bridge \(agent.bridge), http \(agent.http), rules applied")

        // 1. Throughput.
        let simulator = try TerminalSimulator(connection: SimulatorConnection(endpoint: agent.bridge),
                                              pacing: SimulatorPacing(stallTimeout: .seconds(120)), threads: 2,
                                              maxSessions: terminals + 16, priority: simulatorPriority,
                                                  logger: Self.simulatorLogger)
        let cpuBefore = agent.cpuSeconds()
        let simulatorCPUBefore = Self.ownCPUSeconds()
        let start = ContinuousClock.now
        let sampling = Task { [http = agent.http] in await ChildAgent.sampleTicks(http: http, since: start) }
        let results = try await simulator.run(workload.scripts(dayOffset: 0))
        let elapsed = ContinuousClock.now - start
        sampling.cancel()
        let agentCPU = agent.cpuSeconds() - cpuBefore
        let simulatorCPU = Self.ownCPUSeconds() - simulatorCPUBefore
        let store = try await agent.storeFigures()
        let completed = results.filter { $0.outcome == .completed }.count
        let total = Double(terminals * ticks)
        let endToEnd = total / elapsed.seconds
        // Without the thousand handshakes before the first tick and the BYEs after the last.
        let throughput = Self.sustainedRate(await sampling.value) ?? endToEnd
        print("")
        print("| measure | value |")
        print("|---|---:|")
        print("| sessions completed | \(completed) / \(terminals) |")
        print("| ticks through the whole agent (committed, acknowledged), first connection to last BYE acknowledged | \(Int(total)) in \(String(format: "%.2f", elapsed.seconds)) s: \(Int(endToEnd))/s |")
        print("| sustained ticks/s through the agent (while 10–90 % of the ticks went through) | \(Int(throughput)) |")
        print("| in-process engine + risk core ticks/s | \(Int(inProcess)) |")
        print("| in-process / agent (sustained) | \(String(format: "%.2f", inProcess / throughput))× |")
        // The machine is shared with the simulator: CPU time per tick says what the agent costs.
        print("| agent CPU per tick (all threads: bridge, writer, store, ZeroMQ I/O) | \(String(format: "%.0f", agentCPU * 1e9 / total)) ns |")
        // The other half of the two cores: this process does nothing but simulate during phase 1.
        print("| simulator CPU per tick (this process: poll threads, ZeroMQ I/O thread) | \(String(format: "%.0f", simulatorCPU * 1e9 / total)) ns |")
        print("| in-process engine + risk core CPU per tick | \(String(format: "%.0f", 1e9 / inProcess)) ns |")
        print("| store commits, messages per commit, mean commit time | \(store.commits), \(store.messages / max(1, store.commits)), \(String(format: "%.2f", store.meanCommitMilliseconds)) ms |")
        print("| agent resident memory after phase 1 | \(agent.residentMegabytes()) MB |")

        // 2. Latency under load: at each load in turn, the terminals stream at that fraction of the
        // measured throughput while the probes breach, one at a time; the load lasts until the last probe.
        guard probes > 0 else { return }
        let watcher = try EventWatcher(http: agent.http, token: agent.token)
        try await watcher.start()
        let probeRunner = try ProbeRunner(endpoint: agent.bridge)
        var probeSockets: [ZMQSocket] = []
        print("")
        print("| latency phase load (\(self.background.rawValue)): share of the throughput, agent ticks/s during the probes, per terminal | breach → long poll p50 / p90 / p99 / max | breach → SSE p50 / p90 / p99 / max |")
        print("|---|---:|---:|")
        for (level, fraction) in loads.enumerated() {
            let speed = max(1, fraction * throughput / workload.dataTicksPerSecondAllTerminals)
            // Each probe takes ~25 ms: enough ticks for all of them, the warm-up and some slack.
            let perTerminal = speed * workload.dataTicksPerSecondAllTerminals / Double(terminals)
            let needed = Int((perTerminal * (Double(probes) * 0.04 + 5)).rounded(.up))
            // A timer pass sends the ticks due since the last one: the per-terminal rate times the period.
            let messageTicks = background == .steady ? min(batch, max(1, Int((perTerminal * Double(timerMilliseconds) / 1_000).rounded()))) : batch
            let scripts = background == .steady
                ? workload.steadyScripts(dayOffset: 1 + level, count: needed, batch: messageTicks)
                : workload.scripts(dayOffset: 1 + level)
            let simulator = try TerminalSimulator(connection: SimulatorConnection(endpoint: agent.bridge),
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
            if streaming < terminals { print("| terminals that had finished before the last probe (load fell) | \(terminals - streaming) | |") }
            print("| \(String(format: "%g", fraction * 100)) %: \(Int(loadRate)) ticks/s, \(String(format: "%.1f", loadRate / Double(terminals))) per terminal, \(messageTicks) per message (n=\(longPoll.count)) "
                  + "| \(Self.percentiles(longPoll)) ms | \(Self.percentiles(sse)) ms |")
        }
        watcher.stop()
        probeSockets.removeAll()
        print("")
        print("agent resident memory after phase 2: \(agent.residentMegabytes()) MB")
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
              high.seconds - low.seconds > 0.05 else { return nil }
        return (high.ticks - low.ticks) / (high.seconds - low.seconds)
    }

    static func percentiles(_ values: [Double]) -> String {
        [0.5, 0.9, 0.99, 1].map { percentile(values, $0) }.joined(separator: " / ")
    }

    static func percentile(_ values: [Double], _ p: Double) -> String {
        guard !values.isEmpty else { return "–" }
        let sorted = values.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))
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

/// The terminals' scripts, the probes' trackers and the in-process reference.
struct AgentWorkload: Sendable {
    let terminals: Int
    let ticks: [Tick]
    let batch: Int
    let probes: Int
    static let server = "Bench"
    static let offset: Int64 = 2 * 3_600_000   // UTC → broker time (UTC+2)

    static func account(_ index: Int) -> AccountID { AccountID(server: server, login: Int64(1_000 + index)) }
    static func probeAccount(_ index: Int) -> AccountID { AccountID(server: server, login: Int64(900_000 + index)) }
    static func probeTracker(_ index: Int) -> String { "probe-\(index)" }

    static let spec = SymbolSpec(name: "EURUSD", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001",
                                 tickValue: 1, profitCurrency: "USD", marginCurrency: "EUR", baseCurrency: "EUR")

    static func hello(_ account: AccountID) -> Hello {
        let (server, login) = (server, Int64(account.rawValue.split(separator: ":").last!)!)
        return Hello(platform: .mt5, terminalBuild: 4000, login: login, server: server, company: "Bench", currency: "USD",
                     currencyDigits: 2, marginMode: .retailHedging, leverage: 100, eaVersion: "bench",
                     brokerUTCOffsetSeconds: 7_200, sessionID: "")
    }

    static func snapshot(at time: BrokerTime, quote: Tick) -> Snapshot {
        let position = Position(ticket: 1, symbol: "EURUSD", side: .buy, volume: 1, openPrice: quote.bid, openTime: time,
                                swap: .zero, commission: .zero)
        return Snapshot(account: AccountReport(time: time, balance: 10_000, credit: .zero, equity: 10_000, margin: .zero),
                        symbols: [spec], positions: [position], quotes: [quote])
    }

    /// Broker-time ticks, `days` later than the file's.
    func shifted(days: Int) -> [Tick] {
        ticks.map { Tick(symbol: $0.symbol, time: BrokerTime(milliseconds: $0.time.milliseconds + Self.offset + Int64(days) * 86_400_000),
                         bid: $0.bid, ask: $0.ask) }
    }

    func scripts(dayOffset: Int) -> [TerminalScript] {
        let local = shifted(days: dayOffset)
        var stream: [TerminalMessage] = []
        var index = 1
        while index < local.count {
            stream.append(.ticks(Array(local[index..<min(local.count, index + batch)])))
            index += batch
        }
        let snapshot = Self.snapshot(at: local[0].time, quote: local[0])
        return (0..<terminals).map { terminal in
            TerminalScript(hello: Self.hello(Self.account(terminal)), initialSnapshot: snapshot, stream: stream)
        }
    }

    /// The latency phase's background: the same prices, but each terminal at a steady rate (the
    /// day's mean tick interval) and the terminals staggered across one message interval, so the
    /// load is the chosen fraction of the throughput at every moment: an open-loop constant-rate
    /// load, as latency is usually measured. (With the recorded times, a thousand terminals burst
    /// in lockstep at the market's busy moments, and replayed hundreds of times faster than real
    /// time those bursts exceed any capacity for a while: that measures a queue, not the agent.)
    /// - Parameters:
    ///   - count: ticks per terminal (the file's prices over and over).
    ///   - batch: ticks per message, all due at the first one's time (an EA's timer pass).
    func steadyScripts(dayOffset: Int, count: Int, batch: Int) -> [TerminalScript] {
        let local = shifted(days: dayOffset)
        let start = local[0].time.milliseconds
        let interval = Double(local[local.count - 1].time.milliseconds - start) / Double(max(1, local.count - 1))
        let snapshot = Self.snapshot(at: local[0].time, quote: local[0])
        // Terminals in the same phase share one stream (one array, encoded once by the simulator):
        // a thousand distinct streams of a high load are gigabytes of ticks to build and encode.
        let phases = min(terminals, Self.steadyPhases)
        let streams = (0..<phases).map { group in
            let phase = interval * Double(batch) * Double(group) / Double(phases)
            // The first message sets the pacing origin at the same broker time for every terminal.
            var stream: [TerminalMessage] = [.heartbeat(BrokerTime(milliseconds: start))]
            var index = 1
            while index <= count {
                let upper = min(count + 1, index + batch)
                // The first batch is due at the group's phase: every terminal streams within one message interval.
                let due = BrokerTime(milliseconds: start + Int64((Double(index - 1) * interval + phase).rounded()))
                stream.append(.ticks((index..<upper).map {
                    let price = local[1 + ($0 - 1) % (local.count - 1)]
                    return Tick(symbol: price.symbol, time: due, bid: price.bid, ask: price.ask)
                }))
                index = upper
            }
            return stream
        }
        return (0..<terminals).map { terminal in
            TerminalScript(hello: Self.hello(Self.account(terminal)), initialSnapshot: snapshot, stream: streams[terminal % phases])
        }
    }

    /// Distinct send phases of the steady background: a thousand terminals send in 100 groups of
    /// ten, spread evenly over one message interval (2 ms apart with a 200 ms timer).
    static let steadyPhases = 100

    /// Tick data rate of all terminals at 1× (ticks per broker second).
    var dataTicksPerSecondAllTerminals: Double {
        let span = Double(ticks.last!.time.milliseconds - ticks.first!.time.milliseconds) / 1_000
        return Double(ticks.count * terminals) / max(1, span)
    }

    /// A lifetime tracker per terminal whose threshold is never reached (the risk core works on
    /// every tick, no event), and one per probe that its breach tick crosses.
    func rules() throws -> Data {
        var declarations: [[String: Any]] = []
        for terminal in 0..<terminals {
            declarations.append(["action": "createTracker", "tracker": [
                "id": "load-\(terminal)", "accountId": Self.account(terminal).rawValue, "name": "load", "period": "day",
                "absoluteDrawdownThreshold": 1_000_000,
            ] as [String: Any]])
        }
        for probe in 0..<probes {
            declarations.append(["action": "createTracker", "tracker": [
                "id": Self.probeTracker(probe), "accountId": Self.probeAccount(probe).rawValue, "name": "probe", "period": "lifetime",
                "absoluteDrawdownThreshold": 100,
            ] as [String: Any]])
        }
        return try JSONSerialization.data(withJSONObject: ["declarations": declarations])
    }

    /// The same messages through AgentCore in this process: the engine + risk core figure.
    func inProcessTicksPerSecond() -> Double {
        var core = AgentCore()
        var effects = AgentCore.Effects()
        for terminal in 0..<terminals {
            _ = try? core.declare(.createTracker(TrackerDefinition(id: "load-\(terminal)", accountId: Self.account(terminal), name: "load",
                                                                period: .day, absoluteDrawdownThreshold: 1_000_000)), into: &effects)
        }
        let scripts = scripts(dayOffset: 0)
        var deliveries: [BridgeDelivery] = []
        for (terminal, script) in scripts.enumerated() {
            let account = Self.account(terminal)
            deliveries.append(BridgeDelivery(account: account, sessionID: "s", sequence: 1, message: .hello(script.hello)))
            deliveries.append(BridgeDelivery(account: account, sessionID: "s", sequence: 2, message: .snapshot(script.initialSnapshot)))
        }
        for message in scripts[0].stream.indices {
            for terminal in 0..<terminals {
                deliveries.append(BridgeDelivery(account: Self.account(terminal), sessionID: "s", sequence: UInt64(message + 3),
                                                 message: scripts[terminal].stream[message]))
            }
        }
        let wallClock = Int64(Date().timeIntervalSince1970 * 1_000)
        let start = ContinuousClock.now
        for delivery in deliveries {
            core.apply(delivery, wallClock: wallClock, into: &effects)
            if effects.riskOutputs.count > 1_000 || effects.latestObservation.count > 10_000 { effects = AgentCore.Effects() }
        }
        let throughput = Double(terminals * ticks.count) / (ContinuousClock.now - start).seconds
        let encodeStart = ContinuousClock.now
        let checkpoint = (try? core.checkpoint()) ?? Data()
        print("checkpoint of that core: \(checkpoint.count) bytes, encoded in \(String(format: "%.1f", (ContinuousClock.now - encodeStart).milliseconds)) ms")
        return throughput
    }
}

/// A `tidemark agent` child process (this executable), on loopback with free ports.
final class ChildAgent {
    let process = Process()
    let token = "tm_bench_admin_token_0123456789abcdef"
    let bridge: String
    let http: String
    var pid: Int32 { process.processIdentifier }

    init(directory: String, rules: String, durability: String) throws {
        let output = directory + "/agent.out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/agent.err", contents: nil)
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0]
                                    : FileManager.default.currentDirectoryPath + "/" + CommandLine.arguments[0])
        process.arguments = ["agent", "--bridge", "tcp://127.0.0.1:*", "--http", "127.0.0.1:0", "--data", directory + "/data",
                             "--rules", rules, "--durability", durability, "--log-level", "notice"]
        process.environment = ProcessInfo.processInfo.environment.merging(["TIDEMARK_ADMIN_TOKEN": token]) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: directory + "/agent.err")
        try process.run()
        var bridge: String?
        var http: String?
        let deadline = ContinuousClock.now + .seconds(60)
        while (bridge == nil || http == nil), ContinuousClock.now < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                if line.hasPrefix("bridge listening on ") { bridge = String(line.dropFirst(20)) }
                if line.hasPrefix("http listening on ") { http = String(line.dropFirst(18)) }
            }
            usleep(20_000)
        }
        guard let bridge, let http else { throw ValidationError("the agent did not start (see \(directory)/agent.err)") }
        self.bridge = bridge
        self.http = http
        // The rules (one tracker per terminal and probe) go in before any input: wait for them, so
        // that the throughput clock does not include them.
        while ContinuousClock.now < deadline + .seconds(240),
              !((try? String(contentsOfFile: directory + "/agent.err", encoding: .utf8)) ?? "").contains("rules applied") {
            usleep(50_000)
        }
    }

    /// User + system CPU time the agent process has used.
    func cpuSeconds() -> Double {
        // /proc/PID/stat: fields 14 and 15 (utime, stime) in clock ticks, after the ")" of the name.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The agent's `/metrics`, by series name (labels included).
    func metrics() async throws -> [String: Double] { try await Self.metrics(http: http) }

    /// The agent's `tidemark_ticks_total` every 10 ms, with the seconds since `start`, until cancelled.
    static func sampleTicks(http: String, since start: ContinuousClock.Instant) async -> [(seconds: Double, ticks: Double)] {
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
        return (Int(commits), Int(values["tidemark_bridge_messages_total"] ?? 0), commits > 0 ? seconds * 1_000 / commits : 0)
    }

    func residentMegabytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return -1 }
        return kilobytes / 1_024
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// Probe terminals: each connects, says HELLO and SNAPSHOT (1 lot bought at 1.10000), then sends
/// the one tick that drops equity by 1,000 USD (threshold 100).
struct ProbeRunner {
    let context: ZMQContext
    let endpoint: String

    init(endpoint: String) throws {
        context = try ZMQContext()
        self.endpoint = endpoint
    }

    /// Returns the instant the breach tick left, and the socket (keep it open: closing it with
    /// LINGER 0 would drop frames not yet on the wire).
    /// - Parameter time: the probe's broker time: later than the background's (the accounts share the
    ///   server's clock, and inputs older than an account's clock at its HELLO count as resent).
    func breach(probe: Int, at time: BrokerTime, workload: AgentWorkload) throws -> (ContinuousClock.Instant, ZMQSocket) {
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.connect(endpoint)
        let account = AgentWorkload.probeAccount(probe)
        let session = "probe-\(probe)-\(UInt32.random(in: 0...UInt32.max))"
        var hello = AgentWorkload.hello(account)
        hello.sessionID = session
        let quote = Tick(symbol: "EURUSD", time: time, bid: "1.10000", ask: "1.10002")
        let drop = Tick(symbol: "EURUSD", time: BrokerTime(milliseconds: time.milliseconds + 500), bid: "1.09000", ask: "1.09002")
        try send(.hello(hello), sequence: 1, session: session, on: socket)
        try send(.snapshot(AgentWorkload.snapshot(at: time, quote: quote)), sequence: 2, session: session, on: socket)
        // Measure from a live session, as an EA's breach would be: connected and welcomed (the
        // connection and handshake are not part of a tick's latency).
        try socket.setOption(.receiveTimeout, 10_000)
        while true {
            guard case .welcome = try WireDecoder.decodeAgent(try socket.receive()).message else { continue }
            break
        }
        let sent = ContinuousClock.now
        try send(.ticks([drop]), sequence: 3, session: session, on: socket)
        try send(.bye(reason: "probe done"), sequence: 4, session: session, on: socket)
        return (sent, socket)
    }

    private func send(_ message: TerminalMessage, sequence: UInt64, session: String, on socket: ZMQSocket) throws {
        var bytes: [UInt8] = []
        WireEncoder.encode(Envelope(sessionID: session, sequence: sequence, message: message), into: &bytes)
        try socket.send(bytes)
    }
}

/// A long-poll client and an SSE client, noting when each probe's event reaches them.
final class EventWatcher: Sendable {
    let http: String
    let token: String
    private struct State {
        var arrivals: [String: (poll: ContinuousClock.Instant?, stream: ContinuousClock.Instant?)] = [:]
        var waiter: (tracker: String, continuation: CheckedContinuation<Void, Never>)?
    }

    private let state = Mutex(State())
    private let stopped = Atomic<Bool>(false)

    init(http: String, token: String) throws { self.http = http; self.token = token }

    /// Both clients read on threads of their own over plain sockets (an HTTP library's own
    /// scheduling would be measured too), each on one keep-alive connection.
    func start() async throws {
        Thread { [self] in readLongPolls() }.start()
        Thread { [self] in readServerSentEvents() }.start()
        try await Task.sleep(for: .milliseconds(300))
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Waits until both clients saw the probe's event (or the timeout), without polling: the
    /// bench shares the two cores with the agent, and a waiting loop would take CPU from it.
    func arrival(of tracker: String, timeout: Duration) async -> (ContinuousClock.Instant?, ContinuousClock.Instant?) {
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            resumeWaiter(for: tracker)
        }
        defer { timer.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let seen = state.withLock { state in
                if let seen = state.arrivals[tracker], seen.poll != nil, seen.stream != nil { return true }
                state.waiter = (tracker, continuation)
                return false
            }
            if seen { continuation.resume() }
        }
        let seen = state.withLock { $0.arrivals[tracker] }
        return (seen?.poll, seen?.stream)
    }

    /// Notes when a client saw the tracker's event; wakes the waiter once both have.
    private func saw(_ tracker: String, at time: ContinuousClock.Instant, byLongPoll: Bool) {
        let complete = state.withLock { state in
            var seen = state.arrivals[tracker] ?? (nil, nil)
            if byLongPoll { seen.poll = seen.poll ?? time } else { seen.stream = seen.stream ?? time }
            state.arrivals[tracker] = seen
            return seen.poll != nil && seen.stream != nil
        }
        if complete { resumeWaiter(for: tracker) }
    }

    private func resumeWaiter(for tracker: String) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, waiter.tracker == tracker else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// The MetaApi long poll, `GET /users/current/tracker-events/stream?previousSequenceNumber=N`,
    /// one request after another; each response's events are seen when its last byte arrives.
    private func readLongPolls() {
        guard let descriptor = connectToAgent() else { return }
        defer { close(descriptor) }
        var after: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopped.load(ordering: .relaxed) {
            let request = "GET /users/current/tracker-events/stream?previousSequenceNumber=\(after) HTTP/1.1\r\n"
                + "Host: \(http)\r\nauth-token: \(token)\r\n\r\n"
            guard request.withCString({ send(descriptor, $0, strlen($0), 0) }) > 0 else { return }
            var response: [UInt8] = []
            var body: (start: Int, length: Int)?
            while body.map({ response.count < $0.start + $0.length }) ?? true {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                guard count > 0 else { return }
                response += buffer[0..<count]
                if body == nil, let headers = Self.headers(in: response) {
                    guard let length = headers.contentLength else {
                        print("long poll: a response without Content-Length; the long-poll client stops")
                        return
                    }
                    body = (headers.end, length)
                }
            }
            let now = ContinuousClock.now
            let (start, length) = body!
            let events = (try? JSONSerialization.jsonObject(with: Data(response[start..<(start + length)]))) as? [[String: Any]] ?? []
            for event in events {
                if let number = event["sequenceNumber"] as? Int { after = max(after, UInt64(number)) }
                if let tracker = event["trackerId"] as? String {
                    saw(tracker, at: now, byLongPoll: true)
                }
            }
        }
    }

    /// Where the header ends and the Content-Length it gives, once `response` holds the whole header.
    private static func headers(in response: [UInt8]) -> (end: Int, contentLength: Int?)? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = response.indices.dropLast(3).first(where: { response[$0..<($0 + 4)].elementsEqual(separator) }) else { return nil }
        let text = String(decoding: response[..<end], as: UTF8.self).lowercased()
        let length = text.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
        return (end + 4, length)
    }

    /// `GET /users/current/events/stream?kind=tracker` (chunks scanned for `"trackerId":"…"`; each
    /// event is one write, so one chunk).
    private func readServerSentEvents() {
        guard let descriptor = connectToAgent() else { return }
        defer { close(descriptor) }
        let request = "GET /users/current/events/stream?kind=tracker HTTP/1.1\r\nHost: \(http)\r\nauth-token: \(token)\r\nAccept: text/event-stream\r\n\r\n"
        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var pending = ""
        while !stopped.load(ordering: .relaxed) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            let now = ContinuousClock.now
            pending += String(decoding: buffer[0..<count], as: UTF8.self)
            while let range = pending.range(of: "\"trackerId\":\"") {
                let rest = pending[range.upperBound...]
                guard let end = rest.firstIndex(of: "\"") else { break }
                let tracker = String(rest[..<end])
                saw(tracker, at: now, byLongPoll: false)
                pending = String(rest[end...])
            }
            if pending.count > 1_000_000 { pending = "" }
        }
    }

    /// A TCP connection to the agent's HTTP address, or nil.
    private func connectToAgent() -> Int32? {
        let parts = http.split(separator: ":")
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(parts[1])!).bigEndian
        inet_pton(AF_INET, String(parts[0]), &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(descriptor); return nil }
        return descriptor
    }
}
