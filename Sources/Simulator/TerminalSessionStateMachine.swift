import TidemarkProtocol

/// Faults a simulated terminal injects on purpose, to test the agent's recovery paths.
public struct SimulatorFaults: Hashable, Sendable {
    /// Sequence numbers not to send (the number is used up, so the agent sees a gap). Each number
    /// fires once: on the first frame that gets it.
    public var dropSequences: Set<UInt64>
    /// Sequence numbers whose frame is sent twice in a row. Each number fires once.
    public var duplicateSequences: Set<UInt64>
    /// After this many recorded messages have been streamed, drop the connection and reconnect
    /// with a new session (hello + a fresh snapshot), then go on. Fires once.
    public var disconnectAfterMessages: Int?

    /// Faults to inject; see each property.
    public init(dropSequences: Set<UInt64> = [], duplicateSequences: Set<UInt64> = [], disconnectAfterMessages: Int? = nil) {
        self.dropSequences = dropSequences
        self.duplicateSequences = duplicateSequences
        self.disconnectAfterMessages = disconnectAfterMessages
    }

    /// No faults.
    public static let none = SimulatorFaults()
}

/// How a simulated terminal paces itself and when it gives up.
public struct SimulatorPacing: Hashable, Sendable {
    /// `nil`: as fast as the agent takes messages. `F`: F × real time, from the messages' broker times.
    public var speed: Double?
    /// Without WELCOME or REJECT this long after HELLO, start a new session (protocol §6.1: 10 s).
    public var handshakeTimeout: Duration
    /// Heartbeat interval until WELCOME gives the agent's (protocol §6.4: 5000 ms).
    public var initialHeartbeatInterval: Duration
    /// Give up (outcome ``SessionOutcome/timedOut(_:)``) when nothing has come from the agent for this long.
    public var stallTimeout: Duration
    /// On every reconnect, start again from the last position the agent acknowledged, as an EA
    /// does (protocol/SPEC.md §6.6): the new session's SNAPSHOT is the account as of the last
    /// acknowledged message, and everything after it is sent again. `false`: the snapshot is the
    /// account as of now and the stream goes on where it was (what was unacknowledged may be lost).
    public var resumesFromAcknowledged: Bool

    /// Pacing and time-outs; the defaults follow protocol/SPEC.md §6.
    public init(speed: Double? = nil, handshakeTimeout: Duration = .seconds(10),
                initialHeartbeatInterval: Duration = .milliseconds(5000), stallTimeout: Duration = .seconds(30),
                resumesFromAcknowledged: Bool = true) {
        self.speed = speed
        self.handshakeTimeout = handshakeTimeout
        self.initialHeartbeatInterval = initialHeartbeatInterval
        self.stallTimeout = stallTimeout
        self.resumesFromAcknowledged = resumesFromAcknowledged
    }
}

/// How a simulated terminal's run ended.
public enum SessionOutcome: Hashable, Sendable, CustomStringConvertible {
    /// Welcomed, everything streamed, and the final BYE acknowledged.
    case completed
    /// The agent refused the session.
    case rejected(RejectReason, message: String)
    /// The agent stopped answering.
    case timedOut(String)
    /// A local failure (socket error).
    case failed(String)

    public var description: String {
        switch self {
        case .completed: "completed"
        case .rejected(let reason, let message): "rejected: \(reason.rawValue): \(message)"
        case .timedOut(let detail): "timed out: \(detail)"
        case .failed(let detail): "failed: \(detail)"
        }
    }
}

/// Counters of one simulated terminal's run.
public struct SessionStatistics: Hashable, Sendable {
    /// Frames handed to the socket (duplicates included, dropped ones not).
    public var framesSent = 0
    /// Recorded messages streamed.
    public var recordedMessagesSent = 0
    /// Recorded messages skipped because a simulated `close_all` had already closed their position.
    public var recordedMessagesSkipped = 0
    /// Frames left out by ``SimulatorFaults/dropSequences``.
    public var framesDropped = 0
    /// Frames sent twice by ``SimulatorFaults/duplicateSequences``.
    public var framesDuplicated = 0
    /// Sessions started (1 + reconnects).
    public var sessionsStarted = 0
    /// Messages sent again after a reconnect because the agent had not acknowledged them.
    public var messagesResent = 0
    /// RESYNC requests received.
    public var resyncsReceived = 0
    /// Snapshots sent in answer to RESYNC.
    public var resyncSnapshotsSent = 0
    /// COMMANDs received (repeats included).
    public var commandsReceived = 0
    /// COMMANDs that arrived after the BYE, ignored as a terminal shutting down would.
    public var commandsIgnoredAfterBye = 0
    /// Agent frames for another session id, ignored.
    public var foreignFramesIgnored = 0
    /// The highest sequence the agent acknowledged in the current session.
    public var highestAcknowledged: UInt64 = 0
    /// All zero.
    public init() {}
}

/// One simulated terminal, as a state machine with no I/O: the driver tells it when a connection
/// starts and what the agent sent, and asks it what to do next. Time comes in as arguments.
///
/// Mirrors what the EA does (protocol/SPEC.md §6): HELLO + SNAPSHOT on every new connection (with a
/// new session id), wait for WELCOME/REJECT, stream, answer RESYNC with a fresh snapshot and COMMAND
/// with CMDACK, HEARTBEAT when idle, start over when the agent goes silent, and at the end BYE and
/// wait for its ACK.
public struct TerminalSessionStateMachine: Sendable {
    /// What the driver should do next.
    public enum Step: Hashable, Sendable {
        /// Encode and send this frame.
        case send(Envelope<TerminalMessage>)
        /// Close the socket, open a new one, and call ``connected(sessionID:now:)`` with a new id.
        case reconnect(reason: String)
        /// Nothing to send before this instant (or until the agent sends something, when `nil`).
        case wait(until: ContinuousClock.Instant?)
        /// The run is over.
        case finished(SessionOutcome)
    }

    private enum Phase: Hashable, Sendable {
        case disconnected
        case handshaking(since: ContinuousClock.Instant)
        case streaming
        case finished(SessionOutcome)
    }

    /// What this terminal plays.
    public let script: TerminalScript
    /// How fast, and when to give up.
    public let pacing: SimulatorPacing
    /// The account as the terminal knows it now.
    public private(set) var account: SimulatedAccount
    public private(set) var statistics = SessionStatistics()
    /// The current session id (empty before the first connection).
    public private(set) var sessionID = ""

    private var faults: SimulatorFaults
    private var phase = Phase.disconnected
    private var cursor = 0
    private var nextSequence: UInt64 = 1
    private var outbox: [TerminalMessage] = []
    private var outboxHead = 0
    private var snapshotQueued = false
    private var pendingDuplicate: Envelope<TerminalMessage>?
    private var byeQueued = false
    private var byeSequence: UInt64?
    private var heartbeatInterval: Duration
    private var lastSentAt: ContinuousClock.Instant?
    private var lastReceivedAt: ContinuousClock.Instant?
    private var streamOrigin: (instant: ContinuousClock.Instant, time: BrokerTime)?
    private var reconnectReason: String?
    private var disconnectFired = false
    private var closedByCommand: Set<Int64> = []
    private var commandAnswers: [Int64: CommandAcknowledgement] = [:]
    private var nextDealTicket: Int64
    private var isFirstConnection = true
    /// The account as of the last message the agent acknowledged, and the stream position after it.
    private var acknowledgedAccount: SimulatedAccount
    private var acknowledgedCursor = 0
    /// Sent messages that changed the account and are not acknowledged yet, in sequence order:
    /// recorded ones by their stream position (no copy of the message), the terminal's own (e.g.
    /// the deals of a `close_all`) by their place in `ownUnacknowledged`.
    private var unacknowledged: [(sequence: UInt64, source: UnacknowledgedSource)] = []
    private var unacknowledgedHead = 0
    private var ownUnacknowledged: [TerminalMessage] = []

    private enum UnacknowledgedSource: Hashable, Sendable {
        /// `script.stream[index]`; the stream position after it is `index + 1`.
        case recorded(index: Int)
        /// `ownUnacknowledged[index]`.
        case own(index: Int)
    }

    /// What ``next(now:canSend:)`` asks the driver to do: a recorded message is named by its
    /// stream position, so the driver can send bytes encoded once per script (``RecordedFrames``)
    /// instead of encoding an envelope per frame.
    enum Next: Hashable, Sendable {
        /// Send `script.stream[index]` in this session with `sequence`.
        case sendRecorded(index: Int, sequence: UInt64)
        /// Any other step.
        case step(Step)
    }

    /// A terminal that has not connected yet; call ``connected(sessionID:now:)`` when its socket is up.
    public init(script: TerminalScript, pacing: SimulatorPacing = SimulatorPacing(), faults: SimulatorFaults = .none) {
        self.script = script
        self.pacing = pacing
        self.faults = faults
        self.account = SimulatedAccount(hello: script.hello, snapshot: script.initialSnapshot)
        self.acknowledgedAccount = account
        self.heartbeatInterval = pacing.initialHeartbeatInterval
        // Simulated deals get tickets well above the recording's, so they never collide.
        self.nextDealTicket = 9_000_000_000_000
    }

    /// Whether the run is over.
    public var isFinished: Bool { if case .finished = phase { true } else { false } }

    /// The outcome, once finished.
    public var outcome: SessionOutcome? { if case .finished(let outcome) = phase { outcome } else { nil } }

    /// A new connection is up (the socket is connected): queue HELLO (sequence 1) and SNAPSHOT.
    public mutating func connected(sessionID: String, now: ContinuousClock.Instant) {
        guard !isFinished else { return }
        self.sessionID = sessionID
        phase = .handshaking(since: now)
        nextSequence = 1
        outbox = []
        outboxHead = 0
        pendingDuplicate = nil
        byeQueued = false
        byeSequence = nil
        snapshotQueued = true
        reconnectReason = nil
        statistics.highestAcknowledged = 0
        statistics.sessionsStarted += 1
        if lastReceivedAt == nil { lastReceivedAt = now }
        if pacing.resumesFromAcknowledged, !isFirstConnection {
            // The agent may not have kept what it did not acknowledge (it may have restarted):
            // go back to the last acknowledged position and send the rest again.
            statistics.messagesResent += max(0, cursor - acknowledgedCursor)
            account = acknowledgedAccount
            cursor = acknowledgedCursor
        }
        unacknowledged = []
        unacknowledgedHead = 0
        ownUnacknowledged = []
        acknowledgedAccount = account
        acknowledgedCursor = cursor
        var hello = account.hello
        hello.sessionID = sessionID
        let snapshot = isFirstConnection ? script.initialSnapshot : account.snapshot()
        isFirstConnection = false
        outbox.append(.hello(hello))
        outbox.append(.snapshot(snapshot))
    }

    /// The agent sent `envelope`.
    public mutating func received(_ envelope: Envelope<AgentMessage>, now: ContinuousClock.Instant) {
        guard !isFinished else { return }
        guard envelope.sessionID == sessionID || envelope.sessionID == "-" else {
            statistics.foreignFramesIgnored += 1
            return
        }
        lastReceivedAt = now
        switch envelope.message {
        case .welcome(let interval, _):
            if case .handshaking = phase {
                phase = .streaming
                if interval > 0 { heartbeatInterval = .milliseconds(interval) }
            }
        case .reject(.expectedHello, _) where phase == .streaming:
            // The agent does not know this session: it restarted and our socket reconnected
            // underneath. Start a new session (HELLO + SNAPSHOT), as an EA does (SPEC §6.6).
            reconnectReason = "agent no longer knows the session (restarted?)"
            phase = .disconnected
        case .reject(let reason, let message):
            phase = .finished(.rejected(reason, message: message))
        case .resync:
            statistics.resyncsReceived += 1
            // At most one snapshot per RESYNC, and RESYNCs before it is out share it (§6.2).
            if !snapshotQueued {
                snapshotQueued = true
                enqueue(.snapshot(account.snapshot()))
                statistics.resyncSnapshotsSent += 1
                if byeSequence != nil {
                    // The agent ignored our BYE while waiting for a snapshot: say goodbye again after it.
                    byeSequence = nil
                    byeQueued = true
                    enqueue(.bye(reason: script.byeReason))
                }
            }
        case .acknowledge(let sequence):
            statistics.highestAcknowledged = max(statistics.highestAcknowledged, sequence)
            while unacknowledgedHead < unacknowledged.count, unacknowledged[unacknowledgedHead].sequence <= sequence {
                switch unacknowledged[unacknowledgedHead].source {
                case .recorded(let index):
                    acknowledgedAccount.apply(script.stream[index])
                    acknowledgedCursor = index + 1
                case .own(let index):
                    acknowledgedAccount.apply(ownUnacknowledged[index])
                }
                unacknowledgedHead += 1
            }
            if unacknowledgedHead == unacknowledged.count {
                unacknowledged.removeAll(keepingCapacity: true)
                unacknowledgedHead = 0
                ownUnacknowledged.removeAll(keepingCapacity: true)
            }
            if let byeSequence, statistics.highestAcknowledged >= byeSequence {
                phase = .finished(.completed)
            }
        case .command(let command):
            statistics.commandsReceived += 1
            // A terminal that has said BYE is in OnDeinit: it no longer trades.
            if byeQueued {
                statistics.commandsIgnoredAfterBye += 1
            } else {
                answer(command)
            }
        case .heartbeat:
            break
        }
    }

    /// What to do next. With `canSend` false (the driver still holds an unsent frame) only the
    /// timers are checked.
    public mutating func nextStep(now: ContinuousClock.Instant, canSend: Bool = true) -> Step {
        switch next(now: now, canSend: canSend) {
        case .sendRecorded(let index, let sequence):
            .send(Envelope(sessionID: sessionID, sequence: sequence, message: script.stream[index]))
        case .step(let step):
            step
        }
    }

    /// ``nextStep(now:canSend:)`` with recorded messages named by position, for the driver.
    mutating func next(now: ContinuousClock.Instant, canSend: Bool = true) -> Next {
        if case .finished(let outcome) = phase { return .step(.finished(outcome)) }
        if let reason = reconnectReason { return .step(.reconnect(reason: reason)) }
        if case .disconnected = phase { return .step(.wait(until: nil)) }

        if let lastReceivedAt, now - lastReceivedAt >= pacing.stallTimeout {
            phase = .finished(.timedOut("nothing from the agent for \(pacing.stallTimeout)"))
            return next(now: now)
        }
        switch phase {
        case .handshaking(let since) where now - since >= pacing.handshakeTimeout:
            return .step(requestReconnect("no WELCOME within \(pacing.handshakeTimeout)"))
        case .streaming:
            if let lastReceivedAt, now - lastReceivedAt >= heartbeatInterval * 3 {
                return .step(requestReconnect("agent silent for three heartbeat intervals"))
            }
        default:
            break
        }
        guard canSend else { return .step(.wait(until: nextTimerDeadline())) }

        if let duplicate = pendingDuplicate {
            pendingDuplicate = nil
            statistics.framesSent += 1
            return .step(.send(duplicate))
        }
        while outboxHead < outbox.count {
            let message = outbox[outboxHead]
            outboxHead += 1
            if outboxHead == outbox.count {
                outbox = []
                outboxHead = 0
            }
            if case .snapshot = message { snapshotQueued = false }
            let isBye: Bool = if case .bye = message { true } else { false }
            if pacing.resumesFromAcknowledged {
                // The terminal's own account changes (a close_all's deals and closes) count as
                // sent once numbered, like recorded ones.
                switch message {
                case .deal, .position:
                    unacknowledged.append((nextSequence, .own(index: ownUnacknowledged.count)))
                    ownUnacknowledged.append(message)
                default: break
                }
            }
            if let sequence = number(message, now: now, isBye: isBye) {
                return .step(.send(Envelope(sessionID: sessionID, sequence: sequence, message: message)))
            }
        }
        guard case .streaming = phase else { return .step(.wait(until: nextTimerDeadline())) }

        while cursor < script.stream.count {
            let index = cursor
            let message = script.stream[index]
            if touchesClosedPosition(message) {
                cursor += 1
                statistics.recordedMessagesSkipped += 1
                continue
            }
            if let due = dueInstant(of: message, now: now), due > now {
                return .step(heartbeatIfIdle(now: now) ?? .wait(until: min(due, nextTimerDeadline() ?? due)))
            }
            cursor += 1
            account.apply(message)
            if pacing.resumesFromAcknowledged {
                unacknowledged.append((nextSequence, .recorded(index: index)))
            }
            statistics.recordedMessagesSent += 1
            if let limit = faults.disconnectAfterMessages, !disconnectFired, statistics.recordedMessagesSent >= limit {
                disconnectFired = true
                reconnectReason = "fault injection: disconnect after \(limit) messages"
            }
            if let sequence = number(message, now: now, isBye: false) { return .sendRecorded(index: index, sequence: sequence) }
            if let reason = reconnectReason { return .step(.reconnect(reason: reason)) }
        }
        if !byeQueued {
            byeQueued = true
            let bye = TerminalMessage.bye(reason: script.byeReason)
            if let sequence = number(bye, now: now, isBye: true) {
                return .step(.send(Envelope(sessionID: sessionID, sequence: sequence, message: bye)))
            }
        }
        return .step(heartbeatIfIdle(now: now) ?? .wait(until: nextTimerDeadline()))
    }

    // MARK: Internals

    private mutating func requestReconnect(_ reason: String) -> Step {
        reconnectReason = reason
        phase = .disconnected
        return .reconnect(reason: reason)
    }

    private mutating func enqueue(_ message: TerminalMessage) { outbox.append(message) }

    /// Numbers a frame, applying the drop and duplicate faults: its sequence, or `nil` when the
    /// frame is dropped.
    private mutating func number(_ message: TerminalMessage, now: ContinuousClock.Instant, isBye: Bool) -> UInt64? {
        let sequence = nextSequence
        nextSequence += 1
        lastSentAt = now
        if isBye { byeSequence = sequence }
        // (The emptiness checks spare hashing the number on every frame of a run without faults.)
        if !faults.dropSequences.isEmpty, faults.dropSequences.remove(sequence) != nil {
            statistics.framesDropped += 1
            return nil
        }
        if !faults.duplicateSequences.isEmpty, faults.duplicateSequences.remove(sequence) != nil {
            statistics.framesDuplicated += 1
            pendingDuplicate = Envelope(sessionID: sessionID, sequence: sequence, message: message)
        }
        statistics.framesSent += 1
        return sequence
    }

    private mutating func heartbeatIfIdle(now: ContinuousClock.Instant) -> Step? {
        guard let lastSentAt, now - lastSentAt >= heartbeatInterval else { return nil }
        let heartbeat = TerminalMessage.heartbeat(brokerNow(now))
        guard let sequence = number(heartbeat, now: now, isBye: false) else { return .wait(until: nextTimerDeadline()) }
        return .send(Envelope(sessionID: sessionID, sequence: sequence, message: heartbeat))
    }

    /// The terminal's clock: the latest time seen, or, when paced, the recording's time scaled from the start.
    private func brokerNow(_ now: ContinuousClock.Instant) -> BrokerTime {
        guard let speed = pacing.speed, let origin = streamOrigin else { return account.time }
        let elapsed = (now - origin.instant) / .milliseconds(1) * speed
        let paced = BrokerTime(milliseconds: origin.time.milliseconds + Int64(elapsed))
        return max(paced, account.time)
    }

    private mutating func dueInstant(of message: TerminalMessage, now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard let speed = pacing.speed, speed > 0, let time = message.brokerTime else { return nil }
        guard let origin = streamOrigin else {
            streamOrigin = (now, time)
            return nil
        }
        let offset = Double(time.milliseconds - origin.time.milliseconds) / speed
        return origin.instant + .milliseconds(Int64(offset.rounded()))
    }

    private func nextTimerDeadline() -> ContinuousClock.Instant? {
        var deadlines: [ContinuousClock.Instant] = []
        if let lastReceivedAt { deadlines.append(lastReceivedAt + pacing.stallTimeout) }
        switch phase {
        case .handshaking(let since): deadlines.append(since + pacing.handshakeTimeout)
        case .streaming:
            if let lastReceivedAt { deadlines.append(lastReceivedAt + heartbeatInterval * 3) }
            if let lastSentAt { deadlines.append(lastSentAt + heartbeatInterval) }
        default: break
        }
        return deadlines.min()
    }

    private func touchesClosedPosition(_ message: TerminalMessage) -> Bool {
        guard !closedByCommand.isEmpty else { return false }
        switch message {
        case .position(let update): return closedByCommand.contains(update.position.ticket)
        case .deal(let deal): return deal.positionID != 0 && closedByCommand.contains(deal.positionID)
        default: return false
        }
    }

    private mutating func answer(_ command: Command) {
        if let earlier = commandAnswers[command.id] {
            // Executed at most once per id (§6.5): repeat the answer, do nothing else.
            enqueue(.commandAcknowledgement(earlier))
            return
        }
        let detail: String
        switch command.kind {
        case .closeAllPositions:
            let tickets = account.positions.keys
            closedByCommand.formUnion(tickets)
            let messages = account.closeAllPositions(firstDealTicket: nextDealTicket)
            nextDealTicket += Int64(messages.count)
            for message in messages { enqueue(message) }
            detail = "simulated: closed \(tickets.count) positions"
        case .disableTrading:
            detail = "simulated: trading disabled (recorded trades still play)"
        case .enableTrading:
            detail = "simulated: trading enabled"
        }
        let acknowledgement = CommandAcknowledgement(commandID: command.id, time: account.time, succeeded: true, detail: detail)
        commandAnswers[command.id] = acknowledgement
        enqueue(.commandAcknowledgement(acknowledgement))
    }
}
