import TidemarkProtocol

/// Decodes values written by ``CompactBinaryEncoder``.
///
/// Keyed containers are looked up by key, so decoding does not depend on the order entries were
/// written in; unread entries are skipped. Integers (up to `Int128`/`UInt128`) decode into any integer type that holds their
/// value (an out-of-range value is `DecodingError.dataCorrupted`, never a trap). Any byte string —
/// truncated, corrupted or random — decodes to a value or throws `DecodingError`: every read is
/// bounds-checked and every container's stated length and count are checked against its contents.
///
/// A keyed container holding the same key twice is rejected as corrupted. An empty container of
/// either kind decodes as an empty container of the other kind (a value whose `encode(to:)`
/// wrote nothing is stored as an empty keyed container). A `FixedDecimal` value also decodes as
/// a `String` (its exact decimal text), so a custom `init(from:)` that goes through
/// `FixedDecimal(from:)` still reads it exactly.
public struct CompactBinaryDecoder: Sendable {
    /// Values handed to every `init(from:)` through `Decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable]

    /// A decoder.
    public init(userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.userInfo = userInfo
    }

    /// Whether `bytes` starts like a compact binary blob (`TMCB`), whatever its version: how a
    /// store tells these blobs from JSON ones (which start with `{`).
    public static func isCompactBinary(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.starts(with: CompactFormat.magic)
    }

    /// Decodes a `T` from a blob written by ``CompactBinaryEncoder/encode(_:)``. Throws
    /// `DecodingError` for anything else: a missing or unknown header, a truncated or corrupted
    /// blob, bytes after the value, or contents that do not fit `T`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let reader = CompactReader(bytes: Array(bytes), userInfo: userInfo)
        guard reader.bytes.count >= CompactFormat.headerSize,
            reader.bytes.starts(with: CompactFormat.magic)
        else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "not a compact binary blob (no TMCB header)"))
        }
        let version = reader.bytes[CompactFormat.magic.count]
        guard version == CompactFormat.version else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "unsupported compact binary format version \(version)"))
        }
        let end = try reader.valueEnd(at: CompactFormat.headerSize, limit: reader.bytes.count, path: [])
        guard end == reader.bytes.count else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "\(reader.bytes.count - end) bytes after the root value"))
        }
        return try reader.decodeValue(T.self, at: CompactFormat.headerSize, path: [], key: nil)
    }
}
