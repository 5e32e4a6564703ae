import Logging
import Synchronization
import TidemarkProtocol
import ZeroMQ

/// Where and how simulated terminals connect.
public struct SimulatorConnection: Hashable, Sendable {
    /// The agent's bridge endpoint, e.g. `tcp://127.0.0.1:5555`.
    public var endpoint: String
    /// The agent's CURVE public key; `nil` for a plain connection.
    public var serverKey: CurveKey?
    /// The terminals' CURVE key pair (all simulated terminals share it); a fresh pair when `nil`
    /// and `serverKey` is set (which an agent with an allow-list will refuse).
    public var clientKeys: CurveKeyPair?

    /// A connection description; CURVE when `serverKey` is given.
    public init(endpoint: String, serverKey: CurveKey? = nil, clientKeys: CurveKeyPair? = nil) {
        self.endpoint = endpoint; self.serverKey = serverKey; self.clientKeys = clientKeys
    }
}

/// How one simulated terminal's run ended, with its counters.
public struct SimulationResult: Hashable, Sendable {
    /// The account the terminal played.
    public var account: AccountID
    /// How its run ended.
    public var outcome: SessionOutcome
    /// Its counters.
    public var statistics: SessionStatistics
}

/// Plays recordings into a running agent exactly as Expert Advisors would: one DEALER socket and
/// one session per account, many accounts at once.
///
/// Sessions are spread over a few dedicated threads, each driving its share with one `zmq_poll`
/// loop, so a thousand terminals need a handful of threads, not a thousand, and no socket call
/// ever blocks Swift's cooperative pool.
public final class TerminalSimulator: Sendable {
    /// Where the terminals connect.
    public let connection: SimulatorConnection
    /// How fast they play, and when they give up.
    public let pacing: SimulatorPacing
    /// Faults every session injects.
    public let faults: SimulatorFaults
    /// Poll-loop threads (at most one per session).
    public let threads: Int
    private let logger: Logger
    private let context: ZMQContext
    private let clientKeys: CurveKeyPair?

    /// - Parameters:
    ///   - faults: applied to every session (each session counts its own sequence numbers).
    ///   - threads: poll-loop threads; sessions are dealt out round-robin.
    ///   - maxSessions: sizes the ZeroMQ context's socket limit.
    public init(connection: SimulatorConnection, pacing: SimulatorPacing = SimulatorPacing(),
                faults: SimulatorFaults = .none, threads: Int = 2, maxSessions: Int = 1_024,
                logger: Logger = Logger(label: "tidemark.simulator")) throws {
        guard threads > 0 else { throw SimulatorError.invalidOption("threads must be at least 1") }
        if let speed = pacing.speed, !(speed > 0) { throw SimulatorError.invalidOption("speed must be positive") }
        self.connection = connection
        self.pacing = pacing
        self.faults = faults
        self.threads = threads
        self.logger = logger
        self.context = try ZMQContext(maxSockets: maxSessions + 64)
        if connection.serverKey != nil {
            clientKeys = try connection.clientKeys ?? CurveKeyPair.generate()
        } else {
            clientKeys = nil
        }
    }

    deinit { context.shutdown() }

    /// Stops every session now (their outcome is ``SessionOutcome/failed(_:)``). Callable from any thread.
    public func cancel() { context.shutdown() }

    /// Plays every script to its end; returns one result per script, in order.
    public func run(_ scripts: [TerminalScript]) async throws -> [SimulationResult] {
        let workers = try start(scripts)
        return try await withTaskCancellationHandler {
            for worker in workers.threads { try await worker.value }
            return workers.results.all
        } onCancel: {
            context.shutdown()
        }
    }

    /// Like ``run(_:)`` but blocking the calling thread (for command-line tools and tests that are not async).
    public func runBlocking(_ scripts: [TerminalScript]) throws -> [SimulationResult] {
        let workers = try start(scripts)
        for worker in workers.threads { try worker.join() }
        return workers.results.all
    }

    /// The results the worker threads fill in, one slot per script.
    private final class ResultSlots: Sendable {
        let slots: Mutex<[SimulationResult?]>
        init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
        var all: [SimulationResult] { slots.withLock { $0.map { $0! } } }
    }

    private func start(_ scripts: [TerminalScript]) throws -> (threads: [ZMQSocketThread], results: ResultSlots) {
        let results = ResultSlots(count: scripts.count)
        let workerCount = min(threads, max(scripts.count, 1))
        var workers: [ZMQSocketThread] = []
        for worker in 0..<workerCount {
            let indices = Array(stride(from: worker, to: scripts.count, by: workerCount))
            let share = indices.map { scripts[$0] }
            let thread = try ZMQSocketThread(name: "simulator-\(worker)") { [self] in
                let outcomes = self.drive(share)
                results.slots.withLock { results in
                    for (offset, index) in indices.enumerated() { results[index] = outcomes[offset] }
                }
            }
            workers.append(thread)
        }
        return (workers, results)
    }

    // MARK: The poll loop (runs on a simulator thread; owns its sockets)

    private struct Slot {
        var machine: TerminalSessionStateMachine
        var socket: ZMQSocket?
        var pending: [UInt8]?
        var result: SimulationResult?
    }

    private func drive(_ scripts: [TerminalScript]) -> [SimulationResult] {
        var slots = scripts.map {
            Slot(machine: TerminalSessionStateMachine(script: $0, pacing: pacing, faults: faults))
        }
        let message = ZMQMessage()
        var poller = ZMQPoller()
        var pollPosition = [Int?](repeating: nil, count: slots.count)
        var pollerIsStale = true
        // A session is serviced only when its socket is ready, its timer is due, or it asked to
        // come back; with a thousand sessions most are idle at any moment.
        var wakeAt = [ContinuousClock.Instant?](repeating: nil, count: slots.count)
        var mustVisit = [Bool](repeating: true, count: slots.count)
        var remaining = slots.count

        func finish(_ index: Int, _ outcome: SessionOutcome) {
            slots[index].socket = nil
            slots[index].pending = nil
            slots[index].result = SimulationResult(account: slots[index].machine.script.account, outcome: outcome,
                                                   statistics: slots[index].machine.statistics)
            remaining -= 1
            pollerIsStale = true
            switch outcome {
            case .completed: logger.debug("session completed", metadata: ["account": "\(slots[index].machine.script.account)"])
            default: logger.info("session ended", metadata: ["account": "\(slots[index].machine.script.account)", "outcome": "\(outcome)"])
            }
        }

        func connect(_ index: Int) {
            slots[index].socket = nil
            slots[index].pending = nil
            pollerIsStale = true
            mustVisit[index] = true
            do {
                let socket = try ZMQSocket(context: context, type: .dealer)
                if let serverKey = connection.serverKey, let clientKeys {
                    try socket.makeCurveClient(serverKey: serverKey, keys: clientKeys)
                }
                try socket.setOption(.reconnectInterval, 100)
                try socket.connect(connection.endpoint)
                slots[index].socket = socket
                slots[index].machine.connected(sessionID: Self.newSessionID(for: slots[index].machine.script.hello),
                                               now: .now)
            } catch {
                finish(index, .failed("\(error)"))
            }
        }

        func handle(_ step: TerminalSessionStateMachine.Step, of index: Int) {
            switch step {
            case .send:
                break
            case .reconnect(let reason):
                logger.info("reconnecting", metadata: ["account": "\(slots[index].machine.script.account)", "reason": "\(reason)"])
                connect(index)
            case .wait(let until):
                wakeAt[index] = until
            case .finished(let outcome):
                finish(index, outcome)
            }
        }

        /// Receives what the agent sent, then sends what is due (a bounded batch, for fairness).
        func service(_ index: Int, socket: ZMQSocket, now: ContinuousClock.Instant) throws {
            while try socket.tryReceive(into: message) {
                do {
                    let envelope = try message.withUnsafeBytes { bytes throws(WireDecodingError) in
                        try WireDecoder.decodeAgent(bytes)
                    }
                    slots[index].machine.received(envelope, now: now)
                } catch {
                    logger.warning("undecodable frame from the agent", metadata: ["error": "\(error)"])
                }
            }
            var budget = 256
            while true {
                if let bytes = slots[index].pending {
                    guard try socket.trySend(bytes) else {
                        // Queue full: POLLOUT wakes us; meanwhile the timers still run.
                        handle(slots[index].machine.nextStep(now: now, canSend: false), of: index)
                        return
                    }
                    slots[index].pending = nil
                    budget -= 1
                    if budget == 0 { mustVisit[index] = true; return }
                }
                let step = slots[index].machine.nextStep(now: now)
                guard case .send(let envelope) = step else { return handle(step, of: index) }
                slots[index].pending = WireEncoder.encode(envelope)
            }
        }

        for index in slots.indices { connect(index) }

        do {
            while remaining > 0 {
                let now = ContinuousClock.now
                for index in slots.indices where slots[index].result == nil {
                    guard let socket = slots[index].socket else { continue }
                    let polled = pollPosition[index].map { poller.isReady($0, for: [.input, .output]) } ?? false
                    let timerDue = wakeAt[index].map { now >= $0 } ?? false
                    guard mustVisit[index] || polled || timerDue else { continue }
                    mustVisit[index] = false
                    wakeAt[index] = nil
                    try service(index, socket: socket, now: now)
                }
                if pollerIsStale {
                    poller = ZMQPoller()
                    pollPosition = Array(repeating: nil, count: slots.count)
                    for index in slots.indices where slots[index].result == nil {
                        if let socket = slots[index].socket { pollPosition[index] = poller.add(socket, events: .input) }
                    }
                    pollerIsStale = false
                }
                var earliest: ContinuousClock.Instant?
                var busy = false
                for index in slots.indices where slots[index].result == nil {
                    if let position = pollPosition[index] {
                        poller.setEvents(slots[index].pending == nil ? .input : [.input, .output], at: position)
                    }
                    if mustVisit[index] { busy = true }
                    if let until = wakeAt[index] { earliest = min(earliest ?? until, until) }
                }
                guard remaining > 0 else { break }
                var timeout = busy ? 0 : 100
                if !busy, let earliest {
                    let wait = earliest - ContinuousClock.now
                    timeout = max(0, min(timeout, Int((wait / .milliseconds(1)).rounded(.up))))
                }
                try poller.poll(timeoutMilliseconds: timeout)
            }
        } catch {
            let reason = (error as? ZMQError) == .terminated ? "stopped" : "\(error)"
            for index in slots.indices where slots[index].result == nil { finish(index, .failed(reason)) }
        }
        return slots.map { $0.result! }
    }

    /// A new session id per connection: `sim-<login>-<16 hex digits>` (protocol: 1–64 bytes).
    static func newSessionID(for hello: Hello) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = String(generator.next() as UInt64, radix: 16)
        return "sim-\(hello.login)-\(String(repeating: "0", count: 16 - random.count))\(random)"
    }
}
