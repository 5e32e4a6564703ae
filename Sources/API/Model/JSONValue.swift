import Foundation

/// Any JSON value: request bodies are read into it so that validation can name every bad field,
/// and definitions (challenges, competitions) pass through to the risk core untouched. Numbers are
/// kept as Foundation's `Decimal`, digit for digit (38 significant digits), so an amount read and
/// written back is never rounded through a `Double`.
public enum JSONValue: Hashable, Sendable, Codable {
    case null
    case bool(Bool)
    case number(Decimal)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Decimal.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The members when this is an object.
    public var objectValue: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }
    /// The text when this is a string.
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    /// The number when this is a number (nearest `Double`).
    public var numberValue: Double? {
        if case .number(let value) = self { NSDecimalNumber(decimal: value).doubleValue } else { nil }
    }
    /// The number when this is a number, exactly.
    public var decimalValue: Decimal? { if case .number(let value) = self { value } else { nil } }

    /// A short rendering of the value for validation details (long strings cut to 100 characters:
    /// an error body must not echo a megabyte back).
    public var detailText: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .number(let value): value.description
        case .string(let value):
            value.unicodeScalars.count > 100
                ? String(String.UnicodeScalarView(value.unicodeScalars.prefix(100))) + "…" : value
        case .array: "[…]"
        case .object: "{…}"
        }
    }

    /// Decodes a JSON document.
    public static func parse(_ data: Data) throws -> JSONValue {
        try APIJSON.decoder.decode(JSONValue.self, from: data)
    }
}
