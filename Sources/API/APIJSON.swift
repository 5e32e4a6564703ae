import Foundation
import Hummingbird
import TidemarkProtocol

/// The API's JSON coding: one place, so every route writes the same way.
///
/// Every amount is a JSON number with its exact decimal digits (`ExactDecimalNumbers`), every
/// broker time MetaApi's `"YYYY-MM-DD HH:mm:ss.SSS"`; recordings and checkpoints keep their own
/// forms (exact decimal strings beyond 15 significant digits, integer milliseconds).
public enum APIJSON {
    /// `JSONEncoder` is thread-safe for encoding (swift-foundation declares it `Sendable`).
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.userInfo = userInfo
        return encoder
    }()

    /// Reads request bodies and the API's own JSON (amounts exactly, broker times as strings).
    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.userInfo = userInfo
        return decoder
    }()

    static let userInfo: [CodingUserInfoKey: any Sendable] = [
        FixedDecimal.numberCodingKey: ExactDecimalNumbers(),
        BrokerTime.formattedCodingKey: true,
    ]

    /// A 200 (or other) response with a JSON body.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Writes a ``FixedDecimal`` as a JSON number literal with its exact digits, through Foundation's
/// `Decimal` (38 significant digits, so every value of the ±92,233,720,368.54775807 range fits;
/// `JSONEncoder` writes a `Decimal` as its digits, never through a `Double`). A `Double` would
/// carry only 15–17 digits: JavaScript and typed clients read the literal as their own number type,
/// and a client that wants every digit (Python's `json` with `parse_float=Decimal`) gets them.
/// Reading goes the same way: a JSON number literal is taken digit for digit.
struct ExactDecimalNumbers: FixedDecimalNumberCoding {
    func encode(_ value: FixedDecimal, to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Self.decimal(value))
    }

    func decode(from decoder: any Decoder) throws -> FixedDecimal? {
        let container = try decoder.singleValueContainer()
        guard let decimal = try? container.decode(Decimal.self) else { return nil }
        return try Self.fixedDecimal(decimal, container: container)
    }

    /// The exact `Decimal` of a fixed decimal.
    static func decimal(_ value: FixedDecimal) -> Decimal {
        Decimal(string: value.description, locale: Locale(identifier: "en_US_POSIX")) ?? Decimal(value.doubleValue)
    }

    /// The fixed decimal of a JSON number, refused when it has more than 8 fractional digits or
    /// lies outside the range (a rounded amount is a silent change).
    static func fixedDecimal(_ decimal: Decimal, container: any SingleValueDecodingContainer) throws -> FixedDecimal {
        var scaled = decimal * Decimal(FixedDecimal.unitsPerOne)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .plain)
        guard rounded == scaled, let value = FixedDecimal(plainText(of: decimal)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription:
                "Expected a decimal with at most 8 fractional digits within ±92233720368.54775807, got \(decimal)")
        }
        return value
    }

    /// The decimal as plain digits (`Decimal.description` never uses an exponent).
    static func plainText(of decimal: Decimal) -> String { decimal.description }
}
