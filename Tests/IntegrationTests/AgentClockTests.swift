import Agent
import AgentFold
import Foundation
import RiskCore
import Store
import TestSupport
import Testing
import TidemarkProtocol

/// Per-account time on the real agent: another terminal's clock, however far ahead, changes
/// nothing of an account — its events, tracker periods, chart and risk state — before and after a
/// restart; a time beyond the bound is refused and counted.
@Suite("Per-account time over loopback", .serialized)
struct AgentClockTests {
    static let account = AccountID("Tidemark-Sim:1000001")
    static let other = AccountID("Tidemark-Sim:2000002")

    /// What the store and the last checkpoint say about one account, in a comparable form.
    struct AccountView: Equatable, CustomStringConvertible {
        var outcome: (events: [String], chart: [String], statistics: [String])
        var risk: String

        init(store: Store, account: AccountID) async throws {
            let committed = try await CommittedOutcome(store: store)
            outcome = (committed.events, committed.chart, committed.statistics)
            let checkpoint = try #require(try await store.checkpoint())
            let core = try AgentCore(checkpoint: checkpoint).risk
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            func json(_ value: some Encodable) throws -> String {
                String(decoding: try encoder.encode(value), as: UTF8.self)
            }
            risk = [
                "clock \(core.clock(accountId: account)?.milliseconds ?? -1)",
                "own \(core.lastOwnInputTime(accountId: account)?.milliseconds ?? -1)",
                "dd \(try json(core.currentPeriodStatistics(accountId: account, trackerId: "dd")))",
                "pf \(try json(core.currentPeriodStatistics(accountId: account, trackerId: "pf")))",
                "chart \(try json(core.currentEquityChartRecord(accountId: account)))",
                "challenge \(try json(core.challenge(id: "ch")?.progress))",
            ].joined(separator: "\n")
        }

        static func == (a: AccountView, b: AccountView) -> Bool {
            a.outcome.events == b.outcome.events && a.outcome.chart == b.outcome.chart
                && a.outcome.statistics == b.outcome.statistics && a.risk == b.risk
        }

        var description: String {
            "events:\n\(outcome.events.joined(separator: "\n"))\nchart:\n\(outcome.chart.joined(separator: "\n"))\n"
                + "statistics:\n\(outcome.statistics.joined(separator: "\n"))\nrisk:\n\(risk)"
        }
    }

    /// Terminal B: A's HELLO and SNAPSHOT under another login, then two HEARTBEATs: one 20 h ahead
    /// of the wall clock in B's broker time (plausible, and seven years ahead of A's 2019 ticks),
    /// one in 2100 (beyond the 24 h bound: refused). Returns the recording and the plausible time.
    static func futureTerminal(from recording: String, in directory: TemporaryDirectory) throws -> (String, Int64) {
        var lines: [String] = []
        var offsetSeconds = 0
        for line in try String(contentsOfFile: recording, encoding: .utf8).split(separator: "\n") {
            guard var object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                continue
            }
            let type = object["type"] as? String
            guard type == "hello" || type == "snapshot" || type == "symbol" else { continue }
            object["account"] = other.rawValue
            if var hello = object["hello"] as? [String: Any] {
                hello["login"] = 2_000_002
                offsetSeconds = hello["brokerUTCOffsetSeconds"] as? Int ?? 0
                object["hello"] = hello
            }
            lines.append(
                String(
                    decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            )
        }
        let wallClock = Int64(Date().timeIntervalSince1970 * 1_000)
        let plausible = wallClock + Int64(offsetSeconds) * 1_000 + 20 * 3_600_000
        for time in [plausible, 4_102_444_800_000] {
            lines.append(#"{"account":"\#(other.rawValue)","time":\#(time),"type":"heartbeat"}"#)
        }
        let path = directory.path("terminal-b.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return (path, plausible)
    }

    static func simulate(_ recording: String, on agent: FullAgent, in directory: TemporaryDirectory) async throws {
        let endpoint = agent.bridgeEndpoint!
        let run = try await Tidemark.run(["simulate", "--connect", endpoint, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")
    }

    @Test func anotherTerminalsFutureHeartbeatChangesNothingOfThisAccount() async throws {
        let directory = try TemporaryDirectory()
        // 2,000 real ticks of 4 February 2019 with trades: the rules' trackers and challenge fire.
        let recording = try await AgentRecordings.eurusdSlice(ticks: 2_000, batch: 10, in: directory)
        let rules = try AgentRecordings.rules(in: directory)
        let (terminalB, plausible) = try Self.futureTerminal(from: recording, in: directory)

        // The reference: A alone, stopped and restarted.
        let reference = FullAgent(in: directory, name: "reference", rules: rules)
        try await reference.start()
        try await Self.simulate(recording, on: reference, in: directory)
        #expect(await reference.stop() == 0)
        try await reference.start()
        #expect(await reference.stop() == 0)
        let expected = try await AccountView(store: reference.openStore(), account: Self.account)
        #expect(
            expected.outcome.events.count >= 3, "the rules must produce events for the comparison to mean something")

        // B's far-future heartbeats first, then A; a restart; B again.
        let recorded = directory.path("victim-recorded")
        let agent = FullAgent(in: directory, name: "victim", rules: rules, extraArguments: ["--record", recorded])
        try await agent.start()
        try await Self.simulate(terminalB, on: agent, in: directory)
        try await Self.simulate(recording, on: agent, in: directory)
        let metrics = try await HTTP.request("GET", "http://\(agent.httpEndpoint!)/metrics").text
        #expect(metrics.contains("tidemark_implausible_times_total 1"), "\(metrics)")
        #expect(await agent.stop() == 0)
        #expect(agent.log.contains("time too far ahead of the wall clock"))
        let beforeRestart = try await AccountView(store: agent.openStore(), account: Self.account)
        #expect(beforeRestart == expected, "before the restart:\n\(beforeRestart)\n\nexpected:\n\(expected)")

        try await agent.start()
        try await Self.simulate(terminalB, on: agent, in: directory)
        #expect(await agent.stop() == 0)
        let afterRestart = try await AccountView(store: agent.openStore(), account: Self.account)
        #expect(afterRestart == expected, "after the restart:\n\(afterRestart)\n\nexpected:\n\(expected)")

        // The recording holds what was folded: B's plausible heartbeat (twice), not the refused one.
        let bRecording = try String(contentsOfFile: recorded + "/Tidemark-Sim:2000002.jsonl", encoding: .utf8)
        #expect(bRecording.components(separatedBy: "\"time\":\(plausible)").count - 1 == 2)
        #expect(!bRecording.contains("4102444800000"))
        // B's own clock took its plausible heartbeat, never the one from 2100.
        let checkpoint = try #require(try await agent.openStore().checkpoint())
        let risk = try AgentCore(checkpoint: checkpoint).risk
        #expect(risk.clock(accountId: Self.other) == BrokerTime(milliseconds: plausible))
    }

    /// A terminal with times of now says BYE: the agent then feeds the wall clock (every 200 ms
    /// here) to its account, in the account's own broker time (UTC + 1 h), counts it, and records
    /// it as `time` lines, so that replaying the agent's recording gives the agent's own state.
    @Test func aQuietAccountFollowsTheWallClockAndItsRecordingReplaysTheSame() async throws {
        let directory = try TemporaryDirectory()
        let quiet = AccountID(server: "Tidemark-Clock", login: 42)
        let offsetSeconds = 3_600
        let started = Int64(Date().timeIntervalSince1970 * 1_000) + Int64(offsetSeconds) * 1_000
        let hello = Hello(
            platform: .mt5, terminalBuild: 4000, login: 42, server: "Tidemark-Clock", company: "Test",
            currency: "USD", currencyDigits: 2, marginMode: .retailHedging, leverage: 100, eaVersion: "1.0",
            brokerUTCOffsetSeconds: offsetSeconds, sessionID: "s")
        let snapshot = Snapshot(
            account: AccountReport(
                time: BrokerTime(milliseconds: started), balance: 10_000, credit: .zero,
                equity: 10_000, margin: .zero), symbols: [], positions: [])
        let recording = directory.path("quiet.jsonl")
        let lines = [TerminalMessage.hello(hello), .snapshot(snapshot)].map {
            String(
                decoding: RecordingCodec.encode(.message(account: quiet, sessionID: nil, sequence: nil, $0)),
                as: UTF8.self)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: recording, atomically: true, encoding: .utf8)
        let rules = directory.path("quiet-rules.json")
        try """
        {"declarations": [{"action": "createTracker", "tracker": {"id": "q", "accountId": "\(quiet.rawValue)", "name": "daily",
          "period": "day", "absoluteDrawdownThreshold": 100}}]}
        """.write(toFile: rules, atomically: true, encoding: .utf8)

        let recorded = directory.path("recorded")
        let agent = FullAgent(
            in: directory, rules: rules, extraArguments: ["--record", recorded],
            extraEnvironment: ["TIDEMARK_WALL_CLOCK_INTERVAL_MS": "200"])
        try await agent.start()
        try await Self.simulate(recording, on: agent, in: directory)
        var metrics = ""
        var fed = 0
        try await eventually("three wall-clock inputs fed", deadline: .seconds(20), interval: .milliseconds(100)) {
            metrics = try await HTTP.request("GET", "http://\(agent.httpEndpoint!)/metrics").text
            fed =
                metrics.split(separator: "\n").first { $0.hasPrefix("tidemark_wall_clock_time_inputs_total ") }
                .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            return fed >= 3
        }
        #expect(fed >= 3, "\(metrics)")
        #expect(await agent.stop() == 0)

        let checkpoint = try #require(try await agent.openStore().checkpoint())
        let live = try AgentCore(checkpoint: checkpoint).risk
        let clock = try #require(live.clock(accountId: quiet))
        let stopped = Int64(Date().timeIntervalSince1970 * 1_000) + Int64(offsetSeconds) * 1_000
        #expect(
            clock.milliseconds > started + 1_000 && clock.milliseconds <= stopped,
            "\(clock.milliseconds - started) ms on")

        let file = try String(contentsOfFile: recorded + "/Tidemark-Clock:42.jsonl", encoding: .utf8)
        #expect(file.components(separatedBy: #""type":"time""#).count - 1 == fed)
        var replay = RecordingReplay(recordingName: "recorded")
        try replay.applyRules(try Data(contentsOf: URL(fileURLWithPath: rules)))
        replay.play(RecordingReader(bytes: Array(file.utf8)))
        #expect(replay.problems.isEmpty)
        #expect(replay.core.risk.clock(accountId: quiet) == clock)
        #expect(
            replay.core.risk.currentPeriodStatistics(accountId: quiet, trackerId: "q")
                == live.currentPeriodStatistics(accountId: quiet, trackerId: "q"))
        #expect(
            replay.core.risk.currentEquityChartRecord(accountId: quiet)
                == live.currentEquityChartRecord(accountId: quiet))
    }
}
