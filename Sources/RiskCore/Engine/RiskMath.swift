import TidemarkProtocol

/// Exact integer arithmetic the risk core needs beyond `FixedDecimal`'s own.
enum RiskMath {
    /// `amount > fraction × base`, exactly (no rounding of the product): how a relative
    /// threshold is compared, so that 0.1 is not "exceeded" by a ratio that only rounds to 0.1.
    static func exceeds(_ amount: FixedDecimal, fraction: FixedDecimal, of base: FixedDecimal) -> Bool {
        Int128(amount.units) * Int128(FixedDecimal.unitsPerOne) > Int128(fraction.units) * Int128(base.units)
    }

    /// `amount ÷ base` to eight digits, or 0 when `base` is not positive (a relative figure of an
    /// account with no balance is meaningless, and must not trap).
    static func relative(_ amount: FixedDecimal, to base: FixedDecimal) -> FixedDecimal {
        base.units > 0 ? ratio(amount, over: base) : .zero
    }

    /// `amount × numerator ÷ denominator` for ratios and percentages: exact and rounded once, and
    /// beyond the decimal range (a huge amount over a base of a few 10⁻⁸) the range's end with the
    /// quotient's sign. A ratio above 92 billion reads the same as infinity to every rule, so it
    /// is kept rather than refused; sums and differences of money are refused instead.
    static func ratio(
        _ amount: FixedDecimal, times numerator: FixedDecimal = .one, over denominator: FixedDecimal
    ) -> FixedDecimal {
        let (value, overflow) = amount.multipliedReportingOverflow(by: numerator, dividedBy: denominator)
        guard overflow else { return value }
        let negative = amount.isNegative != (numerator.isNegative != denominator.isNegative)
        return negative ? .leastFiniteValue : .greatestFiniteMagnitude
    }

    /// Floor division (times before 1970 stay correct).
    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
