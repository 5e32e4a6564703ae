import TidemarkProtocol

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
    /// HELLOs refused with `limit_reached`, by the limit they hit.
    public var limitRefusals: [BridgeLimit: Int] = [:]
    /// Sessions open now (opened and not closed).
    public var liveSessions = 0

    public init() {}
}
