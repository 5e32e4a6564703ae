import TidemarkProtocol

// Exact arithmetic behind a position's floating profit.
//
// A position's profit in its profit currency is `(close − open) × F`, where F depends only on the
// position and its symbol (not on the price), so it is computed once when the position is bound:
//   Forex, Forex-no-leverage, CFD, CFD-index, CFD-leverage, exchange stocks, MOEX stocks:
//       F = contract size × lots
//   Futures, exchange futures, FORTS futures:
//       F = lots × tick value ÷ tick size
// F is kept as an exact reduced fraction `numerator ÷ denominator`, so a revaluation is a couple of
// integer multiplications and one division that rounds once, half away from zero, to the
// account's currency digits. Nothing is rounded to eight digits on the way (no double rounding).
//
// Why round each position to the account's currency digits: MetaTrader documents no rounding rule for
// POSITION_PROFIT or OrderProfit (none found in the MQL4 OrderProfit page or the MQL5 position
// properties), but it keeps account money in ACCOUNT_CURRENCY_DIGITS and books a closing deal's profit
// in them. Rounding the floating profit the same way gives exactly what would reach the balance if the
// position closed at this quote, so equity does not step at the close; half away from zero is what
// MQL's NormalizeDouble does. Reconciliation against the terminal's equity tolerates the difference
// to a single final rounding (see EquityEngine.DriftTolerance.default).

/// How a symbol's profit is computed, after mapping MetaTrader's calculation modes.
enum ProfitFormula {
    /// (close − open) × contract size × lots.
    case contract
    /// (close − open) × lots × tick value ÷ tick size. MQL reports SYMBOL_TRADE_TICK_VALUE in the
    /// account currency, so the result is already in the account currency (no cross conversion).
    case tickValue
    /// Options, bonds, collateral: not computed (the account's equity becomes unknown).
    case unsupported

    init(_ mode: CalcMode) {
        switch mode {
        case .forex, .forexNoLeverage, .cfd, .cfdIndex, .cfdLeverage, .exchangeStocks, .exchangeStocksMOEX:
            self = .contract
        case .futures, .exchangeFutures, .exchangeFuturesForts:
            self = .tickValue
        case .exchangeOptions, .exchangeOptionsMargin, .exchangeBonds, .exchangeBondsMOEX, .serviceCollateral:
            self = .unsupported
        }
    }
}

/// An exact positive fraction `numerator ÷ denominator` with both parts in `Int64`.
struct ProfitFactor: Equatable {
    var numerator: Int64
    var denominator: Int64

    /// F for a position of `volume` lots on `spec`, such that
    /// profit units (10⁻⁸ of the profit currency) = price difference units × numerator ÷ denominator.
    /// Nil when the specification cannot give a number (zero tick size, values out of range).
    init?(formula: ProfitFormula, volume: FixedDecimal, spec: SymbolSpec) {
        let scale = Int128(FixedDecimal.unitsPerOne)
        var numerator: Int128
        var denominator: Int128
        switch formula {
        case .contract:
            // value = diff × contract × lots; in units: diffU × cU × lU ÷ 10¹⁶.
            numerator = Int128(spec.contractSize.units) * Int128(volume.units)
            denominator = scale * scale
        case .tickValue:
            // value = diff × lots × tickValue ÷ tickSize; in units: diffU × lU × tvU ÷ (10⁸ × tsU).
            guard spec.tickSize.units > 0 else { return nil }
            numerator = Int128(volume.units) * Int128(spec.tickValue.units)
            denominator = scale * Int128(spec.tickSize.units)
        case .unsupported:
            return nil
        }
        guard numerator >= 0, denominator > 0 else { return nil }
        let divisor = Self.gcd(numerator, denominator)
        if divisor > 1 {
            numerator /= divisor
            denominator /= divisor
        }
        guard let n = Int64(exactly: numerator), let d = Int64(exactly: denominator) else { return nil }
        self.numerator = n
        self.denominator = d
    }

    static func gcd(_ a: Int128, _ b: Int128) -> Int128 {
        var (x, y) = (a.magnitude, b.magnitude)
        while y != 0 { (x, y) = (y, x % y) }
        return Int128(x)
    }
}

/// `numerator ÷ denominator` rounded half away from zero. `denominator` > 0.
@inline(__always)
func roundedQuotient(_ numerator: Int64, _ denominator: Int64) -> Int64 {
    let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
    guard remainder.magnitude &* 2 >= denominator.magnitude else { return quotient }
    return numerator < 0 ? quotient - 1 : quotient + 1
}

/// `numerator ÷ denominator` rounded half away from zero. `denominator` > 0.
@inline(__always)
func roundedQuotient(_ numerator: Int128, _ denominator: Int128) -> Int128 {
    let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
    guard remainder.magnitude * 2 >= denominator.magnitude else { return quotient }
    return numerator < 0 ? quotient - 1 : quotient + 1
}

/// `a × b × c ÷ (d × e)`, rounded half away from zero; nil when the result (or an intermediate in
/// `Int128`) does not fit. Uses `Int64` when every intermediate fits (the common case). `d`, `e` > 0.
@inline(__always)
func roundedProductQuotient(_ a: Int64, _ b: Int64, _ c: Int64, _ d: Int64, _ e: Int64) -> Int64? {
    let (ab, overflow1) = a.multipliedReportingOverflow(by: b)
    let (abc, overflow2) = ab.multipliedReportingOverflow(by: c)
    let (de, overflow3) = d.multipliedReportingOverflow(by: e)
    if !overflow1, !overflow2, !overflow3 { return roundedQuotient(abc, de) }
    let (wideAB, wideOverflow1) = (Int128(a) * Int128(b)).multipliedReportingOverflow(by: Int128(c))
    guard !wideOverflow1 else { return nil }
    let wide = roundedQuotient(wideAB, Int128(d) * Int128(e))
    return Int64(exactly: wide)
}
