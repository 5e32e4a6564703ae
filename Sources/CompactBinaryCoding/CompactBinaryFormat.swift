import TidemarkProtocol

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
