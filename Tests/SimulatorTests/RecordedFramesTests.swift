import Testing
import TidemarkProtocol

@testable import Simulator

/// Frames sent from a script's once-encoded messages must be byte for byte what the encoder
/// writes for the same envelope: the agent cannot tell the two paths apart.
@Suite struct RecordedFramesTests {
    /// One message of every type a recording streams, with a TAB and a LF in free text (the
    /// encoder turns them into spaces) and a multi-symbol tick batch.
    static let everyKind: [TerminalMessage] = [
        Fixture.stream[0],
        .ticks([
            Tick(symbol: "EURUSD", time: Fixture.time(1), bid: "1.1", ask: "1.10002"),
            Tick(symbol: "GBPUSD.r", time: Fixture.time(2), bid: "1.25", ask: "1.25013"),
            Tick(symbol: "EURUSD", time: Fixture.time(3), bid: "1.10001", ask: "1.10003"),
        ]),
        .snapshot(Fixture.snapshot),
        .symbol(Fixture.eurusd),
        .position(PositionUpdate(change: .opened, time: Fixture.time(5), position: Fixture.sell)),
        .deal(
            Deal(
                ticket: 77, time: Fixture.time(6), type: .balance, entry: .in, symbol: "", volume: 0, price: 0,
                profit: "-12.5", commission: 0, swap: 0, fee: 0, positionID: 0, comment: "wire\tin\nout")),
        .report(AccountReport(time: Fixture.time(7), balance: "9987.5", credit: 0, equity: "9990.01", margin: "110.2")),
        .heartbeat(Fixture.time(8)),
        .commandAcknowledgement(
            CommandAcknowledgement(commandID: 3, time: Fixture.time(9), succeeded: false, detail: "no\tquote")),
        .bye(reason: "done"),
    ]

    @Test func framesEqualTheEncodersForEverySessionAndSequence() {
        let frames = RecordedFrames(Self.everyKind)
        #expect(frames.count == Self.everyKind.count)
        for (session, sequence) in [("sim-12345-00000000000000ff", UInt64(3)), ("s", 0), ("odd\tid", UInt64.max)] {
            for (index, message) in Self.everyKind.enumerated() {
                var frame: [UInt8] = [0xFF]  // appended to, never replaced
                frames.appendFrame(index, session: RecordedFrames.sessionField(session), sequence: sequence, to: &frame)
                let expected = WireEncoder.encode(Envelope(sessionID: session, sequence: sequence, message: message))
                #expect(frame == [0xFF] + expected, "message \(index), session \(session), sequence \(sequence)")
            }
        }
    }

    @Test func scriptsSharingAStreamShareOneEncoding() {
        let shared = Fixture.script
        var copy = Fixture.script
        copy.hello.login = 777  // another terminal, same stream storage
        var other = Fixture.script
        other.stream.append(.heartbeat(Fixture.time(9_000)))  // its own storage
        let frames = TerminalSimulator.recordedFrames(of: [shared, copy, other])
        #expect(frames[0] === frames[1])
        #expect(frames[0] !== frames[2])
        #expect(frames[2].count == Fixture.stream.count + 1)
    }

    @Test func theStateMachineNamesRecordedMessagesByPosition() {
        var machine = TerminalSessionStateMachine(script: Fixture.script)
        let now = ContinuousClock.now
        machine.connected(sessionID: "s1", now: now)
        #expect(
            machine.next(now: now)
                == .step(
                    .send(
                        Envelope(sessionID: "s1", sequence: 1, message: .hello(machine.account.hello.withSession("s1")))
                    )))
        _ = machine.next(now: now)  // SNAPSHOT
        machine.received(
            Envelope(
                sessionID: "s1", sequence: 1, message: .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")),
            now: now)
        #expect(machine.next(now: now) == .sendRecorded(index: 0, sequence: 3))
        #expect(machine.next(now: now) == .sendRecorded(index: 1, sequence: 4))
        #expect(machine.next(now: now) == .sendRecorded(index: 2, sequence: 5))
        #expect(
            machine.next(now: now)
                == .step(.send(Envelope(sessionID: "s1", sequence: 6, message: .bye(reason: "deinit 1")))))
    }

    @Test func aTickBatchLeavesEachSymbolsLastQuoteAndTheLatestTime() {
        var account = SimulatedAccount(hello: Fixture.hello, snapshot: Fixture.snapshot)
        // One symbol: the batch's last tick stays, the time is the latest (t0+5 s, though it comes first).
        account.apply(
            .ticks([
                Tick(symbol: "EURUSD", time: Fixture.time(5_000), bid: "1.2", ask: "1.3"),
                Tick(symbol: "EURUSD", time: Fixture.time(4_000), bid: "1.4", ask: "1.5"),
            ]))
        #expect(account.quotes["EURUSD"] == Tick(symbol: "EURUSD", time: Fixture.time(4_000), bid: "1.4", ask: "1.5"))
        #expect(account.time == Fixture.time(5_000))
        // Two symbols interleaved: each keeps its own last tick.
        account.apply(
            .ticks([
                Tick(symbol: "EURUSD", time: Fixture.time(6_000), bid: "1.6", ask: "1.7"),
                Tick(symbol: "GBPUSD", time: Fixture.time(6_001), bid: "1.25", ask: "1.26"),
                Tick(symbol: "EURUSD", time: Fixture.time(6_002), bid: "1.8", ask: "1.9"),
                Tick(symbol: "GBPUSD", time: Fixture.time(6_003), bid: "1.27", ask: "1.28"),
            ]))
        #expect(account.quotes["EURUSD"]?.bid == "1.8")
        #expect(account.quotes["GBPUSD"]?.bid == "1.27")
        #expect(account.time == Fixture.time(6_003))
    }
}

extension Hello {
    fileprivate func withSession(_ id: String) -> Hello {
        var copy = self
        copy.sessionID = id
        return copy
    }
}
