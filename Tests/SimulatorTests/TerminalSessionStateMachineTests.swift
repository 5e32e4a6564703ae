import Testing
import TidemarkProtocol

@testable import Simulator

/// The session logic without sockets: instants are made up, so nothing here waits.
@Suite struct TerminalSessionStateMachineTests {
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    /// Collects frames until the machine has nothing more to send.
    func drain(
        _ machine: inout TerminalSessionStateMachine, at instant: ContinuousClock.Instant
    ) -> [Envelope<TerminalMessage>] {
        var frames: [Envelope<TerminalMessage>] = []
        while case .send(let envelope) = machine.nextStep(now: instant) { frames.append(envelope) }
        return frames
    }

    func agent(
        _ machine: TerminalSessionStateMachine, _ sequence: UInt64, _ message: AgentMessage
    ) -> Envelope<AgentMessage> {
        Envelope(sessionID: machine.sessionID, sequence: sequence, message: message)
    }

    @Test func helloSnapshotWelcomeStreamByeAck() {
        var machine = TerminalSessionStateMachine(script: Fixture.script)
        machine.connected(sessionID: "s1", now: at(0))
        let handshake = drain(&machine, at: at(0))
        #expect(handshake.map(\.sequence) == [1, 2])
        guard case .hello(let hello) = handshake[0].message, case .snapshot(let snapshot) = handshake[1].message else {
            Issue.record("expected HELLO then SNAPSHOT")
            return
        }
        #expect(hello.sessionID == "s1" && handshake.allSatisfy { $0.sessionID == "s1" })
        #expect(snapshot == Fixture.snapshot)
        // Nothing is streamed before WELCOME.
        #expect(drain(&machine, at: at(1)).isEmpty)

        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 2000, agentVersion: "t")), now: at(2))
        let stream = drain(&machine, at: at(2))
        #expect(stream.map(\.sequence) == [3, 4, 5, 6])
        #expect(stream.prefix(3).map(\.message) == Fixture.stream)
        #expect(stream[3].message == .bye(reason: "deinit 1"))
        #expect(!machine.isFinished)

        machine.received(agent(machine, 2, .acknowledge(sequence: 5)), now: at(3))
        #expect(!machine.isFinished)  // BYE (6) not yet acknowledged
        machine.received(agent(machine, 3, .acknowledge(sequence: 6)), now: at(4))
        #expect(machine.outcome == .completed)
        #expect(machine.statistics.recordedMessagesSent == 3)
    }

    @Test func rejectEndsTheRunWithTheReason() {
        var machine = TerminalSessionStateMachine(script: Fixture.script)
        machine.connected(sessionID: "s1", now: at(0))
        _ = drain(&machine, at: at(0))
        machine.received(
            agent(machine, 1, .reject(.nettingAccount, message: "netting accounts are not tracked")), now: at(1))
        #expect(
            machine.nextStep(now: at(1))
                == .finished(.rejected(.nettingAccount, message: "netting accounts are not tracked")))
    }

    @Test func resyncGetsOneFreshSnapshotFromTheStateSoFar() {
        var machine = TerminalSessionStateMachine(script: Fixture.script)
        machine.connected(sessionID: "s1", now: at(0))
        _ = drain(&machine, at: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(1))
        #expect(
            machine.nextStep(now: at(1)) == .send(Envelope(sessionID: "s1", sequence: 3, message: Fixture.stream[0])))
        #expect(
            machine.nextStep(now: at(1)) == .send(Envelope(sessionID: "s1", sequence: 4, message: Fixture.stream[1])))

        // Two RESYNCs before the snapshot is out share one snapshot.
        machine.received(agent(machine, 2, .resync(lastSequence: 3, reason: "gap")), now: at(2))
        machine.received(agent(machine, 3, .resync(lastSequence: 3, reason: "gap")), now: at(2))
        let frames = drain(&machine, at: at(2))
        #expect(frames.map(\.sequence) == [5, 6, 7])  // snapshot continues the numbering, then the rest
        guard case .snapshot(let snapshot) = frames[0].message else {
            Issue.record("expected SNAPSHOT first")
            return
        }
        // The state after the two streamed batches: last quote 1.10200/1.10220 at t0+2s, same positions.
        #expect(snapshot.quotes == [Tick(symbol: "EURUSD", time: Fixture.time(2_000), bid: "1.10200", ask: "1.10220")])
        #expect(snapshot.account.time == Fixture.time(2_000))
        #expect(snapshot.positions == [Fixture.buy, Fixture.sell])
        #expect(snapshot.account.balance == 10_000)
        #expect(frames[1].message == Fixture.stream[2])
        #expect(frames[2].message == .bye(reason: "deinit 1"))
        #expect(machine.statistics.resyncSnapshotsSent == 1)
    }

    @Test func resyncAfterByeRepeatsTheBye() {
        var machine = TerminalSessionStateMachine(script: Fixture.script)
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(0))
        #expect(drain(&machine, at: at(0)).count == 6)  // hello, snapshot, 3 batches, bye (6)
        machine.received(agent(machine, 2, .resync(lastSequence: 4, reason: "gap")), now: at(1))
        let frames = drain(&machine, at: at(1))
        #expect(frames.map(\.sequence) == [7, 8])
        #expect(frames[1].message == .bye(reason: "deinit 1"))
        machine.received(agent(machine, 3, .acknowledge(sequence: 6)), now: at(2))
        #expect(!machine.isFinished)  // the first BYE was ignored by the agent
        machine.received(agent(machine, 4, .acknowledge(sequence: 8)), now: at(2))
        #expect(machine.outcome == .completed)
    }

    @Test func droppedAndDuplicatedSequences() {
        let faults = SimulatorFaults(dropSequences: [4], duplicateSequences: [3])
        var machine = TerminalSessionStateMachine(script: Fixture.script, faults: faults)
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(0))
        let frames = drain(&machine, at: at(0))
        #expect(frames.map(\.sequence) == [1, 2, 3, 3, 5, 6])
        #expect(machine.statistics.framesDropped == 1 && machine.statistics.framesDuplicated == 1)
    }

    @Test func reconnectResumesFromTheLastAcknowledgedMessage() {
        var machine = TerminalSessionStateMachine(
            script: Fixture.script, faults: SimulatorFaults(disconnectAfterMessages: 2))
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(0))
        #expect(drain(&machine, at: at(0)).map(\.sequence) == [1, 2, 3, 4])
        // The agent acknowledged the first batch (#3) only; the second (#4) may be lost with it.
        machine.received(agent(machine, 2, .acknowledge(sequence: 3)), now: at(0))
        guard case .reconnect = machine.nextStep(now: at(1)) else {
            Issue.record("expected a reconnect")
            return
        }

        machine.connected(sessionID: "s2", now: at(2))
        let handshake = drain(&machine, at: at(2))
        guard case .snapshot(let snapshot) = handshake.last?.message else {
            Issue.record("expected a SNAPSHOT")
            return
        }
        #expect(snapshot.quotes.first?.bid == "1.10100")  // the first batch's quote: the acknowledged state
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(3))
        let rest = drain(&machine, at: at(3))
        #expect(rest.map(\.message) == [Fixture.stream[1], Fixture.stream[2], .bye(reason: "deinit 1")])
        #expect(machine.statistics.messagesResent == 1)
    }

    @Test func restartedAgentsRejectStartsANewSession() {
        var machine = TerminalSessionStateMachine(script: Fixture.script)
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(0))
        _ = drain(&machine, at: at(0))
        machine.received(agent(machine, 1, .reject(.expectedHello, message: "first message was TICKS")), now: at(1))
        guard case .reconnect = machine.nextStep(now: at(1)) else {
            Issue.record("expected a reconnect")
            return
        }
        #expect(!machine.isFinished)
    }

    @Test func disconnectAfterNMessagesStartsANewSessionFromTheStateSoFar() {
        var machine = TerminalSessionStateMachine(
            script: Fixture.script, pacing: SimulatorPacing(resumesFromAcknowledged: false),
            faults: SimulatorFaults(disconnectAfterMessages: 2))
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(0))
        #expect(drain(&machine, at: at(0)).map(\.sequence) == [1, 2, 3, 4])
        guard case .reconnect = machine.nextStep(now: at(1)) else {
            Issue.record("expected a reconnect")
            return
        }

        machine.connected(sessionID: "s2", now: at(2))
        let handshake = drain(&machine, at: at(2))
        #expect(handshake.map(\.sequence) == [1, 2])
        #expect(handshake.allSatisfy { $0.sessionID == "s2" })
        guard case .hello(let hello) = handshake[0].message, case .snapshot(let snapshot) = handshake[1].message else {
            Issue.record("expected HELLO then SNAPSHOT")
            return
        }
        #expect(hello.sessionID == "s2")
        #expect(snapshot.quotes.first?.bid == "1.10200")  // two batches were applied before the drop
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(3))
        let rest = drain(&machine, at: at(3))
        #expect(rest.map(\.message) == [Fixture.stream[2], .bye(reason: "deinit 1")])
        #expect(machine.statistics.sessionsStarted == 2)
    }

    @Test func closeAllClosesAtTheLastQuoteAndAcknowledgesOnce() {
        var machine = TerminalSessionStateMachine(script: Fixture.script)
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(0))
        // Hello, snapshot and all three batches (last quote 1.10250 / 1.10270), but not yet the BYE.
        for _ in 0..<5 { _ = machine.nextStep(now: at(0)) }
        let command = Command(id: 77, kind: .closeAllPositions, reason: "daily loss breached")
        machine.received(agent(machine, 2, .command(command)), now: at(1))
        // The five frames the command causes (the BYE would come next).
        let frames = (0..<5).compactMap { _ -> TerminalMessage? in
            if case .send(let envelope) = machine.nextStep(now: at(1)) { envelope.message } else { nil }
        }
        #expect(frames.count == 5)
        guard case .deal(let buyClose) = frames[0], case .deal(let sellClose) = frames[2],
            case .commandAcknowledgement(let ack) = frames[4]
        else {
            Issue.record("expected deal, close, deal, close, ack: \(frames)")
            return
        }
        // Buy 1 lot from 1.10000, closed at bid 1.10250: 0.00250 × 100,000 × 1 = 250.00 USD.
        #expect(
            buyClose.price == "1.10250" && buyClose.profit == 250 && buyClose.type == .sell && buyClose.entry == .out)
        #expect(buyClose.positionID == 501)
        // Sell 0.5 lot from 1.10500, closed at ask 1.10270: 0.00230 × 100,000 × 0.5 = 115.00 USD; its swap −1.25 goes with it.
        #expect(
            sellClose.price == "1.10270" && sellClose.profit == 115 && sellClose.swap == "-1.25"
                && sellClose.type == .buy)
        #expect(
            frames[1] == .position(PositionUpdate(change: .closed, time: Fixture.time(3_000), position: Fixture.buy)))
        #expect(ack.commandID == 77 && ack.succeeded)
        // Balance 10,000 + 250 + 115 − 1.25 = 10,363.75; no positions left.
        #expect(machine.account.account.balance == "10363.75")
        #expect(machine.account.positions.isEmpty)

        // The same command again: answered the same way, nothing closed twice; then the BYE.
        machine.received(agent(machine, 3, .command(command)), now: at(2))
        #expect(drain(&machine, at: at(2)).map(\.message) == [.commandAcknowledgement(ack), .bye(reason: "deinit 1")])
    }

    @Test func commandsAfterByeAreIgnored() {
        var machine = TerminalSessionStateMachine(script: Fixture.script)
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(0))
        #expect(drain(&machine, at: at(0)).last?.message == .bye(reason: "deinit 1"))
        machine.received(
            agent(machine, 2, .command(Command(id: 5, kind: .closeAllPositions, reason: "late"))), now: at(1))
        #expect(drain(&machine, at: at(1)).isEmpty)
        #expect(machine.account.positions.count == 2)
        #expect(machine.statistics.commandsIgnoredAfterBye == 1)
        machine.received(agent(machine, 3, .acknowledge(sequence: 6)), now: at(2))
        #expect(machine.outcome == .completed)
    }

    @Test func recordedMessagesForPositionsClosedByCommandAreSkipped() {
        let recordedClose = TerminalMessage.position(
            PositionUpdate(change: .closed, time: Fixture.time(5_000), position: Fixture.buy))
        let recordedDeal = TerminalMessage.deal(
            Deal(
                ticket: 9, time: Fixture.time(5_000), type: .sell, entry: .out,
                symbol: "EURUSD", volume: 1, price: "1.103", profit: 300, positionID: 501))
        var script = Fixture.script
        script.stream = [Fixture.stream[0], recordedClose, recordedDeal]
        var machine = TerminalSessionStateMachine(script: script)
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(0))
        _ = machine.nextStep(now: at(0))
        _ = machine.nextStep(now: at(0))
        _ = machine.nextStep(now: at(0))
        machine.received(agent(machine, 2, .command(Command(id: 1, kind: .closeAllPositions, reason: "r"))), now: at(1))
        let frames = drain(&machine, at: at(1)).map(\.message)
        #expect(!frames.contains(recordedClose) && !frames.contains(recordedDeal))
        #expect(machine.statistics.recordedMessagesSkipped == 2)
    }

    @Test func heartbeatWhenIdleAndTimeouts() {
        var machine = TerminalSessionStateMachine(
            script: TerminalScript(hello: Fixture.hello, initialSnapshot: Fixture.snapshot, stream: []),
            pacing: SimulatorPacing(stallTimeout: .seconds(60)))
        machine.connected(sessionID: "s1", now: at(0))
        _ = drain(&machine, at: at(0))
        // No WELCOME within 10 s: start over with a new session.
        guard case .reconnect = machine.nextStep(now: at(10_000)) else {
            Issue.record("expected reconnect")
            return
        }
        machine.connected(sessionID: "s2", now: at(10_000))
        _ = drain(&machine, at: at(10_000))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 1000, agentVersion: "t")), now: at(10_001))
        let bye = drain(&machine, at: at(10_001))
        #expect(bye.map(\.message) == [.bye(reason: "simulation finished")])
        // Idle for one interval: a heartbeat carrying the account's time.
        #expect(
            machine.nextStep(now: at(11_002))
                == .send(Envelope(sessionID: "s2", sequence: 4, message: .heartbeat(Fixture.t0))))
        // The agent silent for three intervals: reconnect.
        guard case .reconnect = machine.nextStep(now: at(13_001)) else {
            Issue.record("expected reconnect")
            return
        }
        // Nothing at all from the agent for the stall timeout: give up.
        machine.connected(sessionID: "s3", now: at(13_002))
        guard case .finished(.timedOut) = machine.nextStep(now: at(70_002)) else {
            Issue.record("expected a time-out")
            return
        }
    }

    @Test func pacedStreamWaitsForEachMessagesTime() {
        var machine = TerminalSessionStateMachine(script: Fixture.script, pacing: SimulatorPacing(speed: 2))
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            agent(machine, 1, .welcome(heartbeatIntervalMilliseconds: 5000, agentVersion: "t")), now: at(0))
        #expect(drain(&machine, at: at(0)).count == 3)  // hello, snapshot, first batch (the origin)
        // The next batch is 1 s later in broker time: at speed 2 it is due 500 ms later.
        #expect(machine.nextStep(now: at(100)) == .wait(until: at(500)))
        #expect(
            machine.nextStep(now: at(500)) == .send(Envelope(sessionID: "s1", sequence: 4, message: Fixture.stream[1])))
    }

    @Test func framesForAnotherSessionAreIgnored() {
        var machine = TerminalSessionStateMachine(script: Fixture.script)
        machine.connected(sessionID: "s1", now: at(0))
        machine.received(
            Envelope(sessionID: "old", sequence: 1, message: .reject(.protocolViolation, message: "x")), now: at(1))
        #expect(!machine.isFinished)
        #expect(machine.statistics.foreignFramesIgnored == 1)
    }
}

@Suite struct TerminalScriptTests {
    @Test func splitsARecordingByAccount() throws {
        var other = Fixture.hello
        other.login = 999
        let lines: [(account: AccountID, message: TerminalMessage)] = [
            (Fixture.hello.accountID, .hello(Fixture.hello)),
            (other.accountID, .hello(other)),
            (Fixture.hello.accountID, .snapshot(Fixture.snapshot)),
            (Fixture.hello.accountID, Fixture.stream[0]),
            (other.accountID, Fixture.stream[1]),
            (
                Fixture.hello.accountID,
                .commandAcknowledgement(
                    CommandAcknowledgement(commandID: 1, time: Fixture.t0, succeeded: true, detail: ""))
            ),
            (Fixture.hello.accountID, .bye(reason: "deinit 3")),
        ]
        let scripts = try TerminalScript.scripts(from: lines)
        #expect(scripts.map(\.account) == [Fixture.hello.accountID, other.accountID])
        #expect(scripts[0].initialSnapshot == Fixture.snapshot)
        #expect(scripts[0].stream == [Fixture.stream[0]])
        #expect(scripts[0].byeReason == "deinit 3")
        // No snapshot: an empty account at the time of the first message.
        #expect(
            scripts[1].initialSnapshot.positions.isEmpty
                && scripts[1].initialSnapshot.account.time == Fixture.time(2_000))
        #expect(scripts[1].stream == [Fixture.stream[1]])
    }

    @Test func aMessageBeforeItsHelloIsAnError() {
        #expect(throws: SimulatorError.noHello(account: Fixture.hello.accountID)) {
            _ = try TerminalScript.scripts(from: [(account: Fixture.hello.accountID, message: Fixture.stream[0])])
        }
        #expect(throws: SimulatorError.emptyRecording) {
            _ = try TerminalScript.scripts(from: [(account: AccountID, message: TerminalMessage)]())
        }
    }
}

@Suite struct SimulatedAccountTests {
    @Test func dealsMoveBalanceAndCreditExactly() {
        var account = SimulatedAccount(hello: Fixture.hello, snapshot: Fixture.snapshot)
        account.apply(
            .deal(
                Deal(
                    ticket: 1, time: Fixture.time(1), type: .sell, entry: .out, symbol: "EURUSD",
                    volume: 1, price: "1.1025", profit: 250, commission: "-3.5", swap: "-1.25",
                    fee: "-0.1", positionID: 501)))
        // 10,000 + 250 − 3.5 − 1.25 − 0.1 = 10,245.15
        #expect(account.account.balance == "10245.15")
        account.apply(.deal(Deal(ticket: 2, time: Fixture.time(2), type: .credit, entry: .in, profit: 500)))
        #expect(account.account.credit == 500 && account.account.balance == "10245.15")
        account.apply(.position(PositionUpdate(change: .closed, time: Fixture.time(3), position: Fixture.buy)))
        #expect(account.positions.keys.sorted() == [502])
        #expect(account.time == Fixture.time(3))
    }

    @Test func closeAllConvertsThroughACrossQuote() {
        // A USD account holding EURGBP: profit in GBP, converted with GBPUSD's bid.
        let eurgbp = SymbolSpec(
            name: "EURGBP", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001",
            tickValue: 1, profitCurrency: "GBP", marginCurrency: "EUR", baseCurrency: "EUR")
        let gbpusd = SymbolSpec(
            name: "GBPUSD.r", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001",
            tickValue: 1, profitCurrency: "USD", marginCurrency: "GBP", baseCurrency: "GBP")
        let position = Position(
            ticket: 7, symbol: "EURGBP", side: .buy, volume: "0.1", openPrice: "0.85000", openTime: Fixture.t0)
        let snapshot = Snapshot(
            account: AccountReport(time: Fixture.t0, balance: 1000, credit: 0, equity: 1000, margin: 0),
            symbols: [eurgbp, gbpusd], positions: [position],
            quotes: [
                Tick(symbol: "EURGBP", time: Fixture.t0, bid: "0.85500", ask: "0.85510"),
                Tick(symbol: "GBPUSD.r", time: Fixture.t0, bid: "1.25000", ask: "1.25010"),
            ])
        var account = SimulatedAccount(hello: Fixture.hello, snapshot: snapshot)
        let messages = account.closeAllPositions(firstDealTicket: 100)
        guard case .deal(let deal) = messages.first else {
            Issue.record("expected a deal")
            return
        }
        // (0.85500 − 0.85000) × 100,000 × 0.1 = 50 GBP; × 1.25000 = 62.50 USD.
        #expect(deal.profit == "62.5")
        #expect(deal.ticket == 100)
        #expect(account.account.balance == "1062.5")
    }
}
