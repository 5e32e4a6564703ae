import TidemarkProtocol

/// Encodes `Encodable` values into Tidemark's compact binary format (see the format comment at the
/// top of CompactBinaryFormat.swift): a leading `TMCB` and version byte, then tagged values.
///
/// The encoder streams into one byte buffer: containers are written as they are opened and their
/// lengths are back-patched when closed, so encoding must be depth-first and sequential, as
/// synthesized `Codable` always is. Using a container after a sibling container was opened (or after
/// its parent wrote another entry) is a programming error and makes ``encode(_:)`` throw
/// `EncodingError.invalidValue` instead of writing a corrupt blob.
///
/// `FixedDecimal`, `BrokerTime` and `AccountID` are written directly (exact `units`,
/// milliseconds, text), bypassing their JSON-oriented `Codable` implementations.
///
/// Keys written twice in the same keyed container are both stored, and the decoder then rejects
/// the blob (JSONEncoder would keep the last); synthesized `Codable` never does this.
public struct CompactBinaryEncoder: Sendable {
    /// Values handed to every `encode(to:)` through `Encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable]
    /// Bytes reserved up front; a good guess (such as the previous blob's size) saves regrowing.
    public var capacityHint: Int

    /// An encoder; `capacityHint` is the number of bytes reserved before encoding.
    public init(userInfo: [CodingUserInfoKey: any Sendable] = [:], capacityHint: Int = 1024) {
        self.userInfo = userInfo
        self.capacityHint = capacityHint
    }

    /// The compact binary form of `value`. Throws `EncodingError` when the value's `encode(to:)`
    /// throws or misuses its containers, or when one container exceeds 4 GiB.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = CompactWriter(userInfo: userInfo, capacity: capacityHint)
        writer.bytes.append(contentsOf: CompactFormat.magic)
        writer.bytes.append(CompactFormat.version)
        if !writer.writePrimitive(value) {
            try writer.writeComposite(value, depth: 0, key: nil)
        }
        return try writer.finish()
    }
}

/// One open container: where its header starts and how many entries it has so far.
struct CompactOpenContainer {
    var header: Int
    var count: Int
}

/// A key spelled out in the blob: its hash, where its length varint starts, its UTF-8 length.
struct CompactKeySlot {
    var hash: UInt64
    var offset: Int
    var length: Int
    var varintSize = 0
}
