import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing
import TidemarkProtocol
@testable import API

/// What MetaApi's SDKs and documentation send, beyond the routes' own tests: form-encoded query
/// times, provisioning discovery, 405 and 429 as they read them, the documented request examples,
/// and the open chart hour's running sums.
@Suite struct MetaApiCompatibilityTests {
    @Test func queryValuesAreFormDecoded() {
        #expect(QueryReader.formDecoded("2024-03-04+10:30:00.000") == "2024-03-04 10:30:00.000")
        #expect(QueryReader.formDecoded("2024-03-04%2010:30:00.000") == "2024-03-04 10:30:00.000")
        #expect(QueryReader.formDecoded("a%2Bb+c") == "a+b c")       // an escaped plus stays a plus
        #expect(QueryReader.formDecoded("100%") == "100%")            // a malformed escape stays as sent
        var reader = QueryReader(query: "start%42rokerTime=2024-03-04+10:30&limit=5&limit=7&flag")
        #expect(reader.brokerTime("startBrokerTime") == at("2024-03-04 10:30"))
        #expect(reader.integer("limit", in: 1...1000, default: 1000) == 7)
        #expect(reader.string("flag") == nil)
        #expect(reader.problems.map(\.parameter) == ["flag"])
    }

    /// Python's httpx and JavaScript's axios write a space as `+`; MetaApi documents
    /// `YYYY-MM-DD HH:mm:ss.SSS`, and the SDKs' equity chart `YYYY-MM-DD HH:mm:ss`.
    @Test(arguments: [false, true]) func brokerTimesInEveryFormTheSDKsSend(storeBacked: Bool) async throws {
        let (harness, trackerId) = try await harnessWithOneEvent(storeBacked: storeBacked)
        try await harness.run { client in
            let base = "/users/current/tracker-events/by-broker-time"
            for (start, end) in [("2024-03-04+10:30:00.000", "2024-03-04+10:30:00.000"),
                                 ("2024-03-04%2010:30:00.000", "2024-03-04%2010:30:00.000"),
                                 ("2024-03-04+10:30:00", "2024-03-04+10:30:00"),
                                 ("2024-03-04T10:30:00.000", "2024-03-04T10:30:00.000")] {
                let reply = try await client.send(.get, "\(base)?startBrokerTime=\(start)&endBrokerTime=\(end)&trackerId=\(trackerId)")
                #expect(reply.status == 200, "\(start)")
                #expect(reply.array.count == 1, "\(start) \(reply.text)")
            }
            // A plus the client escaped is a plus, not a space: not a time.
            let plus = try await client.send(.get, "\(base)?startBrokerTime=2024-03-04%2B10:30:00.000")
            #expect(plus.status == 400)
            #expect(plus.detailParameters == ["startBrokerTime"])

            let account = encoded(accountA.rawValue)
            let statistics = try await client.send(.get, "/users/current/accounts/\(account)/trackers/\(trackerId)/statistics"
                                                   + "?startTime=2024-03-04+23:59:59.999&limit=5")
            #expect(statistics.status == 200, "\(statistics.text)")
            let chart = try await client.send(.get, "/users/current/accounts/\(account)/equity-chart"
                                              + "?startTime=2024-03-04+00:00:00&endTime=2024-03-04+23:59:59&realTime=true")
            #expect(chart.status == 200)
            #expect(chart.array.count == 1)
        }
    }

    @Test func discoveryNamesTheConfiguredOrTheRequestedDomain() async throws {
        let requested = DiscoveryConfiguration()
        #expect(requested.domain(forHost: "mt-provisioning-api-v1.risk.firm.example") == "risk.firm.example")
        #expect(requested.domain(forHost: "MT-Provisioning-API-v1.risk.firm.example:443") == "risk.firm.example")
        #expect(requested.domain(forHost: "agent.firm.example:8443") == "agent.firm.example")
        #expect(requested.domain(forHost: "[::1]:443") == nil)
        #expect(requested.domain(forHost: nil) == nil)
        let configured = DiscoveryConfiguration(domain: "firm.example", region: "london")
        #expect(configured.domain(forHost: "mt-provisioning-api-v1.other.example") == "firm.example")
        #expect(configured.domain(forHost: nil) == "firm.example")

        let harness = Harness()
        try await harness.run { client in
            let regions = try await client.send(.get, "/users/current/regions")
            #expect(regions.json == .array([.string("tidemark")]))
            // The router test client's requests name the authority `localhost`.
            let servers = try await client.send(.get, "/users/current/servers/mt-client-api")
            #expect(servers.json == .object(["hostname": .string("mt-client-api-v1"), "domain": .string("localhost")]))
            #expect(try await client.send(.get, "/users/current/regions", token: "wrong").status == 401)
        }
    }

    @Test func aMethodThePathIsNotServedUnderIs405() async throws {
        let harness = Harness()
        try await harness.run { client in
            func raw(_ method: HTTPRequest.Method, _ uri: String) async throws -> TestResponse {
                try await client.client.executeRequest(uri: uri, method: method,
                                                       headers: [HeaderName("auth-token")!: adminSecret], body: nil)
            }
            let delete = try await raw(.delete, "/users/current/accounts")
            #expect(delete.status == .methodNotAllowed)
            #expect(delete.headers[.allow] == "GET, POST")
            let body = try JSONValue.parse(Data(delete.body.readableBytesView))
            #expect(body.objectValue?["error"] == .string("MethodNotAllowedError"))
            #expect(body.objectValue?["id"] == .number(405))
            let patch = try await raw(.patch, "/users/current/accounts/\(encoded(accountA.rawValue))/trackers/t1")
            #expect(patch.status == .methodNotAllowed)
            #expect(patch.headers[.allow] == "DELETE, GET, PUT")
            // A path served under no method stays 404.
            #expect(try await raw(.get, "/users/current/nothing-here").status == .notFound)
            #expect(try await raw(.delete, "/users/current/nothing-here").status == .notFound)
        }
    }

    /// MetaApi's SDKs sleep until `metadata.recommendedRetryTime` on a 429
    /// (metaapi-cloud-sdk `http_client.py`); other clients read Retry-After.
    @Test func tooManyRequestsCarriesRecommendedRetryTime() async throws {
        let harness = Harness(longPollTimeout: .seconds(3600), maxOpenWaitsPerToken: 1)
        harness.risk.connect(accountA)
        try await harness.run { client in
            async let first = client.send(.get, "/users/current/tracker-events/stream")
            try await eventually("the first long poll waits") { harness.notifier.waiterCount == 1 }
            let before = Date()
            let second = try await client.send(.get, "/users/current/tracker-events/stream")
            #expect(second.status == 429)
            #expect(second.headers[.retryAfter] == "1")
            let text = try #require(second["metadata"]?.objectValue?["recommendedRetryTime"]?.stringValue, "\(second.text)")
            let instant = try #require(try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
                                       "\(text) is not ISO 8601 with milliseconds")
            #expect(text.hasSuffix("Z"))
            #expect(instant >= before.addingTimeInterval(0.5) && instant <= Date().addingTimeInterval(1.5), "\(text)")
            harness.api.shutdown()
            _ = try await first
        }
    }

    /// The request examples of MetaApi's documentation, as curl sends them (`-d` without a JSON
    /// content type): https://metaapi.cloud/docs/risk-management/restApi/api/createTracker/,
    /// updateTracker, getTrackers, getTracker, removeTracker, getTrackingStats, getEquityChart,
    /// getTrackerEvents, getTrackerEventsStream.
    @Test func metaApisDocumentedExamplesAreAccepted() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            let curl: HTTPFields = [.accept: "application/json", .contentType: "application/x-www-form-urlencoded",
                                    HeaderName("auth-token")!: adminSecret]
            let account = encoded(accountA.rawValue)
            let created = try await client.client.executeRequest(
                uri: "/users/current/accounts/\(account)/trackers", method: .post,
                headers: curl, body: ByteBuffer(string: """
                    {
                      "name": "Tracker 1",
                      "startBrokerTime": "2020-08-24 00:00:00.000",
                      "endBrokerTime": "2020-08-24 00:00:00.000",
                      "period": "day",
                      "relativeDrawdownThreshold": 0.1,
                      "absoluteDrawdownThreshold": 10000,
                      "relativeProfitThreshold": 0.05,
                      "absoluteProfitThreshold": 5000
                    }
                    """))
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let id = try #require(try JSONValue.parse(Data(created.body.readableBytesView)).objectValue?["id"]?.stringValue)
            let renamed = try await client.client.executeRequest(
                uri: "/users/current/accounts/\(account)/trackers/\(id)", method: .put,
                headers: curl, body: ByteBuffer(string: #"{"name": "Tracker 2"}"#))
            #expect(renamed.status == .noContent)
            for path in ["/users/current/accounts/\(account)/trackers", "/users/current/accounts/\(account)/trackers/\(id)",
                         "/users/current/accounts/\(account)/trackers/\(id)/statistics",
                         "/users/current/accounts/\(account)/equity-chart",
                         "/users/current/tracker-events/by-broker-time", "/users/current/tracker-events/stream"] {
                let reply = try await client.send(.get, path, headers: [.accept: "application/json", HeaderName("api-version")!: "1"])
                #expect(reply.status == 200, "\(path): \(reply.text)")
            }
            #expect(try await client.send(.delete, "/users/current/accounts/\(account)/trackers/\(id)").status == 204)
        }
    }

    /// The open hour of `realTime` charts carries the sums MetaApi's SDKs continue from. Hand-worked:
    /// hour 11:00 opens with 9,900 at 11:15; 9,850 follows at 11:45 (the latest input). 9,900 held
    /// 30 minutes = 1,800,000 ms: equitySum = 9,900 × 1,800,000 = 17,820,000,000; balance 10,000 ×
    /// 1,800,000 = 18,000,000,000; averageEquity = 17,820,000,000 / 1,800,000 = 9,900.
    @Test(arguments: [false, true]) func realTimeChartHourCarriesRunningSums(storeBacked: Bool) async throws {
        let (harness, _) = try await harnessWithOneEvent(storeBacked: storeBacked)
        try harness.risk.ingest(observation("2024-03-04 11:15", balance: 10_000, equity: 9_900))
        try harness.risk.ingest(observation("2024-03-04 11:45", balance: 10_000, equity: 9_850))
        try await harness.run { client in
            let path = "/users/current/accounts/\(encoded(accountA.rawValue))/equity-chart"
            let live = try await client.send(.get, "\(path)?realTime=true")
            let open = try #require(live.array.last?.objectValue)
            #expect(open["startBrokerTime"] == .string("2024-03-04 11:00:00.000"))
            #expect(open["brokerTime"] == .string("2024-03-04 11:45:00.000"))
            #expect(open["duration"] == .number(1_800_000))
            #expect(open["equitySum"] == .number(17_820_000_000))
            #expect(open["balanceSum"] == .number(18_000_000_000))
            #expect(open["averageEquity"] == .number(9_900))
            #expect(open["lastEquity"] == .number(9_850))
            // Closed hours are MetaApi's documented twelve fields, no more.
            let closed = try #require(live.array.first?.objectValue)
            #expect(closed["startBrokerTime"] == .string("2024-03-04 10:00:00.000"))
            #expect(closed.keys.count == 12)
        }
    }
}
