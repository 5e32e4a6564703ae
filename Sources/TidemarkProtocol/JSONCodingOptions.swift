/// How the REST API's JSON coders write ``FixedDecimal`` and ``BrokerTime``, where that differs
/// from the default forms that recordings and checkpoints keep.
///
/// The defaults round-trip through any JSON reader: a decimal with more than 15 significant
/// digits is written as its exact decimal string, a broker time as integer milliseconds. The API
/// writes every amount as a JSON number and every broker time as MetaApi's
/// `"YYYY-MM-DD HH:mm:ss.SSS"`, so it sets these options in its coders' `userInfo`:
///
/// ```swift
/// encoder.userInfo[FixedDecimal.numberCodingKey] = MyExactNumberCoding()
/// encoder.userInfo[BrokerTime.formattedCodingKey] = true
/// ```
///
/// This target stays free of Foundation's `Decimal`: the coder that writes the exact number
/// literal is the API's.
public protocol FixedDecimalNumberCoding: Sendable {
    /// Writes `value` as a JSON number literal with its exact decimal digits.
    func encode(_ value: FixedDecimal, to encoder: any Encoder) throws
    /// Reads a JSON number literal exactly; nil when the value is not a number.
    func decode(from decoder: any Decoder) throws -> FixedDecimal?
}

extension FixedDecimal {
    /// `userInfo` key of a ``FixedDecimalNumberCoding``: with it, amounts are exact JSON numbers.
    public static let numberCodingKey = CodingUserInfoKey(rawValue: "tidemark.fixedDecimalNumberCoding")!
}

extension BrokerTime {
    /// `userInfo` key of `true`: broker times are written as `"YYYY-MM-DD HH:mm:ss.SSS"` and read
    /// in that form only.
    public static let formattedCodingKey = CodingUserInfoKey(rawValue: "tidemark.brokerTimeFormatted")!
}
