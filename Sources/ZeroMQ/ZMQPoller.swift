import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits on several sockets at once (`zmq_poll`). Thread-confined like the sockets it holds.
///
/// ```swift
/// let poller = ZMQPoller()
/// let router = poller.add(routerSocket, events: .input)
/// while try poller.poll(timeoutMilliseconds: 100) > 0 || true {
///     if poller.isReady(router, for: .input) { … }
/// }
/// ```
public final class ZMQPoller {
    private var sockets: [ZMQSocket] = []
    private var items: [zmq_pollitem_t] = []

    /// An empty poller.
    public init() {}

    /// Registers `socket` for `events`; returns its index for ``isReady(_:for:)``.
    @discardableResult
    public func add(_ socket: ZMQSocket, events: ZMQPollEvents = .input) -> Int {
        sockets.append(socket)
        items.append(zmq_pollitem_t(socket: socket.handle, fd: 0, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Registers a plain file descriptor (a pipe, an eventfd) for `events`; returns its index for
    /// ``isReady(_:for:)``. The caller keeps it open while the poller is used.
    @discardableResult
    public func add(fileDescriptor: Int32, events: ZMQPollEvents = .input) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Changes which events the socket at `index` is polled for.
    public func setEvents(_ events: ZMQPollEvents, at index: Int) {
        items[index].events = events.rawValue
    }

    /// The number of registered sockets.
    public var count: Int { items.count }

    /// Waits until a registered socket is ready or the timeout passes.
    /// - Parameter timeoutMilliseconds: `nil` waits forever, 0 returns at once.
    /// - Returns: how many sockets are ready (0 on timeout).
    /// - Throws: ``ZMQError/terminated`` after ``ZMQContext/shutdown()``.
    @discardableResult
    public func poll(timeoutMilliseconds: Int?) throws -> Int {
        let timeout = timeoutMilliseconds.map { $0 } ?? -1
        while true {
            let rc = items.withUnsafeMutableBufferPointer {
                zmq_poll($0.baseAddress, Int32($0.count), timeout)
            }
            if rc >= 0 { return Int(rc) }
            let number = zmq_errno()
            // A signal cuts the wait short; returning 0 is indistinguishable from a timeout, which
            // every poll loop must handle anyway.
            if number == EINTR { return 0 }
            throw ZMQError(errno: number, operation: "zmq_poll")
        }
    }

    /// After ``poll(timeoutMilliseconds:)``: whether the socket at `index` is ready for `events`.
    public func isReady(_ index: Int, for events: ZMQPollEvents = .input) -> Bool {
        items[index].revents & events.rawValue != 0
    }
}

@available(*, unavailable, message: "a poller holds thread-confined sockets")
extension ZMQPoller: Sendable {}
