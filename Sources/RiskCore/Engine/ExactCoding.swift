import TidemarkProtocol

/// Checkpoint encoding of an amount: the exact decimal text (`"12345678.12345678"`).
///
/// `FixedDecimal` encodes itself as a JSON number (a `Double`), which is exact only up to about
/// 15 significant digits — a JPY account's balance with its fraction can have more. State that a
/// checkpoint must restore bit for bit therefore stores its amounts through this wrapper.
@propertyWrapper
struct Exact: Hashable, Sendable, Codable {
    var wrappedValue: FixedDecimal

    init(wrappedValue: FixedDecimal) { self.wrappedValue = wrappedValue }

    init(from decoder: any Decoder) throws {
        // FixedDecimal's own decoder reads the decimal string exactly.
        wrappedValue = try FixedDecimal(from: decoder)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue.description)
    }
}

/// Exact integer arithmetic the risk core needs beyond `FixedDecimal`'s own.
enum RiskMath {
    /// `numerator ÷ denominator` rounded half away from zero (denominator ≠ 0).
    static func divideRounded(_ numerator: Int128, by denominator: Int128) -> Int128 {
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        guard remainder != 0, remainder.magnitude * 2 >= denominator.magnitude else { return quotient }
        return (numerator < 0) != (denominator < 0) ? quotient - 1 : quotient + 1
    }

    /// `amount > fraction × base`, exactly (no rounding of the product): how a relative
    /// threshold is compared, so that 0.1 is not "exceeded" by a ratio that only rounds to 0.1.
    static func exceeds(_ amount: FixedDecimal, fraction: FixedDecimal, of base: FixedDecimal) -> Bool {
        Int128(amount.units) * Int128(FixedDecimal.unitsPerOne) > Int128(fraction.units) * Int128(base.units)
    }

    /// `amount ÷ base` to eight digits, or 0 when `base` is not positive (a relative figure of an
    /// account with no balance is meaningless, and must not trap).
    static func relative(_ amount: FixedDecimal, to base: FixedDecimal) -> FixedDecimal {
        base.units > 0 ? amount.divided(by: base) : .zero
    }

    /// Whether a decimal survives the JSON-number round trip exactly: at most 15 significant digits.
    static func fitsJSONNumber(_ value: FixedDecimal) -> Bool {
        var digits = value.units.magnitude
        while digits != 0 && digits % 10 == 0 { digits /= 10 }
        return digits < 1_000_000_000_000_000
    }

    /// Floor division (times before 1970 stay correct).
    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
