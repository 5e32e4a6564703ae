import TidemarkProtocol

/// Why a store operation failed. Cases can be added without breaking callers; ``code`` is short
/// and bounded, so it can label a metric.
public struct StoreError: CodeComparedError {
    private enum Code: String, Hashable, Sendable {
        case sequenceGap = "sequence_gap"
        case checkpointMismatch = "checkpoint_mismatch"
        case inputPositionRegressed = "input_position_regressed"
        case newerSchema = "newer_schema"
        case notFound = "not_found"
        case conflict = "conflict"
        case invalidArgument = "invalid_argument"
        case encoding = "encoding"
        case database = "database"
        case damaged = "damaged"
    }

    private let codeValue: Code
    /// What exactly went wrong (ids, numbers, the database's message).
    public var detail: String

    private init(_ code: Code, detail: String = "") {
        self.codeValue = code
        self.detail = detail
    }

    /// A short, stable name of the failure, usable as a metric label.
    public var code: String { codeValue.rawValue }

    /// A batch's events do not continue the stored sequence numbers without a gap or a repeat.
    public static let sequenceGap = Self(.sequenceGap)
    /// A checkpoint's next sequence number disagrees with the events stored with it.
    public static let checkpointMismatch = Self(.checkpointMismatch)
    /// A checkpoint's input position is lower than the stored one.
    public static let inputPositionRegressed = Self(.inputPositionRegressed)
    /// The file was migrated by a newer Tidemark: opening it could lose data.
    public static let newerSchema = Self(.newerSchema)
    /// The row asked for does not exist (or is deleted).
    public static let notFound = Self(.notFound)
    /// A uniqueness rule would break (a tracker name already used on the account, say).
    public static let conflict = Self(.conflict)
    /// An argument the store cannot use (a negative limit, a malformed account id).
    public static let invalidArgument = Self(.invalidArgument)
    /// A value could not be encoded to or decoded from its stored JSON.
    public static let encoding = Self(.encoding)
    /// The store's file is damaged, truncated or missing where it existed (``detail`` names the
    /// file and what to do).
    public static let damaged = Self(.damaged)
    /// SQLite reported an error (I/O, corruption, a constraint the store did not expect).
    public static let database = Self(.database)
}
