import CZeroMQ
import Synchronization

/// Owns one libzmq context (`zmq_ctx_new`): the I/O threads and the registry of sockets.
///
/// Sockets keep their context alive; the context is terminated (`zmq_ctx_term`) when the last
/// reference goes, which is after every socket made from it has been closed.
// Safe to share across threads without the compiler's check: libzmq documents the context as
// thread safe (zmq(7): "A ØMQ context is thread safe and may be shared among as many application
// threads as necessary, without any additional locking required on the part of the caller"). The
// pointer itself is immutable after init, and the only Swift-side mutable state is an Atomic.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let shutDown = Atomic<Bool>(false)

    /// Creates a context.
    /// - Parameters:
    ///   - ioThreads: libzmq background I/O threads (one moves well over a million small messages/s).
    ///   - maxSockets: the context's socket limit (libzmq's default is 1023; a simulator playing
    ///     a thousand terminals in one process needs more).
    public init(ioThreads: Int = 1, maxSockets: Int? = nil) throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
        if ioThreads != 1, zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
            let error = ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS)")
            zmq_ctx_term(handle)
            throw error
        }
        if let maxSockets, zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, Int32(maxSockets)) != 0 {
            let error = ZMQError.last("zmq_ctx_set(ZMQ_MAX_SOCKETS)")
            zmq_ctx_term(handle)
            throw error
        }
    }

    /// Makes every blocking call on this context's sockets, now and later, fail with
    /// ``ZMQError/terminated``. Callable from any thread, any number of times; socket loops
    /// then close their sockets and return. This is how socket threads are stopped.
    public func shutdown() {
        if !shutDown.exchange(true, ordering: .acquiringAndReleasing) {
            _ = zmq_ctx_shutdown(handle)
        }
    }

    /// Whether ``shutdown()`` was called.
    public var isShutDown: Bool { shutDown.load(ordering: .acquiring) }

    deinit {
        // Every socket holds a strong reference, so all are closed by now and this cannot hang
        // (LINGER 0 is set on every socket, so no unsent message holds it either).
        while zmq_ctx_term(handle) != 0, zmq_errno() == EINTR {}
    }
}
