import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libzmq socket.
///
/// libzmq sockets are not thread safe, so this type is deliberately not `Sendable`: create it on
/// the thread that uses it (typically inside a ``ZMQSocketThread``) and never hand it to another.
/// The socket is closed when the object goes away. `LINGER` is 0 from the start, so closing never
/// waits for unsent messages.
public final class ZMQSocket {
    /// The context the socket belongs to (kept alive by the socket).
    public let context: ZMQContext
    /// The socket pattern.
    public let type: ZMQSocketType
    let handle: UnsafeMutableRawPointer
    // Reused by the array-returning receives so each part costs one copy and no zmq_msg_t set-up.
    private let scratch = ZMQMessage()

    /// Opens a socket of `type` in `context`.
    public init(context: ZMQContext, type: ZMQSocketType) throws {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError.last("zmq_socket")
        }
        self.context = context
        self.type = type
        self.handle = handle
        var zero: Int32 = 0
        _ = zmq_setsockopt(handle, ZMQ_LINGER, &zero, MemoryLayout<Int32>.size)
    }

    deinit {
        zmq_close(handle)
    }

    // MARK: Endpoints

    /// Binds to `endpoint` (`tcp://127.0.0.1:*` picks a free port; read it from ``lastEndpoint``).
    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_bind(\(endpoint))") }
    }

    /// Connects to `endpoint`; libzmq connects (and reconnects) in the background.
    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_connect(\(endpoint))") }
    }

    /// Stops listening on an endpoint given to ``bind(_:)`` (use the resolved ``lastEndpoint`` for wildcards).
    public func unbind(_ endpoint: String) throws {
        guard zmq_unbind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_unbind(\(endpoint))") }
    }

    /// Drops a connection made by ``connect(_:)``.
    public func disconnect(_ endpoint: String) throws {
        guard zmq_disconnect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_disconnect(\(endpoint))") }
    }

    /// The endpoint last bound or connected, with wildcards resolved (`ZMQ_LAST_ENDPOINT`).
    public var lastEndpoint: String {
        get throws {
            let bytes = try option(code: ZMQ_LAST_ENDPOINT, name: "ZMQ_LAST_ENDPOINT", capacity: 1024)
            // The option value is NUL-terminated.
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    // MARK: Options

    /// Sets an integer option.
    public func setOption(_ option: ZMQIntegerOption, _ value: Int) throws {
        var raw = Int32(value)
        guard zmq_setsockopt(handle, option.code, &raw, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option.code))")
        }
    }

    /// Reads an integer option.
    public func option(_ option: ZMQIntegerOption) throws -> Int {
        Int(try int32Option(code: option.code))
    }

    /// Sets a 64-bit integer option.
    public func setOption(_ option: ZMQInt64Option, _ value: Int64) throws {
        var raw = value
        guard zmq_setsockopt(handle, option.code, &raw, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option.code))")
        }
    }

    /// Reads a 64-bit integer option.
    public func option(_ option: ZMQInt64Option) throws -> Int64 {
        var raw: Int64 = 0
        var size = MemoryLayout<Int64>.size
        guard zmq_getsockopt(handle, option.code, &raw, &size) == 0 else {
            throw ZMQError.last("zmq_getsockopt(\(option.code))")
        }
        return raw
    }

    /// Sets a yes/no option.
    public func setOption(_ option: ZMQFlagOption, _ value: Bool) throws {
        var raw: Int32 = value ? 1 : 0
        guard zmq_setsockopt(handle, option.code, &raw, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option.code))")
        }
    }

    /// Sets a binary option.
    public func setOption(_ option: ZMQBytesOption, _ value: [UInt8]) throws {
        let rc = value.withUnsafeBytes { zmq_setsockopt(handle, option.code, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError.last("zmq_setsockopt(\(option.code))") }
    }

    /// Sets a text option (its UTF-8 bytes).
    public func setOption(_ option: ZMQBytesOption, _ value: String) throws {
        try setOption(option, Array(value.utf8))
    }

    /// Reads a binary option (e.g. ``ZMQBytesOption/routingID``).
    public func option(_ option: ZMQBytesOption) throws -> [UInt8] {
        try self.option(code: option.code, name: "\(option.code)", capacity: 256)
    }

    /// Whether a message can be received now (`ZMQ_EVENTS` has `ZMQ_POLLIN`).
    public var hasPendingInput: Bool {
        get throws { try int32Option(code: ZMQ_EVENTS) & Int32(ZMQ_POLLIN) != 0 }
    }

    /// What the socket is ready for now (`ZMQ_EVENTS`). Reading it also carries out the commands
    /// libzmq queued for the socket, which clears the signal on ``fileDescriptor``: read it after
    /// working on the socket and before waiting on the descriptor again.
    public var events: ZMQPollEvents {
        get throws { ZMQPollEvents(rawValue: Int16(truncatingIfNeeded: try int32Option(code: ZMQ_EVENTS))) }
    }

    /// A descriptor that polls readable when the socket's state may have changed (`ZMQ_FD`), to
    /// wait on many sockets with one `poll(2)` instead of `zmq_poll`, which asks every socket for its
    /// ``events`` (system calls each) on every call. Readable does not mean a message waits;
    /// check ``events``. Owned by the socket: do not close it, and do not use it after the socket.
    public var fileDescriptor: Int32 {
        get throws { try int32Option(code: ZMQ_FD) }
    }

    /// Makes this a CURVE server with `keys`. Clients are then checked by the context's ZAP handler
    /// (see ``ZAPAllowList``) under `zapDomain`. Call before ``bind(_:)``.
    public func makeCurveServer(keys: CurveKeyPair, zapDomain: String = "tidemark") throws {
        try setOption(.curveServer, true)
        try setOption(.curveSecretKey, keys.secretKey.bytes)
        try setOption(.zapDomain, zapDomain)
    }

    /// Makes this a CURVE client of the server whose public key is `serverKey`. Call before ``connect(_:)``.
    public func makeCurveClient(serverKey: CurveKey, keys: CurveKeyPair) throws {
        try setOption(.curveServerKey, serverKey.bytes)
        try setOption(.curvePublicKey, keys.publicKey.bytes)
        try setOption(.curveSecretKey, keys.secretKey.bytes)
    }

    private func int32Option(code: Int32) throws -> Int32 {
        var raw: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, code, &raw, &size) == 0 else {
            throw ZMQError.last("zmq_getsockopt(\(code))")
        }
        return raw
    }

    private func option(code: Int32, name: String, capacity: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: capacity)
        var size = capacity
        let rc = buffer.withUnsafeMutableBytes { zmq_getsockopt(handle, code, $0.baseAddress, &size) }
        guard rc == 0 else { throw ZMQError.last("zmq_getsockopt(\(name))") }
        return Array(buffer.prefix(size))
    }

    // MARK: Sending

    /// Sends one part. Blocks while the queue is at its high-water mark (up to ``ZMQIntegerOption/sendTimeout``).
    /// - Parameters:
    ///   - bytes: The part's bytes.
    ///   - more: `true` when further parts of the same message follow.
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false) throws {
        _ = try sendPart(bytes, flags: more ? ZMQ_SNDMORE : 0)
    }

    /// Sends one part. See ``send(_:more:)-(UnsafeRawBufferPointer,_)``.
    public func send(_ bytes: [UInt8], more: Bool = false) throws {
        _ = try bytes.withUnsafeBytes { try sendPart($0, flags: more ? ZMQ_SNDMORE : 0) }
    }

    /// Sends one part holding the UTF-8 bytes of `text`.
    public func send(_ text: String, more: Bool = false) throws {
        var text = text
        _ = try text.withUTF8 { try sendPart(UnsafeRawBufferPointer($0), flags: more ? ZMQ_SNDMORE : 0) }
    }

    /// Sends a multipart message (atomically: the peer gets all parts or none).
    public func send(parts: [[UInt8]]) throws {
        for (index, part) in parts.enumerated() {
            try send(part, more: index < parts.count - 1)
        }
    }

    /// Sends one part without blocking; `false` (nothing sent) when the queue is full or there is no peer.
    public func trySend(_ bytes: [UInt8], more: Bool = false) throws -> Bool {
        try bytes.withUnsafeBytes { try sendPart($0, flags: ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) }
    }

    /// Sends a multipart message without blocking; `false` (nothing sent) when it would block.
    /// Once the first part is accepted libzmq accepts the rest, so a message is never cut.
    public func trySend(parts: [[UInt8]]) throws -> Bool {
        for (index, part) in parts.enumerated() {
            let more = index < parts.count - 1
            guard try trySend(part, more: more) else {
                // Only the first part can be refused (see above).
                return false
            }
        }
        return true
    }

    /// Returns `false` only for EAGAIN on a non-blocking send.
    private func sendPart(_ bytes: UnsafeRawBufferPointer, flags: Int32) throws -> Bool {
        while true {
            if zmq_send(handle, bytes.baseAddress, bytes.count, flags) >= 0 { return true }
            let number = zmq_errno()
            if number == EINTR { continue }
            if number == EAGAIN, flags & ZMQ_DONTWAIT != 0 { return false }
            throw ZMQError(errno: number, operation: "zmq_send")
        }
    }

    // MARK: Receiving

    /// Receives the next part into `message`, replacing its contents. Blocks (up to
    /// ``ZMQIntegerOption/receiveTimeout``); check ``ZMQMessage/hasMoreParts`` for multipart.
    public func receive(into message: ZMQMessage) throws {
        _ = try receivePart(into: message, flags: 0)
    }

    /// Like `receive(into:)` with a ``ZMQMessage``, without blocking: `false` when nothing is waiting.
    public func tryReceive(into message: ZMQMessage) throws -> Bool {
        try receivePart(into: message, flags: ZMQ_DONTWAIT)
    }

    /// Receives the next part into `bytes`, reusing its capacity; returns whether more parts follow.
    @discardableResult
    public func receive(into bytes: inout [UInt8]) throws -> Bool {
        _ = try receivePart(into: scratch, flags: 0)
        bytes.removeAll(keepingCapacity: true)
        scratch.withUnsafeBytes { bytes.append(contentsOf: $0) }
        return scratch.hasMoreParts
    }

    /// Receives the next part. Blocks (up to ``ZMQIntegerOption/receiveTimeout``).
    public func receive() throws -> [UInt8] {
        _ = try receivePart(into: scratch, flags: 0)
        return scratch.bytes
    }

    /// Receives the next part without blocking; `nil` when nothing is waiting.
    public func tryReceive() throws -> [UInt8]? {
        guard try receivePart(into: scratch, flags: ZMQ_DONTWAIT) else { return nil }
        return scratch.bytes
    }

    /// Receives all parts of the next message. Blocks (up to ``ZMQIntegerOption/receiveTimeout``).
    public func receiveParts() throws -> [[UInt8]] {
        _ = try receivePart(into: scratch, flags: 0)
        return try restOfParts(startingWith: scratch.bytes)
    }

    /// Receives all parts of the next message without blocking; `nil` when nothing is waiting.
    public func tryReceiveParts() throws -> [[UInt8]]? {
        guard try receivePart(into: scratch, flags: ZMQ_DONTWAIT) else { return nil }
        return try restOfParts(startingWith: scratch.bytes)
    }

    private func restOfParts(startingWith first: [UInt8]) throws -> [[UInt8]] {
        var parts = [first]
        // The remaining parts have already arrived: libzmq delivers multipart messages whole.
        while scratch.hasMoreParts {
            _ = try receivePart(into: scratch, flags: 0)
            parts.append(scratch.bytes)
        }
        return parts
    }

    /// Returns `false` only for EAGAIN on a non-blocking receive.
    private func receivePart(into message: ZMQMessage, flags: Int32) throws -> Bool {
        while true {
            if zmq_msg_recv(message.pointer, handle, flags) >= 0 { return true }
            let number = zmq_errno()
            if number == EINTR { continue }
            if number == EAGAIN, flags & ZMQ_DONTWAIT != 0 { return false }
            throw ZMQError(errno: number, operation: "zmq_msg_recv")
        }
    }
}

@available(*, unavailable, message: "libzmq sockets are not thread safe: use a socket only on the thread that created it")
extension ZMQSocket: Sendable {}
