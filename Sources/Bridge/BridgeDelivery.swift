import TidemarkProtocol

/// One accepted message, or the end of a session, on its way downstream (equity engine, recorder),
/// in order with the session's messages.
///
/// A session that opened (its HELLO was accepted) ends with exactly one delivery whose
/// ``sessionEnd`` is set, after its last message: the fact "this session is over", not a frame of the
/// EA. Its ``message`` is then `.bye(reason:)` standing for that end (the EA's own BYE reason for a
/// BYE, else ``BridgeSessionEnd/label``), so a consumer that only folds messages treats it like a
/// goodbye; its ``sequence`` is the last one the session delivered. Sessions the agent stops itself
/// (shutdown) get no such delivery: the next start closes what was left open.
public struct BridgeDelivery: Hashable, Sendable {
    public var account: AccountID
    public var sessionID: String
    public var sequence: UInt64
    public var message: TerminalMessage
    /// Set only on the delivery that ends the session (see above); nil for every EA message.
    public var sessionEnd: BridgeSessionEnd?

    public init(account: AccountID, sessionID: String, sequence: UInt64, message: TerminalMessage,
                sessionEnd: BridgeSessionEnd? = nil) {
        self.account = account
        self.sessionID = sessionID
        self.sequence = sequence
        self.message = message
        self.sessionEnd = sessionEnd
    }
}

extension Envelope where Message == TerminalMessage {
    /// This envelope as a delivery to `account`, its session id and message moved out (swapped
    /// for constants that need no release) rather than copied: building the delivery from the
    /// fields copied the message and its strings, then destroyed the envelope's own, per frame.
    @inline(__always)
    consuming func delivery(account: AccountID) -> BridgeDelivery {
        var message = TerminalMessage.heartbeat(BrokerTime(milliseconds: 0))
        swap(&message, &self.message)
        var sessionID = ""
        swap(&sessionID, &self.sessionID)
        return BridgeDelivery(account: account, sessionID: sessionID, sequence: sequence, message: message)
    }
}

/// Why an opened session ended, as handed downstream (one byte, so deliveries stay small).
public enum BridgeSessionEnd: Hashable, Sendable, CustomStringConvertible {
    /// The EA said goodbye.
    case bye
    /// No frame for ``BridgeSessionConfiguration/missedHeartbeatsBeforeTimeout`` heartbeat intervals.
    case timedOut
    /// The agent ended it with a REJECT (e.g. a frame of another protocol version mid-session).
    case rejected(RejectReason)
    /// More bad frames than the configured limit in the window.
    case tooManyBadFrames
    /// A newer session of the same account (or a new HELLO on the same connection) took over.
    case superseded

    /// The close reason's session end; nil for ``BridgeSessionStateMachine/CloseReason/shutdown``
    /// (not handed downstream).
    public init?(_ reason: BridgeSessionStateMachine.CloseReason) {
        switch reason {
        case .bye: self = .bye
        case .timedOut: self = .timedOut
        case .rejected(let reject): self = .rejected(reject)
        case .tooManyBadFrames: self = .tooManyBadFrames
        case .superseded: self = .superseded
        case .shutdown: return nil
        }
    }

    /// A bounded label (the same as ``BridgeSessionStateMachine/CloseReason/label``).
    public var label: String {
        switch self {
        case .bye: "bye"
        case .timedOut: "timed_out"
        case .rejected(let reason): "rejected_\(reason.rawValue)"
        case .tooManyBadFrames: "too_many_bad_frames"
        case .superseded: "superseded"
        }
    }

    public var description: String { label }
}
