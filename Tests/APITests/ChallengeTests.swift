import Foundation
import Testing
import TidemarkProtocol
@testable import API

@Suite struct ChallengeTests {
    static let challenges = "/users/current/accounts/\(encoded(accountA.rawValue))/challenges"

    @Test(arguments: [false, true]) func createFromTemplateReadStatusAndDelete(storeBacked: Bool) async throws {
        let harness = Harness(storeBacked: storeBacked)
        harness.risk.connect(accountA)
        try await harness.run { client in
            let created = try await client.send(.post, Self.challenges, json: """
                {"template":"two-step","id":"c1","initialCapital":100000,"startBrokerTime":"2024-03-04 00:00:00.000"}
                """)
            #expect(created.status == 201)
            #expect(created["id"] == .string("c1"))

            let one = try await client.send(.get, "\(Self.challenges)/c1")
            #expect(one["accountId"] == .string(accountA.rawValue))
            let definition = try #require(one["definition"]?.objectValue)
            #expect(definition["accountId"] == .string(accountA.rawValue))  // the path's account, not the template's
            #expect(definition["initialCapital"] == .number(100_000))
            var phaseCount = 0
            if case .array(let phases)? = definition["phases"] { phaseCount = phases.count }
            #expect(phaseCount == 3)

            try harness.risk.ingest(observation("2024-03-04 10:00", balance: 100_000, equity: 100_000))
            let status = try await client.send(.get, "\(Self.challenges)/c1/status")
            #expect(status["status"] == .string("active"))
            #expect(status["phaseName"] == .string("evaluation"))
            #expect(status["phase"] == .number(1))  // phases count from 1, as sequence numbers and ranks do
            #expect(status["challengeId"] == .string("c1"))
            #expect(status["accountId"] == .string(accountA.rawValue))
            #expect(status["phaseStartBrokerTime"] == .string("2024-03-04 00:00:00.000"))
            var rules: [JSONValue] = []
            if case .array(let items)? = status["rules"] { rules = items }
            let maxLossRule: JSONValue? = rules.first(where: { $0.objectValue?["rule"] == JSONValue.string("maxLoss") })
            let maxLoss = try #require(maxLossRule?.objectValue)
            #expect(maxLoss["limit"] == .number(10_000))  // 10 % of 100,000

            // Equity 89,000 is 11,000 below the capital: beyond the 10,000 max loss. The challenge fails.
            try harness.risk.ingest(observation("2024-03-04 11:00", balance: 100_000, equity: 89_000))
            #expect(try await client.send(.get, "\(Self.challenges)/c1/status")["status"] == .string("failed"))
            let events = try await client.send(.get, "/users/current/challenge-events/by-broker-time?challengeId=c1")
            #expect(events.array.compactMap { $0.objectValue?["kind"]?.stringValue } == ["phaseStarted", "challengeFailed"])
            #expect(events.array.compactMap { $0.objectValue?["sequenceNumber"] } == [.number(1), .number(2)])
            // Broker times as MetaApi writes them, never milliseconds that read as UTC instants.
            #expect(events.array.compactMap { $0.objectValue?["brokerTime"] }
                    == [.string("2024-03-04 00:00:00.000"), .string("2024-03-04 11:00:00.000")])
            #expect(events.array.last?.objectValue?["breach"]?.objectValue?["brokerTime"] == .string("2024-03-04 11:00:00.000"))
            #expect(events.array.compactMap { $0.objectValue?["challengeId"] } == [.string("c1"), .string("c1")])
            let stream = try await client.send(.get, "/users/current/challenge-events/stream?previousSequenceNumber=1")
            #expect(stream.array.compactMap { $0.objectValue?["kind"]?.stringValue } == ["challengeFailed"])

            #expect(try await client.send(.get, Self.challenges).array.count == 1)
            #expect(try await client.send(.delete, "\(Self.challenges)/c1").status == 204)
            #expect(try await client.send(.get, "\(Self.challenges)/c1").status == 404)
        }
    }

    /// 12,345,678,901.23456789 has 19 significant digits, beyond what a `Double` carries: the
    /// response writes every digit as a JSON number literal, and reading it back gives the same value.
    @Test(arguments: [false, true]) func amountsAreExactJSONNumbers(storeBacked: Bool) async throws {
        let harness = Harness(storeBacked: storeBacked)
        harness.risk.connect(accountA)
        try await harness.run { client in
            let created = try await client.send(.post, Self.challenges, json: """
                {"template":"one-step","id":"big","initialCapital":12345678901.23456789,"startBrokerTime":"2024-03-04 00:00:00.000"}
                """)
            #expect(created.status == 201)
            let one = try await client.send(.get, "\(Self.challenges)/big")
            #expect(one.text.contains(#""initialCapital":12345678901.23456789"#), "\(one.text)")
            #expect(one["definition"]?.objectValue?["initialCapital"] == .number(Decimal(string: "12345678901.23456789")!))
            // Nine fractional digits would be rounded: refused instead.
            let rounded = try await client.send(.post, Self.challenges, json: """
                {"template":"one-step","id":"nine","initialCapital":1.123456789,"startBrokerTime":"2024-03-04 00:00:00.000"}
                """)
            #expect(rounded.status == 400)
            #expect(rounded.detailParameters == ["initialCapital"])
        }
    }

    /// The id given is the id used; the rules files' names are refused with the API's name.
    @Test func givenIdsAreUsedAndRiskCoreNamesRefused() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            #expect(try await client.send(.post, Self.challenges, json: """
                {"template":"one-step","id":"mine","initialCapital":1000,"startBrokerTime":"2024-03-04 00:00:00.000"}
                """)["id"] == .string("mine"))
            #expect(try await client.send(.get, "\(Self.challenges)/mine")["definition"]?.objectValue?["id"] == .string("mine"))
            let old = try await client.send(.post, Self.challenges, json: """
                {"template":"one-step","account":"\(accountA.rawValue)","initialCapital":1000,"startTime":"2024-03-04 00:00:00.000"}
                """)
            #expect(old.status == 400)
            #expect(old.detailParameters == ["account", "startTime"])
            let elsewhere = try await client.send(.post, Self.challenges, json: """
                {"template":"one-step","accountId":"Other:1","initialCapital":1000,"startBrokerTime":"2024-03-04 00:00:00.000"}
                """)
            #expect(elsewhere.detailParameters == ["accountId"])
            let milliseconds = try await client.send(.post, Self.challenges, json: """
                {"template":"one-step","initialCapital":1000,"startBrokerTime":1709510400000}
                """)
            #expect(milliseconds.detailParameters == ["startBrokerTime"])
        }
    }

    @Test func invalidChallengesAreRefusedWithTheirFields() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            let unknown = try await client.send(.post, Self.challenges, json: #"{"template":"ten-step"}"#)
            #expect(unknown.status == 400)
            #expect(unknown.detailParameters == ["template"])
            let incomplete = try await client.send(.post, Self.challenges, json: #"{"phases":[]}"#)
            #expect(incomplete.detailParameters == ["initialCapital", "startBrokerTime", "phases"])
            // The risk core's own validation: a phase without rules' required fields.
            let refused = try await client.send(.post, Self.challenges, json: """
                {"initialCapital":100000,"startBrokerTime":"2024-03-04 00:00:00.000","phases":[{"name":"p"}]}
                """)
            #expect(refused.status == 400)
            #expect(refused["error"] == .string("ValidationError"))
            let body = #"{"template":"one-step","id":"same","initialCapital":100000,"startBrokerTime":"2024-03-04 00:00:00.000"}"#
            #expect(try await client.send(.post, Self.challenges, json: body).status == 201)
            #expect(try await client.send(.post, Self.challenges, json: body).status == 409)
        }
    }
}

@Suite struct CompetitionTests {
    static let definition = """
        {"id":"cup","accountIds":["\(accountA.rawValue)","\(accountB.rawValue)"],"startBrokerTime":"2024-03-04 00:00:00.000",
         "endBrokerTime":"2024-03-09 00:00:00.000","metric":"gainPercent"}
        """

    @Test(arguments: [false, true]) func leaderboardRanksLive(storeBacked: Bool) async throws {
        let harness = Harness(storeBacked: storeBacked)
        harness.risk.connect(accountA)
        harness.risk.connect(accountB)
        try await harness.run { client in
            #expect(try await client.send(.post, "/users/current/competitions", json: Self.definition).status == 201)
            for account in [accountA, accountB] {
                try harness.risk.ingest(observation("2024-03-03 23:00", balance: 10_000, equity: 10_000, account: account))
            }
            try harness.risk.ingest(observation("2024-03-04 10:00", balance: 10_000, equity: 10_500, account: accountA))
            try harness.risk.ingest(observation("2024-03-04 10:00", balance: 10_000, equity: 10_200, account: accountB))
            let board = try await client.send(.get, "/users/current/competitions/cup/leaderboard")
            let entries = board.array.compactMap(\.objectValue)
            #expect(entries.map { $0["accountId"] } == [.string(accountA.rawValue), .string(accountB.rawValue)])
            #expect(entries.map { $0["rank"] } == [.number(1), .number(2)])
            #expect(entries.first?["gainPercent"] == .number(5))  // (10,500 − 10,000) × 100 / 10,000
            #expect(entries.last?["gainPercent"] == .number(2))   // (10,200 − 10,000) × 100 / 10,000

            let competition = try await client.send(.get, "/users/current/competitions/cup")
            #expect(competition["accountIds"] == .array([.string(accountA.rawValue), .string(accountB.rawValue)]))
            #expect(try await client.send(.get, "/users/current/competitions").array.count == 1)
            let events = try await client.send(.get, "/users/current/competition-events/by-broker-time?competitionId=cup")
            #expect(events.array.first?.objectValue?["kind"] == .string("started"))

            // A token that sees only account A does not see a competition that includes B.
            let limited = try await client.send(.post, "/users/current/tokens", json: #"{"name":"a","accountIds":["\#(accountA.rawValue)"]}"#)
            let secret = try #require(limited["token"]?.stringValue)
            #expect(try await client.send(.get, "/users/current/competitions/cup", token: secret).status == 404)
            #expect(try await client.send(.get, "/users/current/competitions", token: secret).text == "[]")
            #expect(try await client.send(.post, "/users/current/competitions", json: Self.definition, token: secret).status == 404)

            #expect(try await client.send(.post, "/users/current/competitions", json: Self.definition).status == 409)
            let invalid = try await client.send(.post, "/users/current/competitions", json: #"{"accountIds":[]}"#)
            #expect(invalid.detailParameters == ["accountIds"])
            #expect(try await client.send(.delete, "/users/current/competitions/cup").status == 204)
            #expect(try await client.send(.get, "/users/current/competitions/cup/leaderboard").status == 404)
        }
    }
}
