import ArgumentParser
import Bridge
import Dispatch
import Logging
import Synchronization
import TidemarkProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tidemark bench bridge`: how fast the bridge decodes and sequence-checks frames, next to what
/// raw libzmq moves on the same machine in the same run.
struct BenchBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract: "Bridge throughput over TCP loopback, beside raw libzmq; batched ticks/s on one core.",
        discussion: """
        1. Messages/s decoded and sequence-checked by a real BridgeServer (ROUTER on tcp://127.0.0.1) \
        from 1 and from 50 concurrent simulated terminals (DEALER sockets sending one-tick TICKS \
        frames built from real EURUSD ticks), counted when the agent-side consumer has received them; \
        beside libzmq's raw DEALER→ROUTER throughput for the same frame size, measured in the same run.
        2. Ticks/s from batched TICKS frames over TCP loopback from one terminal.
        3. Ticks/s from batched TICKS frames decoded and sequence-checked on one core, no sockets.
        Build with -c release for meaningful figures.
        """
    )

    @Option(name: .long, help: "One-tick frames per run (split over the terminals).")
    var messages: Int = 1_000_000

    @Option(name: .long, help: "Concurrent terminals, comma-separated.")
    var terminals: String = "1,50"

    @Option(name: .customLong("ticks-per-message"), help: "Ticks per frame in the batched runs.")
    var ticksPerMessage: Int = 50

    @Option(name: .customLong("ticks-file"), help: "Tick CSV (time_utc_ms,bid,ask,…).")
    var ticksFile: String = "/work/shared/data/ticks/EURUSD-2019-02-04.csv"

    @Option(name: .long, help: "Repeat each measurement and report the best (noise on shared machines).")
    var repeats: Int = 3

    @Option(name: .long, help: "What to run, comma-separated: probe, raw, bridge, batched, core (all by default; e.g. 'bridge' alone to profile it).")
    var phases: String = "probe,raw,bridge,batched,core"

    func run() async throws {
        let ticks = try TickFile.load(ticksFile)
        print("ticks: \(ticks.count) from \(ticksFile)")
        let terminalCounts = terminals.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        let selected = Set(phases.split(separator: ",").map { String($0).trimmed(of: " ") })

        print("")
        print("| terminals | frame bytes | bridge msg/s | raw libzmq, same senders, msg/s | bridge / raw | raw libzmq probe (1 DEALER) msg/s |")
        print("|---:|---:|---:|---:|---:|---:|")
        var cpuLines: [String] = []
        for count in terminalCounts where !selected.isDisjoint(with: ["probe", "raw", "bridge"]) {
            let perTerminal = max(1, messages / count)
            let workload = BenchWorkload(terminals: count, messagesPerTerminal: perTerminal, ticksPerMessage: 1, ticks: ticks)
            var best = 0.0, bestRaw = 0.0, bestProbe = 0.0
            var bridgeCPU: BenchThreadCPU?, rawCPU: BenchThreadCPU?
            for _ in 0..<max(1, repeats) {
                if selected.contains("probe") {
                    bestProbe = max(bestProbe, try ZMQThroughputProbe.measureRawDealerToRouter(
                        messageSize: workload.averageFrameSize, count: workload.totalMessages))
                }
                if selected.contains("raw") {
                    let (rate, cpu) = try await workload.measureRawOverTCP()
                    bestRaw = max(bestRaw, rate)
                    rawCPU = BenchThreadCPU.leaner(rawCPU, cpu)
                }
                if selected.contains("bridge") {
                    let (rate, cpu) = try await workload.measureOverTCP()
                    best = max(best, rate)
                    bridgeCPU = BenchThreadCPU.leaner(bridgeCPU, cpu)
                }
            }
            print("| \(count) | \(workload.averageFrameSize) | \(Self.format(best)) | \(Self.format(bestRaw)) | "
                  + "\(bestRaw > 0 ? String(format2: best / bestRaw) : "-") | \(Self.format(bestProbe)) |")
            if let rawCPU { cpuLines.append("\(count) terminal(s), raw:    \(rawCPU.summary(per: workload.totalMessages))") }
            if let bridgeCPU { cpuLines.append("\(count) terminal(s), bridge: \(bridgeCPU.summary(per: workload.totalMessages))") }
        }
        if !cpuLines.isEmpty {
            print("")
            print("CPU per message by thread, ns (the leanest run of each; all threads of the process):")
            for line in cpuLines { print(line) }
        }
        guard !selected.isDisjoint(with: ["batched", "core"]) else { return }

        print("")
        let batchedMessages = max(1, messages / ticksPerMessage)
        let batched = BenchWorkload(terminals: 1, messagesPerTerminal: batchedMessages, ticksPerMessage: ticksPerMessage, ticks: ticks)
        var bestTCP = 0.0
        for _ in 0..<max(1, repeats) where selected.contains("batched") { bestTCP = max(bestTCP, try await batched.measureOverTCP().rate) }
        if selected.contains("batched") { print("batched over TCP (1 terminal, \(ticksPerMessage) ticks/frame, \(batched.averageFrameSize) bytes): "
              + "\(Self.format(bestTCP * Double(ticksPerMessage))) ticks/s") }
        guard selected.contains("core") else { return }

        var bestCore = 0.0
        for _ in 0..<max(1, repeats) { bestCore = max(bestCore, batched.measureDecodeOnOneCore()) }
        print("batched on one core (decode + sequence check, no sockets): \(Self.format(bestCore)) ticks per CPU-second")
        let single = BenchWorkload(terminals: 1, messagesPerTerminal: messages, ticksPerMessage: 1, ticks: ticks)
        var bestSingle = 0.0
        for _ in 0..<max(1, repeats) { bestSingle = max(bestSingle, single.measureDecodeOnOneCore()) }
        print("one-tick frames on one core (decode + sequence check, no sockets): \(Self.format(bestSingle)) msg per CPU-second")
    }

    static func format(_ value: Double) -> String {
        let rounded = Int(value.rounded())
        var digits = Array(String(rounded))
        var index = digits.count - 3
        while index > 0 {
            digits.insert(",", at: index)
            index -= 3
        }
        return String(digits)
    }
}

extension String {
    /// Two decimals without Foundation.
    fileprivate init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

/// The bench's sender threads and their context.
struct BenchSenders {
    let context: ZMQContext
    let threads: [ZMQSocketThread]

    func stop() async throws {
        context.shutdown()
        for thread in threads { try await thread.value }
    }
}

/// Hands the raw router's bound endpoint to the caller.
final class BenchEndpoint: Sendable {
    private let endpoint = Mutex<String?>(nil)
    private let bound = DispatchSemaphore(value: 0)

    func set(_ value: String) {
        endpoint.withLock { $0 = value }
        bound.signal()
    }

    func waitForEndpoint() -> String {
        bound.wait()
        return endpoint.withLock { $0 } ?? ""
    }
}

/// Pre-encoded frames for N terminals, so the senders do nothing but send.
struct BenchWorkload: Sendable {
    let terminals: Int
    let messagesPerTerminal: Int
    let ticksPerMessage: Int
    /// Per terminal: HELLO, SNAPSHOT, then the TICKS frames.
    let frames: [[[UInt8]]]

    init(terminals: Int, messagesPerTerminal: Int, ticksPerMessage: Int, ticks: [Tick]) {
        self.terminals = terminals
        self.messagesPerTerminal = messagesPerTerminal
        self.ticksPerMessage = ticksPerMessage
        var all: [[[UInt8]]] = []
        for terminal in 0..<terminals {
            let session = "bench-\(terminal)"
            let hello = Hello(platform: .mt5, terminalBuild: 4000, login: Int64(terminal + 1), server: "Bench", company: "Bench",
                              currency: "USD", currencyDigits: 2, marginMode: .retailHedging, leverage: 100, eaVersion: "bench",
                              brokerUTCOffsetSeconds: 7_200, sessionID: session)
            let snapshot = Snapshot(
                account: AccountReport(time: ticks[0].time, balance: 10_000, credit: 0, equity: 10_000, margin: 0),
                symbols: [SymbolSpec(name: "EURUSD", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001",
                                     tickValue: 1, profitCurrency: "USD", marginCurrency: "EUR", baseCurrency: "EUR")],
                positions: [], quotes: [ticks[0]])
            var frames: [[UInt8]] = [
                WireEncoder.encode(Envelope(sessionID: session, sequence: 1, message: TerminalMessage.hello(hello))),
                WireEncoder.encode(Envelope(sessionID: session, sequence: 2, message: TerminalMessage.snapshot(snapshot))),
            ]
            frames.reserveCapacity(messagesPerTerminal + 2)
            var next = terminal * 7_919 % ticks.count
            for index in 0..<messagesPerTerminal {
                var batch: [Tick] = []
                batch.reserveCapacity(ticksPerMessage)
                for _ in 0..<ticksPerMessage {
                    batch.append(ticks[next])
                    next = (next + 1) % ticks.count
                }
                frames.append(WireEncoder.encode(Envelope(sessionID: session, sequence: UInt64(index + 3),
                                                          message: TerminalMessage.ticks(batch))))
            }
            all.append(frames)
        }
        self.frames = all
    }

    /// TICKS frames over all terminals (HELLO and SNAPSHOT not counted).
    var totalMessages: Int { terminals * messagesPerTerminal }

    var averageFrameSize: Int {
        let sample = frames[0].dropFirst(2)
        return sample.reduce(0) { $0 + $1.count } / max(1, sample.count)
    }

    /// TICKS messages per second through a real BridgeServer: from the first send until the consumer
    /// of `deliveries` has received the last one; and the CPU the process's threads spent meanwhile.
    func measureOverTCP() async throws -> (rate: Double, cpu: BenchThreadCPU) {
        var logger = Logger(label: "bench.bridge")
        logger.logLevel = .error
        let server = try BridgeServer(configuration: BridgeServerConfiguration(endpoint: "tcp://127.0.0.1:*"), logger: logger)
        let endpoint = try server.start()
        let expected = terminals * (messagesPerTerminal + 2)
        let clock = ContinuousClock()
        let before = BenchThreadCPU.now()
        let start = clock.now
        let senders = try startSenders(to: endpoint)
        var received = 0
        var end = clock.now
        for await batch in server.deliveryBatches {
            received += batch.count
            if received >= expected {
                end = clock.now
                break
            }
        }
        let cpu = BenchThreadCPU.now().since(before)
        try await senders.stop()
        server.stop()
        try await server.waitUntilStopped()
        return (Double(totalMessages) / ((end - start) / .seconds(1)), cpu)
    }

    /// The same senders and frames into a ROUTER that only receives (no decoding, no sessions):
    /// libzmq's raw throughput for exactly this traffic, as the ceiling for ``measureOverTCP()``.
    func measureRawOverTCP() async throws -> (rate: Double, cpu: BenchThreadCPU) {
        let expected = terminals * (messagesPerTerminal + 2)
        let routerContext = try ZMQContext()
        let bound = BenchEndpoint()
        // The receiver thread ends before the totals are read: it reports its own CPU.
        let receiverCPU = Mutex<UInt64>(0)
        let receiver = try ZMQSocketThread(name: "bench-raw-router") {
            let router = try ZMQSocket(context: routerContext, type: .router)
            try router.setOption(.receiveHighWaterMark, BridgeServerConfiguration(endpoint: "").receiveHighWaterMark)
            try router.bind("tcp://127.0.0.1:*")
            bound.set(try router.lastEndpoint)
            let message = ZMQMessage()
            for _ in 0..<expected {
                try router.receive(into: message)   // routing id
                try router.receive(into: message)   // frame
            }
            let own = BenchThreadCPU.callingThreadNanoseconds()
            receiverCPU.withLock { $0 = own }
        }
        let endpoint = bound.waitForEndpoint()
        let clock = ContinuousClock()
        let before = BenchThreadCPU.now()
        let start = clock.now
        let senders = try startSenders(to: endpoint)
        try await receiver.value
        let end = clock.now
        var cpu = BenchThreadCPU.now().since(before)
        // (Its name is cut to 15 bytes in /proc; it may not have exited yet.)
        cpu.byThread["bench-raw-route"] = nil
        cpu.byThread["bench-raw-router", default: 0] += receiverCPU.withLock { $0 }
        try await senders.stop()
        routerContext.shutdown()
        return (Double(totalMessages) / ((end - start) / .seconds(1)), cpu)
    }

    /// Sender threads (two at most: the machine has two cores, and the receiver needs one), each
    /// owning a share of the terminals' DEALER sockets and sending their frames round-robin.
    private func startSenders(to endpoint: String) throws -> BenchSenders {
        let threadCount = min(terminals, 2)
        var threads: [ZMQSocketThread] = []
        let context = try ZMQContext(maxSockets: terminals + 16)
        for thread in 0..<threadCount {
            let mine = Array(stride(from: thread, to: terminals, by: threadCount))
            let frames = self.frames
            threads.append(try ZMQSocketThread(name: "bench-sender-\(thread)") {
                var sockets: [ZMQSocket] = []
                for _ in mine {
                    let socket = try ZMQSocket(context: context, type: .dealer)
                    try socket.setOption(.sendHighWaterMark, 100_000)
                    try socket.connect(endpoint)
                    sockets.append(socket)
                }
                let length = frames[mine[0]].count
                for index in 0..<length {
                    for (slot, terminal) in mine.enumerated() {
                        try frames[terminal][index].withUnsafeBytes { try sockets[slot].send($0) }
                    }
                }
                // Keep the sockets (and their queues) open until the receiver has everything.
                while !context.isShutDown { usleep(2_000) }
            })
        }
        return BenchSenders(context: context, threads: threads)
    }

    /// The calling thread's CPU time in seconds: the one-core figures count the CPU the work used,
    /// so other processes on a shared machine do not distort them.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Ticks (or, with one tick per frame, frames) per CPU-second decoded and sequence-checked by
    /// the session registry on the calling thread. Synchronous, so it stays on one thread.
    func measureDecodeOnOneCore() -> Double {
        var registry = BridgeSessionRegistry(configuration: BridgeSessionConfiguration())
        let peer = PeerIdentity([0, 0, 0, 0, 1])
        let now = MonotonicInstant(milliseconds: 0)
        var ticks = 0
        let start = Self.threadCPUSeconds()
        // The same path as the server's socket loop: deliveries into a reused batch, output reused.
        var deliveries: [BridgeDelivery] = []
        deliveries.reserveCapacity(256)
        var output = BridgeSessionRegistry.Output()
        var strings = WireDecodingCache()
        func drain() {
            for delivery in deliveries { if case .ticks(let batch) = delivery.message { ticks += batch.count } }
            deliveries.removeAll(keepingCapacity: true)
        }
        for frame in frames[0] {
            do {
                let envelope = try frame.withUnsafeBytes { try WireDecoder.decodeTerminal($0, reusing: &strings) }
                registry.received(envelope, from: peer, now: now, deliveries: &deliveries, output: &output)
            } catch {
                fatalError("bench frame does not decode: \(error)")
            }
            output.outgoing.removeAll(keepingCapacity: true)
            output.log.removeAll(keepingCapacity: true)
            if deliveries.count >= 256 { drain() }
        }
        drain()
        let seconds = Self.threadCPUSeconds() - start
        precondition(registry.counters.resyncs == 0, "bench frames must be in sequence")
        return Double(ticks) / seconds
    }
}

/// CPU time the process's threads spent, summed by thread name (from /proc/self/task/*/schedstat,
/// in nanoseconds): where a bench phase's CPU went. Threads that ended before the reading are
/// missing (the raw receiver reports its own).
struct BenchThreadCPU {
    var byThread: [String: UInt64] = [:]
    /// Per thread id, to subtract an earlier reading from the same threads only.
    private var byID: [Int: (name: String, nanoseconds: UInt64)] = [:]

    var total: UInt64 { byThread.values.reduce(0, +) }

    /// The current reading of every live thread.
    static func now() -> BenchThreadCPU {
        var reading = BenchThreadCPU()
        guard let directory = opendir("/proc/self/task") else { return reading }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let id = Int(name) else { continue }
            let comm = readSmallFile("/proc/self/task/\(id)/comm").trimmed(of: "\n")
            let stat = readSmallFile("/proc/self/task/\(id)/schedstat")
            guard let first = stat.split(separator: " ").first, let nanoseconds = UInt64(first) else { continue }
            // Pool threads carry one name each ("…default-qos"); libzmq numbers its I/O threads.
            let group = comm.hasSuffix("qos") || comm.hasSuffix("overcommit") ? "swift pool" : comm
            reading.byID[id] = (group, nanoseconds)
        }
        reading.byThread = reading.byID.values.reduce(into: [:]) { $0[$1.name, default: 0] += $1.nanoseconds }
        return reading
    }

    /// What the threads spent since `earlier` (threads born since then count from zero).
    func since(_ earlier: BenchThreadCPU) -> BenchThreadCPU {
        var delta = BenchThreadCPU()
        for (id, thread) in byID {
            let spent = thread.nanoseconds - min(thread.nanoseconds, earlier.byID[id]?.nanoseconds ?? 0)
            delta.byThread[thread.name, default: 0] += spent
        }
        return delta
    }

    /// Of two readings, the one with less CPU in all.
    static func leaner(_ one: BenchThreadCPU?, _ other: BenchThreadCPU) -> BenchThreadCPU {
        guard let one else { return other }
        return one.total <= other.total ? one : other
    }

    /// `total 1234 = bridge 400 + ZMQbg/IO/0 300 + …` per message, largest first.
    func summary(per messages: Int) -> String {
        let count = UInt64(max(1, messages))
        let parts = byThread.filter { $0.value / count > 0 }.sorted { $0.value > $1.value }
            .map { "\($0.key) \($0.value / count)" }
        return "total \(total / count) = " + parts.joined(separator: " + ")
    }

    /// The calling thread's CPU time.
    static func callingThreadNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    private static func readSmallFile(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : ""
    }
}

extension String {
    /// Without Foundation: drops leading and trailing characters found in `set`.
    fileprivate func trimmed(of set: String) -> String {
        let characters = Set(set)
        guard let first = firstIndex(where: { !characters.contains($0) }),
              let last = lastIndex(where: { !characters.contains($0) }) else { return "" }
        return String(self[first...last])
    }
}
