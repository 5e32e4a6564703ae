/// Interns the Strings that repeat from frame to frame (session ids, symbols): the bytes are
/// hashed and compared with a String made earlier from the same bytes, which is returned again, so
/// a repeat costs a hash and a compare instead of building (and later freeing) a String. Frames are
/// checked to be valid UTF-8 before any field is read, so a String's UTF-8 is exactly its bytes.
///
/// A direct-mapped table of a fixed number of slots (a colliding String replaces the one in its
/// slot), so memory stays bounded whatever peers send. The table is allocated on first use.
struct StringInterner: Sendable {
    /// A String with its bytes (up to 16, exact) or its hash (longer ones) as the key.
    private struct Entry: Sendable {
        var low: UInt64
        var high: UInt64
        var count: Int
        var string: String
    }

    private var entries: [Entry] = []
    private let slotMask: Int
    /// Longer Strings are made but not kept (a peer's oversized fields must not pin memory).
    private static var maximumKeptLength: Int { 64 }

    /// - Parameter slots: a power of two; 1 keeps only the last String.
    init(slots: Int) {
        precondition(slots > 0 && slots & (slots - 1) == 0, "slots must be a power of two")
        slotMask = slots - 1
    }

    /// The String of the `count` bytes at `bytes` (valid UTF-8).
    @inline(__always)
    mutating func string(for bytes: UnsafePointer<UInt8>, count: Int) -> String {
        // Up to 16 bytes (symbols, most session ids) the key is the bytes themselves: a match
        // needs no comparison of the String. Longer ones are hashed, then compared.
        let (low, high) = count <= 16 ? Self.packed(bytes, count) : (ByteHash.of(bytes, count: count), 0)
        var mixed = (low ^ (high &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(truncatingIfNeeded: count)) &* 0x9E37_79B9_7F4A_7C15
        mixed ^= mixed >> 29
        let slot = Int(truncatingIfNeeded: mixed >> 40) & slotMask
        if slot < entries.count, entries[slot].low == low, entries[slot].high == high, entries[slot].count == count,
           count <= 16 || Self.equal(entries[slot].string, bytes, count) {
            return entries[slot].string
        }
        let made = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
        guard count <= Self.maximumKeptLength else { return made }
        if entries.isEmpty { entries = Array(repeating: Entry(low: 0, high: 0, count: -1, string: ""), count: slotMask + 1) }
        entries[slot] = Entry(low: low, high: high, count: count, string: made)
        return made
    }

    /// Up to 16 bytes as two little-endian words, zero beyond `count`, read without touching a
    /// byte past the end (overlapping loads instead of a byte loop).
    @inline(__always)
    static func packed(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> (UInt64, UInt64) {
        let raw = UnsafeRawPointer(bytes)
        func load32(_ offset: Int) -> UInt64 { UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        func load64(_ offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        switch count {
        case 9...16:
            return (load64(0), load64(count - 8) >> UInt64((16 - count) * 8))
        case 8:
            return (load64(0), 0)
        case 4...7:
            return (load32(0) | load32(count - 4) << UInt64((count - 4) * 8), 0)
        case 1...3:
            var word: UInt64 = 0
            for index in 0..<count { word |= UInt64(bytes[index]) << UInt64(index * 8) }
            return (word, 0)
        default:
            return (0, 0)
        }
    }

    @inline(__always)
    private static func equal(_ string: String, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let utf8 = string.utf8
        guard utf8.count == count else { return false }
        return utf8.withContiguousStorageIfAvailable { stored in
            for index in 0..<count where stored[index] != bytes[index] { return false }
            return true
        } ?? utf8.elementsEqual(UnsafeBufferPointer(start: bytes, count: count))
    }
}

/// Strings that repeat from frame to frame (terminals' session ids, symbols), kept by a caller
/// that decodes many frames in a row, e.g. the bridge's socket loop (see
/// ``WireDecoder/decodeTerminal(_:reusing:)``): with many terminals on one socket, consecutive
/// frames come from different sessions, so each kind is interned in a table rather than as the
/// last value only. A value; not shared between threads.
public struct WireDecodingCache: Sendable {
    var sessionIDs: StringInterner
    var symbols: StringInterner

    /// An empty cache: room for the sessions of a few thousand terminals (the agent's design
    /// point is 1,000: with 512 slots, direct-mapped, most of their ids missed and were made anew
    /// per frame) and a few hundred symbols. About 40 bytes a slot.
    public init() {
        self.init(sessionIDSlots: 4_096, symbolSlots: 256)
    }

    /// A cache of the given sizes (powers of two); 1 keeps only the last value of each kind.
    init(sessionIDSlots: Int, symbolSlots: Int) {
        sessionIDs = StringInterner(slots: sessionIDSlots)
        symbols = StringInterner(slots: symbolSlots)
    }

    /// For one frame decoded on its own: only the last symbol is kept (a TICKS batch is mostly one).
    static var singleFrame: Self { Self(sessionIDSlots: 1, symbolSlots: 1) }
}
