import Foundation
import OpenAPICheck
import TestSupport
import Testing
import TidemarkProtocol

@testable import API

/// One Server-Sent Events frame: its fields, in order.
struct Frame: Equatable {
    var id: String?
    var event: String?
    var data: String?
}

/// Splits an SSE body into its frames (comments and `retry:` lines dropped).
func frames(_ text: String) -> [Frame] {
    text.components(separatedBy: "\n\n").compactMap { block in
        var frame = Frame()
        for line in block.split(separator: "\n") {
            if line.hasPrefix("id: ") { frame.id = String(line.dropFirst(4)) }
            if line.hasPrefix("event: ") { frame.event = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { frame.data = String(line.dropFirst(6)) }
        }
        return frame == Frame() ? nil : frame
    }
}

@Suite struct StreamTests {
    @Test func eventStreamReplaysThenFollowsUntilShutdown() async throws {
        let (harness, _) = try await harnessWithOneEvent()
        try await harness.risk.createTracker(
            TrackerResource(
                id: "dd200", accountId: accountA, name: "drawdown 200", period: .day,
                absoluteDrawdownThreshold: 200))
        try await harness.run { client in
            async let stream = client.send(.get, "/users/current/events/stream?kind=tracker")
            // The replayed event is written; then the stream waits for the agent.
            try await eventually { harness.notifier.waiterCount == 1 }
            // dd200 (from 10:30, balance 10,000): equity 9,700 is a drawdown of 300 > 200.
            try harness.risk.ingest(observation("2024-03-04 10:40", balance: 10_000, equity: 9_700))
            try await eventually { harness.notifier.waiterCount == 1 && harness.notifier.latestSequenceNumber == 2 }
            harness.api.shutdown()
            let reply = try await stream
            #expect(reply.status == 200)
            #expect(reply.headers[.contentType] == "text/event-stream; charset=utf-8")
            let written = frames(reply.text)
            #expect(written.map(\.id) == ["1", "2"])
            #expect(written.map(\.event) == ["tracker", "tracker"])
            let second = try #require(written.last?.data.flatMap { try? JSONValue.parse(Data($0.utf8)) })
            #expect(second.objectValue?["absoluteDrawdown"] == .number(300))  // 10,000 − 9,700
            #expect(OpenAPIChecker.shared.problems(of: second, component: "TrackerEvent") == [])
        }
    }

    @Test func eventStreamResumesAfterLastEventID() async throws {
        let (harness, _) = try await harnessWithOneEvent()
        harness.api.shutdown()  // answer what exists, then end
        try await harness.run { client in
            let resumed = try await client.send(
                .get, "/users/current/events/stream", headers: [HeaderName("Last-Event-ID")!: "1"])
            #expect(frames(resumed.text).isEmpty)
            let fromStart = try await client.send(.get, "/users/current/events/stream?previousSequenceNumber=0")
            #expect(frames(fromStart.text).map(\.id) == ["1"])
            let bad = try await client.send(.get, "/users/current/events/stream?kind=trade")
            #expect(bad.detailParameters == ["kind"])
        }
    }

    @Test func equityStreamWritesLiveFigures() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            async let stream = client.send(.get, "/users/current/accounts/\(encoded(accountA.rawValue))/equity-stream")
            try await eventually { harness.equity.subscriberCount(for: accountA) == 1 }
            try harness.risk.ingest(observation("2024-03-04 10:00", balance: 10_000, equity: "10012.5"))
            harness.api.shutdown()
            let reply = try await stream
            let written = frames(reply.text)
            #expect(written.map(\.event) == ["equity"])
            let data = try #require(written.first?.data.flatMap { try? JSONValue.parse(Data($0.utf8)) })
            #expect(data.objectValue?["equity"] == .number(10_012.5))
            #expect(data.objectValue?["floating"] == .number(12.5))  // 10,012.5 − 10,000
            #expect(data.objectValue?["brokerTime"] == .string("2024-03-04 10:00:00.000"))
            #expect(OpenAPIChecker.shared.problems(of: data, component: "EquityFrame") == [])
            #expect(harness.equity.subscriberCount(for: accountA) == 0)
        }
    }

    @Test func equityStreamOfAForeignAccountIsNotFound() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        harness.risk.connect(accountB)
        try await harness.run { client in
            let limited = try await client.send(
                .post, "/users/current/tokens", json: #"{"name":"a","accountIds":["\#(accountA.rawValue)"]}"#)
            let secret = try #require(limited["token"]?.stringValue)
            let reply = try await client.send(
                .get, "/users/current/accounts/\(encoded(accountB.rawValue))/equity-stream", token: secret)
            #expect(reply.status == 404)
        }
    }
}
