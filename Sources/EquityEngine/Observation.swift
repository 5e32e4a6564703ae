import TidemarkProtocol

/// An account's balance and equity at one moment: what the equity engine emits on every tick that
/// moves one of the account's positions, and on every balance change. The risk core folds these.
public struct EquityObservation: Hashable, Sendable, Codable {
    public var account: AccountID
    /// The broker time of the tick or deal that caused it.
    public var time: BrokerTime
    public var balance: FixedDecimal
    public var credit: FixedDecimal
    /// balance + credit + floating.
    public var equity: FixedDecimal
    /// Σ over open positions of profit + swap (+ commission on MT4), rounded per position to the
    /// account's currency digits.
    public var floating: FixedDecimal

    public init(account: AccountID, time: BrokerTime, balance: FixedDecimal, credit: FixedDecimal,
                equity: FixedDecimal, floating: FixedDecimal) {
        self.account = account; self.time = time; self.balance = balance; self.credit = credit
        self.equity = equity; self.floating = floating
    }
}
