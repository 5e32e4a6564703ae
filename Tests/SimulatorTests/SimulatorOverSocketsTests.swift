import Foundation
import Synchronization
import TestSupport
import Testing
import TidemarkProtocol
import ZeroMQ

@testable import Simulator

#if canImport(Glibc)
import Glibc
#endif

/// A tiny agent on a real ROUTER socket that speaks the protocol (protocol/SPEC.md §6) just enough
/// to drive the simulator: welcome or reject, sequence checking with RESYNC on a gap, ACK on
/// heartbeat and bye, optionally a command. It records every frame it gets.
final class MiniAgent: Sendable {
    struct Behaviour: Sendable {
        var reject: (RejectReason, String)? = nil
        /// Send RESYNC once when this sequence arrives (as if it had been lost).
        var resyncAtSequence: UInt64? = nil
        /// Send this command when the first TICKS frame arrives.
        var command: Command? = nil
        /// Never answer anything.
        var silent = false
        /// Require CURVE with this allow-list.
        var curve: (server: CurveKeyPair, allowed: [CurveKey])? = nil
    }

    /// What the agent thread shares with the test.
    final class Shared: Sendable {
        let received = Mutex<[Envelope<TerminalMessage>]>([])
        let endpoint = Mutex<String?>(nil)
    }

    let context: ZMQContext
    let endpoint: String
    private let shared = Shared()
    private let thread: ZMQSocketThread
    private let allowList: ZAPAllowList?

    init(_ behaviour: Behaviour = Behaviour()) throws {
        let context = try ZMQContext()
        self.context = context
        allowList = try behaviour.curve.map { try ZAPAllowList(context: context, allowedKeys: $0.allowed) }
        let shared = self.shared
        thread = try ZMQSocketThread(name: "mini-agent") {
            let router = try ZMQSocket(context: context, type: .router)
            if let curve = behaviour.curve { try router.makeCurveServer(keys: curve.server) }
            try router.bind("tcp://127.0.0.1:*")
            let endpoint = try router.lastEndpoint
            shared.endpoint.withLock { $0 = endpoint }
            var outgoing: [String: UInt64] = [:]
            var lastSequence: [String: UInt64] = [:]
            var awaitingSnapshot: Set<String> = []
            var resyncSent = false
            func send(_ peer: [UInt8], _ session: String, _ message: AgentMessage) throws {
                let sequence = (outgoing[session] ?? 0) + 1
                outgoing[session] = sequence
                try router.send(peer, more: true)
                try router.send(WireEncoder.encode(Envelope(sessionID: session, sequence: sequence, message: message)))
            }
            while true {
                let parts = try router.receiveParts()
                guard parts.count == 2, let envelope = try? WireDecoder.decodeTerminal(parts[1]) else { continue }
                shared.received.withLock { $0.append(envelope) }
                if behaviour.silent { continue }
                let peer = parts[0]
                let session = envelope.sessionID
                let last = lastSequence[session] ?? 0
                switch envelope.message {
                case .hello:
                    if let (reason, text) = behaviour.reject {
                        try send(peer, session, .reject(reason, message: text))
                        continue
                    }
                    lastSequence[session] = envelope.sequence
                    try send(peer, session, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "mini"))
                    continue
                case .snapshot:
                    awaitingSnapshot.remove(session)
                    lastSequence[session] = envelope.sequence
                    continue
                default:
                    break
                }
                if awaitingSnapshot.contains(session) { continue }
                if envelope.sequence <= last { continue }  // duplicate
                if envelope.sequence > last + 1 || (envelope.sequence == behaviour.resyncAtSequence && !resyncSent) {
                    resyncSent = true
                    awaitingSnapshot.insert(session)
                    try send(peer, session, .resync(lastSequence: last, reason: "gap"))
                    continue
                }
                lastSequence[session] = envelope.sequence
                switch envelope.message {
                case .heartbeat, .bye: try send(peer, session, .acknowledge(sequence: envelope.sequence))
                case .ticks where envelope.sequence == 3:
                    if let command = behaviour.command { try send(peer, session, .command(command)) }
                default: break
                }
            }
        }
        try eventuallyBlocking("the mini agent bound its socket", deadline: .seconds(10)) {
            shared.endpoint.withLock { $0 } != nil
        }
        endpoint = shared.endpoint.withLock { $0 }!
    }

    var frames: [Envelope<TerminalMessage>] { shared.received.withLock { $0 } }

    func stop() throws {
        context.shutdown()
        try thread.join()
    }
}

@Suite struct SimulatorOverSocketsTests {
    func simulator(
        _ agent: MiniAgent, faults: SimulatorFaults = .none, stall: Duration = .seconds(20), speed: Double? = nil,
        serverKey: CurveKey? = nil, clientKeys: CurveKeyPair? = nil
    ) throws -> TerminalSimulator {
        try TerminalSimulator(
            connection: SimulatorConnection(endpoint: agent.endpoint, serverKey: serverKey, clientKeys: clientKeys),
            pacing: SimulatorPacing(speed: speed, stallTimeout: stall), faults: faults, threads: 1)
    }

    @Test func welcomeStreamAckAndSuccess() async throws {
        let agent = try MiniAgent()
        let results = try await simulator(agent).run([Fixture.script])
        try agent.stop()
        #expect(results.map(\.outcome) == [.completed])
        let frames = agent.frames
        #expect(frames.map(\.sequence) == [1, 2, 3, 4, 5, 6])
        #expect(Set(frames.map(\.sessionID)).count == 1)
        #expect(frames[0].sessionID.hasPrefix("sim-12345-"))
        #expect(frames.dropFirst(2).prefix(3).map(\.message) == Fixture.stream)
        #expect(frames.last?.message == .bye(reason: "deinit 1"))
    }

    @Test func rejectFailsWithTheReason() async throws {
        let agent = try MiniAgent(MiniAgent.Behaviour(reject: (.nettingAccount, "netting accounts are not tracked")))
        let results = try await simulator(agent).run([Fixture.script])
        try agent.stop()
        #expect(results.map(\.outcome) == [.rejected(.nettingAccount, message: "netting accounts are not tracked")])
    }

    @Test func resyncIsAnsweredWithASnapshot() async throws {
        let agent = try MiniAgent(MiniAgent.Behaviour(resyncAtSequence: 4))
        let results = try await simulator(agent).run([Fixture.script])
        try agent.stop()
        #expect(results.map(\.outcome) == [.completed])
        let snapshots = agent.frames.filter { if case .snapshot = $0.message { true } else { false } }
        #expect(snapshots.count == 2)
        #expect(snapshots.last.map(\.sequence).map { $0 > 4 } == true)
        #expect(results[0].statistics.resyncSnapshotsSent == 1)
    }

    @Test func droppedSequenceIsVisibleAtThePeerAndRepaired() async throws {
        let agent = try MiniAgent()
        let results = try await simulator(agent, faults: SimulatorFaults(dropSequences: [4])).run([Fixture.script])
        try agent.stop()
        #expect(results.map(\.outcome) == [.completed])
        let sequences = agent.frames.map(\.sequence)
        #expect(!sequences.contains(4))
        #expect(sequences.prefix(4) == [1, 2, 3, 5])
        // The gap made the peer ask for a snapshot, which came after 5.
        #expect(agent.frames.dropFirst(4).contains { if case .snapshot = $0.message { true } else { false } })
    }

    @Test func closeAllCommandIsCarriedOut() async throws {
        let agent = try MiniAgent(
            MiniAgent.Behaviour(command: Command(id: 42, kind: .closeAllPositions, reason: "test")))
        // Paced (batches 1 s apart in broker time, at 4×: 250 ms), so the command arrives mid-stream
        // rather than after the BYE, when a terminal no longer trades.
        let results = try await simulator(agent, speed: 4).run([Fixture.script])
        try agent.stop()
        #expect(results.map(\.outcome) == [.completed])
        let acks = agent.frames.compactMap {
            if case .commandAcknowledgement(let ack) = $0.message { ack } else { nil }
        }
        #expect(acks.map(\.commandID) == [42])
        let closes = agent.frames.filter {
            if case .position(let update) = $0.message { update.change == .closed } else { false }
        }
        #expect(closes.count == 2)
    }

    @Test func disconnectAfterReconnectsWithANewSession() async throws {
        let agent = try MiniAgent()
        let results = try await simulator(agent, faults: SimulatorFaults(disconnectAfterMessages: 1)).run([
            Fixture.script
        ])
        try agent.stop()
        #expect(results.map(\.outcome) == [.completed])
        let sessions = agent.frames.reduce(into: [String]()) {
            if !$0.contains($1.sessionID) { $0.append($1.sessionID) }
        }
        #expect(sessions.count == 2)
        let second = agent.frames.filter { $0.sessionID == sessions.last }
        // hello, snapshot, the three batches (the drop came before any ACK, so the first is sent
        // again: SPEC §6.7), bye
        #expect(second.map(\.sequence) == [1, 2, 3, 4, 5, 6])
        guard case .hello = second.first?.message else {
            Issue.record("the new session must start with HELLO")
            return
        }
    }

    @Test func duplicatedSequenceIsVisibleAtThePeer() async throws {
        let agent = try MiniAgent()
        let results = try await simulator(agent, faults: SimulatorFaults(duplicateSequences: [3])).run([Fixture.script])
        try agent.stop()
        #expect(results.map(\.outcome) == [.completed])
        #expect(agent.frames.map(\.sequence) == [1, 2, 3, 3, 4, 5, 6])
    }

    @Test func manyTerminalsAtOnce() async throws {
        let agent = try MiniAgent()
        let scripts = (1...20).map { login -> TerminalScript in
            var script = Fixture.script
            script.hello.login = Int64(login)
            return script
        }
        let simulator = try TerminalSimulator(connection: SimulatorConnection(endpoint: agent.endpoint), threads: 2)
        let results = try await simulator.run(scripts)
        try agent.stop()
        #expect(results.allSatisfy { $0.outcome == .completed })
        #expect(results.map(\.account) == scripts.map(\.account))
        #expect(Set(agent.frames.map(\.sessionID)).count == 20)
    }

    @Test func silentAgentTimesOut() async throws {
        let agent = try MiniAgent(MiniAgent.Behaviour(silent: true))
        let results = try await simulator(agent, stall: .milliseconds(300)).run([Fixture.script])
        try agent.stop()
        guard case .timedOut = results.first?.outcome else {
            Issue.record("expected a time-out: \(results)")
            return
        }
        #expect(agent.frames.count == 2)  // hello and snapshot, nothing streamed without WELCOME
    }

    @Test func curveClientOnTheAllowList() async throws {
        let server = try CurveKeyPair.generate()
        let client = try CurveKeyPair.generate()
        let agent = try MiniAgent(MiniAgent.Behaviour(curve: (server, [client.publicKey])))
        let results = try await simulator(agent, serverKey: server.publicKey, clientKeys: client).run([Fixture.script])
        try agent.stop()
        #expect(results.map(\.outcome) == [.completed])
    }
}

#if os(Linux)
/// The bench runs the simulator beside the agent under `SCHED_IDLE`; the policy must reach its
/// poll threads and the libzmq I/O thread they start, or the agent would share the CPU with them.
/// (Other suites' simulators may run meanwhile, with normal threads: the tests count the threads
/// that have the setting, which only these tests give.)
@Suite(.serialized) struct SimulatorThreadPriorityTests {
    struct ThreadInfo {
        var id: Int
        var name: String
        var nice: Int
        var policy: Int
    }

    /// Name, nice value and scheduling policy (sched(7)) of each thread of this process, from
    /// /proc/self/task/TID/stat: the name is field 2 (in parentheses), nice field 19, policy field 41.
    static func threads() throws -> [ThreadInfo] {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        return tasks.compactMap { task in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields[0] is field 3 (state).
            guard fields.count > 38, let nice = Int(fields[16]), let policy = Int(fields[38]) else { return nil }
            return ThreadInfo(
                id: Int(task) ?? -1, name: String(stat[stat.index(after: open)..<close]), nice: nice, policy: policy)
        }
    }

    static let idlePolicy = 5  // SCHED_IDLE

    /// Threads of a simulator with `priority`, seen while its sessions wait for a WELCOME that a
    /// silent agent never sends: the first look that is `ready`, or the last one after 10 s (a
    /// loaded machine may start threads late). Only threads started meanwhile are returned, so a
    /// thread another test left behind (with whatever setting) is never counted.
    static func threadsWhileRunning(
        _ priority: SimulatorThreadPriority, pollThreads expected: Int,
        until ready: ([ThreadInfo]) -> Bool
    ) async throws -> [ThreadInfo] {
        let agent = try MiniAgent(MiniAgent.Behaviour(silent: true))
        let existing = Set(try Self.threads().map(\.id))
        func started() throws -> [ThreadInfo] { try Self.threads().filter { !existing.contains($0.id) } }
        let simulator = try TerminalSimulator(
            connection: SimulatorConnection(endpoint: agent.endpoint),
            pacing: SimulatorPacing(stallTimeout: .seconds(30)),
            threads: expected, priority: priority)
        let run = Task { try await simulator.run(Array(repeating: Fixture.script, count: expected)) }
        let deadline = ContinuousClock.now + .seconds(10)
        var threads = try started()
        while !ready(threads), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            threads = try started()
        }
        simulator.cancel()
        _ = try? await run.value
        // The task resumes on a thread of normal priority: none of the simulator's setting leaked
        // into the threads the test's own work runs on.
        let currentID = Int(
            try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self").split(separator: "/").last
                ?? "")
        let resumedOn = try Self.threads().first { $0.id == currentID }
        #expect(resumedOn?.nice == 0 && resumedOn?.policy == 0, "\(String(describing: resumedOn))")
        try agent.stop()
        return threads
    }

    @Test func idleReachesThePollThreadsAndTheirZeroMQThread() async throws {
        let threads = try await Self.threadsWhileRunning(.idle, pollThreads: 2) { threads in
            threads.filter { $0.policy == Self.idlePolicy && $0.name.hasPrefix("simulator-") }.count == 2
                && threads.contains { $0.policy == Self.idlePolicy && $0.name.hasPrefix("ZMQbg/IO") }
        }
        let idle = threads.filter { $0.policy == Self.idlePolicy }
        #expect(idle.filter { $0.name.hasPrefix("simulator-") }.count == 2)
        // The simulator's libzmq I/O thread (and reaper) inherit the policy; the mini agent's stays normal.
        #expect(idle.filter { $0.name.hasPrefix("ZMQbg/IO") }.count == 1)
        #expect(idle.allSatisfy { $0.name.hasPrefix("simulator-") || $0.name.hasPrefix("ZMQbg/") })
    }

    @Test func aNiceValueLowersThePriorityAndKeepsThePolicy() async throws {
        let threads = try await Self.threadsWhileRunning(.nice(5), pollThreads: 1) { threads in
            threads.contains { $0.nice == 5 && $0.name.hasPrefix("simulator-") }
        }
        let niced = threads.filter { $0.nice == 5 }
        #expect(niced.filter { $0.name.hasPrefix("simulator-") }.count == 1)
        #expect(niced.allSatisfy { $0.policy == 0 })
    }
}
#endif
