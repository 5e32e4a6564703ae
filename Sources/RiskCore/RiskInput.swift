import EquityEngine
import TidemarkProtocol

/// Everything the risk core folds, in the order it happened. Time comes only from these values:
/// the core reads no clock, so the same sequence always gives the same outputs.
public enum RiskInput: Hashable, Sendable, Codable {
    /// Balance and equity after a tick or a balance change (from the equity engine).
    case observation(EquityObservation)
    /// A deal of the account: trades (for trading days, trade counts, closed results) and balance
    /// operations (deposits and withdrawals are not profit; credit is not balance).
    ///
    /// `indirect` (boxed) like `position`: it keeps the enum as small as an observation, so the
    /// per-tick path copies 57 bytes instead of 129.
    indirect case deal(AccountID, Deal)
    /// A position opened, changed or closed (for position and lot caps, days with an opened position).
    indirect case position(AccountID, PositionUpdate)
    /// The account's full set of open positions after a (re)snapshot: replaces what was known.
    case openPositions(AccountID, [Position], at: BrokerTime)
    /// Time has passed for one account with nothing else to say: its terminal's heartbeat, a tick
    /// that moved no equity, or the agent's wall clock in the account's broker time while the
    /// account is quiet. Lets the account's periods and chart hours close and its challenges' time
    /// limits fire on a quiet market. It moves that account only: accounts do not share a clock.
    case time(AccountID, BrokerTime)
}

extension RiskInput {
    /// The time a terminal message states about its account's clock: a heartbeat's time, or the
    /// latest tick time of a TICKS frame; nil for every other message.
    public static func statedTime(of message: TerminalMessage) -> BrokerTime? {
        switch message {
        case .heartbeat(let time): time
        case .ticks(let batch): batch.lazy.map(\.time).max()
        default: nil
        }
    }

    /// The time input that follows a message's observations in the fold (the agent and
    /// `tidemark replay` alike): a heartbeat's time, or a TICKS frame's latest tick time when no
    /// observation of the frame reached it (ticks that moved no equity still move the account's
    /// clock, so a period that begins at them opens there). Nil when there is nothing to add.
    /// - Parameters:
    ///   - message: the account's message, as folded.
    ///   - account: the account that sent it.
    ///   - latestObservation: the time of the message's last observation, if any.
    public static func time(after message: TerminalMessage, of account: AccountID,
                            latestObservation: BrokerTime?) -> RiskInput? {
        guard let time = statedTime(of: message), latestObservation.map({ time > $0 }) ?? true else { return nil }
        return .time(account, time)
    }
}
