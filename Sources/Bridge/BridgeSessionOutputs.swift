import TidemarkProtocol

/// A CURVE key bound to the first account it said HELLO for.
public struct CurveKeyBinding: Hashable, Sendable {
    /// The key, Z85.
    public var key: String
    public var account: AccountID

    public init(key: String, account: AccountID) {
        self.key = key
        self.account = account
    }
}

/// Something the I/O layer should log: one line per session event.
public struct BridgeLogRecord: Hashable, Sendable {
    public var peer: PeerIdentity
    public var account: AccountID?
    public var sessionID: String?
    public var event: BridgeSessionStateMachine.Event

    public init(peer: PeerIdentity, account: AccountID?, sessionID: String?, event: BridgeSessionStateMachine.Event) {
        self.peer = peer
        self.account = account
        self.sessionID = sessionID
        self.event = event
    }
}

/// A message for one peer.
public struct BridgeOutgoing: Hashable, Sendable {
    public var peer: PeerIdentity
    public var envelope: Envelope<AgentMessage>

    public init(peer: PeerIdentity, envelope: Envelope<AgentMessage>) {
        self.peer = peer
        self.envelope = envelope
    }
}
