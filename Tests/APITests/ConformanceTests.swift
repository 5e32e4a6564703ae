import Foundation
import OpenAPICheck
import Testing
import TidemarkProtocol

@testable import API

@Suite struct ConformanceTests {
    @Test func servedDocumentIsTheOneInTheRepository() async throws {
        let harness = Harness()
        try await harness.run { client in
            let served = try await client.send(.get, "/openapi.json", token: nil)
            #expect(
                served.json == OpenAPIChecker.shared.document,
                "the served document is not protocol/openapi.json")
            #expect(served["openapi"] == .string("3.1.0"))
        }
    }

    /// Calls every documented operation (each response checked against the document by the
    /// harness), with success and error statuses, and fails if any operation was not reached.
    @Test(arguments: [false, true]) func everyOperationAnswersAsDocumented(storeBacked: Bool) async throws {
        let (harness, trackerId) = try await harnessWithOneEvent(
            longPollTimeout: .milliseconds(20), storeBacked: storeBacked)
        harness.risk.connect(accountB)
        let account = encoded(accountA.rawValue)
        try await harness.run { client in
            // Accounts
            #expect(
                try await client.send(
                    .post, "/users/current/accounts", json: #"{"login":5,"server":"Other","platform":"mt4"}"#
                ).status == 201)
            #expect(try await client.send(.post, "/users/current/accounts", json: #"{"login":"x"}"#).status == 400)
            #expect(try await client.send(.get, "/users/current/accounts").status == 200)
            #expect(try await client.send(.get, "/users/current/accounts/\(account)").status == 200)
            #expect(try await client.send(.get, "/users/current/accounts", token: "wrong").status == 401)

            // Trackers (MetaApi)
            let trackers = "/users/current/accounts/\(account)/trackers"
            let created = try await client.send(
                .post, trackers, json: #"{"name":"t2","period":"week-to-date","relativeDrawdownThreshold":0.05}"#)
            #expect(created.status == 201)
            let newId = try #require(created["id"]?.stringValue)
            #expect(
                try await client.send(
                    .post, trackers, json: #"{"name":"t2","period":"day","relativeDrawdownThreshold":0.05}"#
                ).status == 409)
            #expect(try await client.send(.get, trackers).status == 200)
            #expect(try await client.send(.get, "\(trackers)/\(trackerId)").status == 200)
            #expect(try await client.send(.get, "\(trackers)/name/t2").status == 200)
            #expect(try await client.send(.put, "\(trackers)/\(newId)", json: #"{"name":"t3"}"#).status == 204)
            #expect(try await client.send(.put, "\(trackers)/\(newId)", json: #"{}"#).status == 400)
            #expect(try await client.send(.get, "\(trackers)/\(trackerId)/statistics?realTime=true").status == 200)
            #expect(try await client.send(.get, "\(trackers)/\(trackerId)/statistics?limit=0").status == 400)
            #expect(
                try await client.send(.get, "/users/current/accounts/\(account)/equity-chart?realTime=true").status
                    == 200)
            #expect(try await client.send(.delete, "\(trackers)/\(newId)").status == 204)
            #expect(try await client.send(.delete, "\(trackers)/\(newId)").status == 404)

            // Events
            for (path, subject) in [
                ("tracker-events", "trackerId"), ("challenge-events", "challengeId"),
                ("competition-events", "competitionId"),
            ] {
                #expect(
                    try await client.send(.get, "/users/current/\(path)/by-broker-time?\(subject)=x&limit=10").status
                        == 200)
                #expect(
                    try await client.send(.get, "/users/current/\(path)/stream?previousSequenceNumber=0").status == 200)
                #expect(
                    try await client.send(.get, "/users/current/\(path)/stream?previousSequenceNumber=-1").status == 400
                )
            }

            // Challenges
            let challenges = "/users/current/accounts/\(account)/challenges"
            #expect(
                try await client.send(
                    .post, challenges,
                    json: """
                        {"template":"instant-funding","id":"c9","initialCapital":50000,"startBrokerTime":"2024-03-04 00:00:00.000"}
                        """
                ).status == 201)
            #expect(try await client.send(.get, challenges).status == 200)
            #expect(try await client.send(.get, "\(challenges)/c9").status == 200)
            #expect(try await client.send(.get, "\(challenges)/c9/status").status == 200)
            #expect(try await client.send(.delete, "\(challenges)/c9").status == 204)

            // Competitions
            #expect(
                try await client.send(.post, "/users/current/competitions", json: CompetitionTests.definition).status
                    == 201)
            #expect(try await client.send(.get, "/users/current/competitions").status == 200)
            #expect(try await client.send(.get, "/users/current/competitions/cup").status == 200)
            #expect(try await client.send(.get, "/users/current/competitions/cup/leaderboard").status == 200)
            #expect(try await client.send(.delete, "/users/current/competitions/cup").status == 204)

            // Tokens
            let token = try await client.send(
                .post, "/users/current/tokens",
                json: #"{"name":"r","readOnly":true,"accountIds":["\#(accountA.rawValue)"]}"#)
            #expect(token.status == 201)
            let secret = try #require(token["token"]?.stringValue)
            #expect(try await client.send(.get, "/users/current/tokens").status == 200)
            #expect(try await client.send(.get, "/users/current/tokens", token: secret).status == 403)

            // Terminal keys (the key travels in the body: Z85 has `/`, `?`, `#`, `%`)
            #expect(try await client.send(.get, "/users/current/terminal-keys").status == 200)
            #expect(try await client.send(.get, "/users/current/terminal-keys", token: secret).status == 403)
            let unbound = InMemoryTerminalKeys.unboundKey
            let listed = InMemoryTerminalKeys.listedKey
            #expect(
                try await client.send(
                    .put, "/users/current/terminal-keys", json: #"{"publicKey":"\#(unbound)","accountId":"Demo:7"}"#
                ).status == 200)
            #expect(
                try await client.send(
                    .put, "/users/current/terminal-keys", json: #"{"publicKey":"\#(unbound)","accountId":null}"#
                ).status == 200)
            #expect(
                try await client.send(
                    .put, "/users/current/terminal-keys", json: #"{"publicKey":"\#(listed)","accountId":"Demo:7"}"#
                ).status == 409)
            #expect(
                try await client.send(
                    .put, "/users/current/terminal-keys",
                    json: #"{"publicKey":"\#(String(repeating: "a", count: 40))","accountId":"Demo:7"}"#
                ).status == 404)
            #expect(
                try await client.send(
                    .put, "/users/current/terminal-keys", json: #"{"publicKey":"short","accountId":"Demo"}"#
                ).status == 400)
            #expect(try await client.send(.get, "/users/current/terminal-keys", token: "wrong").status == 401)
            #expect(try await client.send(.get, "/users/current/accounts?limit=0").status == 400)

            #expect(
                try await client.send(.delete, "/users/current/tokens/\(try #require(token["id"]?.stringValue))").status
                    == 204)

            // Webhooks
            let webhook = try await client.send(
                .post, "/users/current/webhooks",
                json: #"{"url":"https://hooks.example/t","filter":{"kinds":["tracker"]}}"#)
            #expect(webhook.status == 201)
            #expect(try await client.send(.post, "/users/current/webhooks", json: #"{"url":"ftp://x"}"#).status == 400)
            let webhookPath = "/users/current/webhooks/\(try #require(webhook["id"]?.stringValue))"
            #expect(try await client.send(.get, "/users/current/webhooks").status == 200)
            #expect(try await client.send(.get, webhookPath).status == 200)
            #expect(try await client.send(.delete, webhookPath).status == 204)
            #expect(try await client.send(.get, webhookPath).status == 404)

            // MetaApi's provisioning discovery
            #expect(try await client.send(.get, "/users/current/regions").status == 200)
            #expect(try await client.send(.get, "/users/current/regions", token: nil).status == 401)
            #expect(try await client.send(.get, "/users/current/servers/mt-client-api").status == 200)
            #expect(try await client.send(.get, "/users/current/servers/mt-client-api", token: nil).status == 401)

            // Streams (ended at once by shutdown, so the router test client can collect them)
            harness.api.shutdown()
            #expect(try await client.send(.get, "/users/current/events/stream").status == 200)
            #expect(try await client.send(.get, "/users/current/accounts/\(account)/equity-stream").status == 200)
            #expect(try await client.send(.get, "/openapi.json", token: nil).status == 200)
        }
        let missed = OpenAPIChecker.shared.operations.subtracting(harness.covered.withLock { $0 })
        #expect(missed == [], "operations never called")
    }
}

@Suite struct ContractNamingTests {
    /// Every property of every schema in the document follows the API's one convention, so that
    /// the conformance test (every response checked against the document, objects closed) checks
    /// names, time formats and number types for every route.
    @Test func everyPropertyFollowsTheConvention() throws {
        var problems: [String] = []
        let metaApiBrokerTimes: Set<String> = ["maxDrawdownTime", "maxProfitTime"]  // MetaApi PeriodStatistics names
        let metaApiInstants: Set<String> = ["recommendedRetryTime"]  // MetaApi TooManyRequestsError metadata
        func visit(_ schema: JSONValue, at path: String) {
            switch schema {
            case .object(let members):
                for (name, property) in members["properties"]?.objectValue ?? [:] {
                    let reference = property.objectValue?["$ref"]?.stringValue ?? ""
                    let here = "\(path).\(name)"
                    if name == "account" || name == "accounts" || name.hasSuffix("ID") || name.hasSuffix("IDs") {
                        problems.append("\(here): references are named …Id / …Ids")
                    }
                    if reference.hasSuffix("/BrokerTime"), name != "brokerTime", !name.hasSuffix("BrokerTime"),
                        !metaApiBrokerTimes.contains(name)
                    {
                        problems.append("\(here): a broker time is named brokerTime or …BrokerTime")
                    }
                    if name.hasSuffix("BrokerTime") || name == "brokerTime" || metaApiBrokerTimes.contains(name),
                        !reference.hasSuffix("/BrokerTime")
                    {
                        problems.append("\(here): a broker time refers to #/components/schemas/BrokerTime")
                    }
                    if reference.hasSuffix("/Instant") != (name.hasSuffix("At") || metaApiInstants.contains(name)) {
                        problems.append(
                            "\(here): real instants, and only they, are named …At (#/components/schemas/Instant)")
                    }
                    if name.hasSuffix("Time"), !reference.hasSuffix("/BrokerTime"), !metaApiInstants.contains(name) {
                        problems.append("\(here): a time is a broker time string or an …At instant")
                    }
                }
                for (_, value) in members { visit(value, at: path) }
            case .array(let items):
                for item in items { visit(item, at: path) }
            default:
                break
            }
        }
        let document = OpenAPIChecker.shared.document
        for (name, schema) in document.objectValue?["components"]?.objectValue?["schemas"]?.objectValue ?? [:] {
            visit(schema, at: name)
        }
        visit(document.objectValue?["paths"] ?? .null, at: "paths")
        #expect(problems.sorted() == [])
        // Amounts are numbers, never strings.
        let amount = document.objectValue?["components"]?.objectValue?["schemas"]?.objectValue?["Amount"]?.objectValue
        #expect(amount?["type"] == .string("number"))
    }
}

@Suite struct OpenAPICheckerTests {
    /// The checker must catch what the conformance test relies on it to catch.
    @Test func rejectsBodiesThatBreakTheSchema() throws {
        let checker = OpenAPIChecker.shared
        func problems(_ json: String) -> [String] {
            checker.problems(
                method: "GET", template: "/users/current/tracker-events/by-broker-time", status: 200,
                contentType: "application/json", body: Data(json.utf8))
        }
        let good = """
            [{"sequenceNumber":1,"accountId":"S:1","trackerId":"t","startBrokerTime":"2024-03-04 10:00:00.000","period":"day",
              "brokerTime":"2024-03-04 10:30:00.000","absoluteDrawdown":150,"relativeDrawdown":0.015,"absoluteProfit":0,
              "relativeProfit":0,"exceededThresholdType":"drawdown"}]
            """
        #expect(problems(good) == [])
        #expect(problems(good.replacingOccurrences(of: #""trackerId":"t","#, with: "")).count == 1)  // required
        #expect(
            // integer
            problems(good.replacingOccurrences(of: #""sequenceNumber":1"#, with: #""sequenceNumber":1.5"#)).count == 1)
        #expect(problems(good.replacingOccurrences(of: #""drawdown"}"#, with: #""loss"}"#)).count == 1)  // enum
        // pattern
        #expect(problems(good.replacingOccurrences(of: "2024-03-04 10:30:00.000", with: "2024-03-04T10:30")).count == 1)
        #expect(problems(#"{"not":"an array"}"#).count == 1)
        #expect(
            problems(good.replacingOccurrences(of: #""trackerId":"t","#, with: #""trackerId":"t","account":"S:1","#))
                .count == 1)  // closed
        #expect(
            problems(good.replacingOccurrences(of: #""absoluteDrawdown":150"#, with: #""absoluteDrawdown":"150""#))
                .count == 1)  // amount
        func accountProblems(_ json: String) -> [String] {
            checker.problems(
                method: "GET", template: "/users/current/accounts", status: 200,
                contentType: "application/json", body: Data(json.utf8))
        }
        let account =
            #"[{"id":"S:1","server":"S","login":1,"connected":false,"lastConnectedAt":"2024-03-04T10:00:00Z"}]"#
        #expect(accountProblems(account) == [])
        #expect(
            accountProblems(account.replacingOccurrences(of: "2024-03-04T10:00:00Z", with: "2024-03-04 10:00:00.000"))
                .count == 1)  // instant
        #expect(
            checker.problems(
                method: "GET", template: "/users/current/tracker-events/by-broker-time", status: 418,
                contentType: "application/json", body: Data()
            ).count == 1)  // undocumented status
        #expect(
            checker.problems(method: "GET", template: "/nowhere", status: 200, contentType: nil, body: Data()).count
                == 1)
    }
}
