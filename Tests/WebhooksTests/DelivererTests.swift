import AsyncHTTPClient
import Crypto
import Foundation
import ServiceLifecycleTestKit
import Store
import TestSupport
import Testing
import TidemarkProtocol

@testable import Webhooks

struct SampleBody: Codable {
    var sequenceNumber: UInt64
    var type: String
}

func sampleEvent(_ n: UInt64) -> StoredEvent {
    try! StoredEvent(
        sequenceNumber: n, kind: .tracker, type: "drawdown", accountId: AccountID("Broker-Demo:1001"),
        subjectId: "t1", brokerTime: BrokerTime(milliseconds: Int64(n) * 1000),
        encoding: SampleBody(sequenceNumber: n, type: "drawdown"))
}

/// Fast retries so the tests take milliseconds; seeded jitter.
let quickRetries = WebhookDeliverer.Configuration(
    retryPolicy: WebhookRetryPolicy(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(200), jitter: 0.2),
    requestTimeout: .seconds(30), jitterSeed: 7, storeRetryDelay: .milliseconds(50))

let secret = "whsec_0123456789abcdef"

/// Checks a received request's signature with Crypto's HMAC directly (not through the code under
/// test): HMAC-SHA256(secret, "<t>.<exact body bytes>") in lower-case hex.
func expectGenuineSignature(
    _ request: TestReceiver.Request, secret: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let header = request.header("Tidemark-Signature"),
        let timestamp = request.header("Tidemark-Timestamp")
    else {
        Issue.record("signature headers missing", sourceLocation: sourceLocation)
        return
    }
    let mac = HMAC<SHA256>.authenticationCode(
        for: Data("\(timestamp).".utf8) + Data(request.body),
        using: SymmetricKey(data: Data(secret.utf8)))
    let hex = mac.map { String(format: "%02x", $0) }.joined()
    #expect(header == "t=\(timestamp),v1=\(hex)", sourceLocation: sourceLocation)
}

@Suite("Webhook delivery to a real local receiver")
struct DelivererTests {
    @Test("Signed, retried after a 500, de-duplicable by event id, never re-sent once acknowledged")
    func deliverRetryAcknowledge() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        defer { try? store.close() }
        let receiver = try await TestReceiver(script: [.status(500)])
        let webhook = try await store.createWebhook(url: receiver.url(), secret: secret, id: "wh_test", at: Date())
        try await store.commit(StoreBatch(events: [sampleEvent(1), sampleEvent(2)]))

        let deliverer = WebhookDeliverer(store: store, eventBody: { $0.body }, configuration: quickRetries)
        try await testGracefulShutdown { shutdown in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await deliverer.run() }
                // Two events, the first request refused: three requests, then nothing pending.
                let requests = try await receiver.waitForRequests(3)
                try await eventually("every delivery acknowledged") { try await store.pendingDeliveryCount() == 0 }
                #expect(requests.count == 3)
                for request in requests {
                    #expect(request.method == .POST)
                    #expect(request.uri == "/hook")
                    #expect(request.header("Content-Type") == "application/json")
                    #expect(request.header("Tidemark-Webhook-Id") == webhook.id)
                    #expect(request.header("Tidemark-Event-Type") == "drawdown")
                    expectGenuineSignature(request, secret: secret)
                    let id = try #require(request.header("Tidemark-Event-Id").flatMap(UInt64.init))
                    // The body is the event's canonical JSON, byte for byte.
                    #expect(Data(request.body) == sampleEvent(id).body)
                    try WebhookSignature.verify(
                        header: request.header("Tidemark-Signature") ?? "",
                        body: request.body, secret: secret)
                }
                // The refused event came again, same id, as attempt 2; each event was acknowledged once.
                let refusedID = requests[0].header("Tidemark-Event-Id")
                let again = requests.dropFirst().filter { $0.header("Tidemark-Event-Id") == refusedID }
                #expect(again.count == 1)
                #expect(again.first?.header("Tidemark-Delivery-Attempt") == "2")
                #expect(Set(requests.compactMap { $0.header("Tidemark-Event-Id") }) == ["1", "2"])

                // Idle with nothing pending, it wakes only when told: a new event goes out at once.
                try await store.commit(StoreBatch(events: [sampleEvent(3)]))
                deliverer.eventsCommitted()
                let fourth = try await receiver.waitForRequests(4)
                #expect(fourth.last?.header("Tidemark-Event-Id") == "3")
                #expect(fourth.last?.header("Tidemark-Delivery-Attempt") == "1")
                try await eventually("every delivery acknowledged") { try await store.pendingDeliveryCount() == 0 }

                shutdown.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        // After acknowledgement nothing is due: another pass sends nothing.
        try await HTTPClient.withHTTPClient { client in
            #expect(await deliverer.deliverDue(using: client))
        }
        #expect(receiver.requests.count == 4)
        let statistics = deliverer.statistics
        #expect(statistics.delivered == 3)
        #expect(statistics.failedAttempts == 1)
        #expect(statistics.failuresByCode == ["rejected": 1])
        #expect(statistics.abandoned == 0)
        try await receiver.close()
    }

    @Test("A crash between the POST and its acknowledgement re-sends the event after the restart")
    func crashBeforeAcknowledgementResends() async throws {
        let directory = try TemporaryDirectory()
        // The first request is read but never answered: the "agent" dies while waiting.
        let receiver = try await TestReceiver(script: [.silence])
        do {
            let store = try Store(path: directory.storePath)
            _ = try await store.createWebhook(url: receiver.url(), secret: secret, id: "wh_test", at: Date())
            try await store.commit(StoreBatch(events: [sampleEvent(1)]))
            let deliverer = WebhookDeliverer(store: store, eventBody: { $0.body }, configuration: quickRetries)
            let running = Task { try await deliverer.run() }
            _ = try await receiver.waitForRequests(1)
            // Not a graceful stop: the task is torn down mid-request, like a kill, and the file closed.
            running.cancel()
            _ = try? await running.value
            #expect(deliverer.statistics.delivered == 0)
            try store.close()
        }
        let reopened = try Store(path: directory.storePath)
        defer { try? reopened.close() }
        #expect(try await reopened.pendingDeliveryCount() == 1)
        let deliverer = WebhookDeliverer(store: reopened, eventBody: { $0.body }, configuration: quickRetries)
        try await testGracefulShutdown { shutdown in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await deliverer.run() }
                let requests = try await receiver.waitForRequests(2)
                try await eventually("every delivery acknowledged") { try await reopened.pendingDeliveryCount() == 0 }
                // The same event again, same id and body: the receiver de-duplicates on the id.
                #expect(requests.map { $0.header("Tidemark-Event-Id") } == ["1", "1"])
                #expect(requests[0].body == requests[1].body)
                expectGenuineSignature(requests[1], secret: secret)
                shutdown.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        #expect(deliverer.statistics.delivered == 1)
        #expect(receiver.requests.count == 2)
        try await receiver.close()
    }

    @Test("A receiver that always fails is given up after the policy's attempts, then left alone")
    func givesUp() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        defer { try? store.close() }
        let receiver = try await TestReceiver(defaultAnswer: .status(503))
        _ = try await store.createWebhook(url: receiver.url(), secret: secret, at: Date())
        try await store.commit(StoreBatch(events: [sampleEvent(1)]))
        var configuration = quickRetries
        configuration.retryPolicy.maximumAttempts = 3
        let deliverer = WebhookDeliverer(store: store, eventBody: { $0.body }, configuration: configuration)
        try await testGracefulShutdown { shutdown in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await deliverer.run() }
                _ = try await receiver.waitForRequests(3)
                try await eventually("every delivery acknowledged") { try await store.pendingDeliveryCount() == 0 }
                shutdown.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        try await HTTPClient.withHTTPClient { client in
            #expect(await deliverer.deliverDue(using: client))
        }
        #expect(receiver.requests.map { $0.header("Tidemark-Delivery-Attempt") } == ["1", "2", "3"])
        #expect(deliverer.statistics.abandoned == 1)
        #expect(deliverer.statistics.failuresByCode == ["rejected": 3])
        try await receiver.close()
    }

    @Test("A refused connection and a URL that is not http(s) are failures with their own codes")
    func unreachable() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        defer { try? store.close() }
        let closed = try await TestReceiver()
        let deadURL = closed.url()
        try await closed.close()
        _ = try await store.createWebhook(url: deadURL, secret: secret, id: "a_dead", at: Date())
        _ = try await store.createWebhook(url: "ftp://127.0.0.1/hook", secret: secret, id: "b_ftp", at: Date())
        try await store.commit(StoreBatch(events: [sampleEvent(1)]))
        var configuration = quickRetries
        configuration.retryPolicy.maximumAttempts = 1
        // The client retries a refused connection until the request's deadline: keep that short.
        configuration.requestTimeout = .milliseconds(500)
        let deliverer = WebhookDeliverer(store: store, eventBody: { $0.body }, configuration: configuration)
        try await HTTPClient.withHTTPClient { client in
            #expect(await deliverer.deliverDue(using: client))
        }
        #expect(deliverer.statistics.failuresByCode == ["connection": 1, "invalid_url": 1])
        #expect(deliverer.statistics.abandoned == 2)
        #expect(try await store.pendingDeliveryCount() == 0)
    }

    @Test("The body comes from eventBody; an event it cannot render is a failed attempt, nothing sent")
    func bodyFromRenderer() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        defer { try? store.close() }
        let receiver = try await TestReceiver()
        _ = try await store.createWebhook(url: receiver.url(), secret: secret, at: Date())
        try await store.commit(StoreBatch(events: [sampleEvent(1), sampleEvent(2)]))
        var configuration = quickRetries
        configuration.retryPolicy.maximumAttempts = 1
        struct Unrenderable: Error {}
        let deliverer = WebhookDeliverer(
            store: store,
            eventBody: { event in
                guard event.sequenceNumber == 1 else { throw Unrenderable() }
                return Data(#"{"rendered":1}"#.utf8)
            }, configuration: configuration)
        try await HTTPClient.withHTTPClient { client in
            #expect(await deliverer.deliverDue(using: client))
        }
        #expect(receiver.requests.map { String(decoding: $0.body, as: UTF8.self) } == [#"{"rendered":1}"#])
        #expect(deliverer.statistics.delivered == 1)
        #expect(deliverer.statistics.failuresByCode == ["unrenderable": 1])
        try await receiver.close()
    }
}
