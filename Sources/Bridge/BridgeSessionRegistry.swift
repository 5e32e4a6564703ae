import TidemarkProtocol

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
        /// Sessions that ended (`BridgeDelivery.sessionEnd` set), to pass downstream after
        /// ``delivery``. The hot-path `received(_:from:origin:now:deliveries:output:)` appends them to
        /// its `deliveries` instead.
        public var sessionEnds: [BridgeDelivery] = []
        /// Messages to send, in order.
        public var outgoing: [BridgeOutgoing] = []
        /// Lines to log.
        public var log: [BridgeLogRecord] = []
        /// Keys bound to their first account by a session that just opened: to persist.
        public var bindings: [CurveKeyBinding] = []

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
    /// The same slots by ``PeerIdentity/routingKey`` (libzmq's ids): what the per-frame path reads,
    /// a multiply and a probe or two instead of hashing the identity.
    private var slotOfRoutingKey = RoutingKeyTable()
    // Consecutive frames mostly come from the same connection: skip the lookup then.
    private var cachedPeer = PeerIdentity([])
    private var cachedSlot = -1
    private var liveSessionOfAccount: [AccountID: PeerIdentity] = [:]
    /// The connection of every session that opened and whose slot still exists (closed ones
    /// included: a BYE is acknowledged after downstream committed it).
    private var peerOfSession: [String: PeerIdentity] = [:]
    private var loggedRejections: Set<RejectKey> = []
    /// Under CURVE: which accounts each key may speak for; nil without CURVE (every peer may speak
    /// for any account).
    public private(set) var access: CurveKeyAccess?
    private var admission: BridgeAdmissionCounts
    /// Per slot: the peer the limits count it under (its CURVE key, else its address), from its HELLO.
    private var origins: [String?] = []
    /// Per slot: whether its open session is counted in ``admission``.
    private var countedOpen: [Bool] = []

    private struct RejectKey: Hashable, Sendable {
        var account: AccountID
        var reason: RejectReason
    }

    /// - Parameters:
    ///   - configuration: every session's settings (heartbeats, resync, acknowledgements).
    ///   - access: under CURVE, the keys' accounts (every HELLO must then come with its key).
    ///   - limits: bounds on sessions and new accounts.
    ///   - knownAccounts: accounts that are not new (the store's), for the new-account limits.
    public init(
        configuration: BridgeSessionConfiguration, access: CurveKeyAccess? = nil,
        limits: BridgeAdmissionLimits = .unlimited, knownAccounts: Set<AccountID> = []
    ) {
        self.configuration = configuration
        self.access = access
        self.admission = BridgeAdmissionCounts(limits: limits, knownAccounts: knownAccounts)
    }

    /// Sessions not closed.
    public var liveSessionCount: Int { admission.liveSessions }

    /// The phase of the session on `peer`, if any.
    public func phase(of peer: PeerIdentity) -> BridgeSessionStateMachine.Phase? {
        slotOfPeer[peer].map { machines[$0].phase }
    }

    /// The connection currently serving `account`, if a session is live.
    public func peer(of account: AccountID) -> PeerIdentity? { liveSessionOfAccount[account] }

    /// A decoded frame from `peer`.
    public mutating func received(
        _ envelope: Envelope<TerminalMessage>, from peer: PeerIdentity, origin: String? = nil,
        now: MonotonicInstant
    ) -> Output {
        var deliveries: [BridgeDelivery] = []
        var output = Output()
        received(envelope, from: peer, origin: origin, now: now, deliveries: &deliveries, output: &output)
        output.delivery = deliveries.first { $0.sessionEnd == nil }
        output.sessionEnds = deliveries.filter { $0.sessionEnd != nil }
        return output
    }

    /// A decoded frame from `peer`, for the hot path: an accepted message is appended to
    /// `deliveries` (the caller's batch), messages to send and log lines to `output` (which the
    /// caller empties and reuses). Nothing is copied that need not be: the envelope is consumed,
    /// its session id and message move into the delivery.
    ///
    /// `origin` is the peer as the limits and the CURVE allow-list know it: its Z85 public key
    /// under CURVE, else its address. Only a HELLO needs it (it is read from the connection's
    /// metadata, which costs a lookup per frame).
    public mutating func received(
        _ envelope: consuming Envelope<TerminalMessage>, from peer: PeerIdentity, origin: String? = nil,
        now: MonotonicInstant, deliveries: inout [BridgeDelivery], output: inout Output
    ) {
        counters.frames += 1
        let slot: Int
        if let existing = self.slot(of: peer) {
            slot = existing
            if machines[slot].isNewSession(envelope) {
                // The EA restarted its session on this connection: the old one ends here.
                let action = machines[slot].supersede(now: now)
                apply(action, slot: slot, into: &output)
                Self.moveSessionEnds(from: &output, to: &deliveries)
                forgetSession(in: slot)
                machines[slot] = BridgeSessionStateMachine(configuration: configuration, now: now)
            }
        } else {
            slot = insert(peer, now: now)
        }
        let awaitingSnapshot = machines[slot].phase == .awaitingSnapshot
        if machines[slot].phase == .awaitingHello, case .hello(let hello) = envelope.message,
            let refusal = admit(hello, origin: origin, slot: slot, now: now)
        {
            apply(
                machines[slot].refuse(envelope, reason: refusal.reason, detail: refusal.detail, now: now), slot: slot,
                into: &output)
            return
        }
        let action = machines[slot].received(envelope, now: now)
        if action.deliver, let account = machines[slot].account {
            if awaitingSnapshot, machines[slot].phase == .streaming { admission.known(account) }
            counters.messages += 1
            if case .ticks(let ticks) = envelope.message { counters.ticks += ticks.count }
            deliveries.append((consume envelope).delivery(account: account))
        }
        if !action.send.isEmpty || !action.events.isEmpty {
            apply(action, slot: slot, into: &output)
            // Only events end sessions: the in-order path never gets here.
            Self.moveSessionEnds(from: &output, to: &deliveries)
        }
    }

    private static func moveSessionEnds(from output: inout Output, to deliveries: inout [BridgeDelivery]) {
        guard !output.sessionEnds.isEmpty else { return }
        deliveries.append(contentsOf: output.sessionEnds)
        output.sessionEnds.removeAll(keepingCapacity: true)
    }

    /// A frame from `peer` that could not be decoded.
    public mutating func received(_ fault: BridgeFrameFault, from peer: PeerIdentity, now: MonotonicInstant) -> Output {
        counters.frames += 1
        var output = Output()
        let slot: Int
        if let existing = self.slot(of: peer) {
            slot = existing
            if machines[slot].phase == .closed, fault.kind == .unsupportedVersion,
                fault.sessionID != machines[slot].sessionID
            {
                // A new session attempt, in another protocol version, on a connection whose last
                // session ended: it deserves its own answer (REJECT unsupported_version).
                forgetSession(in: slot)
                machines[slot] = BridgeSessionStateMachine(configuration: configuration, now: now)
            }
        } else {
            if fault.sessionID == nil, fault.kind != .unsupportedVersion {
                // No session and not even a header: nothing to attribute the frame to or answer.
                counters.badFrames[fault.code, default: 0] += 1
                let detail =
                    fault.detail.isEmpty
                    ? "unattributable frame, dropped" : "unattributable frame, dropped: \(fault.detail)"
                output.log.append(
                    BridgeLogRecord(
                        peer: peer, account: nil, sessionID: nil,
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

    /// Downstream committed what `sessionID` delivered up to `sequence`: the ACK it allows (with
    /// ``BridgeSessionConfiguration/acknowledgesOnCommit``). Unknown sessions are ignored (their
    /// peer is gone; the EA resends what was not acknowledged).
    public mutating func committed(sessionID: String, through sequence: UInt64, now: MonotonicInstant) -> Output {
        var output = Output()
        guard let peer = peerOfSession[sessionID], let slot = slotOfPeer[peer],
            machines[slot].sessionID == sessionID
        else { return output }
        apply(machines[slot].committed(through: sequence, now: now), slot: slot, into: &output)
        return output
    }

    /// Sends `command` to the account's live session; false when the account has none (the
    /// caller keeps the command for the next session).
    public mutating func send(
        _ command: Command, to account: AccountID, now: MonotonicInstant
    ) -> (sent: Bool, output: Output) {
        var output = Output()
        guard let peer = liveSessionOfAccount[account], let slot = slotOfPeer[peer] else { return (false, output) }
        let action = machines[slot].send(command, now: now)
        apply(action, slot: slot, into: &output)
        return (!action.send.isEmpty, output)
    }

    /// Asks the account's live session for a new snapshot (RESYNC with `reason`): downstream could
    /// not fold its state. Nothing happens when the account has no live session.
    public mutating func requestResync(of account: AccountID, reason: String, now: MonotonicInstant) -> Output {
        var output = Output()
        guard let peer = liveSessionOfAccount[account], let slot = slotOfPeer[peer] else { return output }
        apply(machines[slot].requestResync(reason: reason, now: now), slot: slot, into: &output)
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

    // MARK: - Admission

    /// Why a HELLO may not open a session (the REJECT's reason and message), or nil. Counts a new
    /// account against the per-minute limits when it passes.
    private mutating func admit(
        _ hello: Hello, origin: String?, slot: Int, now: MonotonicInstant
    ) -> (reason: RejectReason, detail: String)? {
        let account = hello.accountID
        origins[slot] = origin ?? ""
        if let access {
            guard let key = origin else { return (.notAllowed, "no CURVE key on the connection") }
            if case .refused(let why) = access.decide(key: key, account: account) { return (.notAllowed, why) }
        }
        if let limit = admission.admit(account: account, peer: origin ?? "", now: now) {
            counters.limitRefusals[limit, default: 0] += 1
            let detail: String =
                switch limit {
                case .sessions: "the agent holds \(admission.limits.sessions) sessions, its limit"
                case .sessionsPerPeer: "this peer holds \(admission.limits.sessionsPerPeer) sessions, its limit"
                case .newAccounts: "more than \(admission.limits.newAccountsPerMinute) new accounts this minute"
                case .newAccountsPerPeer:
                    "more than \(admission.limits.newAccountsPerPeerPerMinute) new accounts from this peer this minute"
                }
            return (.limitReached, detail)
        }
        return nil
    }

    /// Replaces the CURVE allow-list (a reload): sessions of keys that left it, or whose accounts
    /// changed, end with `REJECT not_allowed`.
    public mutating func replaceAllowList(_ allowList: [String: Set<AccountID>], now: MonotonicInstant) -> Output {
        guard access != nil else { return Output() }
        let changed = access!.replaceAllowList(allowList)
        return endSessions(of: changed, detail: "the key's admission changed", now: now)
    }

    /// Binds a key to an account (nil: unbinds it); its live sessions end when the account changed.
    public mutating func bind(_ key: String, to account: AccountID?, now: MonotonicInstant) -> Output {
        guard access != nil, access!.bindings[key] != account else { return Output() }
        access!.bind(key, to: account)
        return endSessions(of: [key], detail: "the key's account binding changed", now: now)
    }

    private mutating func endSessions(of keys: Set<String>, detail: String, now: MonotonicInstant) -> Output {
        var output = Output()
        guard !keys.isEmpty else { return output }
        for slot in machines.indices where machines[slot].phase != .closed {
            guard let origin = origins[slot], keys.contains(origin) else { continue }
            apply(machines[slot].revoke(reason: .notAllowed, detail: detail, now: now), slot: slot, into: &output)
        }
        return output
    }

    // MARK: - Slots

    private mutating func slot(of peer: PeerIdentity) -> Int? {
        if peer.routingKey != 0 { return slotOfRoutingKey[peer.routingKey] }
        if cachedSlot >= 0, cachedPeer == peer { return cachedSlot }
        guard let slot = slotOfPeer[peer] else { return nil }
        cachedPeer = peer
        cachedSlot = slot
        return slot
    }

    private mutating func insert(_ peer: PeerIdentity, now: MonotonicInstant) -> Int {
        machines.append(BridgeSessionStateMachine(configuration: configuration, now: now))
        peers.append(peer)
        origins.append(nil)
        countedOpen.append(false)
        let slot = machines.count - 1
        slotOfPeer[peer] = slot
        if peer.routingKey != 0 { slotOfRoutingKey[peer.routingKey] = slot }
        return slot
    }

    /// Swap-removes a slot (only from `tick`, which walks the slots backwards).
    private mutating func forgetSession(in slot: Int) {
        if let session = machines[slot].sessionID, peerOfSession[session] == peers[slot] {
            peerOfSession[session] = nil
        }
    }

    private mutating func remove(slot: Int) {
        forgetSession(in: slot)
        let last = machines.count - 1
        slotOfPeer[peers[slot]] = nil
        if peers[slot].routingKey != 0 { slotOfRoutingKey[peers[slot].routingKey] = nil }
        if slot != last {
            machines.swapAt(slot, last)
            peers.swapAt(slot, last)
            origins.swapAt(slot, last)
            countedOpen.swapAt(slot, last)
            slotOfPeer[peers[slot]] = slot
            if peers[slot].routingKey != 0 { slotOfRoutingKey[peers[slot].routingKey] = slot }
        }
        machines.removeLast()
        peers.removeLast()
        origins.removeLast()
        countedOpen.removeLast()
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
                machines[previousSlot].phase != .closed
            {
                // The EA reconnected before its old connection timed out: the old session ends.
                let action = machines[previousSlot].supersede(now: machines[slot].lastHeardAt)
                apply(action, slot: previousSlot, into: &output)
            }
            liveSessionOfAccount[account] = peer
            if let session = machines[slot].sessionID { peerOfSession[session] = peer }
            let origin = origins[slot] ?? ""
            admission.opened(peer: origin)
            countedOpen[slot] = true
            counters.liveSessions = admission.liveSessions
            if let access, case .bind = access.decide(key: origin, account: account) {
                self.access!.bind(origin, to: account)
                output.bindings.append(CurveKeyBinding(key: origin, account: account))
            }
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
            // Only sessions that opened (a HELLO accepted) count as closed: `tidemark_sessions_closed_total`
            // pairs with `tidemark_sessions_opened_total`, and a refused handshake never opened.
            if countedOpen[slot] {
                counters.sessionsClosed += 1
                admission.closed(peer: origins[slot] ?? "")
                countedOpen[slot] = false
                counters.liveSessions = admission.liveSessions
            }
            counters.closes[reason.label, default: 0] += 1
            if let end = BridgeSessionEnd(reason), let account = machines[slot].account,
                let session = machines[slot].sessionID, let last = machines[slot].lastProcessedSequence
            {
                // Only sessions that opened (HELLO accepted) end downstream: a refused handshake
                // never connected the account.
                let text: String = if case .bye(let said) = reason, !said.isEmpty { said } else { end.label }
                output.sessionEnds.append(
                    BridgeDelivery(
                        account: account, sessionID: session, sequence: last,
                        message: .bye(reason: text), sessionEnd: end))
            }
            if let account = machines[slot].account, liveSessionOfAccount[account] == peer {
                liveSessionOfAccount[account] = nil
            }
            // A rejected handshake was already logged (once per account) with its reason.
            if case .rejected = reason { shouldLog = false }
        }
        if shouldLog {
            output.log.append(
                BridgeLogRecord(
                    peer: peer, account: machines[slot].account,
                    sessionID: machines[slot].sessionID, event: event))
        }
    }
}
