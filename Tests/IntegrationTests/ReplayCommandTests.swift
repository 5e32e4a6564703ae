import API
import Agent
import AgentFold
import Foundation
import OpenAPICheck
import TestSupport
import Testing
import TidemarkProtocol

/// `tidemark replay` on the live agent's own recording: the report says what the agent's API says,
/// in the API's shapes, because both come out of the one fold (`AgentCore`).
@Suite("tidemark replay against the live agent", .serialized)
struct ReplayCommandTests {
    static let account = "Tidemark-Sim:1000001"

    /// The agent records what it folds while a terminal plays 5,000 real ticks with trades, a
    /// deposit and partial closes (two trackers and a challenge declared); the replay of that
    /// recording with the same rules shows the same tracker events, challenge events, challenge,
    /// trackers, period statistics, closed chart hours, balance and equity as the agent's REST API,
    /// JSON value for JSON value, and every piece passes its openapi.json schema.
    @Test func theAgentsRecordingReplaysToWhatItsAPIShows() async throws {
        let directory = try TemporaryDirectory()
        let recording = try await AgentRecordings.eurusdSlice(ticks: 5_000, batch: 50, in: directory)
        let rules = try AgentRecordings.rules(maxLoss: 60, in: directory)
        let recorded = directory.path("recorded")
        let agent = FullAgent(in: directory, rules: rules, extraArguments: ["--record", recorded])
        try await agent.start()
        // The simulator ends when its BYE is acknowledged, i.e. after everything before it was committed.
        let run = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")

        let base = "http://\(agent.httpEndpoint!)/users/current"
        func get(_ path: String) async throws -> JSONValue {
            let reply = try await HTTP.request("GET", base + path, token: agent.adminToken)
            #expect(reply.status == 200, "\(path): \(reply.text)")
            return try JSONValue.parse(reply.body)
        }
        let accountPath = "/accounts/\(Self.account)"
        let liveTrackerEvents = try await get("/tracker-events/by-broker-time?accountId=\(Self.account)")
        let liveChallengeEvents = try await get("/challenge-events/by-broker-time?challengeId=ch")
        let liveChallenge = try await get(accountPath + "/challenges/ch")
        let liveTrackers = try await get(accountPath + "/trackers")
        var liveStatistics: [String: JSONValue] = [:]
        for tracker in ["dd", "pf"] {
            liveStatistics[tracker] = try await get(
                accountPath + "/trackers/\(tracker)/statistics?realTime=true&limit=1000")
        }
        let liveChart = try await get(accountPath + "/equity-chart")
        let liveAccount = try await get(accountPath)
        #expect(await agent.stop() == 0)

        // The whole risk state: the agent's last checkpoint, and the same recording folded in-process.
        let recordedFile = recorded + "/\(Self.account).jsonl"
        let checkpoint = try #require(try await agent.openStore().checkpoint())
        let live = try AgentCore(checkpoint: checkpoint).risk
        var inProcess = RecordingReplay(recordingName: recordedFile, rulesName: rules)
        try inProcess.applyRules(Data(contentsOf: URL(fileURLWithPath: rules)))
        inProcess.play(RecordingReader(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: recordedFile)))))
        #expect(inProcess.problems.isEmpty)
        #expect(inProcess.core.risk == live)

        let replayed = try await Tidemark.run(
            ["replay", recordedFile, "--rules", rules, "--compact"], in: directory)
        #expect(replayed.status == 0, "\(replayed.errors)")
        let report = try JSONValue.parse(Data(replayed.output.utf8))
        #expect(report["problems"] == .array([]), "\(replayed.output.prefix(2_000))")
        let accounts = try #require(report["accounts"]?.arrayValue)
        #expect(accounts.count == 1)
        let reported = try #require(accounts.first)
        #expect(reported["accountId"] == .string(Self.account))
        let trackers = try #require(reported["trackers"]?.arrayValue)
        let challenges = try #require(reported["challenges"]?.arrayValue)

        // Events: the rules must fire for the comparison to mean something.
        let trackerEvents = trackers.flatMap { $0["events"]?.arrayValue ?? [] }.sorted {
            ($0["sequenceNumber"]?.decimalValue ?? 0) < ($1["sequenceNumber"]?.decimalValue ?? 0)
        }
        #expect(trackerEvents.count >= 2)
        #expect(.array(trackerEvents) == liveTrackerEvents)
        let challengeEvents = challenges.flatMap { $0["events"]?.arrayValue ?? [] }
        #expect(challengeEvents.count >= 1)
        #expect(.array(challengeEvents) == liveChallengeEvents)
        #expect(challenges.map { $0["challenge"] } == [liveChallenge])
        #expect(.array(trackers.compactMap { $0["tracker"] }) == liveTrackers)

        // Period statistics: the API lists the open period first, then the closed ones, newest first.
        for tracker in trackers {
            let id = try #require(tracker["tracker"]?["_id"]?.stringValue)
            let periods = (tracker["periods"]?.arrayValue ?? []) + [tracker["currentPeriod"]].compactMap { $0 }
            #expect(.array(periods.reversed()) == liveStatistics[id], "tracker \(id)")
        }

        // The chart: the closed hours as the API has them, then the open one.
        let chart = try #require(reported["equityChart"]?.arrayValue)
        let closed = try #require(liveChart.arrayValue)
        #expect(!closed.isEmpty)
        #expect(chart.count == closed.count + 1)
        #expect(Array(chart.prefix(closed.count)) == closed)

        let equity = try #require(reported["equity"])
        #expect(equity["lastBalance"] == liveAccount["balance"])
        #expect(equity["lastEquity"] == liveAccount["equity"])
        #expect(equity["lastBrokerTime"] == liveAccount["lastSeenBrokerTime"])

        // Every piece in its API shape (the checker refuses unknown fields, e.g. `challengeID`).
        let checker = OpenAPIChecker.shared
        var problems: [String] = []
        for event in trackerEvents { problems += checker.problems(of: event, component: "TrackerEvent") }
        for event in challengeEvents { problems += checker.problems(of: event, component: "ChallengeEvent") }
        for challenge in challenges {
            problems += checker.problems(of: challenge["challenge"] ?? .null, component: "Challenge")
        }
        for tracker in trackers {
            problems += checker.problems(of: tracker["tracker"] ?? .null, component: "Tracker")
            for period in (tracker["periods"]?.arrayValue ?? []) + [tracker["currentPeriod"]].compactMap({ $0 }) {
                problems += checker.problems(of: period, component: "PeriodStatistics")
            }
        }
        for hour in chart { problems += checker.problems(of: hour, component: "EquityChartItem") }
        #expect(problems.isEmpty, "\(problems)")
        // Broker times as the API writes them; amounts as JSON numbers.
        #expect(equity["firstBrokerTime"]?.stringValue.flatMap(BrokerTime.init(formatted:)) != nil)
        if case .number = equity["minEquity"] {} else { Issue.record("minEquity is not a number: \(equity)") }
    }
}

extension JSONValue {
    fileprivate subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { object[key] } else { nil }
    }
    fileprivate var arrayValue: [JSONValue]? {
        if case .array(let array) = self { array } else { nil }
    }
}
