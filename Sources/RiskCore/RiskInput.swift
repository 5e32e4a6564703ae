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
    /// Time has passed with nothing else to say (a heartbeat): lets periods close and time limits
    /// fire on a quiet market.
    case time(BrokerTime)
}
