import API
import Foundation
import OpenAPICheck
import Store
import Synchronization
import TestSupport
import Testing
import TidemarkProtocol
import Webhooks

#if canImport(Glibc)
import Glibc
#endif

/// A local HTTP receiver (plain sockets, one request per connection): keeps each request's
/// headers and body and answers 200.
final class WebhookReceiver: Sendable {
    struct Request: Sendable {
        var headers: [String: String]
        var body: Data
    }

    let port: UInt16
    private let descriptor: Int32
    private let received = Mutex<[Request]>([])

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else { throw HarnessError("receiver: cannot listen") }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = UInt16(bigEndian: actual.sin_port)
        self.descriptor = descriptor
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    var requests: [Request] { received.withLock { $0 } }

    func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        _ = Glibc.close(descriptor)
    }

    private func serve() {
        while true {
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { return }
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var request: Request?
            while request == nil {
                let count = recv(connection, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                data.append(contentsOf: buffer[0..<count])
                guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { continue }
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                var headers: [String: String] = [:]
                for line in head.split(separator: "\r\n").dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                        in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                if data.count - end.upperBound >= length {
                    request = Request(headers: headers, body: Data(data[end.upperBound..<(end.upperBound + length)]))
                }
            }
            if let request { received.withLock { $0.append(request) } }
            let reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            _ = reply.withCString { send(connection, $0, strlen($0), 0) }
            _ = Glibc.close(connection)
        }
    }
}

@Suite("Agent webhooks over loopback", .serialized)
struct AgentWebhookTests {
    @Test func everyCommittedEventReachesTheReceiverSigned() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try WebhookReceiver()
        defer { receiver.close() }
        let secret = "whsec_integration_0123456789"
        let rules = try AgentRecordings.rules(maxLoss: 20, in: directory)
        let agent = FullAgent(in: directory, rules: rules)
        try await agent.start()
        // Registered in the store (another process may write to it: WAL) before any event.
        let store = try agent.openStore()
        _ = try await store.createWebhook(url: "http://127.0.0.1:\(receiver.port)/hook", secret: secret, at: Date())
        try store.close()

        let recording = try await AgentRecordings.eurusdSlice(
            ticks: 1_000, batch: 5, script: AgentRecordings.losingScript, in: directory)
        let run = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        // The losing script crosses the drawdown tracker and fails the challenge: phaseStarted,
        // drawdown, challengeFailed (at least three events, numbered from 1).
        try await eventually("three deliveries", deadline: .seconds(30), interval: .milliseconds(50)) {
            receiver.requests.count >= 3
        }
        #expect(await agent.stop() == 0)
        let requests = receiver.requests
        #expect(requests.count >= 3, "\(agent.log)")
        var numbers: [Int] = []
        for request in requests {
            let header = try #require(request.headers["tidemark-signature"])
            #expect(throws: Never.self) {
                try WebhookSignature.verify(header: header, body: request.body, secret: secret)
            }
            #expect(throws: (any Error).self) {
                try WebhookSignature.verify(header: header, body: request.body, secret: "wrong-secret-000000")
            }
            // The event id header is the sequence number (receivers de-duplicate on it); the body is the event.
            #expect(try JSONSerialization.jsonObject(with: request.body) is [String: Any])
            if let number = request.headers["tidemark-event-id"].flatMap({ Int($0) }) { numbers.append(number) }
        }
        #expect(Set(numbers).isSuperset(of: [1, 2, 3]), "\(requests.map { String(decoding: $0.body, as: UTF8.self) })")
    }

    /// A webhook receives each event as the REST API returns it (`…Id` names, formatted broker
    /// times, amounts as numbers), and the body conforms to the event's schema in protocol/openapi.json.
    @Test func webhookBodiesAreTheRESTResourcesOfTheirEvents() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try WebhookReceiver()
        defer { receiver.close() }
        let rules = try AgentRecordings.rules(maxLoss: 20, in: directory)
        let agent = FullAgent(in: directory, rules: rules)
        try await agent.start()
        let store = try agent.openStore()
        _ = try await store.createWebhook(
            url: "http://127.0.0.1:\(receiver.port)/hook", secret: "whsec_resources_0123456789", at: Date())
        try store.close()

        let recording = try await AgentRecordings.eurusdSlice(
            ticks: 1_000, batch: 5, script: AgentRecordings.losingScript, in: directory)
        let run = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        // phaseStarted, drawdown and challengeFailed: tracker and challenge events both.
        try await eventually("three deliveries", deadline: .seconds(30), interval: .milliseconds(20)) {
            receiver.requests.count >= 3
        }
        let base = "http://\(agent.httpEndpoint!)/users/current"
        var resources: [String: JSONValue] = [:]
        for kind in ["tracker", "challenge"] {
            let answer = try await HTTP.request("GET", base + "/\(kind)-events/by-broker-time", token: agent.adminToken)
            guard case .array(let events) = try JSONValue.parse(answer.body) else {
                Issue.record("\(kind) events: \(answer.text)")
                continue
            }
            for event in events {
                resources["\(kind) \(event.objectValue?["sequenceNumber"]?.numberValue ?? -1)"] = event
            }
        }
        #expect(await agent.stop() == 0)

        // The body schema of each kind's webhook in protocol/openapi.json (`webhooks.<kind>Event`).
        func schema(of kind: String) -> String? {
            let post = OpenAPIChecker.shared.document.objectValue?["webhooks"]?.objectValue?["\(kind)Event"]?
                .objectValue?["post"]?.objectValue
            let json = post?["requestBody"]?.objectValue?["content"]?.objectValue?["application/json"]?.objectValue
            return json?["schema"]?.objectValue?["$ref"]?.stringValue?.split(separator: "/").last.map(String.init)
        }
        var kindsSeen: Set<String> = []
        for request in receiver.requests {
            let kind = try #require(request.headers["tidemark-event-kind"])
            let id = try #require(request.headers["tidemark-event-id"].flatMap { Double($0) })
            let body = try JSONValue.parse(request.body)
            let text = String(decoding: request.body, as: UTF8.self)
            #expect(
                OpenAPIChecker.shared.problems(of: body, component: try #require(schema(of: kind))) == [], "\(text)")
            #expect(body == resources["\(kind) \(id)"], "webhook \(text) differs from the REST resource")
            kindsSeen.insert(kind)
        }
        #expect(kindsSeen == ["tracker", "challenge"])
        // The challenge events name their references as the REST contract does.
        let challengeBodies = receiver.requests.filter { $0.headers["tidemark-event-kind"] == "challenge" }
        for request in challengeBodies {
            let object = try #require(try JSONValue.parse(request.body).objectValue)
            #expect(object["challengeId"]?.stringValue == "ch")
            #expect(object["challengeID"] == nil && object["account"] == nil)
            #expect(object["brokerTime"]?.stringValue?.wholeMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}/) != nil)
        }
    }

    @Test func deliveriesAndFailedAttemptsShowOnMetrics() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try WebhookReceiver()
        defer { receiver.close() }
        let rules = try AgentRecordings.rules(maxLoss: 20, in: directory)
        let agent = FullAgent(in: directory, rules: rules)
        try await agent.start()
        let store = try agent.openStore()
        _ = try await store.createWebhook(
            url: "http://127.0.0.1:\(receiver.port)/hook", secret: "whsec_metrics_0123456789", at: Date())
        // A second webhook whose receiver is gone: every attempt is refused (a `connection` failure).
        _ = try await store.createWebhook(
            url: "http://127.0.0.1:\(try Self.closedPort())/hook", secret: "whsec_gone_0123456789",
            at: Date())
        try store.close()

        let recording = try await AgentRecordings.eurusdSlice(
            ticks: 1_000, batch: 5, script: AgentRecordings.losingScript, in: directory)
        let run = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        // At least three events (phaseStarted, drawdown, challengeFailed) reach the receiver; the
        // counter moves once the outbox recorded each 2xx.
        var metrics = ""
        try await eventually("three deliveries and a refused connection counted", deadline: .seconds(30)) {
            metrics = try await agent.metrics()
            return PrometheusText.sample("tidemark_webhook_deliveries_total", in: metrics) ?? 0 >= 3
                && PrometheusText.sample(#"tidemark_webhook_failed_attempts_total{reason="connection"}"#, in: metrics)
                    ?? 0 >= 1
        }
        #expect(await agent.stop() == 0)
        let delivered = PrometheusText.sample("tidemark_webhook_deliveries_total", in: metrics) ?? 0
        #expect(delivered >= 3 && delivered <= Double(receiver.requests.count), "\(metrics)")
        #expect(
            PrometheusText.sample(#"tidemark_webhook_failed_attempts_total{reason="connection"}"#, in: metrics) ?? 0
                >= 1,
            "\(metrics)")
        // Nothing was given up (the policy retries for days); the dead receiver's events wait.
        #expect(PrometheusText.sample("tidemark_webhook_deliveries_abandoned_total", in: metrics) == 0, "\(metrics)")
        #expect(PrometheusText.sample("tidemark_webhook_backlog", in: metrics) ?? 0 >= 3, "\(metrics)")
        // A latency observation (commit → 2xx) per delivery.
        #expect(
            PrometheusText.sample("tidemark_webhook_delivery_latency_seconds_count", in: metrics) ?? 0 >= 3,
            "\(metrics)")
    }

    /// A loopback port nothing listens on (bound, then closed).
    static func closedPort() throws -> UInt16 {
        let receiver = try WebhookReceiver()
        receiver.close()
        return receiver.port
    }
}
