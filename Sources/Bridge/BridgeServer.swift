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

/// CURVE for the bridge: the agent's key pair, the EA public keys it admits, and the accounts
/// each key may speak for.
public struct BridgeCurveConfiguration: Sendable, Hashable {
    public var serverKeys: CurveKeyPair
    public var allowedClientKeys: [CurveKey]
    /// The accounts listed after a key on the allow-list; a key with none (or absent here) is
    /// bound to the first account it says HELLO for.
    public var accountsOfKey: [CurveKey: Set<AccountID>]
    /// Keys already bound to an account (the store's record of earlier first HELLOs).
    public var bindings: [CurveKey: AccountID]

    public init(serverKeys: CurveKeyPair, allowedClientKeys: [CurveKey], accountsOfKey: [CurveKey: Set<AccountID>] = [:],
                bindings: [CurveKey: AccountID] = [:]) {
        self.serverKeys = serverKeys
        self.allowedClientKeys = allowedClientKeys
        self.accountsOfKey = accountsOfKey
        self.bindings = bindings
    }

    /// The allow-list as ``CurveKeyAccess`` keeps it (Z85 keys).
    var allowList: [String: Set<AccountID>] {
        Dictionary(allowedClientKeys.map { ($0.z85, accountsOfKey[$0] ?? []) }, uniquingKeysWith: { $0.union($1) })
    }

    var access: CurveKeyAccess {
        CurveKeyAccess(allowList: allowList, bindings: Dictionary(bindings.map { ($0.key.z85, $0.value) }, uniquingKeysWith: { $1 }))
    }
}

/// How the bridge listens.
public struct BridgeServerConfiguration: Sendable, Hashable {
    /// Where the ROUTER binds, e.g. `tcp://0.0.0.0:5757` (`tcp://127.0.0.1:*` picks a free port).
    public var endpoint: String
    public var session: BridgeSessionConfiguration
    /// When set, EAs must speak CURVE with a key on the allow-list; others never get through the
    /// handshake, so nothing of theirs reaches the sessions.
    public var curve: BridgeCurveConfiguration?
    /// Frames libzmq queues for the agent before it stops reading the peers' TCP connections.
    public var receiveHighWaterMark: Int
    /// Connections the kernel queues for the ROUTER before libzmq accepts them. libzmq's default
    /// (100) overflows when a thousand EAs reconnect at once (an agent restart, a network blip): the
    /// overflowing ones wait one or more TCP retransmission timeouts (1 s, 3 s, …) before they
    /// connect. Linux caps it at `net.core.somaxconn` (4,096 since kernel 5.4).
    public var listenBacklog: Int
    /// Accepted messages queued for downstream before the socket thread stops reading (backpressure).
    public var handoffCapacity: Int
    /// Accepted messages handed downstream together: fewer lock rounds, and fewer wake-ups of an
    /// idle consumer (each costs both threads a few microseconds), per message. Only a bound under
    /// load: whatever is in the batch is handed over as soon as the socket has nothing more to read.
    public var handoffBatchSize: Int
    /// The largest frame accepted, in bytes (`ZMQ_MAXMSGSIZE`, protocol/SPEC.md §2: 1 MiB). libzmq
    /// disconnects a peer that sends a bigger one; the frame never reaches the sessions.
    public var maximumFrameBytes: Int64
    /// Bounds on sessions and new accounts, per peer and in total.
    public var limits: BridgeAdmissionLimits
    /// Accounts that do not count as new for ``limits`` (the store's).
    public var knownAccounts: Set<AccountID>

    public init(endpoint: String, session: BridgeSessionConfiguration = BridgeSessionConfiguration(),
                curve: BridgeCurveConfiguration? = nil, receiveHighWaterMark: Int = 10_000,
                listenBacklog: Int = 4_096, handoffCapacity: Int = 65_536, handoffBatchSize: Int = 1_024, maximumFrameBytes: Int64 = 1 << 20,
                limits: BridgeAdmissionLimits = .unlimited, knownAccounts: Set<AccountID> = []) {
        self.endpoint = endpoint
        self.session = session
        self.curve = curve
        self.limits = limits
        self.knownAccounts = knownAccounts
        self.receiveHighWaterMark = receiveHighWaterMark
        self.listenBacklog = listenBacklog
        self.handoffCapacity = handoffCapacity
        self.handoffBatchSize = handoffBatchSize
        self.maximumFrameBytes = maximumFrameBytes
    }

    /// How often the socket loop ticks the sessions (ACK timer, heartbeats, timeouts): half the ACK
    /// delay, at most a quarter of the heartbeat interval, between 5 and 250 ms.
    var timerIntervalMilliseconds: Int64 {
        min(250, max(5, min(session.acknowledgeAfterMilliseconds / 2, session.heartbeatIntervalMilliseconds / 4)))
    }
}

/// The agent's end of the bridge: a ROUTER socket that EAs connect to, the sessions behind it, and
/// the accepted messages as an async sequence.
///
/// The socket loop runs on its own OS thread (`ZMQSocketThread`), never on Swift's cooperative
/// pool: it receives frames, decodes them with `WireDecoder`, drives the
/// ``BridgeSessionRegistry``, sends what the sessions answer, and hands accepted messages to
/// ``deliveries`` through a bounded ``BridgeHandoff``. When downstream falls behind, the loop blocks
/// on the handoff and stops reading, so ZeroMQ's high-water marks and TCP push back to the EAs;
/// nothing accepted is dropped. Messages are handed downstream before any ACK that covers them is sent.
///
/// ```swift
/// let bridge = try BridgeServer(configuration: .init(endpoint: "tcp://127.0.0.1:*"), logger: logger)
/// print(try bridge.start())
/// for await delivery in bridge.deliveries { … }   // ends after stop()
/// ```
public final class BridgeServer: Sendable {
    public let configuration: BridgeServerConfiguration
    let logger: Logger
    let context: ZMQContext
    let handoff: BridgeHandoff<BridgeDelivery>
    /// Where the socket loop hands accepted messages: ``handoff``, or the sink given at init.
    let sink: any BridgeDeliverySink
    let published = Mutex(BridgeCounters())
    private let loop = Mutex<ZMQSocketThread?>(nil)
    private let allowList = Mutex<ZAPAllowList?>(nil)
    /// Downstream's requests, taken by the socket loop every round (no socket crosses threads).
    let controls = Mutex<[BridgeControl]>([])
    /// Wakes the socket loop when a control is queued, so ACKs and enforcement commands go out at
    /// once, not at the next timer tick.
    let controlsQueued: SocketLoopWakeUp
    /// Under CURVE: the keys' accounts as the latest change left them (the socket loop keeps its
    /// own copy and reports the bindings it makes), for readers on other threads.
    let keyAccess: Mutex<CurveKeyAccess?>
    let keyBoundHooks = Mutex<[@Sendable (CurveKeyBinding) -> Void]>([])

    /// Prepares the bridge; nothing is bound until ``start()``.
    /// - Parameters:
    ///   - configuration: the endpoint, CURVE, limits and the sessions' settings.
    ///   - sink: where accepted messages go, read by the caller's own consumer (its capacity
    ///     replaces ``BridgeServerConfiguration/handoffCapacity``); nil: ``deliveries`` and
    ///     ``deliveryBatches``, which are empty when a sink is given.
    ///   - logger: for session events and rate-limited bad frames.
    public init(configuration: BridgeServerConfiguration, sink: (any BridgeDeliverySink)? = nil, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.context = try ZMQContext()
        self.controlsQueued = try SocketLoopWakeUp()
        self.keyAccess = Mutex(configuration.curve?.access)
        let handoff = BridgeHandoff<BridgeDelivery>(capacity: configuration.handoffCapacity)
        if sink != nil { handoff.finish() }
        self.handoff = handoff
        self.sink = sink ?? handoff
    }

    /// Binds the ROUTER socket and starts the socket thread.
    /// - Returns: the bound endpoint with any wildcard port resolved (`tcp://127.0.0.1:40123`).
    @discardableResult
    public func start() throws -> String {
        if let curve = configuration.curve {
            let handler = try ZAPAllowList(context: context, allowedKeys: curve.allowedClientKeys)
            allowList.withLock { $0 = handler }
        }
        let bound = StartOutcome()
        let ready = DispatchSemaphore(value: 0)
        let thread = try ZMQSocketThread(name: "bridge") { [self] in
            let router: ZMQSocket
            do {
                router = try ZMQSocket(context: context, type: .router)
                try router.setOption(.receiveHighWaterMark, configuration.receiveHighWaterMark)
                try router.setOption(.listenBacklog, configuration.listenBacklog)
                try router.setOption(.maximumMessageSize, configuration.maximumFrameBytes)
                if let curve = configuration.curve { try router.makeCurveServer(keys: curve.serverKeys) }
                try router.bind(configuration.endpoint)
                let endpoint = try router.lastEndpoint
                bound.value.withLock { $0 = .success(endpoint) }
                ready.signal()
            } catch {
                bound.value.withLock { $0 = .failure(error) }
                ready.signal()
                sink.finish()
                return
            }
            var socketLoop = BridgeSocketLoop(router: router, server: self)
            socketLoop.run()
        }
        ready.wait()
        let endpoint = try bound.value.withLock { $0 }!.get()
        loop.withLock { $0 = thread }
        logger.info("bridge listening", metadata: [
            "endpoint": "\(endpoint)", "curve": "\(configuration.curve != nil)",
            "heartbeat_ms": "\(configuration.session.heartbeatIntervalMilliseconds)",
        ])
        return endpoint
    }

    /// Accepted messages, in order per session; ends after ``stop()`` once drained. One consumer:
    /// read either this or ``deliveryBatches``.
    public var deliveries: BridgeDeliveries<BridgeDelivery> { handoff.elements }

    /// The same messages in the batches the socket loop handed over (cheaper per message).
    public var deliveryBatches: BridgeDeliveryBatches<BridgeDelivery> { handoff.batches }

    /// Under CURVE: each admitted key's listed accounts and the bindings of the others; nil without CURVE.
    public var curveKeyAccess: CurveKeyAccess? { keyAccess.withLock { $0 } }

    /// Calls `hook` (on the socket thread: keep it short) whenever a key is bound to the first
    /// account it said HELLO for, so the binding can be stored.
    public func onKeyBound(_ hook: @escaping @Sendable (CurveKeyBinding) -> Void) {
        keyBoundHooks.withLock { $0.append(hook) }
    }

    /// Replaces the CURVE allow-list (SIGHUP): handshakes of keys no longer listed are refused at
    /// once, and live sessions of keys that left the list (or whose accounts changed) end with
    /// `REJECT not_allowed`. Returns those keys (Z85). Without CURVE it does nothing.
    @discardableResult
    public func replaceAllowList(keys: [CurveKey], accountsOfKey: [CurveKey: Set<AccountID>]) -> Set<String> {
        guard let handler = allowList.withLock({ $0 }) else { return [] }
        handler.replace(with: keys)
        let list = BridgeCurveConfiguration(serverKeys: configuration.curve!.serverKeys, allowedClientKeys: keys,
                                            accountsOfKey: accountsOfKey).allowList
        let changed = keyAccess.withLock { $0?.replaceAllowList(list) ?? [] }
        controls.withLock { $0.append(.replaceAllowList(list)) }
        controlsQueued.wake()
        return changed
    }

    /// Binds `key` to `account` (nil: unbinds it, so its next HELLO binds it again); a live
    /// session of the key ends with `REJECT not_allowed` when its account changed.
    public func bind(_ key: CurveKey, to account: AccountID?) {
        keyAccess.withLock { $0?.bind(key.z85, to: account) }
        controls.withLock { $0.append(.bind(key: key.z85, account: account)) }
        controlsQueued.wake()
    }

    /// The counters as of the socket loop's last timer tick (every few ms; see
    /// ``BridgeServerConfiguration``), and final once the loop has stopped.
    public var counters: BridgeCounters { published.withLock { $0 } }

    /// Stops the socket loop (from any thread, any number of times). Messages already queued stay
    /// readable from ``deliveries``; sessions end without a word (EAs reconnect to the next agent).
    public func stop() {
        context.shutdown()
        sink.finish()
    }

    /// Waits until the socket loop has ended (after ``stop()``); rethrows what ended it otherwise.
    public func waitUntilStopped() async throws {
        // (The CURVE allow-list's own thread ends on the same context shutdown.)
        if let thread = loop.withLock({ $0 }) { try await thread.value }
    }
}

/// What downstream asks of the socket loop (see ``BridgeServer/committed(_:)`` and
/// ``BridgeServer/send(_:to:)``).
public enum BridgeControl: Hashable, Sendable {
    /// Everything `sessionID` delivered up to `sequence` is committed: acknowledge it.
    case committed(sessionID: String, through: UInt64)
    /// Send `command` to the account's live session (dropped when it has none).
    case command(Command, account: AccountID)
    /// A new CURVE allow-list (Z85 key → listed accounts).
    case replaceAllowList([String: Set<AccountID>])
    /// A key's account binding set (or removed) by an operator.
    case bind(key: String, account: AccountID?)
    /// Ask the account's live session for a new snapshot (RESYNC with `reason`), because its
    /// state could not be folded (dropped when it has none: its next session starts with one).
    case resync(account: AccountID, reason: String)
}

extension BridgeServer {
    /// Queues ACKs for what downstream committed (``BridgeSessionConfiguration/acknowledgesOnCommit``);
    /// the socket loop is woken and sends them at once.
    public func committed(_ positions: some Sequence<(sessionID: String, sequence: UInt64)>) {
        let queued = controls.withLock { queue in
            let before = queue.count
            for position in positions { queue.append(.committed(sessionID: position.sessionID, through: position.sequence)) }
            return queue.count > before
        }
        if queued { controlsQueued.wake() }
    }

    /// Queues a COMMAND for the account's live session (see ``BridgeControl/command(_:account:)``);
    /// the socket loop is woken and sends it at once.
    public func send(_ command: Command, to account: AccountID) {
        controls.withLock { $0.append(.command(command, account: account)) }
        controlsQueued.wake()
    }

    /// Queues a RESYNC for the account's live session (see ``BridgeControl/resync(account:reason:)``).
    public func requestResync(of account: AccountID, reason: String) {
        controls.withLock { $0.append(.resync(account: account, reason: reason)) }
        controlsQueued.wake()
    }
}
