/// Why a wire frame could not be decoded (see protocol/SPEC.md §7).
///
/// Compare errors by ``code`` (a short, stable, snake_case label suitable for metrics) or with the
/// static members (`error.code == WireDecodingError.truncated.code`). ``message`` is for humans and logs.
/// When the frame's header could be read, ``sessionID`` and ``sequence`` say which session sent it,
/// so the bridge can resync that session instead of dropping the frame anonymously.
public struct WireDecodingError: TidemarkError {
    private enum Code: String, Hashable, Sendable {
        case truncated
        case notUTF8 = "not_utf8"
        case badHeader = "bad_header"
        case unsupportedVersion = "unsupported_version"
        case unknownType = "unknown_type"
        case missingRecord = "missing_record"
        case unexpectedRecord = "unexpected_record"
        case fieldCount = "field_count"
        case badField = "bad_field"
        case absurdValue = "absurd_value"
    }

    private var codeValue: Code
    /// The field name (`Q.bid`) or the reason (`Q: bid above ask by more than 1%`), when there is one.
    public private(set) var detail: String
    /// The session named in the frame's header, when the header could be read.
    public internal(set) var sessionID: String?
    /// The sequence number in the frame's header, when the header could be read.
    public internal(set) var sequence: UInt64?
    /// The 1-based line of the frame where decoding stopped, when it got that far.
    public internal(set) var line: Int?

    private init(_ code: Code, detail: String = "") {
        self.codeValue = code
        self.detail = detail
    }

    /// The short label: `truncated`, `not_utf8`, `bad_header`, `unsupported_version`, `unknown_type`,
    /// `missing_record`, `unexpected_record`, `field_count`, `bad_field`, `absurd_value`.
    public var code: String { codeValue.rawValue }

    /// True when the frame speaks another protocol version: the agent answers `REJECT unsupported_version`.
    public var isUnsupportedVersion: Bool { codeValue == .unsupportedVersion }

    /// A one-line explanation for logs.
    public var message: String {
        var text: String
        switch codeValue {
        case .truncated: text = "frame is empty or does not end with a line feed"
        case .notUTF8: text = "frame is not valid UTF-8 (or contains NUL)"
        case .badHeader: text = "malformed header"
        case .unsupportedVersion: text = "unsupported protocol version"
        case .unknownType: text = "unknown message type"
        case .missingRecord: text = "missing record"
        case .unexpectedRecord: text = "unexpected record"
        case .fieldCount: text = "wrong number of fields"
        case .badField: text = "invalid field"
        case .absurdValue: text = "absurd value"
        }
        if !detail.isEmpty { text += ": " + detail }
        if let line { text += " (line \(line))" }
        if let sessionID { text += " [session \(sessionID)" + (sequence.map { " seq \($0)" } ?? "") + "]" }
        return text
    }

    public var description: String { "WireDecodingError(\(code)): \(message)" }

    /// Empty frame, or no line feed at its end.
    public static let truncated = Self(.truncated)
    /// Invalid UTF-8 or a NUL byte.
    public static let notUTF8 = Self(.notUTF8)
    /// Line 1 is not a well-formed `TM1 TYPE session sequence` header.
    public static let badHeader = Self(.badHeader)
    /// A well-formed header of another protocol version (`TM3 …`).
    public static let unsupportedVersion = Self(.unsupportedVersion)
    /// A message type this direction does not have.
    public static let unknownType = Self(.unknownType)
    /// A required record is absent.
    public static let missingRecord = Self(.missingRecord)
    /// A record that is not allowed at this place.
    public static let unexpectedRecord = Self(.unexpectedRecord)
    /// A record with the wrong number of fields.
    public static let fieldCount = Self(.fieldCount)
    /// A field that does not parse.
    public static let badField = Self(.badField)
    /// A field that parses but cannot be true.
    public static let absurdValue = Self(.absurdValue)

    static func badHeader(_ detail: String) -> Self { Self(.badHeader, detail: detail) }
    static func unsupportedVersion(_ detail: String) -> Self { Self(.unsupportedVersion, detail: detail) }
    static func unknownType(_ detail: String) -> Self { Self(.unknownType, detail: detail) }
    static func missingRecord(_ detail: String) -> Self { Self(.missingRecord, detail: detail) }
    static func unexpectedRecord(_ detail: String) -> Self { Self(.unexpectedRecord, detail: detail) }
    static func fieldCount(_ detail: String) -> Self { Self(.fieldCount, detail: detail) }
    /// `field` names the record and field, e.g. `Q.bid`.
    static func badField(_ field: String) -> Self { Self(.badField, detail: field) }
    static func absurdValue(_ reason: String) -> Self { Self(.absurdValue, detail: reason) }
}
