import TidemarkProtocol

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
