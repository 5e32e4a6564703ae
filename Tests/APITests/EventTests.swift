import Foundation
import Testing
import TestSupport
import TidemarkProtocol
@testable import API

/// A harness with account A, a daily tracker firing on a drawdown over 100, and one event:
/// balance 10,000 at 10:00 starts the period; equity 9,850 at 10:30 is a drawdown of
/// 10,000 − 9,850 = 150 > 100 (relative 150 / 10,000 = 0.015).
func harnessWithOneEvent(longPollTimeout: Duration = .milliseconds(300), storeBacked: Bool = false) async throws -> (Harness, trackerId: String) {
    let harness = Harness(longPollTimeout: longPollTimeout, storeBacked: storeBacked)
    harness.risk.connect(accountA)
    let tracker = TrackerResource(id: "dd100", accountId: accountA, name: "drawdown 100", period: .day,
                                  absoluteDrawdownThreshold: 100)
    try await harness.risk.createTracker(tracker)
    try harness.risk.ingest(observation("2024-03-04 10:00", balance: 10_000, equity: 10_000))
    try harness.risk.ingest(observation("2024-03-04 10:30", balance: 10_000, equity: 9_850))
    return (harness, tracker.id)
}

@Suite struct EventTests {
    @Test(arguments: [false, true]) func eventsByBrokerTimeHaveInclusiveBounds(storeBacked: Bool) async throws {
        let (harness, trackerId) = try await harnessWithOneEvent(storeBacked: storeBacked)
        try await harness.run { client in
            let base = "/users/current/tracker-events/by-broker-time"
            let all = try await client.send(.get, "\(base)?accountId=\(encoded(accountA.rawValue))&trackerId=\(trackerId)")
            #expect(all.status == 200)
            let event = try #require(all.array.first?.objectValue)
            #expect(all.array.count == 1)
            #expect(event["sequenceNumber"] == .number(1))
            #expect(event["trackerId"] == .string(trackerId))
            #expect(event["brokerTime"] == .string("2024-03-04 10:30:00.000"))
            #expect(event["absoluteDrawdown"] == .number(150))     // 10,000 − 9,850
            #expect(event["relativeDrawdown"] == .number(0.015))   // 150 / 10,000
            #expect(event["exceededThresholdType"] == .string("drawdown"))

            let exact = "startBrokerTime=2024-03-04%2010:30:00.000&endBrokerTime=2024-03-04%2010:30:00.000"
            #expect(try await client.send(.get, "\(base)?\(exact)").array.count == 1)
            let before = "startBrokerTime=2024-03-04%2000:00:00.000&endBrokerTime=2024-03-04%2010:29:59.999"
            #expect(try await client.send(.get, "\(base)?\(before)").array.isEmpty)
            #expect(try await client.send(.get, "\(base)?trackerId=other").array.isEmpty)

            let bad = try await client.send(.get, "\(base)?startBrokerTime=today&limit=1001")
            #expect(bad.status == 400)
            #expect(bad.detailParameters == ["startBrokerTime", "limit"])
        }
    }

    @Test func longPollAnswersAtOnceWhenEventsExist() async throws {
        let (harness, _) = try await harnessWithOneEvent(longPollTimeout: .seconds(3600))
        try await harness.run { client in
            // With an hour's timeout, only an immediate answer lets this test finish.
            let reply = try await client.send(.get, "/users/current/tracker-events/stream?previousSequenceNumber=0")
            #expect(reply.array.count == 1)
            #expect(reply.array.first?.objectValue?["sequenceNumber"] == .number(1))
        }
    }

    @Test(arguments: [false, true]) func longPollAnswersWhenTheAgentCommitsAnEvent(storeBacked: Bool) async throws {
        let (harness, _) = try await harnessWithOneEvent(longPollTimeout: .seconds(3600), storeBacked: storeBacked)
        try await harness.risk.createTracker(TrackerResource(id: "dd200", accountId: accountA, name: "drawdown 200", period: .day,
                                                             absoluteDrawdownThreshold: 200))
        try await harness.run { client in
            async let poll = client.send(.get, "/users/current/tracker-events/stream?previousSequenceNumber=1&trackerId=dd200")
            try await eventually { harness.notifier.waiterCount == 1 }
            // dd200 starts at its declaration (10:30, the account's clock) from balance 10,000.
            try harness.risk.ingest(observation("2024-03-04 10:45", balance: 10_000, equity: 10_000))
            #expect(harness.notifier.waiterCount == 1)  // an input without an event leaves it waiting
            // Equity 9,750 is a drawdown of 10,000 − 9,750 = 250 > 200.
            try harness.risk.ingest(observation("2024-03-04 10:50", balance: 10_000, equity: 9_750))
            let reply = try await poll
            #expect(reply.array.count == 1)
            #expect(reply.array.first?.objectValue?["trackerId"] == .string("dd200"))
            #expect(reply.array.first?.objectValue?["absoluteDrawdown"] == .number(250))  // 10,000 − 9,750
            #expect(reply.array.first?.objectValue?["sequenceNumber"] == .number(2))
        }
    }

    @Test func longPollAnswersEmptyAfterItsTimeout() async throws {
        let (harness, _) = try await harnessWithOneEvent(longPollTimeout: .milliseconds(50))
        try await harness.run { client in
            let reply = try await client.send(.get, "/users/current/tracker-events/stream?previousSequenceNumber=1")
            #expect(reply.status == 200)
            #expect(reply.text == "[]")
        }
    }

    @Test func tooManyOpenLongPollsPerTokenIs429() async throws {
        let harness = Harness(longPollTimeout: .seconds(3600), maxOpenWaitsPerToken: 1)
        harness.risk.connect(accountA)
        try await harness.run { client in
            async let first = client.send(.get, "/users/current/tracker-events/stream?previousSequenceNumber=0")
            try await eventually { harness.notifier.waiterCount == 1 }
            let second = try await client.send(.get, "/users/current/challenge-events/stream")
            #expect(second.status == 429)
            #expect(second["error"] == .string("TooManyRequestsError"))
            #expect(second.headers[.retryAfter] == "1")
            let stream = try await client.send(.get, "/users/current/events/stream")
            #expect(stream.status == 429)
            harness.api.shutdown()
            #expect(try await first.text == "[]")
            // The slot is free again.
            #expect(try await client.send(.get, "/users/current/tracker-events/stream").status == 200)
        }
    }

    @Test func longPollEndsOnShutdown() async throws {
        let (harness, _) = try await harnessWithOneEvent(longPollTimeout: .seconds(3600))
        try await harness.run { client in
            async let poll = client.send(.get, "/users/current/tracker-events/stream?previousSequenceNumber=1")
            try await eventually { harness.notifier.waiterCount == 1 }
            harness.api.shutdown()
            #expect(try await poll.text == "[]")
        }
    }

    @Test(arguments: [false, true]) func statisticsNewestFirstWithTheOpenPeriodOnRequest(storeBacked: Bool) async throws {
        let (harness, trackerId) = try await harnessWithOneEvent(storeBacked: storeBacked)
        try await harness.run { client in
            let path = "/users/current/accounts/\(encoded(accountA.rawValue))/trackers/\(trackerId)/statistics"
            #expect(try await client.send(.get, path).text == "[]")  // no closed period yet
            let open = try await client.send(.get, "\(path)?realTime=true")
            let period = try #require(open.array.first?.objectValue)
            #expect(period["startBrokerTime"] == .string("2024-03-04 10:00:00.000"))
            #expect(period["endBrokerTime"] == .string("2024-03-05 09:59:59.999"))  // a rolling day from 10:00
            #expect(period["initialBalance"] == .number(10_000))
            #expect(period["maxAbsoluteDrawdown"] == .number(150))
            #expect(period["thresholdExceeded"] == .bool(true))

            // An input the next day closes the first period; equity 10,100 on balance 10,000 is the
            // second period's profit of 100.
            try harness.risk.ingest(observation("2024-03-05 11:00", balance: 10_000, equity: 10_100))
            let both = try await client.send(.get, "\(path)?realTime=true&limit=5")
            #expect(both.array.compactMap { $0.objectValue?["startBrokerTime"]?.stringValue }
                    == ["2024-03-05 10:00:00.000", "2024-03-04 10:00:00.000"])
            #expect(both.array.first?.objectValue?["maxAbsoluteProfit"] == .number(100))
            let closedOnly = try await client.send(.get, path)
            #expect(closedOnly.array.count == 1)  // limit defaults to 1
            #expect(closedOnly.array.first?.objectValue?["maxAbsoluteDrawdown"] == .number(150))
            let earlier = try await client.send(.get, "\(path)?startTime=2024-03-04%2009:00:00.000&realTime=true")
            #expect(earlier.text == "[]")  // nothing started at or before 09:00
        }
    }

    @Test(arguments: [false, true]) func equityChartHoursWithTheCurrentHourOnRequest(storeBacked: Bool) async throws {
        let (harness, _) = try await harnessWithOneEvent(storeBacked: storeBacked)
        try harness.risk.ingest(observation("2024-03-04 11:15", balance: 10_000, equity: 9_900))
        try await harness.run { client in
            let path = "/users/current/accounts/\(encoded(accountA.rawValue))/equity-chart"
            let closed = try await client.send(.get, path)
            let hour = try #require(closed.array.first?.objectValue)
            #expect(closed.array.count == 1)
            #expect(hour["startBrokerTime"] == .string("2024-03-04 10:00:00.000"))
            #expect(hour["endBrokerTime"] == .string("2024-03-04 10:59:59.999"))
            #expect(hour["minEquity"] == .number(9_850))
            #expect(hour["maxEquity"] == .number(10_000))
            // 10,000 held 10:00–10:30 and 9,850 held 10:30–11:00: (10,000 + 9,850) / 2 = 9,925.
            #expect(hour["averageEquity"] == .number(9_925))
            #expect(hour["lastEquity"] == .number(9_850))

            let live = try await client.send(.get, "\(path)?realTime=true")
            #expect(live.array.compactMap { $0.objectValue?["startBrokerTime"]?.stringValue }
                    == ["2024-03-04 10:00:00.000", "2024-03-04 11:00:00.000"])
            #expect(live.array.last?.objectValue?["lastEquity"] == .number(9_900))

            let later = try await client.send(.get, "\(path)?startTime=2024-03-04%2011:00:00.000&realTime=true")
            #expect(later.array.count == 1)
            let backwards = try await client.send(.get, "\(path)?startTime=2024-03-04%2011:00:00.000&endTime=2024-03-04%2010:00:00.000")
            #expect(backwards.detailParameters == ["endTime"])
        }
    }
}
