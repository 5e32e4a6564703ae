import TidemarkProtocol

/// Joins a split snapshot back into one before anything folds it (protocol/SPEC.md §6.8).
///
/// A snapshot that announces more positions than it carries (`Snapshot.positionCount`) is held,
/// with the `POSITION opened` frames of the same session that follow it, until every announced
/// position has arrived; then it is handed on as one snapshot. Folding the parts one by one would
/// value the account without the positions still to come, and a tracker could see that equity.
/// While a snapshot is held its account yields no observation: its equity is unknown. Heartbeats,
/// command answers and goodbyes pass meanwhile; any other frame ends the wait (see
/// ``Assembly/interrupted``).
public struct SplitSnapshotAssembler: Sendable {
    private struct Pending: Sendable {
        var sessionID: String
        var snapshot: Snapshot
    }

    /// What to fold now for one message.
    public struct Assembly: Sendable {
        /// The messages to fold, in order: none while a snapshot is held.
        public var messages: [TerminalMessage]
        /// A held snapshot that a frame changing the account's state (ticks, a deal, a symbol, a
        /// report) interrupted before its positions were all in; it is first in ``messages`` as it
        /// stands, ahead of the interrupting frame (the EA broke §6.8).
        public var interrupted: Snapshot?
    }

    private var pending: [AccountID: Pending] = [:]

    /// An assembler holding nothing.
    public init() {}

    /// Whether a split snapshot of `account` is waiting for its positions.
    public func isHolding(_ account: AccountID) -> Bool { pending[account] != nil }

    /// Takes the next message of `account` from session `sessionID`.
    public mutating func assemble(
        _ message: TerminalMessage, account: AccountID, sessionID: String
    ) -> Assembly {
        if case .snapshot(let snapshot) = message {
            // A new snapshot re-bases the account: whatever was held is superseded.
            pending[account] = nil
            guard snapshot.missingPositionCount > 0 else { return Assembly(messages: [message]) }
            pending[account] = Pending(sessionID: sessionID, snapshot: snapshot)
            return Assembly(messages: [])
        }
        guard var held = pending.removeValue(forKey: account) else { return Assembly(messages: [message]) }
        if case .position(let update) = message, update.change == .opened, held.sessionID == sessionID {
            held.snapshot.positions.append(update.position)
            if held.snapshot.missingPositionCount > 0 {
                pending[account] = held
                return Assembly(messages: [])
            }
            return Assembly(messages: [.snapshot(held.snapshot)])
        }
        switch message {
        case .hello:
            // A new session sends its own snapshot: the old one's parts are worth nothing.
            return Assembly(messages: [message])
        case .heartbeat, .commandAcknowledgement, .bye:
            // Time and answers move no position: they fold while the snapshot waits.
            pending[account] = held
            return Assembly(messages: [message])
        default:
            break
        }
        return Assembly(messages: [.snapshot(held.snapshot), message], interrupted: held.snapshot)
    }

    /// Forgets what is held for `account` from session `sessionID` (the session ended unfinished).
    public mutating func discard(_ account: AccountID, sessionID: String) {
        if pending[account]?.sessionID == sessionID { pending[account] = nil }
    }
}
