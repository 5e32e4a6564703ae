import Logging
import Synchronization
import TidemarkProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

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
        self.endpoint = endpoint
        self.serverKey = serverKey
        self.clientKeys = clientKeys
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

/// How a simulator's threads are scheduled beside other work on the same machine.
public enum SimulatorThreadPriority: Hashable, Sendable {
    /// As the threads are created.
    case normal
    /// A nice value (above 0: yields to threads at 0, but still takes its share of a busy CPU).
    case nice(Int32)
    /// Linux `SCHED_IDLE`: runs only on CPU time no normal thread wants. A waking normal thread
    /// preempts it at once, and a CPU running only idle-policy threads counts as free when the
    /// kernel places a waking thread (sched(7)). With `nice` the kernel may still queue a waking
    /// agent thread behind another agent thread for milliseconds while the other CPU runs the
    /// simulator.
    case idle

    /// Applies to the calling thread (Linux keeps both per thread; lowering needs no privilege,
    /// and a failure only leaves the thread as it was).
    func applyToCurrentThread() {
        #if os(Linux)
        switch self {
        case .normal:
            break
        case .nice(let value):
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, value)
        case .idle:
            var parameter = sched_param(sched_priority: 0)
            // SCHED_IDLE is 5 in <linux/sched.h>; Glibc's module does not export it (_GNU_SOURCE only).
            _ = sched_setscheduler(0, 5, &parameter)
        }
        #endif
    }
}

/// Plays recordings into a running agent exactly as Expert Advisors would: one DEALER socket and
/// one session per account, many accounts at once.
///
/// Sessions are spread over a few dedicated threads, each driving its share with one loop that
/// waits on its sockets' descriptors (epoll) and services only the ready ones, so a thousand
/// terminals need a handful of threads, not a thousand, and no socket call ever blocks Swift's
/// cooperative pool. Recorded messages are encoded once per script, not once per frame.
public final class TerminalSimulator: Sendable {
    /// Where the terminals connect.
    public let connection: SimulatorConnection
    /// How fast they play, and when they give up.
    public let pacing: SimulatorPacing
    /// Faults every session injects.
    public let faults: SimulatorFaults
    /// Poll-loop threads (at most one per session).
    public let threads: Int
    /// How the poll-loop threads and the ZeroMQ I/O thread they start are scheduled (Linux).
    public let priority: SimulatorThreadPriority
    private let logger: Logger
    private let context: ZMQContext
    private let clientKeys: CurveKeyPair?

    /// - Parameters:
    ///   - connection: the agent's endpoint and, under CURVE, the keys.
    ///   - pacing: how fast the recordings play, and how long a stalled session is waited for.
    ///   - faults: applied to every session (each session counts its own sequence numbers).
    ///   - threads: poll-loop threads; sessions are dealt out round-robin.
    ///   - maxSessions: sizes the ZeroMQ context's socket limit.
    ///   - priority: lower than normal when the simulator shares a machine with the agent it drives
    ///     (a benchmark): the scheduler then gives the agent, the system under test, the CPU first,
    ///     as if the terminals ran elsewhere.
    ///   - logger: for session events.
    public init(
        connection: SimulatorConnection, pacing: SimulatorPacing = SimulatorPacing(),
        faults: SimulatorFaults = .none, threads: Int = 2, maxSessions: Int = 1_024,
        priority: SimulatorThreadPriority = .normal,
        logger: Logger = Logger(label: "tidemark.simulator")
    ) throws {
        guard threads > 0 else { throw SimulatorError.invalidOption("threads must be at least 1") }
        if let speed = pacing.speed, !(speed > 0) { throw SimulatorError.invalidOption("speed must be positive") }
        self.connection = connection
        self.pacing = pacing
        self.faults = faults
        self.threads = threads
        self.priority = priority
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
            // Joined on a thread of normal priority, not awaited: a continuation resumed from a
            // worker (lowered by `priority`) can make the global executor start its new thread
            // there, and that thread would inherit the worker's nice value or SCHED_IDLE and its name.
            try await withCheckedThrowingContinuation { continuation in
                do {
                    _ = try ZMQSocketThread(name: "sim-join") {
                        continuation.resume(
                            with: Result {
                                for worker in workers.threads { try worker.join() }
                                return workers.results.all
                            })
                    }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
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
        let frames = Self.recordedFrames(of: scripts)
        let workerCount = min(threads, max(scripts.count, 1))
        var workers: [ZMQSocketThread] = []
        for worker in 0..<workerCount {
            let indices = Array(stride(from: worker, to: scripts.count, by: workerCount))
            let share = indices.map { (scripts[$0], frames[$0]) }
            let thread = try ZMQSocketThread(name: "simulator-\(worker)") { [self] in
                // Before the first socket: libzmq's I/O thread, started with it, inherits the setting.
                priority.applyToCurrentThread()
                let outcomes = self.drive(share)
                results.slots.withLock { results in
                    for (offset, index) in indices.enumerated() { results[index] = outcomes[offset] }
                }
            }
            workers.append(thread)
        }
        return (workers, results)
    }

    /// Each script's recorded messages encoded once; scripts that share one stream array (a
    /// thousand terminals playing the same ticks) share one encoding.
    static func recordedFrames(of scripts: [TerminalScript]) -> [RecordedFrames] {
        // Keyed by the stream's storage address: every script is alive (in `scripts`) meanwhile,
        // so two different arrays cannot have the same address; equal streams in separate
        // arrays are simply encoded twice.
        var byStorage: [UnsafeRawPointer?: RecordedFrames] = [:]
        return scripts.map { script in
            let storage = script.stream.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
            if let frames = byStorage[storage] { return frames }
            let frames = RecordedFrames(script.stream)
            byStorage[storage] = frames
            return frames
        }
    }

    // MARK: The poll loop (runs on a simulator thread; owns its sockets)

    private struct Slot {
        var machine: TerminalSessionStateMachine
        let recorded: RecordedFrames
        var socket: ZMQSocket?
        /// The socket's `ZMQ_FD`, watched by the thread's ``DescriptorWaiter``.
        var descriptor: Int32 = -1
        /// The current session id as a frame field, for ``RecordedFrames``.
        var sessionField: [UInt8] = []
        var pending: [UInt8]?
        var result: SimulationResult?
    }

    private func drive(_ share: [(script: TerminalScript, frames: RecordedFrames)]) -> [SimulationResult] {
        var slots = share.map {
            Slot(
                machine: TerminalSessionStateMachine(script: $0.script, pacing: pacing, faults: faults),
                recorded: $0.frames)
        }
        let message = ZMQMessage()
        // Frames are built here and copied by zmq_send: one buffer for the thread, no array per frame.
        var frame: [UInt8] = []
        frame.reserveCapacity(4_096)
        // The loop waits on the sockets' ZMQ_FD descriptors in an epoll set, not with zmq_poll
        // (which asks every one of up to a thousand sockets for ZMQ_EVENTS, system calls each,
        // on every call). A socket is asked for its events only after it was serviced (see below).
        let waiter: DescriptorWaiter
        do { waiter = try DescriptorWaiter() } catch {
            return slots.map {
                SimulationResult(
                    account: $0.machine.script.account, outcome: .failed("\(error)"), statistics: $0.machine.statistics)
            }
        }
        // A session is serviced only when its descriptor fired, its timer is due, or it asked to
        // come back; with a thousand sessions most are idle at any moment. `visits` lists those
        // to service next round, so a round costs what its ready sessions cost.
        var visits: [Int] = []
        var round: [Int] = []
        var visitQueued = [Bool](repeating: false, count: slots.count)
        var wakeAt = [ContinuousClock.Instant?](repeating: nil, count: slots.count)
        // No session's timer is due before this (sessions are scanned for due timers only then).
        var earliestWake: ContinuousClock.Instant?
        var remaining = slots.count

        func visit(_ index: Int) {
            guard !visitQueued[index] else { return }
            visitQueued[index] = true
            visits.append(index)
        }

        func closeSocket(_ index: Int) {
            if slots[index].socket != nil { waiter.remove(slots[index].descriptor) }
            slots[index].socket = nil
        }

        func finish(_ index: Int, _ outcome: SessionOutcome) {
            closeSocket(index)
            slots[index].pending = nil
            slots[index].result = SimulationResult(
                account: slots[index].machine.script.account, outcome: outcome,
                statistics: slots[index].machine.statistics)
            remaining -= 1
            switch outcome {
            case .completed:
                logger.debug("session completed", metadata: ["account": "\(slots[index].machine.script.account)"])
            default:
                logger.info(
                    "session ended",
                    metadata: ["account": "\(slots[index].machine.script.account)", "outcome": "\(outcome)"])
            }
        }

        func connect(_ index: Int) {
            closeSocket(index)
            slots[index].pending = nil
            visit(index)
            do {
                let socket = try ZMQSocket(context: context, type: .dealer)
                if let serverKey = connection.serverKey, let clientKeys {
                    try socket.makeCurveClient(serverKey: serverKey, keys: clientKeys)
                }
                try socket.setOption(.reconnectInterval, 100)
                try socket.connect(connection.endpoint)
                slots[index].descriptor = try socket.fileDescriptor
                try waiter.add(slots[index].descriptor, token: index)
                slots[index].socket = socket
                slots[index].machine.connected(
                    sessionID: Self.newSessionID(for: slots[index].machine.script.hello),
                    now: .now)
                slots[index].sessionField = RecordedFrames.sessionField(slots[index].machine.sessionID)
            } catch {
                finish(index, .failed("\(error)"))
            }
        }

        func handle(_ step: TerminalSessionStateMachine.Step, of index: Int) {
            switch step {
            case .send:
                break
            case .reconnect(let reason):
                logger.info(
                    "reconnecting",
                    metadata: ["account": "\(slots[index].machine.script.account)", "reason": "\(reason)"])
                connect(index)
            case .wait(let until):
                wakeAt[index] = until
                if let until { earliestWake = min(earliestWake ?? until, until) }
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
            var budget = 1_024
            while true {
                if let bytes = slots[index].pending {
                    guard try socket.trySend(bytes) else {
                        // Queue full: the descriptor fires when it drains; meanwhile the timers still run.
                        handle(slots[index].machine.nextStep(now: now, canSend: false), of: index)
                        return
                    }
                    slots[index].pending = nil
                } else {
                    switch slots[index].machine.next(now: now) {
                    case .sendRecorded(let position, let sequence):
                        frame.removeAll(keepingCapacity: true)
                        slots[index].recorded.appendFrame(
                            position, session: slots[index].sessionField, sequence: sequence, to: &frame)
                    case .step(.send(let envelope)):
                        frame.removeAll(keepingCapacity: true)
                        WireEncoder.encode(envelope, into: &frame)
                    case .step(let step):
                        return handle(step, of: index)
                    }
                    guard try socket.trySend(frame) else {
                        slots[index].pending = frame  // a copy, only when the queue is full
                        handle(slots[index].machine.nextStep(now: now, canSend: false), of: index)
                        return
                    }
                }
                budget -= 1
                if budget == 0 {
                    visit(index)
                    return
                }
            }
        }

        for index in slots.indices { connect(index) }

        do {
            while remaining > 0 {
                let now = ContinuousClock.now
                if let earliest = earliestWake, now >= earliest {
                    earliestWake = nil
                    for index in slots.indices where slots[index].result == nil {
                        guard let until = wakeAt[index] else { continue }
                        if now >= until {
                            wakeAt[index] = nil
                            visit(index)
                        } else {
                            earliestWake = min(earliestWake ?? until, until)
                        }
                    }
                }
                swap(&round, &visits)
                for index in round {
                    visitQueued[index] = false
                    guard slots[index].result == nil, let socket = slots[index].socket else { continue }
                    wakeAt[index] = nil
                    try service(index, socket: socket, now: now)
                    // Reading ZMQ_EVENTS carries out libzmq's pending commands for the socket and so
                    // re-arms its descriptor; a socket that is ready already comes back next round.
                    guard !visitQueued[index], let current = slots[index].socket, current === socket else { continue }
                    let events = try socket.events
                    if events.contains(.input) || (slots[index].pending != nil && events.contains(.output)) {
                        visit(index)
                    }
                }
                round.removeAll(keepingCapacity: true)
                guard remaining > 0 else { break }
                var timeout = visits.isEmpty ? 100 : 0
                if visits.isEmpty, let earliestWake {
                    let wait = earliestWake - ContinuousClock.now
                    timeout = max(0, min(timeout, Int((wait / .milliseconds(1)).rounded(.up))))
                }
                try waiter.wait(timeoutMilliseconds: timeout) { visit($0) }
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
