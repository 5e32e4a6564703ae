import Foundation
import Testing
import TidemarkProtocol

@testable import API

@Suite struct TrackerTests {
    static let trackers = "/users/current/accounts/\(encoded(accountA.rawValue))/trackers"

    @Test(arguments: [false, true]) func createListGetRenameDelete(storeBacked: Bool) async throws {
        let harness = Harness(storeBacked: storeBacked)
        harness.risk.connect(accountA)
        try await harness.run { client in
            let created = try await client.send(
                .post, Self.trackers,
                json:
                    #"{"name":"daily/loss 1","period":"day","absoluteDrawdownThreshold":100,"relativeProfitThreshold":0.05}"#
            )
            #expect(created.status == 201)
            let id = try #require(created["id"]?.stringValue)

            let list = try await client.send(.get, Self.trackers)
            #expect(list.status == 200)
            #expect(list.array.count == 1)
            #expect(list.array.first?.objectValue?["_id"] == .string(id))
            #expect(list.array.first?.objectValue?["period"] == .string("day"))
            #expect(list.array.first?.objectValue?["absoluteDrawdownThreshold"] == .number(100))
            #expect(list.array.first?.objectValue?["relativeProfitThreshold"] == .number(0.05))

            let one = try await client.send(.get, "\(Self.trackers)/\(id)")
            #expect(one["_id"] == .string(id))
            #expect(one["name"] == .string("daily/loss 1"))

            // The name is URL-encoded in the path, '/' included.
            let byName = try await client.send(.get, "\(Self.trackers)/name/\(encoded("daily/loss 1"))")
            #expect(byName.status == 200)
            #expect(byName["_id"] == .string(id))

            let renamed = try await client.send(.put, "\(Self.trackers)/\(id)", json: #"{"name":"renamed"}"#)
            #expect(renamed.status == 204)
            #expect(renamed.body.isEmpty)
            #expect(try await client.send(.get, "\(Self.trackers)/\(id)")["name"] == .string("renamed"))
            #expect(try await client.send(.get, "\(Self.trackers)/name/renamed").status == 200)
            #expect(try await client.send(.get, "\(Self.trackers)/name/\(encoded("daily/loss 1"))").status == 404)

            let deleted = try await client.send(.delete, "\(Self.trackers)/\(id)")
            #expect(deleted.status == 204)
            let gone = try await client.send(.get, "\(Self.trackers)/\(id)")
            #expect(gone.status == 404)
            #expect(gone["error"] == .string("NotFoundError"))
            #expect(gone["id"] == .number(404))
            #expect(gone["message"]?.stringValue?.isEmpty == false)
            #expect(try await client.send(.get, Self.trackers).array.isEmpty)
        }
    }

    @Test func validationListsEveryBadField() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            let reply = try await client.send(
                .post, Self.trackers,
                json: #"{"period":"hourly","startBrokerTime":"yesterday","absoluteDrawdownThreshold":-5}"#)
            #expect(reply.status == 400)
            #expect(reply["error"] == .string("ValidationError"))
            #expect(reply["id"] == .number(400))
            #expect(reply.detailParameters == ["name", "period", "startBrokerTime", "absoluteDrawdownThreshold"])

            let noThreshold = try await client.send(.post, Self.trackers, json: #"{"name":"t","period":"day"}"#)
            #expect(noThreshold.status == 400)
            #expect(noThreshold.detailParameters == ["absoluteDrawdownThreshold"])

            let backwards = try await client.send(
                .post, Self.trackers,
                json: """
                    {"name":"t","period":"lifetime","absoluteProfitThreshold":1,
                     "startBrokerTime":"2024-03-05 00:00:00.000","endBrokerTime":"2024-03-04 00:00:00.000"}
                    """)
            #expect(backwards.detailParameters == ["endBrokerTime"])

            let notJSON = try await client.send(.post, Self.trackers, json: "period=day")
            #expect(notJSON.status == 400)
            #expect(notJSON.detailParameters == ["body"])

            let emptyRename = try await client.send(.put, "\(Self.trackers)/x", json: #"{"name":""}"#)
            #expect(emptyRename.status == 404)  // the tracker is looked up first
        }
    }

    @Test func thresholdsMayBeDecimalStringsOfAtMost15Digits() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            let created = try await client.send(
                .post, Self.trackers, json: #"{"name":"s","period":"lifetime","relativeDrawdownThreshold":"0.05"}"#)
            #expect(created.status == 201)
            let tracker = try await client.send(.get, "\(Self.trackers)/\(try #require(created["id"]?.stringValue))")
            #expect(tracker["relativeDrawdownThreshold"] == .number(0.05))
            // 16 significant digits: no double carries it exactly, and the risk core keeps none such.
            let tooPrecise = try await client.send(
                .post, Self.trackers,
                json: #"{"name":"big","period":"lifetime","absoluteDrawdownThreshold":"12345678.12345678"}"#)
            #expect(tooPrecise.status == 400)
            #expect(tooPrecise.detailParameters == ["absoluteDrawdownThreshold"])
        }
    }

    @Test func duplicateNameIsAConflictFromTheRiskCore() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            let body = #"{"name":"same","period":"day","absoluteDrawdownThreshold":100}"#
            #expect(try await client.send(.post, Self.trackers, json: body).status == 201)
            let second = try await client.send(.post, Self.trackers, json: body)
            #expect(second.status == 409)
            #expect(second["error"] == .string("ConflictError"))
        }
    }

    @Test func unknownAccountIsNotFound() async throws {
        let harness = Harness()
        try await harness.run { client in
            let path = "/users/current/accounts/\(encoded("Nowhere:1"))/trackers"
            let created = try await client.send(
                .post, path, json: #"{"name":"t","period":"day","absoluteDrawdownThreshold":1}"#)
            #expect(created.status == 404)
            #expect(created["error"] == .string("NotFoundError"))
            #expect(try await client.send(.get, path).status == 404)
            #expect(
                try await client.send(.get, "/users/current/accounts/\(encoded("Nowhere:1"))/equity-chart").status
                    == 404)
        }
    }
}
