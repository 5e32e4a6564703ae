import Foundation
import Store
import TestSupport
import Testing
import TidemarkProtocol

/// The agent's promise: after kill -9 at any moment, a restart plus the EAs' snapshots give the
/// same events, statistics and risk state as a run that never stopped — none lost, none
/// duplicated, sequence numbers gap-free.
@Suite("Agent crash recovery", .serialized)
struct AgentCrashTests {
    @Test func killedTwentyTimesWhileStreamingEndsLikeAnUninterruptedRun() async throws {
        let directory = try TemporaryDirectory()
        // 5,000 real ticks, 5 per message: ~1,090 messages over 83 minutes of broker time.
        let recording = try await AgentRecordings.eurusdSlice(ticks: 5_000, batch: 5, in: directory)
        let rules = try AgentRecordings.rules(in: directory)

        // The reference: one agent, never interrupted, the recording at full speed.
        let expected = try await CommittedOutcome.ofStraightRun(
            recording, rules: rules, in: directory, minimumEvents: 3)

        // The victim: the same recording paced over ~20 s (speed 250) while the agent is killed
        // with SIGKILL 20 times at random moments and restarted on the same port. The heartbeat is
        // long so that the simulator's own idle heartbeats (whose times depend on the wall clock)
        // never enter the input; a killed agent is noticed by the REJECT the restarted one sends
        // to the old session.
        let victim = FullAgent(in: directory, name: "victim", rules: rules, extraArguments: ["--heartbeat-ms", "2000"])
        try await victim.start()
        let simulator = try Tidemark.start(
            [
                "simulate", "--connect", victim.bridgeEndpoint!, recording, "--speed", "250",
                "--timeout", "60",
            ], in: directory)
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        while kills < 20, simulator.process.isRunning {
            // A random moment of the stream to kill at (not a wait for an outcome).
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...900, using: &generator)))
            guard simulator.process.isRunning else { break }
            await victim.kill9()
            kills += 1
            try await victim.start()
        }
        #expect(await simulator.waitUntilExit(timeout: 120), "the simulator did not finish")
        #expect(simulator.process.terminationStatus == 0, "\(simulator.errors)")
        #expect(kills == 20, "the stream ended after \(kills) kills; slow it down")
        #expect(await victim.stop() == 0)
        // Every kill cost the simulator its session: it started over (HELLO + SNAPSHOT at the last
        // acknowledged position) at least once per kill that hit it mid-stream.
        let sessions =
            simulator.output.split(separator: " ").firstIndex(of: "session(s),").map { index in
                Int(simulator.output.split(separator: " ")[index - 1]) ?? 0
            } ?? 0
        #expect(sessions >= 10, "\(simulator.output)")
        #expect(victim.log.components(separatedBy: "resumed from checkpoint").count - 1 >= 10)

        let outcome = try await CommittedOutcome(store: victim.openStore())
        #expect(outcome.events == expected.events)
        #expect(outcome.chart == expected.chart)
        #expect(outcome.statistics == expected.statistics)
        #expect(outcome.risk == expected.risk)
        // Sequence numbers are gap-free from 1.
        let numbers = outcome.events.compactMap { $0.split(separator: " ").first.flatMap { UInt64($0.dropFirst()) } }
        #expect(numbers == Array(1...UInt64(max(1, numbers.count))).prefix(numbers.count).map { $0 })
        if outcome != expected {
            Issue.record(
                "interrupted run differs.\nexpected \(expected)\n\ngot \(outcome)\n\nsimulator: \(simulator.output)\(simulator.errors)"
            )
        }
    }
}
