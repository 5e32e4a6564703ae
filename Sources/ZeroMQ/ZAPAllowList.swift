import Synchronization

/// A ZAP handler (ZeroMQ RFC 27) that admits CURVE clients only when their public key is on an
/// allow-list, so a CURVE server socket in the same context refuses unknown EAs during the
/// handshake, before any of their messages reach the application.
///
/// It binds `inproc://zeromq.zap.01` in its context (one handler per context) and answers on its
/// own thread. Start it before binding the CURVE server socket. Admitted connections carry the
/// client's Z85 public key as the `User-Id` metadata of every message (``ZMQMessage/metadata(_:)``).
/// It stops when the context is shut down.
public final class ZAPAllowList: Sendable {
    /// The RFC 27 endpoint libzmq sends authentication requests to.
    public static let endpoint = "inproc://zeromq.zap.01"

    private let allowed: Mutex<Set<CurveKey>>
    private let admittedCounter = Atomic<Int>(0)
    private let deniedCounter = Atomic<Int>(0)
    private let thread: Mutex<ZMQSocketThread?> = Mutex(nil)

    /// Binds the handler in `context` and starts answering.
    /// - Throws: ``ZMQError/addressInUse`` if the context already has a ZAP handler.
    public init(context: ZMQContext, allowedKeys: some Sequence<CurveKey>) throws {
        allowed = Mutex(Set(allowedKeys))
        let bound = Latch()
        let bindError = Mutex<ZMQError?>(nil)
        let thread = try ZMQSocketThread(name: "zap-allow-list") { [self] in
            let socket: ZMQSocket
            do {
                socket = try ZMQSocket(context: context, type: .router)
                try socket.bind(Self.endpoint)
            } catch let error as ZMQError {
                bindError.withLock { $0 = error }
                bound.signal()
                return
            }
            bound.signal()
            try self.serve(socket)
        }
        bound.wait()
        if let error = bindError.withLock({ $0 }) { throw error }
        self.thread.withLock { $0 = thread }
    }

    /// Adds a client key (takes effect for the next handshake).
    public func allow(_ key: CurveKey) { _ = allowed.withLock { $0.insert(key) } }

    /// Removes a client key; connections already admitted stay up.
    public func revoke(_ key: CurveKey) { _ = allowed.withLock { $0.remove(key) } }

    /// Replaces the whole list (a reload): takes effect for the next handshake; connections
    /// already admitted stay up.
    public func replace(with keys: some Sequence<CurveKey>) { allowed.withLock { $0 = Set(keys) } }

    /// Whether `key` is on the list.
    public func isAllowed(_ key: CurveKey) -> Bool { allowed.withLock { $0.contains(key) } }

    /// Handshakes admitted so far.
    public var admittedCount: Int { admittedCounter.load(ordering: .relaxed) }
    /// Handshakes refused so far (unknown key or not CURVE).
    public var deniedCount: Int { deniedCounter.load(ordering: .relaxed) }

    /// Waits for the handler thread to end (after ``ZMQContext/shutdown()``).
    public func join() throws { try thread.withLock { $0 }?.join() }

    private func serve(_ socket: ZMQSocket) throws {
        while true {
            let request = try socket.receiveParts()
            // [peer routing id, empty delimiter, version, request id, domain, address, identity,
            //  mechanism, credentials…]
            guard request.count >= 8, request[1].isEmpty else { continue }
            let version = request[2]
            let requestID = request[3]
            let mechanism = request[7]
            guard version == Array("1.0".utf8) else {
                try socket.send(parts: [
                    request[0], [], version, requestID, Array("500".utf8),
                    Array("unsupported ZAP version".utf8), [], [],
                ])
                continue
            }
            var key: CurveKey?
            if mechanism == Array("CURVE".utf8), request.count >= 9 {
                key = try? CurveKey(bytes: request[8])
            }
            if let key, isAllowed(key) {
                admittedCounter.add(1, ordering: .relaxed)
                try socket.send(parts: [
                    request[0], [], version, requestID, Array("200".utf8),
                    Array("OK".utf8), Array(key.z85.utf8), [],
                ])
            } else {
                deniedCounter.add(1, ordering: .relaxed)
                try socket.send(parts: [
                    request[0], [], version, requestID, Array("400".utf8),
                    Array("key not on the allow-list".utf8), [], [],
                ])
            }
        }
    }
}
