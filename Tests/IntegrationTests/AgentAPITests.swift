import Foundation
import TestSupport
import Testing
import TidemarkProtocol

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The REST API of the real agent, driven by the simulator and checked with a plain HTTP client.
@Suite("Agent REST API over loopback", .serialized)
struct AgentAPITests {
    static let account = "Tidemark-Sim:1000001"

    @Test func trackersEventsStatisticsChartChallengesAndCompetitions() async throws {
        let directory = try TemporaryDirectory()
        let agent = FullAgent(in: directory)
        try await agent.start()
        let base = "http://\(agent.httpEndpoint!)/users/current"
        let token = agent.adminToken
        let account = Self.account

        // Auth and unknown accounts.
        #expect(try await HTTP.request("GET", base + "/accounts").status == 401)
        let unknown = try await HTTP.request(
            "POST", base + "/accounts/\(account)/trackers", token: token,
            json: #"{"name": "x", "period": "day", "absoluteDrawdownThreshold": 5}"#)
        #expect(unknown.status == 404)
        #expect((unknown.json as? [String: Any])?["error"] as? String == "NotFoundError")

        // The firm registers the account before its terminal connects.
        let registered = try await HTTP.request(
            "POST", base + "/accounts", token: token,
            json: #"{"login": 1000001, "server": "Tidemark-Sim", "platform": "mt5"}"#)
        #expect(registered.status == 201)
        #expect((registered.json as? [String: Any])?["id"] as? String == account)
        #expect(
            try await HTTP.request(
                "POST", base + "/accounts", token: token,
                json: #"{"login": 1000001, "server": "Tidemark-Sim", "platform": "mt5"}"#
            ).status == 409)

        // Tracker CRUD and error bodies.
        let created = try await HTTP.request(
            "POST", base + "/accounts/\(account)/trackers", token: token,
            json: #"{"name": "drawdown 5", "period": "lifetime", "absoluteDrawdownThreshold": 5}"#)
        #expect(created.status == 201)
        let trackerId = try #require((created.json as? [String: Any])?["id"] as? String)
        let invalid = try await HTTP.request(
            "POST", base + "/accounts/\(account)/trackers", token: token,
            json: #"{"name": "no threshold", "period": "day"}"#)
        #expect(invalid.status == 400)
        #expect((invalid.json as? [String: Any])?["error"] as? String == "ValidationError")
        #expect(((invalid.json as? [String: Any])?["details"] as? [Any])?.isEmpty == false)
        let duplicate = try await HTTP.request(
            "POST", base + "/accounts/\(account)/trackers", token: token,
            json: #"{"name": "drawdown 5", "period": "day", "absoluteDrawdownThreshold": 1}"#)
        #expect(duplicate.status == 409)
        let profit = try await HTTP.request(
            "POST", base + "/accounts/\(account)/trackers", token: token,
            json: #"{"name": "profit", "period": "day", "absoluteProfitThreshold": 5}"#)
        #expect(profit.status == 201)
        let list = try await HTTP.request("GET", base + "/accounts/\(account)/trackers", token: token)
        #expect((list.json as? [[String: Any]])?.compactMap { $0["_id"] as? String }.contains(trackerId) == true)
        let byName = try await HTTP.request(
            "GET", base + "/accounts/\(account)/trackers/name/drawdown%205", token: token)
        #expect((byName.json as? [String: Any])?["_id"] as? String == trackerId)
        #expect(
            try await HTTP.request(
                "PUT", base + "/accounts/\(account)/trackers/\(trackerId)", token: token,
                json: #"{"name": "drawdown five"}"#
            ).status == 204)
        let renamed = try await HTTP.request("GET", base + "/accounts/\(account)/trackers/\(trackerId)", token: token)
        #expect((renamed.json as? [String: Any])?["name"] as? String == "drawdown five")
        let profitId = try #require((profit.json as? [String: Any])?["id"] as? String)
        #expect(
            try await HTTP.request("DELETE", base + "/accounts/\(account)/trackers/\(profitId)", token: token).status
                == 204)
        #expect(
            try await HTTP.request("GET", base + "/accounts/\(account)/trackers/\(profitId)", token: token).status
                == 404)

        // A challenge (fails at 20 USD lost) and a competition over the account.
        let challenge = try await HTTP.request(
            "POST", base + "/accounts/\(account)/challenges", token: token,
            json: """
                {"id": "ch", "initialCapital": 10000, "startBrokerTime": "2019-02-04 00:00:00.000",
                 "phases": [{"name": "evaluation", "rules": {"maxLoss": {"limit": {"amount": 20}}}}]}
                """)
        #expect(challenge.status == 201, "\(challenge.text)")
        let competition = try await HTTP.request(
            "POST", base + "/competitions", token: token,
            json: """
                {"id": "cup", "accountIds": ["\(account)"], "startBrokerTime": "2019-02-04 00:00:00.000",
                 "endBrokerTime": "2019-02-05 00:00:00.000", "metric": "gainPercent", "rules": {}}
                """)
        #expect(competition.status == 201, "\(competition.text)")

        // A long poll waits from before the terminal connects and returns the first events.
        let poll = Task {
            try await HTTP.request(
                "GET", base + "/tracker-events/stream?previousSequenceNumber=0&accountId=\(account)", token: token)
        }
        try await eventually("the long poll waits", deadline: .seconds(20), interval: .milliseconds(20)) {
            try await HTTP.request("GET", "http://\(agent.httpEndpoint!)/metrics").text
                .contains("tidemark_event_waiters 1")
        }
        let recording = try await AgentRecordings.eurusdSlice(
            ticks: 1_000, batch: 5, script: AgentRecordings.losingScript, in: directory)
        let run = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        let polled = try await poll.value
        #expect(polled.status == 200)
        let polledEvents = try #require(polled.json as? [[String: Any]])
        #expect(polledEvents.first?["trackerId"] as? String == trackerId)
        #expect(polledEvents.first?["exceededThresholdType"] as? String == "drawdown")

        // Events by broker time (inclusive bounds); the same event the long poll returned.
        let byTime = try await HTTP.request(
            "GET",
            base + "/tracker-events/by-broker-time?startBrokerTime=2019-02-04%2000:00:00.000"
                + "&endBrokerTime=2019-02-05%2000:00:00.000&trackerId=\(trackerId)", token: token)
        let timed = try #require(byTime.json as? [[String: Any]])
        #expect(timed.count == 1)
        #expect(timed.first?["sequenceNumber"] as? Int == polledEvents.first?["sequenceNumber"] as? Int)
        let challengeEvents = try await HTTP.request(
            "GET", base + "/challenge-events/by-broker-time?challengeId=ch", token: token)
        let kinds = (challengeEvents.json as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []
        #expect(kinds == ["phaseStarted", "challengeFailed"], "\(challengeEvents.text)")

        // Statistics: the open lifetime period (realTime), newest first.
        let statistics = try await HTTP.request(
            "GET", base + "/accounts/\(account)/trackers/\(trackerId)/statistics?realTime=true",
            token: token)
        let periods = try #require(statistics.json as? [[String: Any]], "\(statistics.text)")
        #expect(periods.count == 1)
        #expect(periods.first?["period"] as? String == "lifetime")
        // At 02:05:00 2 lots are sold at the bid 1.14534 and valued at the ask 1.14539:
        // (1.14534 − 1.14539) × 200,000 = −10 USD, the drawdown that crossed the threshold of 5.
        // (The risk core keeps the period's figures as of the crossing: `tidemark replay` agrees.)
        #expect(periods.first?["maxAbsoluteDrawdown"] as? Double == 10, "\(statistics.text)")
        #expect(periods.first?["thresholdExceeded"] as? Bool == true)

        // Equity chart: the hour 02:00–03:00 is still open at 02:17 (realTime includes it).
        let chart = try await HTTP.request(
            "GET", base + "/accounts/\(account)/equity-chart?realTime=true", token: token)
        let hours = try #require(chart.json as? [[String: Any]], "\(chart.text)")
        #expect(hours.count == 1)
        #expect(hours.first?["startBrokerTime"] as? String == "2019-02-04 02:00:00.000")
        #expect(try await HTTP.request("GET", base + "/accounts/\(account)/equity-chart", token: token).text == "[]")

        // Challenge status and the competition's live leaderboard.
        let status = try await HTTP.request("GET", base + "/accounts/\(account)/challenges/ch/status", token: token)
        #expect(status.text.contains("failed"), "\(status.text)")
        let leaderboard = try await HTTP.request("GET", base + "/competitions/cup/leaderboard", token: token)
        #expect(leaderboard.text.contains(account), "\(leaderboard.text)")

        // The account as the API shows it.
        let shown = try await HTTP.request("GET", base + "/accounts/\(account)", token: token)
        let fields = try #require(shown.json as? [String: Any])
        #expect(fields["platform"] as? String == "mt5")
        #expect(fields["currency"] as? String == "USD")
        #expect(fields["equity"] != nil)
        #expect(await agent.stop() == 0)
    }
}
