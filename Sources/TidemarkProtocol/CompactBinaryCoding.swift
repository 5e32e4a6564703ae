// A compact, self-describing binary form for Codable values: the risk core's checkpoints.
//
// Foundation's JSONEncoder builds a tree of dictionaries before writing text; this coder streams
// tagged values into one growing byte buffer instead, back-patching each container's byte length
// and entry count when the container is closed. Keyed containers keep their keys' strings, so the
// decoder finds entries by key in any order (custom `encode(to:)`/`init(from:)` pairs need not
// agree on the order) and skips unread entries in O(1) thanks to the stored lengths. A key spelled
// before is written as a reference to its first spelling (thousands of identical structs repeat
// the same few dozen names), which keeps every container readable on its own.
//
// Format, version 1 (all fixed-width integers little-endian):
//
//     blob      = "TMCB" 0x01 value            (nothing may follow the root value)
//     value     = 0x00                          nil
//               | 0x01 | 0x02                   false | true
//               | 0x03 varint                   signed integer, zigzag (Int, Int8…Int64)
//               | 0x04 varint                   unsigned integer (UInt, UInt8…UInt64)
//               | 0x05 u64                      Double, its bit pattern
//               | 0x06 u32                      Float, its bit pattern
//               | 0x07 varint bytes             String: UTF-8 byte count, then the UTF-8
//               | 0x08 varint                   FixedDecimal: `units`, zigzag
//               | 0x09 u32 u32 entry*           keyed container: body byte length, entry count
//               | 0x0A u32 u32 value*           unkeyed container: body byte length, element count
//               | 0x0B varint                   Int128, zigzag (up to 19 bytes)
//               | 0x0C varint                   UInt128 (up to 19 bytes)
//     entry     = key value
//     key       = varint(length << 1) bytes     a key's UTF-8 byte count (doubled) and UTF-8, or
//               | varint(offset << 1 | 1)       a reference: the blob offset (from "TMCB") of an
//                                               earlier key spelled out in full
//     varint    = LEB128: 7 bits a byte, least significant group first, high bit = more follows
//     zigzag(n) = (n << 1) ^ (n >> 63)          so that small negative numbers stay short
//
// A body byte length counts the bytes after the container's 9-byte header. A value whose
// `encode(to:)` writes nothing is stored as an empty keyed container (what JSONEncoder writes as
// `{}`); the decoder accepts an empty container of either kind for either kind.

/// The tag byte that starts every value of the compact binary format.
enum CompactTag: UInt8 {
    case null = 0x00
    case falseValue = 0x01
    case trueValue = 0x02
    case signed = 0x03
    case unsigned = 0x04
    case double = 0x05
    case float = 0x06
    case string = 0x07
    case fixedDecimal = 0x08
    case keyed = 0x09
    case unkeyed = 0x0A
    case signed128 = 0x0B
    case unsigned128 = 0x0C

    /// A human name for error messages.
    static func name(of byte: UInt8) -> String {
        switch CompactTag(rawValue: byte) {
        case .null: "nil"
        case .falseValue, .trueValue: "Bool"
        case .signed: "signed integer"
        case .unsigned: "unsigned integer"
        case .double: "Double"
        case .float: "Float"
        case .string: "String"
        case .fixedDecimal: "FixedDecimal"
        case .keyed: "keyed container"
        case .unkeyed: "unkeyed container"
        case .signed128: "Int128"
        case .unsigned128: "UInt128"
        case nil: "unknown tag 0x" + String(byte, radix: 16)
        }
    }
}

/// The leading bytes of every compact binary blob: `TMCB` and the format version.
enum CompactFormat {
    static let magic: [UInt8] = [0x54, 0x4D, 0x43, 0x42]  // "TMCB"
    static let version: UInt8 = 1
    static let headerSize = 5
    /// Tag, body byte length (u32), entry count (u32).
    static let containerHeaderSize = 9
}

/// The coding key of an unkeyed container's element (its index) or of a `super` entry.
struct CompactIndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(index: Int) {
        intValue = index
        stringValue = "Index \(index)"
    }
    init?(intValue: Int) { self.init(index: intValue) }
    init?(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }
    static let `super` = CompactIndexKey(stringValue: "super")!
}

// MARK: - Encoder

/// Encodes `Encodable` values into Tidemark's compact binary format (see the format comment at the
/// top of CompactBinaryCoding.swift): a leading `TMCB` and version byte, then tagged values.
///
/// The encoder streams into one byte buffer: containers are written as they are opened and their
/// lengths are back-patched when closed, so encoding must be depth-first and sequential, as
/// synthesized `Codable` always is. Using a container after a sibling container was opened (or after
/// its parent wrote another entry) is a programming error and makes ``encode(_:)`` throw
/// `EncodingError.invalidValue` instead of writing a corrupt blob.
///
/// ``FixedDecimal``, ``BrokerTime`` and ``AccountID`` are written directly (exact `units`,
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

/// The state shared by the encoder and all its containers during one `encode(_:)` call.
///
/// Invariants: `frames[d]` is the open container at nesting depth `d` (the root value's container
/// is depth 0); a container's coding path is `keys[0..<d]`, and `keys[d]` is the key of the entry
/// the depth-`d` container is currently encoding.
///
/// The stored properties opt out of dynamic exclusivity checking, which cost a third of the
/// encoding time (`swift_beginAccess` on every append). That is safe because a writer lives for one
/// synchronous `encode(_:)` call on one thread (it is not Sendable and never escapes into a task), and
/// no method here holds an access to a property across a call that could touch the same property:
/// every access is a single append, subscript or assignment (`withUTF8` closures borrow a local copy
/// of the string, not a property).
final class CompactWriter {
    @exclusivity(unchecked) var bytes: [UInt8]
    @exclusivity(unchecked) var frames: [CompactOpenContainer] = []
    @exclusivity(unchecked) var keys: [any CodingKey] = []
    /// The offset of a `superEncoder` value that nothing has been written to yet, or -1. Its key is
    /// already written: whatever writes next must first fill the slot (with an empty container) unless
    /// it is that super encoder itself.
    @exclusivity(unchecked) var pendingSlot = -1
    /// The first misuse seen by a non-throwing method (opening a container); thrown by ``finish()``.
    @exclusivity(unchecked) var misuse: EncodingError?
    /// Keys spelled out so far, for references: open addressing on an FNV-1a hash of the UTF-8.
    @exclusivity(unchecked) var keyTable = Array(repeating: CompactKeySlot(hash: 0, offset: -1, length: 0), count: keyTableSize)
    @exclusivity(unchecked) var keyTableCount = 0
    let userInfo: [CodingUserInfoKey: any Sendable]

    init(userInfo: [CodingUserInfoKey: any Sendable], capacity: Int) {
        self.userInfo = userInfo
        bytes = []
        bytes.reserveCapacity(max(capacity, 64))
        frames.reserveCapacity(16)
        keys.reserveCapacity(16)
    }

    /// Slots in the key table; at most half are filled, then further new keys are spelled out each time.
    static var keyTableSize: Int { 1024 }

    /// Writes a keyed container's key: a reference when the same key was spelled out before.
    @inline(__always) func writeKey(_ key: String) {
        var key = key
        key.withUTF8 { utf8 in
            guard let name = utf8.baseAddress, !utf8.isEmpty else {
                writeVarint(0)
                return
            }
            let hash = ByteHash.of(name, count: utf8.count)
            let mask = keyTable.count - 1
            var index = Int(truncatingIfNeeded: hash) & mask
            while keyTable[index].offset >= 0 {
                let slot = keyTable[index]
                if slot.hash == hash, slot.length == utf8.count {
                    let spelled = bytes.withUnsafeBufferPointer { bytes in
                        Self.equal(bytes.baseAddress! + slot.offset + slot.varintSize, name, count: slot.length)
                    }
                    if spelled {
                        writeVarint(UInt64(slot.offset) << 1 | 1)
                        return
                    }
                }
                index = (index + 1) & mask
            }
            let offset = bytes.count
            writeVarint(UInt64(utf8.count) << 1)
            if keyTableCount < keyTable.count / 2 {
                keyTable[index] = CompactKeySlot(hash: hash, offset: offset, length: utf8.count, varintSize: bytes.count - offset)
                keyTableCount += 1
            }
            bytes.append(contentsOf: utf8)
        }
    }

    @inline(__always) static func equal(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafePointer<UInt8>, count: Int) -> Bool {
        var index = 0
        while index + 8 <= count {
            if UnsafeRawPointer(lhs + index).loadUnaligned(as: UInt64.self)
                != UnsafeRawPointer(rhs + index).loadUnaligned(as: UInt64.self) { return false }
            index += 8
        }
        while index < count {
            if lhs[index] != rhs[index] { return false }
            index += 1
        }
        return true
    }

    var userInfoForCoders: [CodingUserInfoKey: Any] { userInfo.mapValues { $0 as Any } }

    func path(_ depth: Int) -> [any CodingKey] { Array(keys.prefix(depth)) }

    // MARK: Raw writes

    @inline(__always) func writeTag(_ tag: CompactTag) { bytes.append(tag.rawValue) }

    @inline(__always) func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always) func writeSigned(_ value: Int64) {
        bytes.append(CompactTag.signed.rawValue)
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inline(__always) func writeUnsigned(_ value: UInt64) {
        bytes.append(CompactTag.unsigned.rawValue)
        writeVarint(value)
    }

    func writeVarint128(_ value: UInt128) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    func writeSigned128(_ value: Int128) {
        bytes.append(CompactTag.signed128.rawValue)
        writeVarint128(UInt128(bitPattern: (value << 1) ^ (value >> 127)))
    }

    func writeUnsigned128(_ value: UInt128) {
        bytes.append(CompactTag.unsigned128.rawValue)
        writeVarint128(value)
    }

    @inline(__always) func writeFixedDecimal(_ value: FixedDecimal) {
        bytes.append(CompactTag.fixedDecimal.rawValue)
        writeVarint(UInt64(bitPattern: (value.units << 1) ^ (value.units >> 63)))
    }

    @inline(__always) func writeBool(_ value: Bool) {
        bytes.append(value ? CompactTag.trueValue.rawValue : CompactTag.falseValue.rawValue)
    }

    func writeDouble(_ value: Double) {
        bytes.append(CompactTag.double.rawValue)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    func writeFloat(_ value: Float) {
        bytes.append(CompactTag.float.rawValue)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
    }

    /// A length-prefixed UTF-8 string, without a tag.
    @inline(__always) func writeStringBody(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    func writeString(_ value: String) {
        bytes.append(CompactTag.string.rawValue)
        writeStringBody(value)
    }

    func writeEmptyContainer() {
        bytes.append(CompactTag.keyed.rawValue)
        bytes.append(contentsOf: repeatElement(0, count: 8))
    }

    /// Writes `value` directly when it is a type with its own tag (or one of the protocol's types
    /// whose `Codable` would produce the same bytes the slow way); false when it must be encoded
    /// through its `encode(to:)`.
    @inline(__always) func writePrimitive<T: Encodable>(_ value: T) -> Bool {
        if T.self == FixedDecimal.self {
            writeFixedDecimal(unsafeBitCast(value, to: FixedDecimal.self))
        } else if T.self == String.self {
            writeString(unsafeBitCast(value, to: String.self))
        } else if T.self == BrokerTime.self {
            writeSigned(unsafeBitCast(value, to: BrokerTime.self).milliseconds)
        } else if T.self == Int64.self {
            writeSigned(unsafeBitCast(value, to: Int64.self))
        } else if T.self == Int.self {
            writeSigned(Int64(unsafeBitCast(value, to: Int.self)))
        } else if T.self == Double.self {
            writeDouble(unsafeBitCast(value, to: Double.self))
        } else if T.self == Bool.self {
            writeBool(unsafeBitCast(value, to: Bool.self))
        } else if T.self == AccountID.self {
            writeString(unsafeBitCast(value, to: AccountID.self).rawValue)
        } else if T.self == Int32.self {
            writeSigned(Int64(unsafeBitCast(value, to: Int32.self)))
        } else if T.self == Int16.self {
            writeSigned(Int64(unsafeBitCast(value, to: Int16.self)))
        } else if T.self == Int8.self {
            writeSigned(Int64(unsafeBitCast(value, to: Int8.self)))
        } else if T.self == UInt64.self {
            writeUnsigned(unsafeBitCast(value, to: UInt64.self))
        } else if T.self == UInt.self {
            writeUnsigned(UInt64(unsafeBitCast(value, to: UInt.self)))
        } else if T.self == UInt32.self {
            writeUnsigned(UInt64(unsafeBitCast(value, to: UInt32.self)))
        } else if T.self == UInt16.self {
            writeUnsigned(UInt64(unsafeBitCast(value, to: UInt16.self)))
        } else if T.self == UInt8.self {
            writeUnsigned(UInt64(unsafeBitCast(value, to: UInt8.self)))
        } else if T.self == Float.self {
            writeFloat(unsafeBitCast(value, to: Float.self))
        } else if T.self == Int128.self {
            writeSigned128(unsafeBitCast(value, to: Int128.self))
        } else if T.self == UInt128.self {
            writeUnsigned128(unsafeBitCast(value, to: UInt128.self))
        } else {
            return false
        }
        return true
    }

    /// Encodes `value` through its `encode(to:)` into the slot at the end of the buffer, as the
    /// entry `key` of the container at `depth - 1` (nil for the root or a single-value container,
    /// which keep their encoder's path). A value that writes nothing becomes an empty container.
    func writeComposite<T: Encodable>(_ value: T, depth: Int, key: (any CodingKey)?) throws {
        let savedKeys = keys.count
        if let key { keys.append(key) }
        defer { if keys.count > savedKeys { keys.removeLast(keys.count - savedKeys) } }
        let slot = bytes.count
        try value.encode(to: CompactValueEncoder(writer: self, depth: depth, slot: slot))
        if bytes.count == slot {
            if pendingSlot == slot { pendingSlot = -1 }
            writeEmptyContainer()
        }
    }

    // MARK: Container bookkeeping

    func misuseError(_ description: String, depth: Int) -> EncodingError {
        EncodingError.invalidValue(
            (), EncodingError.Context(codingPath: path(depth), debugDescription: "compact binary encoder: " + description))
    }

    func fillPendingSlot() {
        pendingSlot = -1
        writeEmptyContainer()
    }

    /// Makes the container at `depth` whose header is at `header` the innermost open one (closing
    /// deeper ones) and counts one more entry in it; throws when that container is closed already.
    @inline(__always) func beginEntry(depth: Int, header: Int) throws {
        if pendingSlot >= 0 { fillPendingSlot() }
        guard depth < frames.count, frames[depth].header == header else {
            throw misuse ?? misuseError(
                "a container was used after a sibling container was opened or its parent moved on", depth: depth)
        }
        if frames.count > depth + 1 { closeContainers(downTo: depth + 1) }
        if keys.count > depth { keys.removeLast(keys.count - depth) }
        frames[depth].count += 1
    }

    /// Like ``beginEntry(depth:header:)`` for the non-throwing methods: records the misuse instead.
    func beginEntryRecordingMisuse(depth: Int, header: Int) -> Bool {
        do {
            try beginEntry(depth: depth, header: header)
            return true
        } catch {
            if misuse == nil { misuse = error as? EncodingError }
            return false
        }
    }

    /// Sets the key of the entry being encoded by the container at `depth` (for coding paths of
    /// nested containers and super encoders, which outlive the call that made them).
    func setKey(_ key: any CodingKey, depth: Int) {
        if keys.count > depth { keys.removeLast(keys.count - depth) }
        if keys.count == depth { keys.append(key) }
    }

    /// Closes every open container at depth `depth` and deeper, writing their lengths and counts.
    func closeContainers(downTo depth: Int) {
        while frames.count > depth {
            let frame = frames.removeLast()
            let length = bytes.count - frame.header - CompactFormat.containerHeaderSize
            guard length <= UInt32.max, frame.count <= UInt32.max else {
                if misuse == nil { misuse = misuseError("a container exceeds 4 GiB or 2³² entries", depth: frames.count) }
                continue
            }
            patchUInt32(UInt32(length), at: frame.header + 1)
            patchUInt32(UInt32(frame.count), at: frame.header + 5)
        }
    }

    func patchUInt32(_ value: UInt32, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value >> 24)
    }

    /// Opens a container of `tag`'s kind at the end of the buffer as depth `depth`; returns its header offset.
    func pushContainer(_ tag: CompactTag, depth: Int) -> Int {
        let header = bytes.count
        bytes.append(tag.rawValue)
        bytes.append(contentsOf: repeatElement(0, count: 8))
        frames.append(CompactOpenContainer(header: header, count: 0))
        return header
    }

    /// The container a value encoder at `depth` asks for, for the value slot at `slot`. Asking twice
    /// gives the same container (as JSONEncoder does: a subclass and its superclass may share one).
    /// Returns -1 (and records the misuse) when the slot already holds something else.
    func openContainer(_ tag: CompactTag, depth: Int, slot: Int) -> Int {
        if depth < frames.count, frames[depth].header == slot {
            guard bytes[slot] == tag.rawValue else {
                if misuse == nil { misuse = misuseError("asked for a keyed and an unkeyed container for one value", depth: depth) }
                return -1
            }
            if frames.count > depth + 1 { closeContainers(downTo: depth + 1) }
            return slot
        }
        if pendingSlot == slot { pendingSlot = -1 } else if pendingSlot >= 0 { fillPendingSlot() }
        guard frames.count == depth, bytes.count == slot else {
            if misuse == nil { misuse = misuseError("an encoder was used after its value was written", depth: depth) }
            return -1
        }
        return pushContainer(tag, depth: depth)
    }

    /// Checks that a single-value container may write the value of `slot` now.
    func beginSingleValue(depth: Int, slot: Int) throws {
        if pendingSlot == slot { pendingSlot = -1 } else if pendingSlot >= 0 { fillPendingSlot() }
        guard bytes.count == slot, frames.count == depth else {
            throw misuse ?? misuseError(
                "a single-value container was asked to encode a second value, or used after its value was written",
                depth: depth)
        }
    }

    func finish() throws -> [UInt8] {
        if pendingSlot >= 0 { fillPendingSlot() }
        closeContainers(downTo: 0)
        if let misuse { throw misuse }
        return bytes
    }
}

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

// MARK: - Decoder

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
/// wrote nothing is stored as an empty keyed container). A ``FixedDecimal`` value also decodes as
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

/// The blob being decoded, with bounds-checked reads. Offsets are indices into `bytes`.
final class CompactReader {
    let bytes: [UInt8]
    let userInfo: [CodingUserInfoKey: any Sendable]

    init(bytes: [UInt8], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.bytes = bytes
        self.userInfo = userInfo
    }

    var userInfoForCoders: [CodingUserInfoKey: Any] { userInfo.mapValues { $0 as Any } }

    // MARK: Errors

    static func fullPath(_ path: [any CodingKey], _ key: (any CodingKey)?) -> [any CodingKey] {
        guard let key else { return path }
        return path + [key]
    }

    func corrupted(_ description: String, path: [any CodingKey], key: (any CodingKey)? = nil) -> DecodingError {
        .dataCorrupted(.init(codingPath: Self.fullPath(path, key), debugDescription: description))
    }

    func truncated(at offset: Int, path: [any CodingKey], key: (any CodingKey)? = nil) -> DecodingError {
        corrupted("truncated: a value at byte \(offset) runs past the end of its container or the blob", path: path, key: key)
    }

    func mismatch(_ type: Any.Type, found tag: UInt8, at offset: Int, path: [any CodingKey], key: (any CodingKey)?) -> DecodingError {
        let fullPath = Self.fullPath(path, key)
        if tag == CompactTag.null.rawValue {
            return .valueNotFound(type, .init(codingPath: fullPath, debugDescription: "expected \(type), found nil"))
        }
        return .typeMismatch(
            type,
            .init(codingPath: fullPath, debugDescription: "expected \(type), found \(CompactTag.name(of: tag)) at byte \(offset)"))
    }

    // MARK: Raw reads

    @inline(__always) func tag(at offset: Int, path: [any CodingKey], key: (any CodingKey)? = nil) throws -> UInt8 {
        guard offset >= 0, offset < bytes.count else { throw truncated(at: offset, path: path, key: key) }
        return bytes[offset]
    }

    /// Reads a LEB128 varint starting at `offset`, no further than `limit`, and moves `offset` past it.
    func readVarint(_ offset: inout Int, limit: Int, path: [any CodingKey], key: (any CodingKey)? = nil) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < limit else { throw truncated(at: offset, path: path, key: key) }
            let byte = bytes[offset]
            offset += 1
            if shift == 63, byte > 1 {
                throw corrupted("varint at byte \(offset - 1) overflows 64 bits", path: path, key: key)
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// Reads a LEB128 varint of up to 128 bits (19 bytes) starting at `offset`.
    func readVarint128(_ offset: inout Int, limit: Int, path: [any CodingKey], key: (any CodingKey)? = nil) throws -> UInt128 {
        var result: UInt128 = 0
        var shift: UInt128 = 0
        while true {
            guard offset < limit else { throw truncated(at: offset, path: path, key: key) }
            let byte = bytes[offset]
            offset += 1
            if shift == 126, byte > 3 {
                throw corrupted("varint at byte \(offset - 1) overflows 128 bits", path: path, key: key)
            }
            result |= UInt128(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    func readUInt32(at offset: Int, path: [any CodingKey]) throws -> Int {
        guard offset + 4 <= bytes.count else { throw truncated(at: offset, path: path) }
        return Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
    }

    /// The body range and count of the container whose header is at `offset` (tag already checked).
    func containerBody(at offset: Int, path: [any CodingKey]) throws -> (start: Int, end: Int, count: Int) {
        let length = try readUInt32(at: offset + 1, path: path)
        let count = try readUInt32(at: offset + 5, path: path)
        let start = offset + CompactFormat.containerHeaderSize
        guard start + length <= bytes.count else { throw truncated(at: offset, path: path) }
        return (start, start + length, count)
    }

    /// Where the value starting at `offset` ends; throws when it would pass `limit` or is malformed.
    /// O(1) for containers, whose contents are checked when they are opened.
    func valueEnd(at offset: Int, limit: Int, path: [any CodingKey]) throws -> Int {
        guard offset < limit else { throw truncated(at: offset, path: path) }
        var cursor = offset + 1
        switch CompactTag(rawValue: bytes[offset]) {
        case .null, .falseValue, .trueValue:
            break
        case .signed, .unsigned, .fixedDecimal:
            _ = try readVarint(&cursor, limit: limit, path: path)
        case .signed128, .unsigned128:
            _ = try readVarint128(&cursor, limit: limit, path: path)
        case .double:
            cursor += 8
        case .float:
            cursor += 4
        case .string:
            let length = try readVarint(&cursor, limit: limit, path: path)
            guard length <= UInt64(limit - cursor) else { throw truncated(at: offset, path: path) }
            cursor += Int(length)
        case .keyed, .unkeyed:
            guard offset + CompactFormat.containerHeaderSize <= limit else { throw truncated(at: offset, path: path) }
            cursor = try containerBody(at: offset, path: path).end
        case nil:
            throw corrupted("unknown tag 0x\(String(bytes[offset], radix: 16)) at byte \(offset)", path: path)
        }
        guard cursor <= limit else { throw truncated(at: offset, path: path) }
        return cursor
    }

    // MARK: Values

    func readSignedPayload(at offset: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> Int64 {
        var cursor = offset + 1
        let zigzag = try readVarint(&cursor, limit: bytes.count, path: path, key: key)
        return Int64(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1)))
    }

    func readInteger<I: FixedWidthInteger>(_ type: I.Type, at offset: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> I {
        let tag = try self.tag(at: offset, path: path, key: key)
        let result: I?
        let text: String
        if tag == CompactTag.signed.rawValue {
            let value = try readSignedPayload(at: offset, path: path, key: key)
            result = I(exactly: value)
            text = String(value)
        } else if tag == CompactTag.unsigned.rawValue {
            var cursor = offset + 1
            let value = try readVarint(&cursor, limit: bytes.count, path: path, key: key)
            result = I(exactly: value)
            text = String(value)
        } else if tag == CompactTag.signed128.rawValue {
            var cursor = offset + 1
            let zigzag = try readVarint128(&cursor, limit: bytes.count, path: path, key: key)
            let value = Int128(truncatingIfNeeded: (zigzag >> 1) ^ (0 &- (zigzag & 1)))
            result = I(exactly: value)
            text = String(value)
        } else if tag == CompactTag.unsigned128.rawValue {
            var cursor = offset + 1
            let value = try readVarint128(&cursor, limit: bytes.count, path: path, key: key)
            result = I(exactly: value)
            text = String(value)
        } else {
            throw mismatch(I.self, found: tag, at: offset, path: path, key: key)
        }
        guard let result else { throw corrupted("\(text) does not fit in \(I.self)", path: path, key: key) }
        return result
    }

    func readFixedDecimal(at offset: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> FixedDecimal {
        let tag = try self.tag(at: offset, path: path, key: key)
        guard tag == CompactTag.fixedDecimal.rawValue else {
            throw mismatch(FixedDecimal.self, found: tag, at: offset, path: path, key: key)
        }
        return FixedDecimal(units: try readSignedPayload(at: offset, path: path, key: key))
    }

    func readBool(at offset: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> Bool {
        let tag = try self.tag(at: offset, path: path, key: key)
        switch tag {
        case CompactTag.trueValue.rawValue: return true
        case CompactTag.falseValue.rawValue: return false
        default: throw mismatch(Bool.self, found: tag, at: offset, path: path, key: key)
        }
    }

    func readBits(at offset: Int, width: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> UInt64 {
        guard offset + 1 + width <= bytes.count else { throw truncated(at: offset, path: path, key: key) }
        var bits: UInt64 = 0
        for index in (0..<width).reversed() { bits = bits << 8 | UInt64(bytes[offset + 1 + index]) }
        return bits
    }

    func readDouble(at offset: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> Double {
        let tag = try self.tag(at: offset, path: path, key: key)
        switch tag {
        case CompactTag.double.rawValue:
            return Double(bitPattern: try readBits(at: offset, width: 8, path: path, key: key))
        case CompactTag.float.rawValue:
            return Double(Float(bitPattern: UInt32(try readBits(at: offset, width: 4, path: path, key: key))))
        default:
            throw mismatch(Double.self, found: tag, at: offset, path: path, key: key)
        }
    }

    func readFloat(at offset: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> Float {
        let tag = try self.tag(at: offset, path: path, key: key)
        switch tag {
        case CompactTag.float.rawValue:
            return Float(bitPattern: UInt32(try readBits(at: offset, width: 4, path: path, key: key)))
        case CompactTag.double.rawValue:
            let value = Double(bitPattern: try readBits(at: offset, width: 8, path: path, key: key))
            guard !value.isFinite || abs(value) <= Double(Float.greatestFiniteMagnitude) else {
                throw corrupted("\(value) does not fit in Float", path: path, key: key)
            }
            return Float(value)
        default:
            throw mismatch(Float.self, found: tag, at: offset, path: path, key: key)
        }
    }

    /// The start and end of a length-prefixed byte string whose length varint is at `offset`.
    func stringBytes(at offset: Int, limit: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> Range<Int> {
        var cursor = offset
        let length = try readVarint(&cursor, limit: limit, path: path, key: key)
        guard length <= UInt64(limit - cursor) else { throw truncated(at: offset, path: path, key: key) }
        return cursor..<(cursor + Int(length))
    }

    /// The UTF-8 of the key at `offset` (spelled out, or a reference to an earlier spelling) and
    /// where the key ends.
    func readKey(at offset: Int, limit: Int, path: [any CodingKey]) throws -> (name: Range<Int>, end: Int) {
        var cursor = offset
        let word = try readVarint(&cursor, limit: limit, path: path)
        if word & 1 == 0 {
            guard word >> 1 <= UInt64(limit - cursor) else { throw truncated(at: offset, path: path) }
            return (cursor..<(cursor + Int(word >> 1)), cursor + Int(word >> 1))
        }
        // A reference must point backwards, at a key spelled out in full that ends before this one.
        guard word >> 1 < UInt64(offset) else {
            throw corrupted("key at byte \(offset) refers forward, to byte \(word >> 1)", path: path)
        }
        var target = Int(word >> 1)
        let spelled = try readVarint(&target, limit: offset, path: path)
        guard spelled & 1 == 0, spelled >> 1 <= UInt64(offset - target) else {
            throw corrupted("key at byte \(offset) refers to byte \(word >> 1), which is not a key", path: path)
        }
        return (target..<(target + Int(spelled >> 1)), cursor)
    }

    func readString(at offset: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> String {
        let tag = try self.tag(at: offset, path: path, key: key)
        if tag == CompactTag.fixedDecimal.rawValue {
            return try readFixedDecimal(at: offset, path: path, key: key).description
        }
        guard tag == CompactTag.string.rawValue else {
            throw mismatch(String.self, found: tag, at: offset, path: path, key: key)
        }
        let range = try stringBytes(at: offset + 1, limit: bytes.count, path: path, key: key)
        guard let text = String(validating: bytes[range], as: UTF8.self) else {
            throw corrupted("string at byte \(offset) is not valid UTF-8", path: path, key: key)
        }
        return text
    }

    /// Decodes a `T` from the value at `offset`, the entry `key` of a container at `path` (or, with
    /// no key, the value of a decoder at `path`). Types with their own tag are read directly.
    func decodeValue<T: Decodable>(_ type: T.Type, at offset: Int, path: [any CodingKey], key: (any CodingKey)?) throws -> T {
        if T.self == FixedDecimal.self {
            return unsafeBitCast(try readFixedDecimal(at: offset, path: path, key: key), to: T.self)
        } else if T.self == String.self {
            return unsafeBitCast(try readString(at: offset, path: path, key: key), to: T.self)
        } else if T.self == BrokerTime.self {
            return unsafeBitCast(BrokerTime(milliseconds: try readInteger(Int64.self, at: offset, path: path, key: key)), to: T.self)
        } else if T.self == Int64.self {
            return unsafeBitCast(try readInteger(Int64.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == Int.self {
            return unsafeBitCast(try readInteger(Int.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == Double.self {
            return unsafeBitCast(try readDouble(at: offset, path: path, key: key), to: T.self)
        } else if T.self == Bool.self {
            return unsafeBitCast(try readBool(at: offset, path: path, key: key), to: T.self)
        } else if T.self == AccountID.self {
            return unsafeBitCast(AccountID(try readString(at: offset, path: path, key: key)), to: T.self)
        } else if T.self == Int32.self {
            return unsafeBitCast(try readInteger(Int32.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == Int16.self {
            return unsafeBitCast(try readInteger(Int16.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == Int8.self {
            return unsafeBitCast(try readInteger(Int8.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == UInt64.self {
            return unsafeBitCast(try readInteger(UInt64.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == UInt.self {
            return unsafeBitCast(try readInteger(UInt.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == UInt32.self {
            return unsafeBitCast(try readInteger(UInt32.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == UInt16.self {
            return unsafeBitCast(try readInteger(UInt16.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == UInt8.self {
            return unsafeBitCast(try readInteger(UInt8.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == Float.self {
            return unsafeBitCast(try readFloat(at: offset, path: path, key: key), to: T.self)
        } else if T.self == Int128.self {
            return unsafeBitCast(try readInteger(Int128.self, at: offset, path: path, key: key), to: T.self)
        } else if T.self == UInt128.self {
            return unsafeBitCast(try readInteger(UInt128.self, at: offset, path: path, key: key), to: T.self)
        }
        return try T(from: CompactValueDecoder(reader: self, offset: offset, codingPath: Self.fullPath(path, key)))
    }

    /// The body of the container at `offset` when it is of `tag`'s kind (or empty); throws otherwise.
    func container(_ tag: CompactTag, at offset: Int, path: [any CodingKey]) throws -> (start: Int, end: Int, count: Int) {
        let found = try self.tag(at: offset, path: path)
        let other: CompactTag = tag == .keyed ? .unkeyed : .keyed
        if found == tag.rawValue {
            return try containerBody(at: offset, path: path)
        }
        if found == other.rawValue {
            let body = try containerBody(at: offset, path: path)
            if body.count == 0, body.start == body.end { return body }
        }
        let kind: Any.Type = tag == .keyed ? [String: Any].self : [Any].self
        throw mismatch(kind, found: found, at: offset, path: path, key: nil)
    }
}

/// The `Decoder` handed to a value's `init(from:)`: the value at `offset`.
struct CompactValueDecoder: Decoder {
    let reader: CompactReader
    let offset: Int
    let codingPath: [any CodingKey]

    var userInfo: [CodingUserInfoKey: Any] { reader.userInfoForCoders }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try CompactKeyedDecodingContainer<Key>(reader: reader, offset: offset, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try CompactUnkeyedDecodingContainer(reader: reader, offset: offset, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        CompactSingleValueDecodingContainer(reader: reader, offset: offset, codingPath: codingPath)
    }
}

/// One entry of a keyed container: where its key's UTF-8 and its value are.
struct CompactKeyedEntry {
    var key: Range<Int>
    var value: Int
}

struct CompactKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let reader: CompactReader
    let codingPath: [any CodingKey]
    private let entries: [CompactKeyedEntry]
    /// Value offsets by key, for containers too large to search linearly.
    private let table: [String: Int]?

    /// Containers up to this many entries are searched linearly; larger ones get a table.
    private static var linearSearchLimit: Int { 24 }

    /// Indexes the keyed container at `offset`, checking every entry against its stated length and count.
    init(reader: CompactReader, offset: Int, codingPath: [any CodingKey]) throws {
        self.reader = reader
        self.codingPath = codingPath
        let body = try reader.container(.keyed, at: offset, path: codingPath)
        var entries: [CompactKeyedEntry] = []
        entries.reserveCapacity(min(body.count, (body.end - body.start) / 2))
        var cursor = body.start
        for _ in 0..<body.count {
            guard cursor < body.end else {
                throw reader.corrupted("keyed container at byte \(offset) holds fewer entries than its count", path: codingPath)
            }
            let key = try reader.readKey(at: cursor, limit: body.end, path: codingPath)
            cursor = try reader.valueEnd(at: key.end, limit: body.end, path: codingPath)
            entries.append(CompactKeyedEntry(key: key.name, value: key.end))
        }
        guard cursor == body.end else {
            throw reader.corrupted("keyed container at byte \(offset) is longer than its entries", path: codingPath)
        }
        if entries.count > Self.linearSearchLimit {
            var table: [String: Int] = [:]
            table.reserveCapacity(entries.count)
            for entry in entries {
                let name = String(decoding: reader.bytes[entry.key], as: UTF8.self)
                guard table.updateValue(entry.value, forKey: name) == nil else {
                    throw reader.corrupted("duplicate key \"\(name)\" in the keyed container at byte \(offset)", path: codingPath)
                }
            }
            self.table = table
        } else {
            for (index, entry) in entries.enumerated() {
                for earlier in entries[..<index] where reader.bytes[earlier.key].elementsEqual(reader.bytes[entry.key]) {
                    let name = String(decoding: reader.bytes[entry.key], as: UTF8.self)
                    throw reader.corrupted("duplicate key \"\(name)\" in the keyed container at byte \(offset)", path: codingPath)
                }
            }
            self.table = nil
        }
        self.entries = entries
    }

    var allKeys: [Key] {
        entries.compactMap { Key(stringValue: String(decoding: reader.bytes[$0.key], as: UTF8.self)) }
    }

    /// The offset of `key`'s value, or nil when the container has no such key.
    private func valueOffset(_ key: Key) -> Int? {
        if let table { return table[key.stringValue] }
        var name = key.stringValue
        return name.withUTF8 { utf8 in
            reader.bytes.withUnsafeBufferPointer { bytes in
                for entry in entries where entry.key.count == utf8.count {
                    if UnsafeBufferPointer(rebasing: bytes[entry.key]).elementsEqual(utf8) { return entry.value }
                }
                return nil
            }
        }
    }

    private func requireValue(_ key: Key) throws -> Int {
        guard let offset = valueOffset(key) else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "no value for key \"\(key.stringValue)\""))
        }
        return offset
    }

    func contains(_ key: Key) -> Bool { valueOffset(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        try reader.tag(at: try requireValue(key), path: codingPath, key: key) == CompactTag.null.rawValue
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decodeValue(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decodeValue(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decodeValue(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decodeValue(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decodeValue(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decodeValue(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decodeValue(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decodeValue(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decodeValue(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decodeValue(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decodeValue(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decodeValue(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decodeValue(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decodeValue(type, key) }
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try decodeValue(type, key) }
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try decodeValue(type, key) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decodeValue(type, key) }

    @inline(__always) private func decodeValue<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
        try reader.decodeValue(type, at: try requireValue(key), path: codingPath, key: key)
    }

    /// One lookup instead of the default's three (`contains`, `decodeNil`, `decode`).
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let offset = valueOffset(key), reader.bytes[offset] != CompactTag.null.rawValue else { return nil }
        return try reader.decodeValue(type, at: offset, path: codingPath, key: key)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(
            try CompactKeyedDecodingContainer<NestedKey>(
                reader: reader, offset: try requireValue(key), codingPath: codingPath + [key]))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try CompactUnkeyedDecodingContainer(reader: reader, offset: try requireValue(key), codingPath: codingPath + [key])
    }

    func superDecoder() throws -> any Decoder {
        guard let key = Key(stringValue: CompactIndexKey.super.stringValue) else {
            // The container's key type cannot spell "super": look the entry up by its text.
            let name = Array(CompactIndexKey.super.stringValue.utf8)
            guard let entry = entries.first(where: { reader.bytes[$0.key].elementsEqual(name) }) else {
                throw DecodingError.keyNotFound(
                    CompactIndexKey.super, .init(codingPath: codingPath, debugDescription: "no value for key \"super\""))
            }
            return CompactValueDecoder(reader: reader, offset: entry.value, codingPath: codingPath + [CompactIndexKey.super])
        }
        return try superDecoder(forKey: key)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        CompactValueDecoder(reader: reader, offset: try requireValue(key), codingPath: codingPath + [key])
    }
}

struct CompactUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let reader: CompactReader
    let codingPath: [any CodingKey]
    let count: Int?
    private(set) var currentIndex = 0
    /// The offset of the element at `currentIndex`.
    private var cursor: Int
    private let end: Int

    /// Opens the unkeyed container at `offset`, checking its elements against its stated length and count.
    init(reader: CompactReader, offset: Int, codingPath: [any CodingKey]) throws {
        self.reader = reader
        self.codingPath = codingPath
        let body = try reader.container(.unkeyed, at: offset, path: codingPath)
        var check = body.start
        for _ in 0..<body.count {
            guard check < body.end else {
                throw reader.corrupted("unkeyed container at byte \(offset) holds fewer elements than its count", path: codingPath)
            }
            check = try reader.valueEnd(at: check, limit: body.end, path: codingPath)
        }
        guard check == body.end else {
            throw reader.corrupted("unkeyed container at byte \(offset) is longer than its elements", path: codingPath)
        }
        count = body.count
        cursor = body.start
        end = body.end
    }

    var isAtEnd: Bool { currentIndex >= count! }

    private var currentKey: CompactIndexKey { CompactIndexKey(index: currentIndex) }

    private func requireElement(_ type: Any.Type) throws {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath + [currentKey], debugDescription: "unkeyed container is at its end"))
        }
    }

    private mutating func advance() throws {
        cursor = try reader.valueEnd(at: cursor, limit: end, path: codingPath)
        currentIndex += 1
    }

    mutating func decodeNil() throws -> Bool {
        try requireElement(Never?.self)
        guard reader.bytes[cursor] == CompactTag.null.rawValue else { return false }
        try advance()
        return true
    }

    mutating func decode(_ type: Int128.Type) throws -> Int128 { try decodeElement(type) }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try decodeElement(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeElement(type) }

    private mutating func decodeElement<T: Decodable>(_ type: T.Type) throws -> T {
        try requireElement(type)
        let value = try reader.decodeValue(type, at: cursor, path: codingPath, key: currentKey)
        try advance()
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try requireElement(KeyedDecodingContainer<NestedKey>.self)
        let container = try CompactKeyedDecodingContainer<NestedKey>(
            reader: reader, offset: cursor, codingPath: codingPath + [currentKey])
        try advance()
        return KeyedDecodingContainer(container)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try requireElement((any UnkeyedDecodingContainer).self)
        let container = try CompactUnkeyedDecodingContainer(reader: reader, offset: cursor, codingPath: codingPath + [currentKey])
        try advance()
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        try requireElement((any Decoder).self)
        let decoder = CompactValueDecoder(reader: reader, offset: cursor, codingPath: codingPath + [currentKey])
        try advance()
        return decoder
    }
}

struct CompactSingleValueDecodingContainer: SingleValueDecodingContainer {
    let reader: CompactReader
    let offset: Int
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { offset < reader.bytes.count && reader.bytes[offset] == CompactTag.null.rawValue }

    func decode(_ type: Bool.Type) throws -> Bool { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: String.Type) throws -> String { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: Double.Type) throws -> Double { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: Float.Type) throws -> Float { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: Int.Type) throws -> Int { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: Int8.Type) throws -> Int8 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: Int16.Type) throws -> Int16 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: Int32.Type) throws -> Int32 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: Int64.Type) throws -> Int64 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: UInt.Type) throws -> UInt { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: Int128.Type) throws -> Int128 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try reader.decodeValue(type, at: offset, path: codingPath, key: nil) }
}
