import Foundation
import TestSupport
import Testing
import TidemarkProtocol
import ZeroMQ

/// The real `tidemark agent` and `tidemark simulate` over TCP loopback (ports chosen by the system).
/// Serialized: each test runs two or three processes, and the machine has two cores.
@Suite("Bridge over TCP loopback", .serialized)
struct BridgeLoopbackTests {
    static let hedgingExample = Tidemark.packageRoot.appendingPathComponent("protocol/examples/mt5-hedging.jsonl").path
    static let mt4Example = Tidemark.packageRoot.appendingPathComponent("protocol/examples/mt4.jsonl").path
    static let nettingExample = Tidemark.packageRoot.appendingPathComponent("protocol/examples/mt5-netting.jsonl").path
    static let simulatedAccount = "Tidemark-Sim:1000001"

    /// The first `count` ticks of the real EURUSD day as a CSV named so make-recording calls the symbol EURUSD.
    static func tickFile(first count: Int, in directory: TemporaryDirectory) throws -> String {
        let source = try String(contentsOfFile: Tidemark.ticksDirectory + "/EURUSD-2019-02-04.csv", encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: true)
        let path = directory.path("EURUSD-2019-02-04.csv")
        try (lines.prefix(count + 1).joined(separator: "\n") + "\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A recording of `ticks` real ticks with trades, a deposit and a credit on the way.
    static func makeRecording(ticks: Int, in directory: TemporaryDirectory) async throws -> String {
        let script = directory.path("trades.script")
        try """
        balance 10000
        commission 3.50
        2019-02-04 02:00:05 deposit 5000
        2019-02-04 02:01:00 open buy 1.00
        2019-02-04 02:02:00 open sell 0.50
        2019-02-04 02:03:00 close 100001 0.40
        2019-02-04 02:04:00 credit 100
        2019-02-04 02:05:00 close 100002

        """.write(toFile: script, atomically: true, encoding: .utf8)
        let out = directory.path("session.jsonl")
        let made = try await Tidemark.run(
            [
                "make-recording", "--ticks", try tickFile(first: ticks, in: directory),
                "--script", script, "--out", out, "--every", "0",
            ], in: directory)
        guard made.status == 0 else { throw HarnessError("make-recording failed: \(made.errors)") }
        return out
    }

    @Test func handshakeOverTCP() async throws {
        let directory = try TemporaryDirectory()
        let agent = try await AgentUnderTest(in: directory)
        let run = try await Tidemark.run(["simulate", "--connect", agent.endpoint, Self.hedgingExample], in: directory)
        #expect(run.status == 0, "simulate: \(run.output) \(run.errors)")
        #expect(await agent.stop() == 0)
        let recorded = try agent.recorded("Tidemark-Demo:5001234")
        guard case .message(_, _, 1?, .hello(let hello))? = recorded.first else {
            Issue.record("the recording starts with the hello: \(recorded.first.map { "\($0)" } ?? "nothing")")
            return
        }
        #expect(hello.login == 5_001_234)
        #expect(agent.log.contains("session opened"))
        // Every message of the example arrived (the simulator adds heartbeats and its own session id).
        func comparable(_ lines: [RecordingLine]) -> [TerminalMessage] {
            Recording.messages(lines).compactMap { message in
                switch message {
                case .heartbeat: return nil
                case .hello(var hello):
                    hello.sessionID = ""
                    return .hello(hello)
                default: return message
                }
            }
        }
        #expect(comparable(recorded) == comparable(try Recording.read(Self.hedgingExample)))
    }

    @Test func hundredThousandRealTicksArriveInOrder() async throws {
        let directory = try TemporaryDirectory()
        let recording = try await Self.makeRecording(ticks: 100_000, in: directory)
        let agent = try await AgentUnderTest(in: directory)
        let run = try await Tidemark.run(
            ["simulate", "--connect", agent.endpoint, recording], in: directory, timeout: 300)
        #expect(run.status == 0, "simulate: \(run.output) \(run.errors)")
        #expect(await agent.stop() == 0)

        let received = Recording.ticks(try agent.recorded(Self.simulatedAccount))
        let sent = Recording.ticks(try Recording.read(recording))
        #expect(received.count == 100_000)
        #expect(received == sent)
        // And they are the CSV's ticks: first and last line by hand, broker time = UTC + 2 h.
        // 1549238400994 + 7,200,000 = 1549245600994; bid 1.14543, ask 1.14545.
        #expect(
            received.first
                == Tick(
                    symbol: "EURUSD", time: BrokerTime(milliseconds: 1_549_245_600_994), bid: "1.14543", ask: "1.14545")
        )
        let csv = try String(contentsOfFile: directory.path("EURUSD-2019-02-04.csv"), encoding: .utf8)
        let last = csv.split(separator: "\n").last!.split(separator: ",")
        #expect(received.last?.time.milliseconds == Int64(last[0])! + 7_200_000)
        #expect(received.last?.bid == FixedDecimal(last[1]))
        #expect(received.last?.ask == FixedDecimal(last[2]))
    }

    @Test func aDroppedMessageIsRepairedByResyncAndTheStateEndsTheSame() async throws {
        let directory = try TemporaryDirectory()
        let recording = try await Self.makeRecording(ticks: 5_000, in: directory)

        let calm = try await AgentUnderTest(in: directory)
        let undisturbed = try await Tidemark.run(["simulate", "--connect", calm.endpoint, recording], in: directory)
        #expect(undisturbed.status == 0, "simulate: \(undisturbed.errors)")
        _ = await calm.stop()
        let expected = FoldedAccount(Recording.messages(try calm.recorded(Self.simulatedAccount)))

        let lossy = try await AgentUnderTest(in: directory)
        // #4 is the deposit's neighbourhood: early, so the rest of the run must ride on the resync.
        let disturbed = try await Tidemark.run(
            ["simulate", "--connect", lossy.endpoint, "--drop-seq", "4", recording], in: directory)
        #expect(disturbed.status == 0, "simulate: \(disturbed.output) \(disturbed.errors)")
        _ = await lossy.stop()
        let lossyMessages = Recording.messages(try lossy.recorded(Self.simulatedAccount))
        #expect(lossy.log.contains("resync requested"))
        let snapshots = lossyMessages.filter { if case .snapshot = $0 { true } else { false } }.count
        #expect(snapshots >= 2, "the lost message was repaired by a second snapshot")
        let actual = FoldedAccount(lossyMessages)
        #expect(actual == expected)
        // Sanity of the fold itself (from the script): credit 100 apart from the balance; 100001 bought
        // 1.00 and closed 0.40, so 0.60 remain; 100002 closed in full.
        #expect(expected.credit == 100)
        #expect(expected.positions.keys.sorted() == [100001])
        #expect(expected.positions[100001]?.volume == "0.6")
    }

    @Test func nettingHelloIsRejectedWithItsReason() async throws {
        let directory = try TemporaryDirectory()
        let agent = try await AgentUnderTest(in: directory)
        let run = try await Tidemark.run(
            ["simulate", "--connect", agent.endpoint, "--timeout", "10", Self.nettingExample], in: directory)
        #expect(run.status != 0)
        #expect((run.output + run.errors).contains("netting_account"))
        _ = await agent.stop()
        #expect(agent.recordedFiles.isEmpty, "nothing of a netting account goes further: \(agent.recordedFiles)")
        #expect(agent.log.contains("reason=netting_account"))
    }

    @Test func withCurveAnEAWhoseKeyIsNotAllowedGetsNothingThrough() async throws {
        let directory = try TemporaryDirectory()
        let keys = directory.path("keys")
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        for name in ["agent", "ea", "intruder"] {
            let made = try await Tidemark.run(["keys", "--out", keys, "--name", name], in: directory)
            #expect(made.status == 0, "keys: \(made.errors)")
        }
        let allow = directory.path("allowed-keys")
        try "# EAs admitted\n\(keys)/ea.key\n".write(toFile: allow, atomically: true, encoding: .utf8)
        let agent = try await AgentUnderTest(
            in: directory,
            extraArguments: [
                "--curve-secret-key", keys + "/agent.key_secret", "--allow-keys", allow,
            ])

        let intruder = try await Tidemark.run(
            [
                "simulate", "--connect", agent.endpoint, "--server-key", keys + "/agent.key",
                "--client-key", keys + "/intruder.key_secret", "--timeout", "3", Self.hedgingExample,
            ],
            in: directory)
        #expect(intruder.status != 0)
        #expect(agent.recordedFiles.isEmpty)

        let admitted = try await Tidemark.run(
            [
                "simulate", "--connect", agent.endpoint, "--server-key", keys + "/agent.key",
                "--client-key", keys + "/ea.key_secret", Self.hedgingExample,
            ], in: directory)
        #expect(admitted.status == 0, "simulate: \(admitted.output) \(admitted.errors)")
        _ = await agent.stop()
        #expect(agent.recordedFiles == ["Tidemark-Demo:5001234.jsonl"])
        // Only the admitted session was ever opened.
        #expect(agent.log.components(separatedBy: "session opened").count - 1 == 1)
    }

    @Test func garbageFromOnePeerLeavesTheAgentServingAnother() async throws {
        let directory = try TemporaryDirectory()
        let recording = try await Self.makeRecording(ticks: 20_000, in: directory)
        let agent = try await AgentUnderTest(in: directory)
        let honest = try Tidemark.start(["simulate", "--connect", agent.endpoint, recording], in: directory)

        let answers = try GarbagePeer.attack(agent.endpoint)
        // The TM3 hello was answered with its reason; the session that turned bad was told so.
        #expect(answers.contains { if case .reject(.unsupportedVersion, _) = $0 { true } else { false } })
        #expect(answers.contains { if case .resync(_, "bad_frame") = $0 { true } else { false } })
        #expect(answers.contains { if case .reject(.protocolViolation, _) = $0 { true } else { false } })

        #expect(await honest.waitUntilExit(timeout: 120))
        #expect(honest.process.terminationStatus == 0, "simulate: \(honest.output) \(honest.errors)")
        // Still serving: a new terminal gets through after the attack.
        let after = try await Tidemark.run(["simulate", "--connect", agent.endpoint, Self.mt4Example], in: directory)
        #expect(after.status == 0, "simulate: \(after.errors)")
        #expect(agent.running.process.isRunning)
        #expect(await agent.stop() == 0)
        #expect(
            Recording.ticks(try agent.recorded(Self.simulatedAccount)) == Recording.ticks(try Recording.read(recording))
        )
        #expect(agent.log.contains("bad frame"))
    }
}

/// A DEALER that sends what no EA should, and collects what the agent answers.
enum GarbagePeer {
    static func attack(_ endpoint: String) throws -> [AgentMessage] {
        let context = try ZMQContext()
        defer { context.shutdown() }
        var answers: [AgentMessage] = []

        // Peer 1: frames that cannot be attributed to any session, then a hello in protocol version 3.
        let stranger = try ZMQSocket(context: context, type: .dealer)
        try stranger.setOption(.receiveTimeout, 1_500)
        try stranger.connect(endpoint)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            try stranger.send(
                (0..<Int.random(in: 1...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator)
                })
        }
        try stranger.send(Array("TM1\tTICKS\tx\t3\nQ\tEURUSD\t1\t1.1".utf8))  // truncated: no final LF
        try stranger.send([0x54, 0x4D, 0x31, 0x09, 0xFF, 0xFE, 0x09, 0x78, 0x09, 0x31, 0x0A])  // not UTF-8
        try stranger.send([])  // empty
        try stranger.send(Array("TM3\tHELLO\tg2\t1\nI\tmt5\t1\t1\ts\tc\tUSD\t2\tretail_hedging\t1\t1\t0\n".utf8))
        // Answers: REJECT expected_hello to session "x" (a readable header, a bad body), then
        // REJECT unsupported_version to "g2"; the rest had no header to answer to.
        while let reply = try? stranger.receive() {
            if let envelope = try? WireDecoder.decodeAgent(reply) { answers.append(envelope.message) }
        }

        // Peer 2: a good hello and snapshot, then frames that go bad until the agent gives up on it.
        let turncoat = try ZMQSocket(context: context, type: .dealer)
        try turncoat.setOption(.receiveTimeout, 3_000)
        try turncoat.connect(endpoint)
        // Frames right after connect can be lost (slow joiner): HELLO until WELCOME, like an EA.
        var session = ""
        for attempt in 1...10 {
            session = "bad\(attempt)"
            let hello = Hello(
                platform: .mt5, terminalBuild: 1, login: 666, server: "Garbage", company: "x", currency: "USD",
                currencyDigits: 2, marginMode: .retailHedging, leverage: 100, eaVersion: "x",
                brokerUTCOffsetSeconds: 0, sessionID: session)
            try turncoat.send(
                WireEncoder.encode(Envelope(sessionID: session, sequence: 1, message: TerminalMessage.hello(hello))))
            if let reply = try? turncoat.receive(), case .welcome? = try? WireDecoder.decodeAgent(reply).message {
                break
            }
        }
        let snapshot = Snapshot(
            account: AccountReport(time: BrokerTime(milliseconds: 1), balance: 1, credit: 0, equity: 1, margin: 0),
            symbols: [], positions: [])
        try turncoat.send(
            WireEncoder.encode(Envelope(sessionID: session, sequence: 2, message: TerminalMessage.snapshot(snapshot))))
        for sequence in 3..<20 {
            // A known type with a broken field, and a quote with bid far above ask.
            let frame =
                sequence.isMultiple(of: 2)
                ? "TM1\tTICKS\t\(session)\t\(sequence)\nQ\tEURUSD\t1\tNaN\t1.1\n"
                : "TM1\tTICKS\t\(session)\t\(sequence)\nQ\tEURUSD\t1\t9.9\t1.1\n"
            try turncoat.send(Array(frame.utf8))
        }
        while let reply = try? turncoat.receive() {
            guard let envelope = try? WireDecoder.decodeAgent(reply) else { continue }
            answers.append(envelope.message)
            if case .reject = envelope.message { break }
        }
        return answers
    }
}
