import TidemarkProtocol

/// The ZeroMQ routing id of one connected peer, as the ROUTER socket reports it (a new one for every
/// connection unless the peer chose its own).
public struct PeerIdentity: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8] { didSet { routingKey = Self.routingKey(of: bytes) } }
    /// The id packed into one word when it is 1…7 bytes long (libzmq's own ids are 5), else 0.
    /// Distinct ids have distinct keys, so sessions are found by this number (no hashing of the
    /// bytes per frame).
    public private(set) var routingKey: UInt64

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.routingKey = Self.routingKey(of: bytes)
    }

    /// The routing key of an id of these bytes (see ``routingKey``): the bytes in the low bytes of
    /// the word, the length in the top byte (so no key of an id of 1…7 bytes is 0).
    public static func routingKey(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard bytes.count >= 1, bytes.count <= 7 else { return 0 }
        var key = UInt64(bytes.count) << 56
        for index in 0..<bytes.count { key |= UInt64(bytes[index]) << (UInt64(index) * 8) }
        return key
    }

    private static func routingKey(of bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { routingKey(of: $0) }
    }

    public func hash(into hasher: inout Hasher) {
        if routingKey != 0 { hasher.combine(routingKey) } else { hasher.combine(bytes) }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.routingKey == rhs.routingKey && (lhs.routingKey != 0 || lhs.bytes == rhs.bytes)
    }

    /// Hexadecimal, for logs.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
