#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if os(Linux)
import CSystemShims  // <sys/epoll.h>
#endif

/// Waits until any of many file descriptors is readable and reports only the ready ones, each by
/// the token it was added with.
///
/// On Linux it is an epoll set, whose cost per wait follows the ready descriptors, not the
/// registered ones: a simulator thread with five hundred sockets, woken by one ACK, looks at one.
/// Elsewhere it falls back to `poll(2)` over all of them. Thread-confined like the sockets whose
/// descriptors it watches.
final class DescriptorWaiter {
    #if os(Linux)
    private let epoll: Int32
    private var events = [epoll_event](repeating: epoll_event(), count: 256)
    #else
    private var descriptors: [pollfd] = []
    private var tokens: [Int] = []
    #endif

    init() throws {
        #if os(Linux)
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw SimulatorError.system("epoll_create1", errno: errno) }
        #endif
    }

    deinit {
        #if os(Linux)
        close(epoll)
        #endif
    }

    /// Watches `descriptor` for readability (level-triggered), reporting it as `token`.
    func add(_ descriptor: Int32, token: Int) throws {
        #if os(Linux)
        var event = epoll_event()
        event.events = UInt32(EPOLLIN.rawValue)
        event.data.u64 = UInt64(token)
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event) == 0 else {
            throw SimulatorError.system("epoll_ctl", errno: errno)
        }
        #else
        descriptors.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
        tokens.append(token)
        #endif
    }

    /// Stops watching `descriptor` (before the socket that owns it is closed).
    func remove(_ descriptor: Int32) {
        #if os(Linux)
        var event = epoll_event()
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, &event)
        #else
        if let index = descriptors.firstIndex(where: { $0.fd == descriptor }) {
            descriptors.remove(at: index)
            tokens.remove(at: index)
        }
        #endif
    }

    /// Waits up to `timeoutMilliseconds` (0: just looks) and calls `ready` with the token of each
    /// readable descriptor. A signal ends the wait early with nothing ready.
    func wait(timeoutMilliseconds: Int, _ ready: (Int) -> Void) throws {
        #if os(Linux)
        let count = events.withUnsafeMutableBufferPointer {
            epoll_wait(epoll, $0.baseAddress, Int32($0.count), Int32(timeoutMilliseconds))
        }
        guard count >= 0 else {
            if errno == EINTR { return }
            throw SimulatorError.system("epoll_wait", errno: errno)
        }
        for index in 0..<Int(count) { ready(Int(events[index].data.u64)) }
        #else
        let count = descriptors.withUnsafeMutableBufferPointer {
            poll($0.baseAddress, nfds_t($0.count), Int32(timeoutMilliseconds))
        }
        guard count >= 0 else {
            if errno == EINTR { return }
            throw SimulatorError.system("poll", errno: errno)
        }
        for index in descriptors.indices where descriptors[index].revents != 0 {
            descriptors[index].revents = 0
            ready(tokens[index])
        }
        #endif
    }
}

@available(*, unavailable, message: "a DescriptorWaiter belongs to the thread that polls its sockets")
extension DescriptorWaiter: Sendable {}
