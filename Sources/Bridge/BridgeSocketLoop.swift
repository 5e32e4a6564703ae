import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization
import TidemarkProtocol
import ZeroMQ

/// A pipe whose read end the socket loop polls beside the ROUTER socket: other threads wake the
/// loop through it. At most one byte is in flight however often ``wake()`` is called.
final class SocketLoopWakeUp: Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32
    private let pending = Atomic<Bool>(false)

    init() throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw ZMQError(errno: errno, operation: "pipe") }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)   // not inherited by processes this one starts
        }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// What the loop polls.
    var fileDescriptor: Int32 { readEnd }

    /// Makes the loop's poll return (from any thread).
    func wake() {
        guard !pending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Called by the loop when woken, before it looks at what it was woken for: a ``wake()`` after
    /// this writes again, so nothing queued later is missed.
    func reset() {
        pending.store(false, ordering: .releasing)
        var bytes: (UInt64, UInt64) = (0, 0)
        while withUnsafeMutableBytes(of: &bytes, { read(readEnd, $0.baseAddress, $0.count) }) > 0 {}
    }
}

/// Carries the bind result from the socket thread to ``BridgeServer/start()``.
final class StartOutcome: Sendable {
    let value = Mutex<Result<String, any Error>?>(nil)
}

/// What runs on the socket thread. Not Sendable: it owns the ROUTER socket.
struct BridgeSocketLoop {
    let router: ZMQSocket
    let server: BridgeServer
    let configuration: BridgeServerConfiguration
    let sink: any BridgeDeliverySink
    let logger: Logger

    private var registry: BridgeSessionRegistry
    private var batch: [BridgeDelivery] = []
    private var output = BridgeSessionRegistry.Output()
    private var encoded: [UInt8] = []
    /// Messages to send once the deliveries in `batch` are handed on (non-empty only while
    /// `batch` is).
    private var waitingForFlush: [BridgeOutgoing] = []
    private var lastPeer = PeerIdentity([])
    /// Identities of recent peers by routing id: with many terminals consecutive frames come from
    /// different peers, and each would otherwise copy its id into a new array.
    private var knownPeers = PeerIdentityTable()
    /// Session ids and symbols repeat from frame to frame: decoded once, then reused.
    private var strings = WireDecodingCache()
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private var badFrameLogBudget = BadFrameLogBudget()
    private var stopped = false

    init(router: ZMQSocket, server: BridgeServer) {
        self.router = router
        self.server = server
        self.configuration = server.configuration
        self.sink = server.sink
        self.logger = server.logger
        self.registry = BridgeSessionRegistry(configuration: configuration.session, access: configuration.curve?.access,
                                              limits: configuration.limits, knownAccounts: configuration.knownAccounts)
        self.origin = clock.now
        batch.reserveCapacity(configuration.handoffBatchSize)
    }

    /// Time spent blocked on a full handoff (downstream too slow).
    private var stalled = Duration.zero

    /// The sessions' clock: monotonic time minus the time this loop spent blocked on the handoff.
    /// While blocked it reads no frames, so without this every peer would look silent afterwards
    /// and be timed out for the agent's own stall.
    private func now() -> MonotonicInstant {
        let elapsed = (clock.now - origin - stalled).components
        return MonotonicInstant(milliseconds: elapsed.seconds * 1_000 + elapsed.attoseconds / 1_000_000_000_000_000)
    }

    mutating func run() {
        let poller = ZMQPoller()
        let input = poller.add(router, events: .input)
        let controlsQueued = poller.add(fileDescriptor: server.controlsQueued.fileDescriptor, events: .input)
        let identity = ZMQMessage()
        let payload = ZMQMessage()
        let interval = configuration.timerIntervalMilliseconds
        var lastTick = now()
        // Per round: at most this many frames before the timer and the counters get their turn.
        let framesPerRound = 4_096
        do {
            // zmq_ctx_shutdown() makes a blocked zmq_poll fail with ETERM, but a poll that starts
            // just after it was seen to keep timing out instead (libzmq 4.3.4), so the loop also
            // checks the context's own flag.
            while !stopped, !server.context.isShutDown {
                let untilTick = max(0, interval - now().milliseconds(since: lastTick))
                try poller.poll(timeoutMilliseconds: Int(untilTick))
                if poller.isReady(input) {
                    let time = now()
                    var frames = 0
                    while frames < framesPerRound, try router.tryReceive(into: identity) {
                        frames += 1
                        try receiveFrame(identity: identity, payload: payload, now: time)
                        if stopped { break }
                    }
                    flush()
                }
                if poller.isReady(controlsQueued) { server.controlsQueued.reset() }
                carryOutControls()
                let time = now()
                if time.milliseconds(since: lastTick) >= interval {
                    lastTick = time
                    carryOut(registry.tick(now: time))
                    flush()
                    publish()
                    badFrameLogBudget.refill(at: time, logger: logger)
                }
            }
        } catch let error as ZMQError where error == .terminated {
            // stop(): the normal way out.
        } catch {
            logger.error("bridge socket loop failed", metadata: ["error": "\(error)"])
        }
        carryOut(registry.shutDown(), sending: false)
        flush()
        publish()
        sink.finish()
    }

    /// ACKs for committed messages and commands, queued by downstream.
    private mutating func carryOutControls() {
        let pending = server.controls.withLock { queue -> [BridgeControl] in
            guard !queue.isEmpty else { return [] }
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        guard !pending.isEmpty else { return }
        let time = now()
        for control in pending {
            switch control {
            case .committed(let sessionID, let sequence):
                carryOut(registry.committed(sessionID: sessionID, through: sequence, now: time))
            case .command(let command, let account):
                let (sent, output) = registry.send(command, to: account, now: time)
                if !sent {
                    logger.notice("command not sent: no live session", metadata: [
                        "account": "\(account)", "command": "\(command.id)", "kind": "\(command.kind.rawValue)",
                    ])
                }
                carryOut(output)
            case .replaceAllowList(let list):
                carryOut(registry.replaceAllowList(list, now: time))
            case .bind(let key, let account):
                carryOut(registry.bind(key, to: account, now: time))
            case .resync(let account, let reason):
                carryOut(registry.requestResync(of: account, reason: reason, now: time))
            }
        }
    }

    private mutating func receiveFrame(identity: ZMQMessage, payload: ZMQMessage, now: MonotonicInstant) throws {
        // ROUTER gives [peer routing id, frame]; libzmq delivers a multipart message whole.
        guard identity.hasMoreParts else { return }
        try router.receive(into: payload)
        var parts = 1
        while payload.hasMoreParts {
            // EAs must send one part per frame (SPEC §1): keep only the count, drain the rest.
            try router.receive(into: payload)
            parts += 1
        }
        let peer = peerIdentity(identity)
        if parts != 1 {
            carryOut(registry.received(BridgeFrameFault(code: "multipart", detail: "\(parts) parts"), from: peer, now: now))
            return
        }
        let envelope: Envelope<TerminalMessage>
        do {
            envelope = try payload.withUnsafeBytes { try WireDecoder.decodeTerminal($0, reusing: &strings) }
        } catch let error as WireDecodingError {
            let fault = BridgeFrameFault(kind: error.isUnsupportedVersion ? .unsupportedVersion : .malformed,
                                         code: error.code, detail: error.message, sessionID: error.sessionID)
            carryOut(registry.received(fault, from: peer, now: now))
            return
        }
        // Only a HELLO is admitted by who sent it: the connection's CURVE key (set by the ZAP
        // handler) or, without CURVE, its address.
        var origin: String?
        if case .hello = envelope.message {
            origin = payload.metadata(configuration.curve != nil ? "User-Id" : "Peer-Address")
        }
        // The hot path: the delivery goes straight into the batch; `output` is reused.
        registry.received(consume envelope, from: peer, origin: origin, now: now, deliveries: &batch, output: &output)
        if !output.outgoing.isEmpty || !output.log.isEmpty || !output.bindings.isEmpty {
            let pending = output
            output.outgoing.removeAll(keepingCapacity: true)
            output.log.removeAll(keepingCapacity: true)
            output.bindings.removeAll(keepingCapacity: true)
            carryOut(pending)
        }
        if batch.count >= configuration.handoffBatchSize { flush() }
    }

    /// The identity of the frame's peer, reused from earlier frames (no allocation): libzmq's own
    /// routing ids (5 bytes) are found in ``knownPeers``, others are compared with the last one.
    private mutating func peerIdentity(_ identity: ZMQMessage) -> PeerIdentity {
        identity.withUnsafeBytes { bytes in
            if let known = knownPeers.identity(for: bytes) { return known }
            // memcmp: the generic `elementsEqual` walks both sides through iterators, byte by byte.
            let same = lastPeer.bytes.withUnsafeBytes { last in
                bytes.count == last.count && (bytes.count == 0 || memcmp(bytes.baseAddress!, last.baseAddress!, bytes.count) == 0)
            }
            if !same { lastPeer = PeerIdentity(Array(bytes)) }
            return lastPeer
        }
    }

    private mutating func carryOut(_ output: BridgeSessionRegistry.Output, sending: Bool = true) {
        if let delivery = output.delivery {
            batch.append(delivery)
            if batch.count >= configuration.handoffBatchSize { flush() }
        }
        if !output.sessionEnds.isEmpty {
            // Timeouts and rejects: the end follows the session's last message downstream.
            batch.append(contentsOf: output.sessionEnds)
            if batch.count >= configuration.handoffBatchSize { flush() }
        }
        if sending, !output.outgoing.isEmpty {
            // An ACK promises the messages it covers were handed on. While deliveries wait in the
            // batch, the messages to send wait with them and go out right after the batch is
            // pushed (`flush`): one handoff (and one consumer wake-up) per batch, not one per ACK.
            // With an empty batch nothing waits (so nothing is queued either): send now, in order.
            if batch.isEmpty {
                for message in output.outgoing { send(message) }
            } else {
                waitingForFlush.append(contentsOf: output.outgoing)
            }
        }
        for record in output.log { log(record) }
        if !output.bindings.isEmpty {
            let hooks = server.keyBoundHooks.withLock { $0 }
            for binding in output.bindings {
                server.keyAccess.withLock { $0?.bind(binding.key, to: binding.account) }
                logger.notice("CURVE key bound to its first account", metadata: ["key": "\(binding.key)", "account": "\(binding.account)"])
                for hook in hooks { hook(binding) }
            }
        }
    }

    /// Hands the batch downstream, then sends what waited for it (see ``carryOut(_:sending:)``).
    private mutating func flush() {
        guard !batch.isEmpty else { return }
        // Hand over the array itself (not a copy that this thread then empties and frees): the
        // consumer frees the messages when it is done with them.
        var full: [BridgeDelivery] = []
        full.reserveCapacity(configuration.handoffBatchSize)
        swap(&full, &batch)
        let before = clock.now
        if !sink.deliver(full) { stopped = true }
        _ = consume full
        let blocked = clock.now - before
        if blocked > .milliseconds(1) { stalled += blocked }
        if !waitingForFlush.isEmpty {
            for message in waitingForFlush { send(message) }
            waitingForFlush.removeAll(keepingCapacity: true)
        }
    }

    private mutating func send(_ message: BridgeOutgoing) {
        encoded.removeAll(keepingCapacity: true)
        WireEncoder.encode(message.envelope, into: &encoded)
        do {
            // ROUTER never blocks: a peer whose queue is full (or that is gone) loses the message,
            // which the protocol tolerates (ACKs are cumulative, heartbeats and RESYNCs repeat).
            _ = try router.trySend(parts: [message.peer.bytes, encoded])
        } catch {
            logger.debug("bridge send failed", metadata: ["peer": "\(message.peer)", "error": "\(error)"])
        }
    }

    private func publish() {
        let counters = registry.counters
        server.published.withLock { $0 = counters }
    }

    private mutating func log(_ record: BridgeLogRecord) {
        var metadata: Logger.Metadata = ["peer": "\(record.peer)"]
        if let account = record.account { metadata["account"] = "\(account)" }
        if let session = record.sessionID { metadata["session"] = "\(session)" }
        switch record.event {
        case .opened(let hello):
            metadata["platform"] = "\(hello.platform.rawValue)"
            metadata["build"] = "\(hello.terminalBuild)"
            metadata["ea_version"] = "\(hello.eaVersion)"
            logger.info("session opened", metadata: metadata)
        case .rejected(let reason, _, let detail):
            metadata["reason"] = "\(reason.rawValue)"
            metadata["detail"] = "\(detail)"
            logger.warning("session rejected", metadata: metadata)
        case .resyncRequested(let last, let reason, let detail):
            metadata["last_sequence"] = "\(last)"
            metadata["reason"] = "\(reason)"
            metadata["detail"] = "\(detail)"
            logger.notice("resync requested", metadata: metadata)
        case .resynced(let sequence):
            metadata["sequence"] = "\(sequence)"
            logger.info("session resynced", metadata: metadata)
        case .badFrame(let code, let detail):
            guard badFrameLogBudget.take() else { return }
            metadata["code"] = "\(code)"
            metadata["detail"] = "\(detail)"
            logger.warning("bad frame", metadata: metadata)
        case .closed(let reason):
            metadata["reason"] = "\(reason)"
            logger.info("session closed", metadata: metadata)
        case .duplicate, .discarded, .staleFrame:
            break
        }
    }
}

/// Recently seen peer identities, keyed by their routing id packed into a word (ids of 1…7 bytes;
/// libzmq's generated ids are 5). Direct-mapped: a colliding id replaces the one in its slot, so
/// the table stays small however many peers come and go; it only saves allocations, since a hit
/// returns an identity with exactly the received bytes.
private struct PeerIdentityTable {
    private static let slotBits = 10
    private var keys = [UInt64](repeating: 0, count: 1 << slotBits)
    private var identities = [PeerIdentity?](repeating: nil, count: 1 << slotBits)

    /// The identity with these bytes, or nil when the id is not 1…7 bytes long.
    mutating func identity(for bytes: UnsafeRawBufferPointer) -> PeerIdentity? {
        let key = PeerIdentity.routingKey(of: bytes)
        guard key != 0 else { return nil }
        // libzmq counts its ids up in the last four bytes (big-endian): mix so they spread.
        let slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - Self.slotBits))
        if keys[slot] == key, let known = identities[slot] { return known }
        let made = PeerIdentity(Array(bytes))
        keys[slot] = key
        identities[slot] = made
        return made
    }
}

/// Bad frames are logged at most 20 per second (SPEC §7: "logged (rate-limited)"); the rest are
/// counted and summarised once a second.
private struct BadFrameLogBudget {
    private var available = 20
    private var suppressed = 0
    private var windowStart = MonotonicInstant(milliseconds: 0)

    mutating func take() -> Bool {
        if available > 0 {
            available -= 1
            return true
        }
        suppressed += 1
        return false
    }

    mutating func refill(at now: MonotonicInstant, logger: Logger) {
        guard now.milliseconds(since: windowStart) >= 1_000 else { return }
        if suppressed > 0 {
            logger.warning("bad frames not logged individually", metadata: ["count": "\(suppressed)"])
        }
        windowStart = now
        available = 20
        suppressed = 0
    }
}
