import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The dashboard's HTTPS API as the latency phase reads it: one client that trusts the bench's CA.
final class DashboardReader: Sendable {
    let client: HTTPClient
    let base: String
    let token: String

    init(http: String, token: String, pki: BenchPKI) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.authority))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        base = "https://localhost:\(http.split(separator: ":").last ?? "")"
        self.token = token
    }

    /// Whether `GET path` answers 200.
    func exists(_ path: String) async -> Bool {
        var request = HTTPClientRequest(url: base + path)
        request.headers.add(name: "auth-token", value: token)
        guard let response = try? await client.execute(request, timeout: .seconds(10)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return response.status == .ok
    }

    /// Opens a Server-Sent Events stream at `path`; returns once the response's head arrived.
    func stream(_ path: String) async throws -> ServerSentEventWatch {
        var request = HTTPClientRequest(url: base + path)
        request.headers.add(name: "auth-token", value: token)
        request.headers.add(name: "Accept", value: "text/event-stream")
        let response = try await client.execute(request, timeout: .seconds(3_600))
        guard response.status == .ok else {
            throw FeedBenchError("GET \(path): HTTP \(response.status.code)")
        }
        return ServerSentEventWatch(body: response.body)
    }

    func shutdown() async { try? await client.shutdown() }
}

/// Notes when a text first appears in a stream's bytes (each SSE frame is one write, so one
/// chunk; a tail of the previous chunk is kept for texts that straddle two).
final class ServerSentEventWatch: Sendable {
    /// What the reading task has seen, shared with the waiters.
    private final class Seen: Sendable {
        let state = Mutex<(pending: String, arrivals: [String: ContinuousClock.Instant], watched: Set<String>)>(
            ("", [:], []))
    }

    private let seen: Seen
    private let reader: Task<Void, Never>

    init(body: HTTPClientResponse.Body) {
        let seen = Seen()
        self.seen = seen
        reader = Task {
            do {
                for try await chunk in body {
                    let now = ContinuousClock.now
                    seen.state.withLock { state in
                        state.pending += String(buffer: chunk)
                        for text in state.watched where state.arrivals[text] == nil && state.pending.contains(text) {
                            state.arrivals[text] = now
                        }
                        if state.pending.count > 4_096 { state.pending = String(state.pending.suffix(512)) }
                    }
                }
            } catch {}
        }
    }

    /// Starts watching for `text` (call before whatever makes it appear).
    func watch(_ text: String) { seen.state.withLock { _ = $0.watched.insert(text) } }

    /// When `text` appeared, waiting until `deadline` at most (nil: it did not).
    func arrival(of text: String, deadline: ContinuousClock.Instant) async -> ContinuousClock.Instant? {
        while ContinuousClock.now < deadline {
            if let instant = seen.state.withLock({ $0.arrivals[text] }) { return instant }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return seen.state.withLock { $0.arrivals[text] }
    }

    func stop() { reader.cancel() }
}
