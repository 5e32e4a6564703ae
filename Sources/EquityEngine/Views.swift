import TidemarkProtocol

/// An account as the engine currently sees it (for APIs, debugging and tests).
public struct AccountView: Hashable, Sendable {
    /// The account.
    public var account: AccountID
    /// MT4 or MT5.
    public var platform: Platform
    /// The deposit currency.
    public var currency: String
    /// Digits money is rounded to in this account.
    public var currencyDigits: Int
    /// The balance the engine holds (the nearest end of the range while ``outOfRange`` is
    /// `.balance`).
    public var balance: FixedDecimal
    /// The credit the engine holds (the nearest end of the range while ``outOfRange`` is `.credit`).
    public var credit: FixedDecimal
    /// The first figure outside the decimal range, while one is (then floating and equity are nil).
    public var outOfRange: AccountFigure?
    /// Nil while equity is unknown.
    public var floating: FixedDecimal?
    /// Nil while equity is unknown.
    public var equity: FixedDecimal?
    /// Since when equity is unknown (nil when known, or before the first snapshot).
    public var unknownSince: BrokerTime?
    /// Why equity is unknown (nil when known).
    public var unknownReason: EquityUnknownReason?
    /// Open positions, with their valuation.
    public var positions: [PositionView]
    /// Closes reported by position messages whose deal has not arrived yet.
    public var pendingCloses: Int
    /// Reports found beyond tolerance.
    public var drifts: Int
}

/// One open position and its current valuation.
public struct PositionView: Hashable, Sendable {
    /// The position as last reported.
    public var position: Position
    /// Profit in the account currency, rounded to its digits (without swap and commission); nil when
    /// it cannot be computed.
    public var profit: FixedDecimal?
}

extension EquityEngine {
    /// The current state of `account`, or nil when it is not registered.
    public func view(of account: AccountID) -> AccountView? {
        guard let slot = accountIndex[account] else { return nil }
        let record = accounts[Int(slot)]
        let known = record.isKnown && record.outOfRange == nil
        func clamped(_ units: Int128) -> FixedDecimal {
            FixedDecimal(wideUnits: units) ?? (units < 0 ? .leastFiniteValue : .greatestFiniteMagnitude)
        }
        let positions = record.positions.map { slot in
            let p = Int(slot)
            return PositionView(
                position: cold[p].position,
                profit: hot[p].status == .known ? FixedDecimal(units: hot[p].profitUnits) : nil)
        }
        return AccountView(
            account: record.id, platform: record.platform, currency: record.currency, currencyDigits: record.digits,
            balance: clamped(record.balanceUnits), credit: clamped(record.creditUnits), outOfRange: record.outOfRange,
            floating: known ? clamped(record.floatingUnits) : nil,
            equity: known ? clamped(record.equityUnits) : nil,
            unknownSince: record.unknownSince.map { BrokerTime(milliseconds: $0) },
            unknownReason: record.isKnown ? nil : unknownReason(account: Int(slot)),
            positions: positions, pendingCloses: record.pendingCloses.count, drifts: record.drifts)
    }

    /// Open positions across all accounts.
    public var openPositionCount: Int { hot.count - freePositions.count }
}
