/// A signed decimal number with exactly eight fractional digits, stored as an integer count of 10⁻⁸.
///
/// Prices, volumes, contract sizes and money all use it, so that arithmetic is exact where
/// MetaTrader's own inputs are exact decimals (prices with `digits` decimals, volumes in lot steps,
/// money in account-currency cents). Eight digits cover every MetaTrader price (`SYMBOL_DIGITS`
/// is at most 8) and leave sub-cent headroom for intermediate money values. The range is
/// ±92,233,720,368.54775807, which the wire decoder enforces by rejecting larger inputs.
///
/// Products go through `Int128`, so `a × b` is exact before the single rounding step.
public struct FixedDecimal: Hashable, Comparable, Sendable {
    /// The value × 10⁸.
    public var units: Int64

    /// 10⁸: how many units make 1.
    public static let unitsPerOne: Int64 = 100_000_000
    /// The number of fractional digits kept.
    public static let fractionDigits = 8

    /// 0.
    public static let zero = FixedDecimal(units: 0)
    /// 1.
    public static let one = FixedDecimal(units: unitsPerOne)

    /// The value whose representation is `units` × 10⁻⁸.
    @inlinable public init(units: Int64) { self.units = units }

    /// An integer value.
    @inlinable public init(_ integer: Int) { self.units = Int64(integer) * Self.unitsPerOne }

    /// The nearest representable value to `value` (half away from zero), or nil when it is not
    /// finite or out of range. Exact for every decimal with at most 15 significant digits, which
    /// is what a JSON number written from a MetaTrader double carries.
    public init?(exactly value: Double) {
        guard value.isFinite else { return nil }
        let scaled = (value * Double(Self.unitsPerOne)).rounded(.toNearestOrAwayFromZero)
        guard abs(scaled) < 9.2e18 else { return nil }
        self.units = Int64(scaled)
    }

    /// The value as a `Double` (for JSON output and reports; never for further money arithmetic).
    @inlinable public var doubleValue: Double { Double(units) / Double(Self.unitsPerOne) }

    @inlinable public static func < (lhs: Self, rhs: Self) -> Bool { lhs.units < rhs.units }
    @inlinable public static func + (lhs: Self, rhs: Self) -> Self { Self(units: lhs.units + rhs.units) }
    @inlinable public static func - (lhs: Self, rhs: Self) -> Self { Self(units: lhs.units - rhs.units) }
    @inlinable public static prefix func - (value: Self) -> Self { Self(units: -value.units) }
    @inlinable public static func += (lhs: inout Self, rhs: Self) { lhs.units += rhs.units }
    @inlinable public static func -= (lhs: inout Self, rhs: Self) { lhs.units -= rhs.units }

    /// Whether the value is 0.
    @inlinable public var isZero: Bool { units == 0 }
    /// Whether the value is below 0.
    @inlinable public var isNegative: Bool { units < 0 }
    /// The absolute value.
    @inlinable public var magnitude: Self { Self(units: units < 0 ? -units : units) }

    /// The largest value, 92,233,720,368.54775807 (the wire's maximum).
    public static let greatestFiniteMagnitude = FixedDecimal(units: .max)
    /// The smallest value the wire carries, −92,233,720,368.54775807 (`Int64.min` units is left
    /// out, so that every value has a negation).
    public static let leastFiniteValue = FixedDecimal(units: -.max)

    /// The value whose representation is `units` × 10⁻⁸, or nil when that is outside the range
    /// (wide sums and products narrow through here instead of trapping).
    @inlinable public init?(wideUnits units: Int128) {
        guard units <= Int128(Int64.max), units >= -Int128(Int64.max) else { return nil }
        self.units = Int64(units)
    }

    // MARK: Checked arithmetic
    //
    // Everything computed from values off the wire goes through these: they report a result
    // outside the range instead of trapping. The plain operators (`+`, `-`, `multiplied(by:)`)
    // trap on overflow and are for constants and values already known to be small.

    /// `self + other`, and whether the exact sum is outside the range (then `partialValue` is
    /// meaningless).
    @inlinable public func addingReportingOverflow(_ other: Self) -> (partialValue: Self, overflow: Bool) {
        let (sum, overflow) = units.addingReportingOverflow(other.units)
        return (Self(units: sum), overflow || sum == .min)
    }

    /// `self − other`, and whether the exact difference is outside the range.
    @inlinable public func subtractingReportingOverflow(_ other: Self) -> (partialValue: Self, overflow: Bool) {
        let (difference, overflow) = units.subtractingReportingOverflow(other.units)
        return (Self(units: difference), overflow || difference == .min)
    }

    /// The value of `units` × 10⁻⁸, or the nearest end of the range when it is beyond. For
    /// read-outs of state the fold keeps in range (headroom, a limit minus a value): never for a
    /// figure that is folded further.
    @inlinable public init(clamping units: Int128) {
        self.units = Int64(clamping: Swift.min(Swift.max(units, -Int128(Int64.max)), Int128(Int64.max)))
    }

    /// `self + other`, clamped to the range (see ``init(clamping:)``).
    @inlinable public func addingClamped(_ other: Self) -> Self { Self(clamping: Int128(units) + Int128(other.units)) }

    /// `self − other`, clamped to the range (see ``init(clamping:)``).
    @inlinable public func subtractingClamped(_ other: Self) -> Self { Self(clamping: Int128(units) - Int128(other.units)) }

    /// `self + other`. - Throws: ``ArithmeticOverflow`` when the sum is outside the range.
    @inlinable public func adding(_ other: Self) throws(ArithmeticOverflow) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard !overflow else { throw ArithmeticOverflow(.sum) }
        return sum
    }

    /// `self − other`. - Throws: ``ArithmeticOverflow`` when the difference is outside the range.
    @inlinable public func subtracting(_ other: Self) throws(ArithmeticOverflow) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard !overflow else { throw ArithmeticOverflow(.difference) }
        return difference
    }

    /// `self × numerator ÷ denominator`, exact and rounded once (as
    /// ``multiplied(by:dividedBy:)``), and whether the result is outside the range or
    /// `denominator` is zero (then `partialValue` is 0).
    @inlinable public func multipliedReportingOverflow(by numerator: Self, dividedBy denominator: Self)
        -> (partialValue: Self, overflow: Bool) {
        guard denominator.units != 0 else { return (.zero, true) }
        // |units × numerator| < 2¹²⁶: the product always fits Int128.
        let product = Int128(units) * Int128(numerator.units)
        guard let result = Self(wideUnits: Self.divideRounded(product, by: Int128(denominator.units))) else {
            return (.zero, true)
        }
        return (result, false)
    }

    /// `self × other`, rounded once (as ``multiplied(by:)``), and whether the result is outside
    /// the range (then `partialValue` is 0).
    @inlinable public func multipliedReportingOverflow(by other: Self) -> (partialValue: Self, overflow: Bool) {
        multipliedReportingOverflow(by: other, dividedBy: .one)
    }

    /// `self ÷ other`, rounded once (as ``divided(by:)``), and whether the result is outside the
    /// range or `other` is zero (then `partialValue` is 0).
    @inlinable public func dividedReportingOverflow(by other: Self) -> (partialValue: Self, overflow: Bool) {
        Self.one.multipliedReportingOverflow(by: self, dividedBy: other)
    }

    /// `self × other`, rounded once to eight digits, half away from zero. Traps when the result is
    /// outside the range: on values from the wire use ``multipliedReportingOverflow(by:)``.
    @inlinable public func multiplied(by other: Self) -> Self {
        let product = Int128(units) * Int128(other.units)
        return Self(units: Int64(Self.divideRounded(product, by: Int128(Self.unitsPerOne))))
    }

    /// `self × numerator ÷ denominator`, computed exactly and rounded once to eight digits,
    /// half away from zero. Traps when `denominator` is zero or the result is outside the range:
    /// on values from the wire use ``multipliedReportingOverflow(by:dividedBy:)``.
    @inlinable public func multiplied(by numerator: Self, dividedBy denominator: Self) -> Self {
        let product = Int128(units) * Int128(numerator.units)
        return Self(units: Int64(Self.divideRounded(product, by: Int128(denominator.units))))
    }

    /// `self ÷ other`, rounded once to eight digits, half away from zero. Traps when `other` is zero
    /// or the result is outside the range: on values from the wire use ``dividedReportingOverflow(by:)``.
    @inlinable public func divided(by other: Self) -> Self {
        let numerator = Int128(units) * Int128(Self.unitsPerOne)
        return Self(units: Int64(Self.divideRounded(numerator, by: Int128(other.units))))
    }

    /// The value rounded to `digits` fractional digits (0…8), half away from zero — what MQL's
    /// `NormalizeDouble` and MetaTrader's money rounding do to account-currency amounts.
    @inlinable public func rounded(toDigits digits: Int) -> Self {
        precondition((0...Self.fractionDigits).contains(digits), "digits must be 0…8")
        let step = Self.powersOfTen[Self.fractionDigits - digits]
        guard step > 1 else { return self }
        let quotient = Self.divideRounded(Int128(units), by: Int128(step))
        return Self(units: Int64(quotient) * step)
    }

    /// 10⁰ … 10⁸.
    public static let powersOfTen: [Int64] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]

    /// Integer division rounding half away from zero: the one rounding rule of Tidemark's money.
    @inlinable public static func divideRounded(_ numerator: Int128, by denominator: Int128) -> Int128 {
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        guard remainder != 0 else { return quotient }
        let twiceRemainder = remainder.magnitude * 2
        guard twiceRemainder >= denominator.magnitude else { return quotient }
        return (numerator < 0) != (denominator < 0) ? quotient - 1 : quotient + 1
    }
}

/// A sum, product, quotient or time step whose exact result is outside the range of
/// ``FixedDecimal`` or ``BrokerTime``: the input that led to it is refused, never folded wrapped.
public struct ArithmeticOverflow: TidemarkError {
    /// Which kind of operation overflowed.
    public enum Operation: String, Hashable, Sendable {
        case sum, difference, product, quotient
        /// A ``BrokerTime`` moved by a duration.
        case timeStep = "time_step"
    }

    /// Which kind of operation overflowed.
    public let operation: Operation

    /// An overflow of `operation`.
    @inlinable public init(_ operation: Operation) { self.operation = operation }

    /// `sum`, `difference`, … (a bounded metric label).
    public var code: String { operation.rawValue }
}

extension FixedDecimal {
    /// Parses a plain decimal (`-12.345`, `0.5`, `100`): an optional minus sign, digits, an optional
    /// point and at most eight fractional digits. No exponent, no spaces, no `+`. Returns nil for
    /// anything else or a value out of range.
    public init?<Bytes: Collection>(ascii bytes: Bytes) where Bytes.Element == UInt8 {
        var index = bytes.startIndex
        guard index != bytes.endIndex else { return nil }
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index = bytes.index(after: index)
        }
        var integerPart: Int64 = 0
        var integerDigits = 0
        while index != bytes.endIndex, bytes[index] != UInt8(ascii: ".") {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10, integerDigits < 11 else { return nil }
            integerPart = integerPart * 10 + Int64(digit)
            integerDigits += 1
            index = bytes.index(after: index)
        }
        var fraction: Int64 = 0
        var fractionDigits = 0
        if index != bytes.endIndex {
            index = bytes.index(after: index)  // the point
            guard index != bytes.endIndex else { return nil }
            while index != bytes.endIndex {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10, fractionDigits < Self.fractionDigits else { return nil }
                fraction = fraction * 10 + Int64(digit)
                fractionDigits += 1
                index = bytes.index(after: index)
            }
        }
        guard integerDigits > 0 || fractionDigits > 0 else { return nil }
        // Eleven integer digits can exceed the range: check instead of trapping on overflow.
        let (scaled, scaleOverflow) = integerPart.multipliedReportingOverflow(by: Self.unitsPerOne)
        let (magnitude, sumOverflow) = scaled.addingReportingOverflow(fraction * Self.powersOfTen[Self.fractionDigits - fractionDigits])
        guard !scaleOverflow, !sumOverflow else { return nil }
        self.units = negative ? -magnitude : magnitude
    }

    /// Parses a plain decimal string; see ``init(ascii:)``.
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        guard let value = text.withUTF8({ FixedDecimal(ascii: $0) }) else { return nil }
        self = value
    }
}

extension FixedDecimal: CustomStringConvertible, LosslessStringConvertible {
    /// The shortest plain decimal that reads back to the same value (`1.14512`, `-3`, `0.01`).
    public var description: String {
        let magnitude = units.magnitude
        let integerPart = magnitude / UInt64(Self.unitsPerOne)
        var fraction = magnitude % UInt64(Self.unitsPerOne)
        var text = units < 0 ? "-" : ""
        text += String(integerPart)
        guard fraction != 0 else { return text }
        var digits = Self.fractionDigits
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let fractionText = String(fraction)
        text += "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
        return text
    }
}

extension FixedDecimal: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    /// The whole number `value`.
    public init(integerLiteral value: Int) { self.init(value) }
    /// For tests and constants: `"1.14512"`. Traps on a malformed literal.
    public init(stringLiteral value: String) {
        guard let parsed = FixedDecimal(value) else { preconditionFailure("not a decimal: \(value)") }
        self = parsed
    }
}

extension FixedDecimal: Codable {
    /// Decodes a JSON number (see ``init(exactly:)`` for the precision kept) or a decimal string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let coding = decoder.userInfo[Self.numberCodingKey] as? any FixedDecimalNumberCoding,
           let value = try coding.decode(from: decoder) {
            self = value
            return
        }
        if let text = try? container.decode(String.self) {
            guard let value = FixedDecimal(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a decimal: \(text)")
            }
            self = value
            return
        }
        let number = try container.decode(Double.self)
        guard let value = FixedDecimal(exactly: number) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "out of range: \(number)")
        }
        self = value
    }

    /// Encodes as a JSON number (the shortest double that prints as this decimal) when that number
    /// reads back exactly — at most 15 significant digits, which covers every price, volume and
    /// everyday amount — and otherwise as its exact decimal string, so that no value (a large JPY
    /// balance with its fraction, say) ever changes in a JSON round trip. Decoding accepts both.
    /// A coder whose `userInfo` holds a ``FixedDecimalNumberCoding`` (the REST API's) writes an
    /// exact JSON number literal instead.
    public func encode(to encoder: any Encoder) throws {
        if let coding = encoder.userInfo[Self.numberCodingKey] as? any FixedDecimalNumberCoding {
            try coding.encode(self, to: encoder)
            return
        }
        var container = encoder.singleValueContainer()
        if isExactAsJSONNumber {
            try container.encode(doubleValue)
        } else {
            try container.encode(description)
        }
    }

    /// Whether a `Double` carries this value exactly: at most 15 significant digits.
    public var isExactAsJSONNumber: Bool {
        var digits = units.magnitude
        while digits != 0 && digits % 10 == 0 { digits /= 10 }
        return digits < 1_000_000_000_000_000
    }
}
