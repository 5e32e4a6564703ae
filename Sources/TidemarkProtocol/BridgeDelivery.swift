/// One accepted message, or the end of a session, on its way downstream from the bridge (equity
/// engine, recorder), in order with the session's messages. Vocabulary shared by the bridge that
/// makes deliveries and the fold that consumes them (AgentFold), so the fold needs no socket code.
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

/// Why an opened session ended, as handed downstream (one byte, so deliveries stay small).
public enum BridgeSessionEnd: Hashable, Sendable, CustomStringConvertible {
    /// The EA said goodbye.
    case bye
    /// No frame for the bridge's `missedHeartbeatsBeforeTimeout` heartbeat intervals.
    case timedOut
    /// The agent ended it with a REJECT (e.g. a frame of another protocol version mid-session).
    case rejected(RejectReason)
    /// More bad frames than the configured limit in the window.
    case tooManyBadFrames
    /// A newer session of the same account (or a new HELLO on the same connection) took over.
    case superseded

    /// A bounded label (the same as the bridge's close reason label).
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
