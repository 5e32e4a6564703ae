import TidemarkProtocol

/// An account's balance and equity at one moment: what the equity engine emits on every tick that
/// moves one of the account's positions, and on every balance change. The risk core folds these.
public struct EquityObservation: Hashable, Sendable, Codable {
    /// The observed account.
    public var account: AccountID
    /// The broker time of the tick or deal that caused it.
    public var time: BrokerTime
    /// The balance at `time`.
    public var balance: FixedDecimal
    /// The credit at `time`.
    public var credit: FixedDecimal
    /// balance + credit + floating.
    public var equity: FixedDecimal
    /// Σ over open positions of profit + swap (+ commission on MT4), rounded per position to the
    /// account's currency digits.
    public var floating: FixedDecimal

    /// An observation with every figure given.
    public init(account: AccountID, time: BrokerTime, balance: FixedDecimal, credit: FixedDecimal,
                equity: FixedDecimal, floating: FixedDecimal) {
        self.account = account
        self.time = time
        self.balance = balance
        self.credit = credit
        self.equity = equity
        self.floating = floating
    }
}
