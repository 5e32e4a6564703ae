import TidemarkProtocol

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
