import TidemarkProtocol

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

extension BridgeSessionEnd {
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
}
