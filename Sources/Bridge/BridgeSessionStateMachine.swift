import TidemarkProtocol

/// One terminal's session with the agent, as pure logic: events in, actions out, time passed in.
///
/// The shape follows Hummingbird's `HTTPConnectionStateMachine`: every `mutating` function takes one
/// event (a decoded envelope, an undecodable frame, a timer tick) and returns what the I/O layer must
/// do. No sockets, no clock, no logging here, so every transition is tested with an injected time.
///
/// ```
/// awaitingHello ──HELLO──► awaitingSnapshot ──SNAPSHOT──► streaming ◄──SNAPSHOT── resyncing
///       │                        │                           │   └──gap / bad frame──►┘
///       └─ REJECT ─► closed ◄────┴──── BYE, timeout, too many bad frames, superseded
/// ```
///
/// Rules (protocol/SPEC.md, "Session"):
/// - The first frame must be a HELLO of a hedging account in protocol version 1, else REJECT
///   (`expected_hello`, `netting_account`, `exchange_account`, `unsupported_version`) and close.
/// - After HELLO the agent waits for a SNAPSHOT; anything else in its place is answered with RESYNC.
/// - A sequence gap, or a frame that cannot be decoded (its sequence number is unknown, so it counts
///   as a lost frame), or an absurd message: RESYNC, and everything up to the next SNAPSHOT is
///   discarded. More than 10 bad frames in a minute: REJECT `protocol_violation` and close. A SNAPSHOT is accepted whatever its number and re-bases the expected sequence.
/// - A sequence at or below the last one processed is a duplicate: ignored and counted.
/// - Cumulative ACK (the highest contiguous sequence processed) on every HEARTBEAT and BYE, and after
///   at most ``BridgeSessionConfiguration/acknowledgeEveryMessages`` messages or
///   ``BridgeSessionConfiguration/acknowledgeAfterMilliseconds``.
/// - The agent sends HEARTBEAT when it has sent nothing for one interval, and drops a peer silent
///   for ``BridgeSessionConfiguration/missedHeartbeatsBeforeTimeout`` intervals.
public struct BridgeSessionStateMachine: Sendable {
    /// Where the session stands.
    public enum Phase: Hashable, Sendable {
        case awaitingHello, awaitingSnapshot, streaming, resyncing, closed
    }

    /// Why a session ended; ``label`` is a bounded metric label.
    public enum CloseReason: Hashable, Sendable, CustomStringConvertible {
        /// The EA said goodbye.
        case bye(String)
        /// The agent refused the session (handshake or beyond recovery).
        case rejected(RejectReason)
        /// No frame for three heartbeat intervals.
        case timedOut
        /// More bad frames than ``BridgeSessionConfiguration/maximumBadFramesPerWindow`` in the window.
        case tooManyBadFrames
        /// A newer session of the same account (or on the same connection) took over.
        case superseded
        /// The agent is stopping.
        case shutdown

        public var label: String {
            switch self {
            case .bye: "bye"
            case .rejected(let reason): "rejected_\(reason.rawValue)"
            case .timedOut: "timed_out"
            case .tooManyBadFrames: "too_many_bad_frames"
            case .superseded: "superseded"
            case .shutdown: "shutdown"
            }
        }

        public var description: String {
            if case .bye(let text) = self, !text.isEmpty { return "bye (\(text))" }
            return label
        }
    }

    /// Something worth counting or logging that happened to the session.
    public enum Event: Hashable, Sendable {
        /// HELLO accepted, WELCOME sent.
        case opened(Hello)
        /// REJECT sent; `account` is known when the frame was a readable HELLO.
        case rejected(RejectReason, account: AccountID?, detail: String)
        /// RESYNC sent: `reason` is `gap`, `bad_frame`, `expected_snapshot` or `retry`.
        case resyncRequested(lastSequence: UInt64, reason: String, detail: String)
        /// A sequence at or below the last processed one: ignored.
        case duplicate(sequence: UInt64)
        /// A message ignored while waiting for a SNAPSHOT.
        case discarded(sequence: UInt64)
        /// A SNAPSHOT re-based the session after a resync.
        case resynced(sequence: UInt64)
        /// An undecodable or absurd frame, by code.
        case badFrame(code: String, detail: String)
        /// A frame of another (older) session on the same connection: ignored.
        case staleFrame(sessionID: String)
        /// The session is over.
        case closed(CloseReason)
    }

    /// What the I/O layer must do after one event, in this order: hand the envelope just received
    /// downstream if `deliver`, send
    /// `send` to the peer, count and log `events`; if `closes` the session is over.
    ///
    /// A struct rather than one enum case per combination: one frame can need several effects
    /// (a tick that also triggers an ACK; a BYE that is delivered, acknowledged and closes), and in
    /// the hot path (an in-order tick) both arrays stay empty, which costs no allocation.
    public struct Action: Hashable, Sendable {
        /// An accepted message, to pass downstream.
        /// The envelope just received is accepted: pass it downstream. (A flag, not a copy of the
        /// envelope: messages are large enums, and the caller still holds the one it passed in.)
        public var deliver: Bool
        /// Messages for the peer, in order.
        public var send: [Envelope<AgentMessage>]
        /// What happened, for counters and logs.
        public var events: [Event]

        public init(deliver: Bool = false, send: [Envelope<AgentMessage>] = [], events: [Event] = []) {
            self.deliver = deliver
            self.send = send
            self.events = events
        }

        /// Nothing to do.
        public static let none = Action()

        /// True when the session ended with this action.
        public var closes: Bool {
            events.contains { if case .closed = $0 { true } else { false } }
        }
    }

    /// What an open session knows. Kept apart from the phase (rather than as an enum payload) so
    /// the per-message path updates a few integers in place instead of copying the HELLO's strings
    /// out of an enum and back on every frame. Plain numbers only: reading a field through the
    /// optional copies the whole struct, which then costs nothing (no references to retain).
    private struct Session: Sendable {
        /// Highest contiguous sequence processed (what a cumulative ACK reports).
        var lastProcessed: UInt64
        /// The value of the last ACK sent.
        var lastAcknowledged: UInt64 = 0
        /// With ``BridgeSessionConfiguration/acknowledgesOnCommit``: the highest sequence whose
        /// effects downstream reported committed (an ACK never goes beyond it).
        var lastCommitted: UInt64 = 0
        /// Processed messages since the last ACK, and when the first of them arrived.
        var unacknowledged = 0
        var firstUnacknowledgedAt = MonotonicInstant(milliseconds: 0)
        /// When the last RESYNC went out (meaningful while resyncing).
        var lastResyncRequest = MonotonicInstant(milliseconds: 0)
    }

    public let configuration: BridgeSessionConfiguration
    /// The current phase.
    public private(set) var phase: Phase = .awaitingHello
    /// Present from an accepted HELLO on (kept after close).
    private var session: Session?
    /// The accepted HELLO (kept after close).
    private var hello: Hello?
    /// When the session's recent bad frames arrived (at most `maximumBadFramesPerWindow + 1` kept).
    private var recentBadFrames: [MonotonicInstant] = []
    /// The EA's session id, once a frame with a readable header opened or was refused (kept after close).
    public private(set) var sessionID: String?
    /// The account, once a HELLO was accepted or refused for its margin mode (kept after close).
    public private(set) var account: AccountID?
    /// Agent→EA sequence of this session, from 1.
    private var outgoingSequence: UInt64 = 0
    private var lastHeard: MonotonicInstant
    private var lastSent: MonotonicInstant

    /// A session for a peer that has just sent its first frame at `now`.
    public init(configuration: BridgeSessionConfiguration, now: MonotonicInstant) {
        self.configuration = configuration
        self.lastHeard = now
        self.lastSent = now
    }

    /// When the peer last sent any frame.
    public var lastHeardAt: MonotonicInstant { lastHeard }

    /// The highest contiguous sequence processed, once a HELLO was accepted (kept after close);
    /// nil for a session that never opened.
    public var lastProcessedSequence: UInt64? { session?.lastProcessed }

    /// True when `envelope` is a HELLO that starts a session other than this one: the EA restarted
    /// on the same connection. The caller closes this machine (``supersede(now:)``) and starts a new one.
    public func isNewSession(_ envelope: Envelope<TerminalMessage>) -> Bool {
        guard case .hello = envelope.message else { return false }
        return sessionID != envelope.sessionID
    }

    private var isOpen: Bool { phase == .awaitingSnapshot || phase == .streaming || phase == .resyncing }

    // MARK: - Events

    /// A frame decoded into an envelope.
    public mutating func received(_ envelope: Envelope<TerminalMessage>, now: MonotonicInstant) -> Action {
        lastHeard = now
        switch phase {
        case .awaitingHello:
            return receivedFirst(envelope, now: now)
        case .closed:
            return Action(events: [.staleFrame(sessionID: sessionID ?? envelope.sessionID)])
        case .awaitingSnapshot, .streaming, .resyncing:
            break
        }
        if envelope.sessionID != sessionID {
            return Action(events: [.staleFrame(sessionID: envelope.sessionID)])
        }
        let lastProcessed = session!.lastProcessed
        if envelope.sequence <= lastProcessed {
            return Action(events: [.duplicate(sequence: envelope.sequence)])
        }
        switch phase {
        case .streaming:
            if envelope.sequence == lastProcessed + 1 {
                if case .snapshot = envelope.message { break }
                return acceptInOrder(envelope, now: now)
            }
            if case .snapshot = envelope.message { break }
            return requestResync(
                reason: "gap", detail: "expected #\(lastProcessed + 1), got #\(envelope.sequence)",
                discarding: envelope.sequence, now: now)
        case .awaitingSnapshot:
            if case .snapshot = envelope.message { break }
            // The snapshot is missing (lost, or the EA skipped it): ask for it.
            let reason = envelope.sequence == lastProcessed + 1 ? "expected_snapshot" : "gap"
            return requestResync(
                reason: reason,
                detail: "got \(envelope.message.wireType) #\(envelope.sequence) before the snapshot",
                discarding: envelope.sequence, now: now)
        case .resyncing:
            switch envelope.message {
            case .snapshot:
                break
            case .heartbeat:
                // Proof of life; the ACK tells the EA how far the agent got before the gap.
                return Action(send: [acknowledge(now: now)], events: [.discarded(sequence: envelope.sequence)])
            case .bye(let reason):
                let ack = acknowledge(now: now)
                return close(.bye(reason), send: [ack])
            default:
                return Action(events: [.discarded(sequence: envelope.sequence)])
            }
        case .awaitingHello, .closed:
            break
        }
        // A SNAPSHOT: accepted whatever its number, since it carries the whole state.
        return acceptSnapshot(envelope, afterResync: phase == .resyncing, now: now)
    }

    /// A frame that could not be decoded, or whose content is absurd (protocol/SPEC.md §7).
    public mutating func received(_ fault: BridgeFrameFault, now: MonotonicInstant) -> Action {
        lastHeard = now
        switch phase {
        case .awaitingHello:
            let badFrame = Event.badFrame(
                code: fault.code, detail: fault.detail.isEmpty ? "before hello" : fault.detail)
            sessionID = fault.sessionID
            if fault.kind == .unsupportedVersion {
                return reject(
                    .unsupportedVersion, detail: "this agent speaks protocol versions 1 and 2",
                    extraEvents: [badFrame])
            }
            guard fault.sessionID != nil else {
                // Not even a header: nothing to answer to. The caller normally drops such frames
                // before creating a session; here the session simply ends unanswered.
                return close(.rejected(.expectedHello), send: []).prepending([badFrame])
            }
            return reject(
                .expectedHello, detail: "first frame is not a valid hello (\(fault.code))", extraEvents: [badFrame])

        case .closed:
            return Action(events: [
                .staleFrame(sessionID: sessionID ?? fault.sessionID ?? BridgeFrameFault.unknownSessionID)
            ])

        case .awaitingSnapshot, .streaming, .resyncing:
            let badFrame = Event.badFrame(code: fault.code, detail: fault.detail)
            if fault.kind == .unsupportedVersion {
                return reject(
                    .unsupportedVersion, detail: "this agent speaks protocol versions 1 and 2",
                    extraEvents: [badFrame])
            }
            let windowStart = now.advanced(byMilliseconds: -configuration.badFrameWindowMilliseconds)
            recentBadFrames.removeAll { $0 <= windowStart }
            recentBadFrames.append(now)
            if recentBadFrames.count > configuration.maximumBadFramesPerWindow {
                return reject(
                    .protocolViolation,
                    detail:
                        "more than \(configuration.maximumBadFramesPerWindow) bad frames in \(configuration.badFrameWindowMilliseconds) ms",
                    extraEvents: [badFrame], closeReason: .tooManyBadFrames)
            }
            // A bad frame is a lost frame: its sequence number is unknown, so only a snapshot can
            // repair the session. While already resyncing the request is repeated (the bad frame
            // may have been the snapshot); the bad-frame limit bounds how often.
            return requestResync(reason: "bad_frame", detail: fault.code, discarding: nil, now: now).prepending([
                badFrame
            ])
        }
    }

    /// Time passed: send a pending ACK or a heartbeat, re-ask for a snapshot, or time the peer out.
    /// Call it at least every ``BridgeSessionConfiguration/acknowledgeAfterMilliseconds``.
    public mutating func tick(now: MonotonicInstant) -> Action {
        guard isOpen else { return .none }
        if now.milliseconds(since: lastHeard) >= configuration.timeoutMilliseconds {
            // Dropped without a word (SPEC §6): a REJECT would make a live EA wait minutes before
            // retrying, while silence makes it start a new session after its own timeout.
            return close(.timedOut, send: [])
        }
        var action = Action()
        if !configuration.acknowledgesOnCommit, session!.unacknowledged > 0,
            now.milliseconds(since: session!.firstUnacknowledgedAt) >= configuration.acknowledgeAfterMilliseconds
        {
            action.send.append(acknowledge(now: now))
        }
        if phase == .resyncing,
            now.milliseconds(since: session!.lastResyncRequest) >= configuration.resyncRetryMilliseconds
        {
            let last = session!.lastProcessed
            action.send.append(outgoing(.resync(lastSequence: last, reason: "retry"), now: now))
            action.events.append(.resyncRequested(lastSequence: last, reason: "retry", detail: "no snapshot yet"))
            session!.lastResyncRequest = now
        }
        if action.send.isEmpty, now.milliseconds(since: lastSent) >= configuration.heartbeatIntervalMilliseconds {
            action.send.append(outgoing(.heartbeat, now: now))
        }
        return action
    }

    /// Downstream committed the effects of every delivered message up to `sequence` (only with
    /// ``BridgeSessionConfiguration/acknowledgesOnCommit``). Sends the ACK that this allows, also
    /// after the session closed (a BYE is acknowledged once it is committed).
    public mutating func committed(through sequence: UInt64, now: MonotonicInstant) -> Action {
        guard configuration.acknowledgesOnCommit, session != nil, sequence > session!.lastCommitted else {
            return .none
        }
        session!.lastCommitted = sequence
        guard acknowledgeableSequence > session!.lastAcknowledged else { return .none }
        return Action(send: [acknowledge(now: now)])
    }

    /// The agent has a COMMAND for this terminal (enforcement). Sent only while the session is
    /// open; the agent re-sends unanswered commands when the account's next session opens.
    public mutating func send(_ command: Command, now: MonotonicInstant) -> Action {
        guard isOpen else { return .none }
        return Action(send: [outgoing(.command(command), now: now)])
    }

    /// Downstream could not fold what the session delivered (a figure outside the decimal range):
    /// ask for a new snapshot, as after a lost frame. Only while streaming: a session already
    /// waiting for a snapshot gets one anyway.
    public mutating func requestResync(reason: String, now: MonotonicInstant) -> Action {
        guard phase == .streaming else { return .none }
        return requestResync(
            reason: reason, detail: "downstream refused the account's state", discarding: nil, now: now)
    }

    /// A newer session took over this one (same account elsewhere, or a new HELLO on this
    /// connection). Nothing is sent: the old peer is most likely gone.
    public mutating func supersede(now: MonotonicInstant) -> Action {
        guard phase != .closed else { return .none }
        return close(.superseded, send: [])
    }

    /// The first frame is a HELLO the agent refuses before looking at it (a CURVE key that may not
    /// speak for its account, a limit reached): REJECT with `reason` and close.
    public mutating func refuse(
        _ envelope: Envelope<TerminalMessage>, reason: RejectReason, detail: String,
        now: MonotonicInstant
    ) -> Action {
        lastHeard = now
        guard phase == .awaitingHello else { return .none }
        sessionID = envelope.sessionID
        if case .hello(let hello) = envelope.message { account = hello.accountID }
        return reject(reason, detail: detail, extraEvents: [])
    }

    /// The session may no longer go on (its CURVE key was revoked or rebound): REJECT with
    /// `reason` and close. The session's end goes downstream like any other.
    public mutating func revoke(reason: RejectReason, detail: String, now: MonotonicInstant) -> Action {
        guard phase != .closed else { return .none }
        return reject(reason, detail: detail, extraEvents: [], now: now)
    }

    /// The agent is stopping: close without a word (the EA reconnects to the next agent).
    public mutating func shutDown() -> Action {
        guard phase != .closed else { return .none }
        return close(.shutdown, send: [])
    }

    // MARK: - Transitions

    private mutating func receivedFirst(_ envelope: Envelope<TerminalMessage>, now: MonotonicInstant) -> Action {
        sessionID = envelope.sessionID
        guard case .hello(var hello) = envelope.message else {
            return reject(.expectedHello, detail: "first message was \(envelope.message.wireType)", extraEvents: [])
        }
        account = hello.accountID
        switch hello.marginMode {
        case .retailNetting:
            return reject(
                .nettingAccount, detail: "MT5 netting accounts are not supported (hedging only)", extraEvents: [])
        case .exchange:
            return reject(
                .exchangeAccount, detail: "MT5 exchange accounts are not supported (hedging only)", extraEvents: [])
        case .retailHedging:
            break
        }
        if let problem = BridgeMessageValidator.problem(in: envelope.message) {
            return reject(
                .expectedHello, detail: "hello is absurd: \(problem)",
                extraEvents: [.badFrame(code: "absurd_value", detail: problem)])
        }
        // Hello's session id in the record and in the header must agree; the header wins for replies.
        hello.sessionID = envelope.sessionID
        self.hello = hello
        session = Session(lastProcessed: envelope.sequence)
        noteProcessed(now: now)
        let welcome = outgoing(
            .welcome(
                heartbeatIntervalMilliseconds: Int(configuration.heartbeatIntervalMilliseconds),
                agentVersion: configuration.agentVersion), now: now)
        phase = .awaitingSnapshot
        return Action(deliver: true, send: [welcome], events: [.opened(hello)])
    }

    private mutating func acceptSnapshot(
        _ envelope: Envelope<TerminalMessage>, afterResync: Bool, now: MonotonicInstant
    ) -> Action {
        if let problem = BridgeMessageValidator.problem(in: envelope.message) {
            return received(
                BridgeFrameFault(code: "absurd_value", detail: problem, sessionID: envelope.sessionID), now: now)
        }
        session!.lastProcessed = envelope.sequence
        phase = .streaming
        var action = Action(deliver: true)
        if afterResync { action.events.append(.resynced(sequence: envelope.sequence)) }
        noteProcessed(now: now)
        if !configuration.acknowledgesOnCommit, session!.unacknowledged >= configuration.acknowledgeEveryMessages {
            action.send.append(acknowledge(now: now))
        }
        return action
    }

    private mutating func acceptInOrder(_ envelope: Envelope<TerminalMessage>, now: MonotonicInstant) -> Action {
        if let problem = BridgeMessageValidator.problem(in: envelope.message) {
            // Not processed, so the next message would be a gap anyway: resync now.
            return received(
                BridgeFrameFault(code: "absurd_value", detail: problem, sessionID: envelope.sessionID), now: now)
        }
        switch envelope.message {
        case .hello:
            // A second HELLO of the same session in sequence: it cannot re-open what is open.
            return received(BridgeFrameFault(code: "unexpected_hello", sessionID: envelope.sessionID), now: now)
        case .heartbeat:
            session!.lastProcessed = envelope.sequence
            noteProcessed(now: now)
            return Action(deliver: true, send: [acknowledge(now: now)])
        case .bye(let reason):
            session!.lastProcessed = envelope.sequence
            noteProcessed(now: now)
            let ack = acknowledge(now: now)
            var closing = close(.bye(reason), send: [ack])
            closing.deliver = true
            return closing
        default:
            session!.lastProcessed = envelope.sequence
            noteProcessed(now: now)
            if !configuration.acknowledgesOnCommit, session!.unacknowledged >= configuration.acknowledgeEveryMessages {
                return Action(deliver: true, send: [acknowledge(now: now)])
            }
            return Action(deliver: true)
        }
    }

    private mutating func requestResync(
        reason: String, detail: String, discarding sequence: UInt64?,
        now: MonotonicInstant
    ) -> Action {
        let last = session!.lastProcessed
        let resync = outgoing(.resync(lastSequence: last, reason: reason), now: now)
        phase = .resyncing
        session!.lastResyncRequest = now
        var events: [Event] = [.resyncRequested(lastSequence: last, reason: reason, detail: detail)]
        if let sequence { events.append(.discarded(sequence: sequence)) }
        return Action(send: [resync], events: events)
    }

    /// Sends REJECT and closes. With a `closeReason` (timeout, too many bad frames) the REJECT only
    /// tells a live peer why it lost its session; it is not a handshake rejection and not counted as one.
    private mutating func reject(
        _ reason: RejectReason, detail: String, extraEvents: [Event],
        closeReason: CloseReason? = nil, now: MonotonicInstant? = nil
    ) -> Action {
        let message = outgoing(.reject(reason, message: detail), now: now ?? lastHeard)
        var action = close(closeReason ?? .rejected(reason), send: [message])
        var leading = extraEvents
        if closeReason == nil { leading.append(.rejected(reason, account: account, detail: detail)) }
        action.events.insert(contentsOf: leading, at: 0)
        return action
    }

    private mutating func close(_ reason: CloseReason, send: [Envelope<AgentMessage>]) -> Action {
        phase = .closed
        return Action(send: send, events: [.closed(reason)])
    }

    // MARK: - Helpers

    private mutating func noteProcessed(now: MonotonicInstant) {
        if session!.unacknowledged == 0 { session!.firstUnacknowledgedAt = now }
        session!.unacknowledged += 1
    }

    /// What a cumulative ACK may report now: everything processed, or, when ACKs follow commits,
    /// everything processed and committed.
    private var acknowledgeableSequence: UInt64 {
        configuration.acknowledgesOnCommit
            ? min(session!.lastProcessed, session!.lastCommitted) : session!.lastProcessed
    }

    private mutating func acknowledge(now: MonotonicInstant) -> Envelope<AgentMessage> {
        let last = acknowledgeableSequence
        session!.lastAcknowledged = last
        session!.unacknowledged = 0
        return outgoing(.acknowledge(sequence: last), now: now)
    }

    private mutating func outgoing(_ message: AgentMessage, now: MonotonicInstant) -> Envelope<AgentMessage> {
        outgoingSequence += 1
        lastSent = now
        return Envelope(
            sessionID: sessionID ?? BridgeFrameFault.unknownSessionID, sequence: outgoingSequence, message: message)
    }
}

extension BridgeSessionStateMachine.Action {
    fileprivate func prepending(_ events: [BridgeSessionStateMachine.Event]) -> Self {
        var copy = self
        copy.events.insert(contentsOf: events, at: 0)
        return copy
    }

}
