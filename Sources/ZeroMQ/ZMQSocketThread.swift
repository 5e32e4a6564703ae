import CSystemShims
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a socket loop on its own OS thread, so blocking libzmq calls never hold one of Swift's
/// cooperative-pool threads, and the loop's sockets stay on the one thread that owns them.
///
/// Create the sockets inside `body`. To stop the loop, call ``ZMQContext/shutdown()`` on its
/// context: every blocking call then throws ``ZMQError/terminated``, the body returns (or throws
/// `terminated`, which counts as a clean stop), its sockets close, and ``join()`` returns.
public final class ZMQSocketThread: Sendable {
    private struct State {
        var outcome: Result<Void, any Error>?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The name given at start, for logs and diagnostics.
    public let name: String
    private let state = Mutex(State())
    private let finished = Latch()

    /// Starts `body` on a new thread at once.
    public init(name: String, _ body: @escaping @Sendable () throws -> Void) throws {
        self.name = name
        let start = ThreadStart(name: name, body: body, owner: self)
        let unmanaged = Unmanaged.passRetained(start)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let rc = pthread_create(&thread, &attributes, { argument in
            #if canImport(Glibc)
            let start = Unmanaged<ThreadStart>.fromOpaque(argument!).takeRetainedValue()
            #else
            let start = Unmanaged<ThreadStart>.fromOpaque(argument).takeRetainedValue()
            #endif
            start.run()
            return nil
        }, unmanaged.toOpaque())
        guard rc == 0 else {
            unmanaged.release()
            throw ZMQError(errno: rc, operation: "pthread_create")
        }
    }

    fileprivate func finish(_ outcome: Result<Void, any Error>) {
        let waiters = state.withLock { state in
            state.outcome = outcome
            defer { state.waiters = [] }
            return state.waiters
        }
        finished.signal()
        for waiter in waiters { waiter.resume() }
    }

    /// Blocks the calling thread until the loop has returned; rethrows its error, except
    /// ``ZMQError/terminated`` (the normal way to stop). Do not call from async code: use ``value``.
    public func join() throws {
        finished.wait()
        try outcomeAfterFinish()
    }

    /// Waits without blocking a thread until the loop has returned; same errors as ``join()``.
    public var value: Void {
        get async throws {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state in
                    if state.outcome != nil { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if done { continuation.resume() }
            }
            try outcomeAfterFinish()
        }
    }

    /// Whether the loop has returned.
    public var isFinished: Bool { state.withLock { $0.outcome != nil } }

    private func outcomeAfterFinish() throws {
        let outcome = state.withLock { $0.outcome }
        if case .failure(let error)? = outcome {
            if let zmqError = error as? ZMQError, zmqError == .terminated { return }
            throw error
        }
    }
}

/// What the new thread needs; owned by the thread once started.
private final class ThreadStart: Sendable {
    let name: String
    let body: @Sendable () throws -> Void
    let owner: ZMQSocketThread

    init(name: String, body: @escaping @Sendable () throws -> Void, owner: ZMQSocketThread) {
        self.name = name
        self.body = body
        self.owner = owner
    }

    func run() {
        #if os(Linux)
        // The OS thread carries the name too (`perf`, `top -H`); Linux keeps 15 bytes.
        tidemark_set_thread_name(name)
        #endif
        let outcome: Result<Void, any Error>
        do {
            try body()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        owner.finish(outcome)
    }
}

/// A one-shot latch on a pthread mutex and condition, so ``ZMQSocketThread/join()`` can be
/// called any number of times from any thread (pthread_join allows one joiner only).
// Safe to share across threads without the compiler's check: `signalled` is read and written
// only with `mutex` held, and the pthread objects are heap-allocated once and never move.
final class Latch: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var signalled = false

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Releases every waiter, now and later (a one-shot latch).
    func signal() {
        pthread_mutex_lock(mutex)
        signalled = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    func wait() {
        pthread_mutex_lock(mutex)
        while !signalled { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }
}
