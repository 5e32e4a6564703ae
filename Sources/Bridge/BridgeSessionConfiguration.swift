import TidemarkProtocol

/// A moment on a monotonic clock, in milliseconds from an arbitrary origin.
///
/// The session logic never reads a clock: the I/O layer passes the time in with every event, so
/// tests drive timeouts and heartbeats by hand.
public struct MonotonicInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since the clock's (arbitrary) origin.
    public var milliseconds: Int64

    @inlinable public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    @inlinable public static func < (lhs: Self, rhs: Self) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// This instant moved forward by `milliseconds`.
    @inlinable public func advanced(byMilliseconds milliseconds: Int64) -> Self {
        Self(milliseconds: self.milliseconds + milliseconds)
    }

    /// Milliseconds from `earlier` to this instant (negative if `earlier` is later).
    @inlinable public func milliseconds(since earlier: Self) -> Int64 { milliseconds - earlier.milliseconds }

    public var description: String { "\(milliseconds)ms" }
}

/// The knobs of the bridge session protocol (see protocol/SPEC.md, "Session").
public struct BridgeSessionConfiguration: Sendable, Hashable {
    /// Sent in WELCOME: how often each side sends a HEARTBEAT when it has sent nothing else.
    public var heartbeatIntervalMilliseconds: Int64
    /// A peer silent for this many heartbeat intervals is timed out (the spec says 3).
    public var missedHeartbeatsBeforeTimeout: Int64
    /// A cumulative ACK goes out at the latest after this many accepted messages...
    public var acknowledgeEveryMessages: Int
    /// ...or this long after the oldest message not yet acknowledged, whichever comes first.
    public var acknowledgeAfterMilliseconds: Int64
    /// A session in resync that has not sent its SNAPSHOT after this long is asked again (the first
    /// RESYNC may have been lost, e.g. to a full send queue).
    public var resyncRetryMilliseconds: Int64
    /// A session that sends more than this many undecodable or absurd frames within
    /// ``badFrameWindowMilliseconds`` is closed with `REJECT protocol_violation` (protocol/SPEC.md §7:
    /// more than 10 within a minute). Each bad frame below the limit counts as a lost frame and
    /// triggers a resync; a peer above it is not an EA having a bad moment but a broken or hostile
    /// peer. A window rather than a lifetime total, so rare corruption on a session that lives for
    /// months never adds up to a disconnect.
    public var maximumBadFramesPerWindow: Int
    /// See ``maximumBadFramesPerWindow``.
    public var badFrameWindowMilliseconds: Int64
    /// The agent's version, sent in WELCOME.
    public var agentVersion: String
    /// What an ACK promises. `false` (the bridge alone): the message was received and handed
    /// downstream. `true` (the agent with its store): the message's effects are committed — ACKs
    /// then carry the highest sequence downstream reported through
    /// ``BridgeSessionStateMachine/committed(through:now:)``, never more, so that "nothing
    /// acknowledged is ever lost" holds across a kill -9 of the agent.
    public var acknowledgesOnCommit: Bool

    /// - Parameters: see the properties. Defaults: heartbeat 5 s (timeout after 3 missed = 15 s),
    ///   ACK every 100 messages or 100 ms (the spec allows up to 100 frames or 1,000 ms), resync
    ///   retry after 5 s, more than 10 bad frames in 60 s close the session.
    public init(heartbeatIntervalMilliseconds: Int64 = 5_000, missedHeartbeatsBeforeTimeout: Int64 = 3,
                acknowledgeEveryMessages: Int = 100, acknowledgeAfterMilliseconds: Int64 = 100,
                resyncRetryMilliseconds: Int64 = 5_000, maximumBadFramesPerWindow: Int = 10,
                badFrameWindowMilliseconds: Int64 = 60_000, agentVersion: String = "tidemark/0.1",
                acknowledgesOnCommit: Bool = false) {
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.missedHeartbeatsBeforeTimeout = missedHeartbeatsBeforeTimeout
        self.acknowledgeEveryMessages = acknowledgeEveryMessages
        self.acknowledgeAfterMilliseconds = acknowledgeAfterMilliseconds
        self.resyncRetryMilliseconds = resyncRetryMilliseconds
        self.maximumBadFramesPerWindow = maximumBadFramesPerWindow
        self.badFrameWindowMilliseconds = badFrameWindowMilliseconds
        self.agentVersion = agentVersion
        self.acknowledgesOnCommit = acknowledgesOnCommit
    }

    /// How long a peer may stay silent before its session is dropped.
    public var timeoutMilliseconds: Int64 { heartbeatIntervalMilliseconds * missedHeartbeatsBeforeTimeout }
}

/// A frame the wire codec could not turn into an envelope, or whose content is absurd.
///
/// The session layer does not depend on the codec's error type: the I/O layer maps each codec
/// error to a fault with a short code (the metric label) and says whether the frame spoke another
/// protocol version (which is a reject, not a lost frame).
public struct BridgeFrameFault: Hashable, Sendable, CustomStringConvertible {
    /// What kind of fault.
    public enum Kind: Hashable, Sendable {
        /// The header names a protocol version this agent does not speak.
        case unsupportedVersion
        /// Anything else: truncated, unknown type, bad field, non-UTF-8, absurd number.
        case malformed
    }

    /// The placeholder session id in agent frames when the peer's could not be read (SPEC §2).
    public static let unknownSessionID = "-"


    public var kind: Kind
    /// A short, bounded label such as `truncated` or `unknown_type`, for counters and logs.
    public var code: String
    /// A human explanation for the log (which field, which line); may be empty.
    public var detail: String
    /// The frame's session id, if the header could be read. Without it the frame cannot be
    /// attributed: it counts as a lost frame of the peer's live session, and is dropped (counted,
    /// not answered) when the peer has none.
    public var sessionID: String?

    public init(kind: Kind = .malformed, code: String, detail: String = "", sessionID: String? = nil) {
        self.kind = kind
        self.code = code
        self.detail = detail
        self.sessionID = sessionID
    }

    public var description: String { code }
}
