import CZeroMQ

/// A reusable libzmq message (`zmq_msg_t`) to receive into without allocating a Swift array per
/// message: small messages live inside the `zmq_msg_t`, larger ones in libzmq's own buffer.
///
/// Thread-confined like ``ZMQSocket``; read the bytes before the next receive into it.
public final class ZMQMessage {
    // Heap-allocated so the `zmq_msg_t` never moves (libzmq keeps small payloads inline in it).
    @usableFromInline
    let pointer: UnsafeMutablePointer<zmq_msg_t>

    /// An empty message.
    public init() {
        pointer = .allocate(capacity: 1)
        zmq_msg_init(pointer)
    }

    deinit {
        zmq_msg_close(pointer)
        pointer.deallocate()
    }

    /// The payload length in bytes.
    public var count: Int { zmq_msg_size(pointer) }

    /// Whether more parts of the same multipart message follow this one.
    public var hasMoreParts: Bool { zmq_msg_more(pointer) != 0 }

    /// Calls `body` with the payload, valid only during the call. (Inlinable: the bridge decodes
    /// every frame inside it, and an unspecialised generic call returns the result through witnesses.)
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(pointer), count: zmq_msg_size(pointer)))
    }

    /// A copy of the payload.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// A metadata property of a received message (`zmq_msg_gets`), e.g. `"User-Id"` (set by the
    /// ZAP handler: for ``ZAPAllowList`` the client's Z85 public key) or `"Peer-Address"`.
    public func metadata(_ property: String) -> String? {
        guard let value = zmq_msg_gets(pointer, property) else { return nil }
        return String(cString: value)
    }

    /// The payload decoded as UTF-8 (invalid sequences repaired).
    public var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

@available(*, unavailable, message: "a ZMQMessage belongs to the thread that receives into it")
extension ZMQMessage: Sendable {}
