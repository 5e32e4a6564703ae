import TidemarkProtocol

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
