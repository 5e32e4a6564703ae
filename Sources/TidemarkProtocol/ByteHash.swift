/// A quick hash of a short byte string, eight bytes at a time (multiply-xorshift), for the
/// decoder's string interner and the compact coder's key table. Not for adversarial keys: a
/// collision there only costs a comparison, never a wrong value. Public (and inlinable, so the
/// compact coder's calls from its own module stay as fast as a call inside this one) for that coder.
public enum ByteHash {
    /// The hash of the `count` bytes at `bytes`.
    @inlinable @inline(__always)
    public static func of(_ bytes: UnsafePointer<UInt8>, count: Int) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var hash = UInt64(truncatingIfNeeded: count) &* multiplier
        let raw = UnsafeRawPointer(bytes)
        var index = 0
        while index + 8 <= count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* multiplier
            hash ^= hash >> 32
            index += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while index < count {
            tail |= UInt64(bytes[index]) << shift
            shift += 8
            index += 1
        }
        hash = (hash ^ tail) &* multiplier
        return hash ^ (hash >> 32)
    }
}
