import Agent
import ArgumentParser
import Bridge
import Dispatch
import Foundation
import Logging
import RiskCore
import Simulator
import Synchronization
import TidemarkProtocol
import ZeroMQ

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Probe terminals: each connects, says HELLO and SNAPSHOT (1 lot bought at 1.10000), then sends
/// the one tick that drops equity by 1,000 USD (threshold 100).
struct ProbeRunner {
    let context: ZMQContext
    let endpoint: String

    init(endpoint: String) throws {
        context = try ZMQContext()
        self.endpoint = endpoint
    }

    /// Returns the instant the breach tick left, and the socket (keep it open: closing it with
    /// LINGER 0 would drop frames not yet on the wire).
    /// - Parameter time: the probe's broker time: later than the background's (the accounts share the
    ///   server's clock, and inputs older than an account's clock at its HELLO count as resent).
    func breach(probe: Int, at time: BrokerTime, workload: AgentWorkload) throws -> (ContinuousClock.Instant, ZMQSocket)
    {
        let terminal = try connect(probe: probe, at: time)
        return (try drop(terminal, at: time), terminal.socket)
    }

    /// A probe terminal with a live session: connected, HELLO and SNAPSHOT sent, WELCOME received.
    struct Terminal {
        let socket: ZMQSocket
        let session: String
    }

    /// Connects probe `probe` and opens its session (1 lot bought at 1.10000 at `time`).
    func connect(probe: Int, at time: BrokerTime) throws -> Terminal {
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.connect(endpoint)
        let account = AgentWorkload.probeAccount(probe)
        let session = "probe-\(probe)-\(UInt32.random(in: 0...UInt32.max))"
        var hello = AgentWorkload.hello(account)
        hello.sessionID = session
        let quote = Tick(symbol: "EURUSD", time: time, bid: "1.10000", ask: "1.10002")
        try send(.hello(hello), sequence: 1, session: session, on: socket)
        try send(.snapshot(AgentWorkload.snapshot(at: time, quote: quote)), sequence: 2, session: session, on: socket)
        // Measure from a live session, as an EA's breach would be: connected and welcomed (the
        // connection and handshake are not part of a tick's latency).
        try socket.setOption(.receiveTimeout, 10_000)
        while true {
            guard case .welcome = try WireDecoder.decodeAgent(try socket.receive()).message else { continue }
            break
        }
        return Terminal(socket: socket, session: session)
    }

    /// Sends the tick that drops the probe's equity by 1,000 USD (to 9,000), then BYE; the instant the tick left.
    func drop(_ terminal: Terminal, at time: BrokerTime) throws -> ContinuousClock.Instant {
        let drop = Tick(
            symbol: "EURUSD", time: BrokerTime(milliseconds: time.milliseconds + 500), bid: "1.09000", ask: "1.09002")
        let sent = ContinuousClock.now
        try send(.ticks([drop]), sequence: 3, session: terminal.session, on: terminal.socket)
        try send(.bye(reason: "probe done"), sequence: 4, session: terminal.session, on: terminal.socket)
        return sent
    }

    private func send(_ message: TerminalMessage, sequence: UInt64, session: String, on socket: ZMQSocket) throws {
        var bytes: [UInt8] = []
        WireEncoder.encode(Envelope(sessionID: session, sequence: sequence, message: message), into: &bytes)
        try socket.send(bytes)
    }
}

/// A long-poll client and an SSE client, noting when each probe's event reaches them.
final class EventWatcher: Sendable {
    let http: String
    let token: String
    private struct State {
        var arrivals: [String: (poll: ContinuousClock.Instant?, stream: ContinuousClock.Instant?)] = [:]
        var waiter: (tracker: String, continuation: CheckedContinuation<Void, Never>)?
    }

    private let state = Mutex(State())
    private let stopped = Atomic<Bool>(false)

    init(http: String, token: String) throws {
        self.http = http
        self.token = token
    }

    /// Both clients read on threads of their own over plain sockets (an HTTP library's own
    /// scheduling would be measured too), each on one keep-alive connection.
    func start() async throws {
        Thread { [self] in readLongPolls() }.start()
        Thread { [self] in readServerSentEvents() }.start()
        try await Task.sleep(for: .milliseconds(300))
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Waits until both clients saw the probe's event (or the timeout), without polling: the
    /// bench shares the two cores with the agent, and a waiting loop would take CPU from it.
    func arrival(of tracker: String, timeout: Duration) async -> (ContinuousClock.Instant?, ContinuousClock.Instant?) {
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            resumeWaiter(for: tracker)
        }
        defer { timer.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let seen = state.withLock { state in
                if let seen = state.arrivals[tracker], seen.poll != nil, seen.stream != nil { return true }
                state.waiter = (tracker, continuation)
                return false
            }
            if seen { continuation.resume() }
        }
        let seen = state.withLock { $0.arrivals[tracker] }
        return (seen?.poll, seen?.stream)
    }

    /// Notes when a client saw the tracker's event; wakes the waiter once both have.
    private func saw(_ tracker: String, at time: ContinuousClock.Instant, byLongPoll: Bool) {
        let complete = state.withLock { state in
            var seen = state.arrivals[tracker] ?? (nil, nil)
            if byLongPoll { seen.poll = seen.poll ?? time } else { seen.stream = seen.stream ?? time }
            state.arrivals[tracker] = seen
            return seen.poll != nil && seen.stream != nil
        }
        if complete { resumeWaiter(for: tracker) }
    }

    private func resumeWaiter(for tracker: String) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, waiter.tracker == tracker else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// The MetaApi long poll, `GET /users/current/tracker-events/stream?previousSequenceNumber=N`,
    /// one request after another; each response's events are seen when its last byte arrives.
    private func readLongPolls() {
        guard let descriptor = connectToAgent() else { return }
        defer { close(descriptor) }
        var after: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopped.load(ordering: .relaxed) {
            let request =
                "GET /users/current/tracker-events/stream?previousSequenceNumber=\(after) HTTP/1.1\r\n"
                + "Host: \(http)\r\nauth-token: \(token)\r\n\r\n"
            guard request.withCString({ send(descriptor, $0, strlen($0), 0) }) > 0 else { return }
            var response: [UInt8] = []
            var body: (start: Int, length: Int)?
            while body.map({ response.count < $0.start + $0.length }) ?? true {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                guard count > 0 else { return }
                response += buffer[0..<count]
                if body == nil, let headers = Self.headers(in: response) {
                    guard let length = headers.contentLength else {
                        print("long poll: a response without Content-Length; the long-poll client stops")
                        return
                    }
                    body = (headers.end, length)
                }
            }
            let now = ContinuousClock.now
            let (start, length) = body!
            let events =
                (try? JSONSerialization.jsonObject(with: Data(response[start..<(start + length)]))) as? [[String: Any]]
                ?? []
            for event in events {
                if let number = event["sequenceNumber"] as? Int { after = max(after, UInt64(number)) }
                if let tracker = event["trackerId"] as? String {
                    saw(tracker, at: now, byLongPoll: true)
                }
            }
        }
    }

    /// Where the header ends and the Content-Length it gives, once `response` holds the whole header.
    private static func headers(in response: [UInt8]) -> (end: Int, contentLength: Int?)? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = response.indices.dropLast(3).first(where: { response[$0..<($0 + 4)].elementsEqual(separator) })
        else { return nil }
        let text = String(decoding: response[..<end], as: UTF8.self).lowercased()
        let length = text.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
        return (end + 4, length)
    }

    /// `GET /users/current/events/stream?kind=tracker` (chunks scanned for `"trackerId":"…"`; each
    /// event is one write, so one chunk).
    private func readServerSentEvents() {
        guard let descriptor = connectToAgent() else { return }
        defer { close(descriptor) }
        let request =
            "GET /users/current/events/stream?kind=tracker HTTP/1.1\r\nHost: \(http)\r\nauth-token: \(token)\r\nAccept: text/event-stream\r\n\r\n"
        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var pending = ""
        while !stopped.load(ordering: .relaxed) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            let now = ContinuousClock.now
            pending += String(decoding: buffer[0..<count], as: UTF8.self)
            while let range = pending.range(of: "\"trackerId\":\"") {
                let rest = pending[range.upperBound...]
                guard let end = rest.firstIndex(of: "\"") else { break }
                let tracker = String(rest[..<end])
                saw(tracker, at: now, byLongPoll: false)
                pending = String(rest[end...])
            }
            if pending.count > 1_000_000 { pending = "" }
        }
    }

    /// A TCP connection to the agent's HTTP address, or nil.
    private func connectToAgent() -> Int32? {
        let parts = http.split(separator: ":")
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(parts[1])!).bigEndian
        inet_pton(AF_INET, String(parts[0]), &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }
}
