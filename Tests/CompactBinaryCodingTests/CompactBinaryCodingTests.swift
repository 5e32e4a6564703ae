import CompactBinaryCoding
import Testing
import TidemarkProtocol

// MARK: - Test types

private struct Inner: Codable, Hashable {
    var name: String
    var values: [Int]
}

/// Synthesized Codable for enums with associated values: labelled, unlabelled, none, nested optionals.
private enum Shape: Codable, Hashable {
    case circle(radius: FixedDecimal)
    case rectangle(FixedDecimal, FixedDecimal)
    case empty
    case labelled(name: String, inner: Inner?)
}

/// A key type that is not a String, so Dictionary encodes it as an unkeyed key/value list.
private struct Bucket: Codable, Hashable {
    var start: BrokerTime
    var side: Int8
}

private struct Everything: Codable, Equatable {
    var int8: Int8
    var int16: Int16
    var int32: Int32
    var int64: Int64
    var int: Int
    var uint8: UInt8
    var uint16: UInt16
    var uint32: UInt32
    var uint64: UInt64
    var uint: UInt
    var float: Float
    var double: Double
    var yes: Bool
    var no: Bool
    var text: String
    var emptyText: String
    var unicode: String
    var present: Int?
    var absent: String?
    var presentInner: Inner?
    var money: FixedDecimal
    var time: BrokerTime
    var account: AccountID
    var inner: Inner
    var inners: [Inner]
    var emptyList: [Int]
    var optionals: [Int?]
    var nestedLists: [[FixedDecimal]]
    var tags: Set<String>
    var byName: [String: FixedDecimal]
    var byNumber: [Int: String]
    var byBucket: [Bucket: [String]]
    var emptyDictionary: [String: Int]
    var shapes: [Shape]
    var doubleOptional: Int??

    static let sample = Everything(
        int8: -128, int16: 32_767, int32: -2_000_000_000, int64: .min, int: .max,
        uint8: 255, uint16: 0, uint32: .max, uint64: .max, uint: 12_345,
        float: -1.5, double: 1.14512, yes: true, no: false,
        text: "EURUSD", emptyText: "", unicode: "Zürich € 💶 日本",
        present: 0, absent: nil, presentInner: Inner(name: "x", values: []),
        money: "-12345.67890123", time: BrokerTime(milliseconds: 1_718_000_000_123),
        account: AccountID(server: "ICMarkets-Demo", login: 51_234_567),
        inner: Inner(name: "inner", values: [1, -1, .min, .max]),
        inners: [Inner(name: "a", values: [1]), Inner(name: "", values: [])],
        emptyList: [], optionals: [1, nil, 3, nil], nestedLists: [[], ["0.1", "-0.2"], ["99"]],
        tags: ["daily", "weekly", ""], byName: ["balance": "10000", "equity": "9876.54"],
        byNumber: [1: "one", -5: "minus five", 0: ""],
        byBucket: [Bucket(start: BrokerTime(milliseconds: 0), side: -1): ["a", "b"], Bucket(start: BrokerTime(milliseconds: 60_000), side: 1): []],
        emptyDictionary: [:],
        shapes: [.circle(radius: "2.5"), .rectangle("1", "-3"), .empty, .labelled(name: "n", inner: nil),
                 .labelled(name: "m", inner: Inner(name: "deep", values: [7]))],
        doubleOptional: .some(3))
}

/// Writes its keys in another order than it reads them.
private struct Reordered: Codable, Equatable {
    var a: Int
    var b: String
    var c: [FixedDecimal]

    enum CodingKeys: String, CodingKey { case a, b, c }

    init(a: Int, b: String, c: [FixedDecimal]) {
        self.a = a
        self.b = b
        self.c = c
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        c = try container.decode([FixedDecimal].self, forKey: .c)
        a = try container.decode(Int.self, forKey: .a)
        b = try container.decode(String.self, forKey: .b)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(b, forKey: .b)
        try container.encode(c, forKey: .c)
        try container.encode(a, forKey: .a)
    }
}

/// A class hierarchy in both shapes: the subclass shares its encoder with the superclass, or hands
/// the superclass a `superEncoder()`.
private class Base: Codable {
    var id: Int
    init(id: Int) { self.id = id }
}

private final class SharedContainerChild: Base {
    var extra: String
    enum CodingKeys: String, CodingKey { case extra }
    init(id: Int, extra: String) {
        self.extra = extra
        super.init(id: id)
    }
    required init(from decoder: any Decoder) throws {
        extra = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .extra)
        try super.init(from: decoder)
    }
    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(extra, forKey: .extra)
        try super.encode(to: encoder)
    }
}

private final class SuperEncoderChild: Base {
    var extra: [Int]
    enum CodingKeys: String, CodingKey { case extra, base }
    init(id: Int, extra: [Int]) {
        self.extra = extra
        super.init(id: id)
    }
    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        extra = try container.decode([Int].self, forKey: .extra)
        try super.init(from: container.superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try super.encode(to: container.superEncoder())
        try container.encode(extra, forKey: .extra)
    }
}

/// Writes nothing at all, and reads nothing.
private struct Nothing: Codable, Equatable {
    init() {}
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
}

/// Encodes a keyed container with a nil entry and an unkeyed list [nil, 5, "s"] for ``Probe``.
private struct ProbeSource: Encodable {
    enum CodingKeys: String, CodingKey { case x, n, list, nested, missing }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(1, forKey: .x)
        try container.encodeNil(forKey: .n)
        var list = container.nestedUnkeyedContainer(forKey: .list)
        try list.encodeNil()
        try list.encode(5)
        try list.encode("s")
        var nested = container.nestedContainer(keyedBy: CodingKeys.self, forKey: .nested)
        try nested.encode(true, forKey: .x)
        var nestedList = nested.nestedUnkeyedContainer(forKey: .list)
        var deeper = nestedList.nestedUnkeyedContainer()
        try deeper.encode(UInt8(9))
    }
}

/// Reads ``ProbeSource`` through every container query and records the answers.
private struct Probe: Decodable {
    var contains: [Bool] = []
    var allKeys: [String] = []
    var nils: [Bool] = []
    var ifPresent: [Int?] = []
    var missingNilThrowsKeyNotFound = false
    var counts: [Int?] = []
    var indices: [Int] = []
    var atEnd: [Bool] = []
    var listValues: [String] = []
    var pastEndThrowsValueNotFound = false
    var deep: UInt8 = 0
    var nestedFlag = false

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ProbeSource.CodingKeys.self)
        contains = [container.contains(.x), container.contains(.n), container.contains(.missing)]
        allKeys = container.allKeys.map(\.stringValue).sorted()
        nils = [try container.decodeNil(forKey: .n), try container.decodeNil(forKey: .x)]
        ifPresent = [
            try container.decodeIfPresent(Int.self, forKey: .x), try container.decodeIfPresent(Int.self, forKey: .n),
            try container.decodeIfPresent(Int.self, forKey: .missing),
        ]
        do {
            _ = try container.decodeNil(forKey: .missing)
        } catch DecodingError.keyNotFound {
            missingNilThrowsKeyNotFound = true
        }
        var list = try container.nestedUnkeyedContainer(forKey: .list)
        counts.append(list.count)
        func note(_ list: any UnkeyedDecodingContainer) {
            indices.append(list.currentIndex)
            atEnd.append(list.isAtEnd)
        }
        note(list)
        listValues.append("nil: \(try list.decodeNil())")
        note(list)
        listValues.append("nil: \(try list.decodeNil())")  // 5 is not nil: the index stays
        note(list)
        listValues.append(String(try list.decode(Int.self)))
        note(list)
        listValues.append(try list.decode(String.self))
        note(list)
        do {
            _ = try list.decode(Int.self)
        } catch DecodingError.valueNotFound {
            pastEndThrowsValueNotFound = true
        }
        let nested = try container.nestedContainer(keyedBy: ProbeSource.CodingKeys.self, forKey: .nested)
        nestedFlag = try nested.decode(Bool.self, forKey: .x)
        var nestedList = try nested.nestedUnkeyedContainer(forKey: .list)
        counts.append(nestedList.count)
        var deeper = try nestedList.nestedUnkeyedContainer()
        counts.append(deeper.count)
        deep = try deeper.decode(UInt8.self)
        note(nestedList)
    }
}

/// Throws an error that carries the encoder's coding path at the moment it was asked to encode.
private struct PathReporter: Encodable {
    struct Reported: Error { var path: [String] }
    func encode(to encoder: any Encoder) throws {
        throw Reported(path: encoder.codingPath.map(\.stringValue))
    }
}

private struct PathHolder: Encodable {
    enum CodingKeys: String, CodingKey { case outer, list }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(1, forKey: .outer)
        var list = container.nestedUnkeyedContainer(forKey: .list)
        try list.encode("first")
        try list.encode([PathReporter()])
    }
}

/// Opens two sibling containers and writes to the first after opening the second.
private struct InterleavedSiblings: Encodable {
    enum CodingKeys: String, CodingKey { case first, second }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var first = container.nestedUnkeyedContainer(forKey: .first)
        var second = container.nestedUnkeyedContainer(forKey: .second)
        try second.encode(2)
        try first.encode(1)
    }
}

/// Encodes two values through one single-value container.
private struct TwoSingleValues: Encodable {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(1)
        try container.encode(2)
    }
}

/// A super encoder that is never written to still leaves a valid value.
private struct UnusedSuperEncoder: Codable, Equatable {
    var after: Int
    enum CodingKeys: String, CodingKey { case after }
    init(after: Int) { self.after = after }
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        _ = try container.superDecoder()
        after = try container.decode(Int.self, forKey: .after)
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        _ = container.superEncoder()
        try container.encode(after, forKey: .after)
    }
}

private func roundTrip<T: Codable>(_ value: T) throws -> T {
    let bytes = try CompactBinaryEncoder().encode(value)
    return try CompactBinaryDecoder().decode(T.self, from: bytes)
}

// MARK: - Tests

@Suite struct CompactBinaryCodingTests {
    @Test func roundTripsEveryKindOfValue() throws {
        let decoded = try roundTrip(Everything.sample)
        #expect(decoded == Everything.sample)
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -100_000_000, -1, 0, 1, 150_000_000, Int64.max])
    func roundTripsFixedDecimalUnitsExactly(_ units: Int64) throws {
        let value = FixedDecimal(units: units)
        #expect(try roundTrip(value) == value)
        #expect(try roundTrip([value, .zero, value]) == [value, .zero, value])
        // 92233720368.54775807 has 19 significant digits: JSON's FixedDecimal coding would go through
        // a string; here it is the tag 0x08 and the zigzag units, whatever the value.
        let bytes = try CompactBinaryEncoder().encode(value)
        #expect(bytes[5] == 0x08)
    }

    @Test func roundTripsIntegerExtremes() throws {
        #expect(try roundTrip([Int64.min, Int64.max, 0, -1]) == [Int64.min, Int64.max, 0, -1])
        #expect(try roundTrip([UInt64.max, 0]) == [UInt64.max, 0])
        #expect(try roundTrip([Int8.min, Int8.max]) == [Int8.min, Int8.max])
        #expect(try roundTrip(BrokerTime(milliseconds: .min)) == BrokerTime(milliseconds: .min))
        #expect(try roundTrip(BrokerTime(milliseconds: 1_718_000_000_123)) == BrokerTime(milliseconds: 1_718_000_000_123))
    }

    @Test func roundTripsWideIntegers() throws {
        struct Wide: Codable, Equatable {
            var signed: Int128
            var unsigned: UInt128
            var list: [Int128]
            var unsignedList: [UInt128]
        }
        let wide = Wide(signed: .min, unsigned: .max, list: [.min, -1, 0, 42, .max], unsignedList: [0, .max])
        #expect(try roundTrip(wide) == wide)
        #expect(try roundTrip(Int128.max) == .max)
        // 4,200,000,000,000,000 (an Int128 money area) also reads as an Int64; 2⁶⁴ does not.
        let decoder = CompactBinaryDecoder()
        #expect(try decoder.decode(Int64.self, from: CompactBinaryEncoder().encode(Int128(4_200_000_000_000_000))) == 4_200_000_000_000_000)
        #expect(throws: DecodingError.self) {
            try decoder.decode(Int64.self, from: CompactBinaryEncoder().encode(Int128(UInt64.max) + 1))
        }
    }

    @Test func roundTripsDoubleAndFloatBitPatterns() throws {
        let doubles: [Double] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1.14512]
        #expect(try roundTrip(doubles).map(\.bitPattern) == doubles.map(\.bitPattern))
        let floats: [Float] = [-0.0, .infinity, .nan, .leastNonzeroMagnitude, 3.25]
        #expect(try roundTrip(floats).map(\.bitPattern) == floats.map(\.bitPattern))
    }

    @Test func roundTripsEmptyAndTopLevelValues() throws {
        #expect(try roundTrip("") == "")
        #expect(try roundTrip("Zürich € 💶") == "Zürich € 💶")
        #expect(try roundTrip([Int]()) == [])
        #expect(try roundTrip([String: Int]()) == [:])
        #expect(try roundTrip(Set<Int>()) == [])
        #expect(try roundTrip(Int?.none) == nil)
        #expect(try roundTrip(Int?.some(4)) == 4)
        #expect(try roundTrip(true) == true)
        #expect(try roundTrip(AccountID("Server:1")) == AccountID("Server:1"))
    }

    @Test func decodesKeysInAnyOrder() throws {
        let value = Reordered(a: -7, b: "b", c: ["1.5", "-0.00000001"])
        #expect(try roundTrip(value) == value)
        // The synthesized-order reader sees the same keys, whatever order they were written in.
        struct SameShape: Codable, Equatable {
            var a: Int
            var b: String
            var c: [FixedDecimal]
        }
        let bytes = try CompactBinaryEncoder().encode(value)
        #expect(try CompactBinaryDecoder().decode(SameShape.self, from: bytes) == SameShape(a: -7, b: "b", c: ["1.5", "-0.00000001"]))
    }

    @Test func roundTripsClassHierarchies() throws {
        let shared = try roundTrip(SharedContainerChild(id: 42, extra: "e"))
        #expect(shared.id == 42)
        #expect(shared.extra == "e")
        let viaSuper = try roundTrip(SuperEncoderChild(id: 7, extra: [1, 2]))
        #expect(viaSuper.id == 7)
        #expect(viaSuper.extra == [1, 2])
    }

    @Test func valuesThatWriteNothingStayDecodable() throws {
        #expect(try roundTrip(Nothing()) == Nothing())
        #expect(try roundTrip([Nothing(), Nothing()]) == [Nothing(), Nothing()])
        #expect(try roundTrip(["k": Nothing()]) == ["k": Nothing()])
        #expect(try roundTrip(UnusedSuperEncoder(after: 3)) == UnusedSuperEncoder(after: 3))
        // An empty keyed container also reads as an empty unkeyed one (and as an empty struct).
        let emptyKeyed = try CompactBinaryEncoder().encode(Nothing())
        #expect(try CompactBinaryDecoder().decode([Int].self, from: emptyKeyed) == [])
        let emptyUnkeyed = try CompactBinaryEncoder().encode([Int]())
        #expect(try CompactBinaryDecoder().decode([String: Int].self, from: emptyUnkeyed) == [:])
    }

    @Test func answersContainerQueriesLikeJSONDecoder() throws {
        let bytes = try CompactBinaryEncoder().encode(ProbeSource())
        let probe = try CompactBinaryDecoder().decode(Probe.self, from: bytes)
        #expect(probe.contains == [true, true, false])
        #expect(probe.allKeys == ["list", "n", "nested", "x"])
        #expect(probe.nils == [true, false])
        #expect(probe.ifPresent == [1, nil, nil])
        #expect(probe.missingNilThrowsKeyNotFound)
        #expect(probe.counts == [3, 1, 1])
        #expect(probe.indices == [0, 1, 1, 2, 3, 1])
        #expect(probe.atEnd == [false, false, false, false, true, true])
        #expect(probe.listValues == ["nil: true", "nil: false", "5", "s"])
        #expect(probe.pastEndThrowsValueNotFound)
        #expect(probe.nestedFlag)
        #expect(probe.deep == 9)
    }

    /// The format pinned byte by byte, worked out by hand:
    ///
    ///     54 4D 43 42 01         "TMCB", version 1
    ///     09 0C 00 00 00         keyed container, body of 12 bytes,
    ///        02 00 00 00         2 entries
    ///     02 61                  key "a": length 1, doubled (the low bit 0 says "spelled out")
    ///     03 03                  signed, zigzag(-2) = 3
    ///     02 62                  key "b"
    ///     08 80 C6 86 8F 01      FixedDecimal, zigzag(150,000,000 units) = 300,000,000 = 0x11E1A300,
    ///                            LEB128: 0x00|80, 0x46|80, 0x06|80, 0x0F|80, 0x01
    ///                            (0 + 70·128 + 6·128² + 15·128³ + 1·128⁴ = 300,000,000)
    @Test func writesThePinnedFormat() throws {
        struct Tiny: Codable {
            var a: Int
            var b: FixedDecimal
        }
        let bytes = try CompactBinaryEncoder().encode(Tiny(a: -2, b: "1.5"))
        #expect(bytes == [
            0x54, 0x4D, 0x43, 0x42, 0x01,
            0x09, 0x0C, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
            0x02, 0x61, 0x03, 0x03,
            0x02, 0x62, 0x08, 0x80, 0xC6, 0x86, 0x8F, 0x01,
        ])
        // Two of them in an array: the second one's keys refer to the first one's spelling.
        //   0A 20 00 00 00 02 00 00 00                unkeyed, body 32 bytes, 2 elements
        //   09 08 00 00 00 02 00 00 00                keyed (at byte 14), body 8 bytes, 2 entries
        //     02 61 03 00   02 62 08 00               "a" (at byte 23): 0; "b" (at byte 27): 0
        //   09 06 00 00 00 02 00 00 00                keyed, body 6 bytes, 2 entries
        //     2F 03 02      37 08 00                  key at byte 23 (23·2+1 = 47 = 0x2F): 1 (zigzag 2);
        //                                             key at byte 27 (27·2+1 = 55 = 0x37): 0
        let pair = try CompactBinaryEncoder().encode([Tiny(a: 0, b: 0), Tiny(a: 1, b: 0)])
        #expect(pair == [
            0x54, 0x4D, 0x43, 0x42, 0x01,
            0x0A, 0x20, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
            0x09, 0x08, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x61, 0x03, 0x00, 0x02, 0x62, 0x08, 0x00,
            0x09, 0x06, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x2F, 0x03, 0x02, 0x37, 0x08, 0x00,
        ])
        struct Pair: Codable, Equatable {
            var a: Int
            var b: FixedDecimal
        }
        #expect(try CompactBinaryDecoder().decode([Pair].self, from: pair) == [Pair(a: 0, b: 0), Pair(a: 1, b: 0)])
        // A reference forward, or to something that is not a spelled-out key, is corrupt.
        var forward = pair
        forward[40] = 0x7F  // byte 63
        #expect(throws: DecodingError.self) { try CompactBinaryDecoder().decode([Pair].self, from: forward) }
        var notAKey = pair
        notAKey[40] = 0x1D  // byte 14: a container tag, 0x09, whose low bit is 1
        #expect(throws: DecodingError.self) { try CompactBinaryDecoder().decode([Pair].self, from: notAKey) }
        // A lone UInt8 255: unsigned tag, LEB128 0x7F|80, 0x01. A String: tag, length, UTF-8 ("é" = C3 A9).
        #expect(try CompactBinaryEncoder().encode(UInt8(255)) == [0x54, 0x4D, 0x43, 0x42, 0x01, 0x04, 0xFF, 0x01])
        #expect(try CompactBinaryEncoder().encode("é") == [0x54, 0x4D, 0x43, 0x42, 0x01, 0x07, 0x02, 0xC3, 0xA9])
        #expect(try CompactBinaryEncoder().encode([Bool?.none, true]) == [
            0x54, 0x4D, 0x43, 0x42, 0x01, 0x0A, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
        ])
        #expect(CompactBinaryDecoder.isCompactBinary(bytes))
        #expect(!CompactBinaryDecoder.isCompactBinary(Array("{\"a\":1}".utf8)))
    }

    @Test func rejectsIntegersOutOfTheirTypesRange() throws {
        let encoder = CompactBinaryEncoder()
        let decoder = CompactBinaryDecoder()
        #expect(try decoder.decode(UInt8.self, from: encoder.encode(255)) == 255)
        #expect(try decoder.decode(Int64.self, from: encoder.encode(UInt64(7))) == 7)
        for (bytes, type) in [
            (try encoder.encode(256), UInt8.self as any Decodable.Type),
            (try encoder.encode(-1), UInt.self),
            (try encoder.encode(UInt64.max), Int64.self),
            (try encoder.encode(Int64(Int32.max) + 1), Int32.self),
            (try encoder.encode(-129), Int8.self),
        ] {
            #expect {
                _ = try decoder.decode(type, from: bytes)
            } throws: { error in
                guard case DecodingError.dataCorrupted(let context) = error else { return false }
                return context.debugDescription.contains("does not fit")
            }
        }
    }

    @Test func reportsWrongTypesAndMissingKeysWithTheirPath() throws {
        struct Named: Codable {
            var name: String
        }
        struct Holder: Codable {
            var items: [Named]
        }
        struct WrongItem: Codable {
            var name: Int
        }
        struct WrongHolder: Codable {
            var items: [WrongItem]
        }
        let bytes = try CompactBinaryEncoder().encode(Holder(items: [Named(name: "a"), Named(name: "b")]))
        #expect {
            _ = try CompactBinaryDecoder().decode(WrongHolder.self, from: bytes)
        } throws: { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["items", "Index 0", "name"]
        }
        struct MissingKey: Codable {
            var items: [Named]
            var other: Int
        }
        #expect {
            _ = try CompactBinaryDecoder().decode(MissingKey.self, from: bytes)
        } throws: { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return false }
            return key.stringValue == "other"
        }
        // FixedDecimal is its own tag: neither a Double nor an integer reads as one.
        #expect(throws: DecodingError.self) {
            try CompactBinaryDecoder().decode(FixedDecimal.self, from: CompactBinaryEncoder().encode(1.5))
        }
        #expect(throws: DecodingError.self) {
            try CompactBinaryDecoder().decode(Int.self, from: CompactBinaryEncoder().encode(FixedDecimal(1)))
        }
        // …but a FixedDecimal reads as its exact decimal text.
        #expect(try CompactBinaryDecoder().decode(String.self, from: CompactBinaryEncoder().encode(FixedDecimal(units: -1))) == "-0.00000001")
    }

    @Test func keepsTheEncodersCodingPath() throws {
        #expect {
            _ = try CompactBinaryEncoder().encode(PathHolder())
        } throws: { error in
            (error as? PathReporter.Reported)?.path == ["list", "Index 1", "Index 0"]
        }
    }

    @Test func throwsOnContainerMisuse() throws {
        #expect(throws: EncodingError.self) { try CompactBinaryEncoder().encode(InterleavedSiblings()) }
        #expect(throws: EncodingError.self) { try CompactBinaryEncoder().encode(TwoSingleValues()) }
    }

    @Test func rejectsForeignHeadersTrailingBytesAndCorruptContainers() throws {
        let good = try CompactBinaryEncoder().encode(Inner(name: "n", values: [1, 2]))
        let decoder = CompactBinaryDecoder()
        #expect(try decoder.decode(Inner.self, from: good) == Inner(name: "n", values: [1, 2]))
        #expect(throws: DecodingError.self) { try decoder.decode(Inner.self, from: Array("{\"name\":\"n\"}".utf8)) }
        var otherVersion = good
        otherVersion[4] = 2
        #expect(throws: DecodingError.self) { try decoder.decode(Inner.self, from: otherVersion) }
        #expect(throws: DecodingError.self) { try decoder.decode(Inner.self, from: good + [0x00]) }
        // The root's entry count says 3 where there are 2 entries, then 1.
        var tooMany = good
        tooMany[10] = 3
        #expect(throws: DecodingError.self) { try decoder.decode(Inner.self, from: tooMany) }
        var tooFew = good
        tooFew[10] = 1
        #expect(throws: DecodingError.self) { try decoder.decode(Inner.self, from: tooFew) }
        // The same key twice.
        struct Twice: Encodable {
            enum CodingKeys: String, CodingKey { case name }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode("a", forKey: .name)
                try container.encode("b", forKey: .name)
            }
        }
        struct JustName: Decodable { var name: String }
        #expect(throws: DecodingError.self) { try decoder.decode(JustName.self, from: CompactBinaryEncoder().encode(Twice())) }
        // Invalid UTF-8 in a string.
        var badUTF8 = try CompactBinaryEncoder().encode("ab")
        badUTF8[7] = 0xFF
        #expect(throws: DecodingError.self) { try decoder.decode(String.self, from: badUTF8) }
    }

    @Test func everyTruncationIsAnErrorNotATrap() throws {
        let bytes = try CompactBinaryEncoder().encode(Everything.sample)
        for length in 0..<bytes.count {
            #expect(throws: DecodingError.self) {
                try CompactBinaryDecoder().decode(Everything.self, from: bytes.prefix(length))
            }
        }
    }

    @Test func randomAndMutatedBytesNeverTrap() throws {
        var random = SplitMix64(seed: 0xC0DE)
        let valid = try CompactBinaryEncoder().encode(Everything.sample)
        let decoder = CompactBinaryDecoder()
        var decodedSomething = 0
        for round in 0..<3_000 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                // Random bytes after a valid header.
                bytes = [0x54, 0x4D, 0x43, 0x42, 0x01]
                for _ in 0..<Int.random(in: 0..<64, using: &random) { bytes.append(UInt8.random(in: 0...255, using: &random)) }
            } else {
                // A valid blob with a few bytes overwritten.
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 5..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            }
            // Any outcome but a trap is fine; the shapes differ so that mutations meet many decoders.
            if (try? decoder.decode(Everything.self, from: bytes)) != nil { decodedSomething += 1 }
            _ = try? decoder.decode([Int?].self, from: bytes)
            _ = try? decoder.decode([String: FixedDecimal].self, from: bytes)
            _ = try? decoder.decode(Shape.self, from: bytes)
        }
        // Overwriting a byte inside a string or number can leave a valid blob; most mutations cannot.
        #expect(decodedSomething < 3_000)
    }
}
