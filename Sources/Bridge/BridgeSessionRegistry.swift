import TidemarkProtocol

/// The ZeroMQ routing id of one connected peer, as the ROUTER socket reports it (a new one for every
/// connection unless the peer chose its own).
public struct PeerIdentity: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// ROUTER routing ids are 5 bytes: hash them as one word rather than byte by byte (this runs for
    /// every frame).
    public func hash(into hasher: inout Hasher) {
        if bytes.count <= 8 {
            var word: UInt64 = 0
            for (index, byte) in bytes.enumerated() { word |= UInt64(byte) << (UInt64(index) * 8) }
            hasher.combine(word)
            hasher.combine(UInt8(bytes.count))
        } else {
            hasher.combine(bytes)
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.bytes == rhs.bytes }

    /// Hexadecimal, for logs.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes { text.append(digits[Int(byte >> 4)]); text.append(digits[Int(byte & 0xF)]) }
        return String(decoding: text, as: UTF8.self)
    }
}

/// One accepted message, on its way downstream (equity engine, recorder).
public struct BridgeDelivery: Hashable, Sendable {
    public var account: AccountID
    public var sessionID: String
    public var sequence: UInt64
    public var message: TerminalMessage

    public init(account: AccountID, sessionID: String, sequence: UInt64, message: TerminalMessage) {
        self.account = account; self.sessionID = sessionID; self.sequence = sequence; self.message = message
    }
}

/// What the bridge has seen, as plain numbers (a value: copy it out and publish it as metrics).
public struct BridgeCounters: Hashable, Sendable {
    /// Every frame received, good or bad.
    public var frames = 0
    /// Messages accepted and handed downstream.
    public var messages = 0
    /// Ticks inside accepted messages (a TICKS message carries several).
    public var ticks = 0
    public var sessionsOpened = 0
    public var sessionsClosed = 0
    /// RESYNC requests sent (including retries).
    public var resyncs = 0
    /// Snapshots that completed a resync.
    public var resynced = 0
    /// Frames whose sequence was at or below the last processed one.
    public var duplicates = 0
    /// Frames ignored while a session waited for its snapshot.
    public var discarded = 0
    /// Frames from a closed or older session.
    public var staleFrames = 0
    /// REJECTs sent during handshakes, by reason.
    public var rejects: [RejectReason: Int] = [:]
    /// Frames that could not be decoded or were absurd, by code.
    public var badFrames: [String: Int] = [:]
    /// Closed sessions by reason label (`bye`, `timed_out`, `superseded`, …).
    public var closes: [String: Int] = [:]

    public init() {}
}

/// Something the I/O layer should log: one line per session event.
public struct BridgeLogRecord: Hashable, Sendable {
    public var peer: PeerIdentity
    public var account: AccountID?
    public var sessionID: String?
    public var event: BridgeSessionStateMachine.Event

    public init(peer: PeerIdentity, account: AccountID?, sessionID: String?, event: BridgeSessionStateMachine.Event) {
        self.peer = peer; self.account = account; self.sessionID = sessionID; self.event = event
    }
}

/// A message for one peer.
public struct BridgeOutgoing: Hashable, Sendable {
    public var peer: PeerIdentity
    public var envelope: Envelope<AgentMessage>

    public init(peer: PeerIdentity, envelope: Envelope<AgentMessage>) { self.peer = peer; self.envelope = envelope }
}

/// Every terminal's session, keyed by the ROUTER identity of its connection; pure like the
/// sessions it holds.
///
/// - A peer's first frame creates its session. A HELLO with a new session id on a known connection
///   (the EA restarted its session) supersedes the old one there.
/// - One account has at most one live session: a HELLO for an account that is live on another
///   connection (the EA reconnected before the old connection timed out) supersedes the old session.
/// - Closed sessions stay as tombstones until their peer has been silent for a timeout, so the rest
///   of a rejected peer's frames is dropped quietly ("nothing of theirs goes further").
/// - A handshake REJECT is logged once per account and reason; it is counted every time.
/// - A frame without a readable header from a peer without a session is counted and dropped
///   (protocol/SPEC.md §7): there is no session id to answer to.
public struct BridgeSessionRegistry: Sendable {
    /// What the I/O layer must do after one event.
    public struct Output: Hashable, Sendable {
        /// An accepted message to pass downstream.
        public var delivery: BridgeDelivery?
        /// Messages to send, in order.
        public var outgoing: [BridgeOutgoing] = []
        /// Lines to log.
        public var log: [BridgeLogRecord] = []

        public init() {}
    }

    public let configuration: BridgeSessionConfiguration
    /// Everything counted so far.
    public private(set) var counters = BridgeCounters()
    // Machines live in an array and are mutated in place through their slot; the dictionary only
    // finds the slot. (A dictionary of machines made the per-frame path copy whole machines.)
    private var machines: [BridgeSessionStateMachine] = []
    private var peers: [PeerIdentity] = []
    private var slotOfPeer: [PeerIdentity: Int] = [:]
    // Consecutive frames mostly come from the same connection: skip the hash lookup then.
    private var cachedPeer = PeerIdentity([])
    private var cachedSlot = -1
    private var liveSessionOfAccount: [AccountID: PeerIdentity] = [:]
    private var loggedRejections: Set<RejectKey> = []

    private struct RejectKey: Hashable, Sendable {
        var account: AccountID
        var reason: RejectReason
    }

    public init(configuration: BridgeSessionConfiguration) {
        self.configuration = configuration
    }

    /// Sessions not closed.
    public var liveSessionCount: Int { machines.reduce(0) { $0 + ($1.phase == .closed ? 0 : 1) } }

    /// The phase of the session on `peer`, if any.
    public func phase(of peer: PeerIdentity) -> BridgeSessionStateMachine.Phase? {
        slotOfPeer[peer].map { machines[$0].phase }
    }

    /// The connection currently serving `account`, if a session is live.
    public func peer(of account: AccountID) -> PeerIdentity? { liveSessionOfAccount[account] }

    /// A decoded frame from `peer`.
    public mutating func received(_ envelope: Envelope<TerminalMessage>, from peer: PeerIdentity,
                                  now: MonotonicInstant) -> Output {
        var deliveries: [BridgeDelivery] = []
        var output = Output()
        received(envelope, from: peer, now: now, deliveries: &deliveries, output: &output)
        output.delivery = deliveries.first
        return output
    }

    /// A decoded frame from `peer`, for the hot path: an accepted message is appended to
    /// `deliveries` (the caller's batch), messages to send and log lines to `output` (which the
    /// caller empties and reuses). Nothing is copied that need not be.
    public mutating func received(_ envelope: Envelope<TerminalMessage>, from peer: PeerIdentity, now: MonotonicInstant,
                                  deliveries: inout [BridgeDelivery], output: inout Output) {
        counters.frames += 1
        let slot: Int
        if let existing = self.slot(of: peer) {
            slot = existing
            if machines[slot].isNewSession(envelope) {
                // The EA restarted its session on this connection: the old one ends here.
                let action = machines[slot].supersede(now: now)
                apply(action, slot: slot, into: &output)
                machines[slot] = BridgeSessionStateMachine(configuration: configuration, now: now)
            }
        } else {
            slot = insert(peer, now: now)
        }
        let action = machines[slot].received(envelope, now: now)
        if action.deliver, let account = machines[slot].account {
            counters.messages += 1
            if case .ticks(let ticks) = envelope.message { counters.ticks += ticks.count }
            deliveries.append(BridgeDelivery(account: account, sessionID: envelope.sessionID,
                                             sequence: envelope.sequence, message: envelope.message))
        }
        if !action.send.isEmpty || !action.events.isEmpty {
            apply(action, slot: slot, into: &output)
        }
    }

    /// A frame from `peer` that could not be decoded.
    public mutating func received(_ fault: BridgeFrameFault, from peer: PeerIdentity, now: MonotonicInstant) -> Output {
        counters.frames += 1
        var output = Output()
        let slot: Int
        if let existing = self.slot(of: peer) {
            slot = existing
            if machines[slot].phase == .closed, fault.kind == .unsupportedVersion, fault.sessionID != machines[slot].sessionID {
                // A new session attempt, in another protocol version, on a connection whose last
                // session ended: it deserves its own answer (REJECT unsupported_version).
                machines[slot] = BridgeSessionStateMachine(configuration: configuration, now: now)
            }
        } else {
            if fault.sessionID == nil, fault.kind != .unsupportedVersion {
                // No session and not even a header: nothing to attribute the frame to or answer.
                counters.badFrames[fault.code, default: 0] += 1
                let detail = fault.detail.isEmpty ? "unattributable frame, dropped" : "unattributable frame, dropped: \(fault.detail)"
                output.log.append(BridgeLogRecord(peer: peer, account: nil, sessionID: nil,
                                                  event: .badFrame(code: fault.code, detail: detail)))
                return output
            }
            slot = insert(peer, now: now)
        }
        let action = machines[slot].received(fault, now: now)
        apply(action, slot: slot, into: &output)
        return output
    }

    /// Time passed: acknowledgements, heartbeats, resync retries, timeouts, and forgetting peers
    /// that closed and went quiet.
    public mutating func tick(now: MonotonicInstant) -> Output {
        var output = Output()
        var slot = machines.count - 1
        while slot >= 0 {
            if machines[slot].phase == .closed {
                if now.milliseconds(since: machines[slot].lastHeardAt) >= configuration.timeoutMilliseconds {
                    remove(slot: slot)
                }
            } else {
                let action = machines[slot].tick(now: now)
                apply(action, slot: slot, into: &output)
            }
            slot -= 1
        }
        return output
    }

    /// Closes every session (the agent is stopping).
    public mutating func shutDown() -> Output {
        var output = Output()
        for slot in machines.indices {
            let action = machines[slot].shutDown()
            apply(action, slot: slot, into: &output)
        }
        return output
    }

    // MARK: - Slots

    private mutating func slot(of peer: PeerIdentity) -> Int? {
        if cachedSlot >= 0, cachedPeer == peer { return cachedSlot }
        guard let slot = slotOfPeer[peer] else { return nil }
        cachedPeer = peer
        cachedSlot = slot
        return slot
    }

    private mutating func insert(_ peer: PeerIdentity, now: MonotonicInstant) -> Int {
        machines.append(BridgeSessionStateMachine(configuration: configuration, now: now))
        peers.append(peer)
        let slot = machines.count - 1
        slotOfPeer[peer] = slot
        return slot
    }

    /// Swap-removes a slot (only from `tick`, which walks the slots backwards).
    private mutating func remove(slot: Int) {
        let last = machines.count - 1
        slotOfPeer[peers[slot]] = nil
        if slot != last {
            machines.swapAt(slot, last)
            peers.swapAt(slot, last)
            slotOfPeer[peers[slot]] = slot
        }
        machines.removeLast()
        peers.removeLast()
        cachedSlot = -1
    }

    // MARK: - Carrying out a session's action

    /// Sends and events; deliveries are handled where the envelope is at hand.
    private mutating func apply(_ action: BridgeSessionStateMachine.Action, slot: Int, into output: inout Output) {
        if !action.send.isEmpty {
            let peer = peers[slot]
            for envelope in action.send {
                output.outgoing.append(BridgeOutgoing(peer: peer, envelope: envelope))
            }
        }
        for event in action.events {
            count(event, slot: slot, into: &output)
        }
    }

    private mutating func count(_ event: BridgeSessionStateMachine.Event, slot: Int, into output: inout Output) {
        let peer = peers[slot]
        var shouldLog = true
        switch event {
        case .opened(let hello):
            counters.sessionsOpened += 1
            let account = hello.accountID
            if let previous = liveSessionOfAccount[account], previous != peer, let previousSlot = slotOfPeer[previous],
               machines[previousSlot].phase != .closed {
                // The EA reconnected before its old connection timed out: the old session ends.
                let action = machines[previousSlot].supersede(now: machines[slot].lastHeardAt)
                apply(action, slot: previousSlot, into: &output)
            }
            liveSessionOfAccount[account] = peer
        case .rejected(let reason, let account, _):
            counters.rejects[reason, default: 0] += 1
            if let account {
                shouldLog = loggedRejections.insert(RejectKey(account: account, reason: reason)).inserted
            }
        case .resyncRequested:
            counters.resyncs += 1
        case .resynced:
            counters.resynced += 1
        case .duplicate:
            counters.duplicates += 1
            shouldLog = false
        case .discarded:
            counters.discarded += 1
            shouldLog = false
        case .staleFrame:
            counters.staleFrames += 1
            shouldLog = false
        case .badFrame(let code, _):
            counters.badFrames[code, default: 0] += 1
        case .closed(let reason):
            counters.sessionsClosed += 1
            counters.closes[reason.label, default: 0] += 1
            if let account = machines[slot].account, liveSessionOfAccount[account] == peer {
                liveSessionOfAccount[account] = nil
            }
            // A rejected handshake was already logged (once per account) with its reason.
            if case .rejected = reason { shouldLog = false }
        }
        if shouldLog {
            output.log.append(BridgeLogRecord(peer: peer, account: machines[slot].account,
                                              sessionID: machines[slot].sessionID, event: event))
        }
    }
}
