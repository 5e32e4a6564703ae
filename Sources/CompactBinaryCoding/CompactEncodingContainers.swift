import TidemarkProtocol

/// The `Encoder` handed to a value's `encode(to:)`: the slot at `slot`, nested at `depth`.
/// Three words, so it fits an existential's inline buffer without a heap box.
struct CompactValueEncoder: Encoder {
    let writer: CompactWriter
    let depth: Int
    let slot: Int

    var codingPath: [any CodingKey] { writer.path(depth) }
    var userInfo: [CodingUserInfoKey: Any] { writer.userInfoForCoders }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let header = writer.openContainer(.keyed, depth: depth, slot: slot)
        return KeyedEncodingContainer(CompactKeyedEncodingContainer<Key>(writer: writer, depth: depth, header: header))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let header = writer.openContainer(.unkeyed, depth: depth, slot: slot)
        return CompactUnkeyedEncodingContainer(writer: writer, depth: depth, header: header)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        CompactSingleValueEncodingContainer(writer: writer, depth: depth, slot: slot)
    }
}

struct CompactKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: CompactWriter
    let depth: Int
    /// The offset of this container's header, which identifies it among the writer's open containers.
    let header: Int

    var codingPath: [any CodingKey] { writer.path(depth) }

    @inline(__always) private func begin(_ key: Key) throws {
        try writer.beginEntry(depth: depth, header: header)
        writer.writeKey(key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try begin(key)
        writer.writeTag(.null)
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try begin(key)
        writer.writeBool(value)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        try begin(key)
        writer.writeString(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try begin(key)
        writer.writeDouble(value)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        try begin(key)
        writer.writeFloat(value)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        try begin(key)
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int8, forKey key: Key) throws {
        try begin(key)
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int16, forKey key: Key) throws {
        try begin(key)
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        try begin(key)
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        try begin(key)
        writer.writeSigned(value)
    }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        try begin(key)
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        try begin(key)
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        try begin(key)
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        try begin(key)
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        try begin(key)
        writer.writeUnsigned(value)
    }
    mutating func encode(_ value: Int128, forKey key: Key) throws {
        try begin(key)
        writer.writeSigned128(value)
    }
    mutating func encode(_ value: UInt128, forKey key: Key) throws {
        try begin(key)
        writer.writeUnsigned128(value)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try begin(key)
        if !writer.writePrimitive(value) {
            try writer.writeComposite(value, depth: depth + 1, key: key)
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        var nestedHeader = -1
        if writer.beginEntryRecordingMisuse(depth: depth, header: header) {
            writer.writeKey(key.stringValue)
            writer.setKey(key, depth: depth)
            nestedHeader = writer.pushContainer(.keyed, depth: depth + 1)
        }
        return KeyedEncodingContainer(
            CompactKeyedEncodingContainer<NestedKey>(writer: writer, depth: depth + 1, header: nestedHeader))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        var nestedHeader = -1
        if writer.beginEntryRecordingMisuse(depth: depth, header: header) {
            writer.writeKey(key.stringValue)
            writer.setKey(key, depth: depth)
            nestedHeader = writer.pushContainer(.unkeyed, depth: depth + 1)
        }
        return CompactUnkeyedEncodingContainer(writer: writer, depth: depth + 1, header: nestedHeader)
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: CompactIndexKey.super) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key) }

    private func superEncoder(named key: any CodingKey) -> any Encoder {
        guard writer.beginEntryRecordingMisuse(depth: depth, header: header) else {
            return CompactValueEncoder(writer: writer, depth: depth + 1, slot: -1)
        }
        writer.writeKey(key.stringValue)
        writer.setKey(key, depth: depth)
        writer.pendingSlot = writer.bytes.count
        return CompactValueEncoder(writer: writer, depth: depth + 1, slot: writer.bytes.count)
    }
}

struct CompactUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let writer: CompactWriter
    let depth: Int
    let header: Int

    var codingPath: [any CodingKey] { writer.path(depth) }

    var count: Int {
        if depth < writer.frames.count, writer.frames[depth].header == header { return writer.frames[depth].count }
        guard header >= 0 else { return 0 }
        // Closed already: its count is patched into the header.
        var count = 0
        for index in (0..<4).reversed() { count = count << 8 | Int(writer.bytes[header + 5 + index]) }
        return count
    }

    /// Counts one more element and returns its index.
    @inline(__always) private func begin() throws -> Int {
        try writer.beginEntry(depth: depth, header: header)
        return writer.frames[depth].count - 1
    }

    mutating func encodeNil() throws {
        _ = try begin()
        writer.writeTag(.null)
    }
    mutating func encode(_ value: Bool) throws {
        _ = try begin()
        writer.writeBool(value)
    }
    mutating func encode(_ value: String) throws {
        _ = try begin()
        writer.writeString(value)
    }
    mutating func encode(_ value: Double) throws {
        _ = try begin()
        writer.writeDouble(value)
    }
    mutating func encode(_ value: Float) throws {
        _ = try begin()
        writer.writeFloat(value)
    }
    mutating func encode(_ value: Int) throws {
        _ = try begin()
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int8) throws {
        _ = try begin()
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int16) throws {
        _ = try begin()
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int32) throws {
        _ = try begin()
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int64) throws {
        _ = try begin()
        writer.writeSigned(value)
    }
    mutating func encode(_ value: UInt) throws {
        _ = try begin()
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt8) throws {
        _ = try begin()
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt16) throws {
        _ = try begin()
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt32) throws {
        _ = try begin()
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt64) throws {
        _ = try begin()
        writer.writeUnsigned(value)
    }
    mutating func encode(_ value: Int128) throws {
        _ = try begin()
        writer.writeSigned128(value)
    }
    mutating func encode(_ value: UInt128) throws {
        _ = try begin()
        writer.writeUnsigned128(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let index = try begin()
        if !writer.writePrimitive(value) {
            try writer.writeComposite(value, depth: depth + 1, key: CompactIndexKey(index: index))
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        var nestedHeader = -1
        if writer.beginEntryRecordingMisuse(depth: depth, header: header) {
            writer.setKey(CompactIndexKey(index: writer.frames[depth].count - 1), depth: depth)
            nestedHeader = writer.pushContainer(.keyed, depth: depth + 1)
        }
        return KeyedEncodingContainer(
            CompactKeyedEncodingContainer<NestedKey>(writer: writer, depth: depth + 1, header: nestedHeader))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        var nestedHeader = -1
        if writer.beginEntryRecordingMisuse(depth: depth, header: header) {
            writer.setKey(CompactIndexKey(index: writer.frames[depth].count - 1), depth: depth)
            nestedHeader = writer.pushContainer(.unkeyed, depth: depth + 1)
        }
        return CompactUnkeyedEncodingContainer(writer: writer, depth: depth + 1, header: nestedHeader)
    }

    mutating func superEncoder() -> any Encoder {
        guard writer.beginEntryRecordingMisuse(depth: depth, header: header) else {
            return CompactValueEncoder(writer: writer, depth: depth + 1, slot: -1)
        }
        writer.setKey(CompactIndexKey(index: writer.frames[depth].count - 1), depth: depth)
        writer.pendingSlot = writer.bytes.count
        return CompactValueEncoder(writer: writer, depth: depth + 1, slot: writer.bytes.count)
    }
}

struct CompactSingleValueEncodingContainer: SingleValueEncodingContainer {
    let writer: CompactWriter
    let depth: Int
    let slot: Int

    var codingPath: [any CodingKey] { writer.path(depth) }

    mutating func encodeNil() throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeTag(.null)
    }
    mutating func encode(_ value: Bool) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeBool(value)
    }
    mutating func encode(_ value: String) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeString(value)
    }
    mutating func encode(_ value: Double) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeDouble(value)
    }
    mutating func encode(_ value: Float) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeFloat(value)
    }
    mutating func encode(_ value: Int) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int8) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int16) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int32) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int64) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeSigned(value)
    }
    mutating func encode(_ value: UInt) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt8) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt16) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt32) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt64) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeUnsigned(value)
    }
    mutating func encode(_ value: Int128) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeSigned128(value)
    }
    mutating func encode(_ value: UInt128) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        writer.writeUnsigned128(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try writer.beginSingleValue(depth: depth, slot: slot)
        if !writer.writePrimitive(value) {
            // A wrapper encoding its inner value: same slot, same path.
            try writer.writeComposite(value, depth: depth, key: nil)
        }
    }
}
