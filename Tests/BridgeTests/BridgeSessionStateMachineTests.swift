import Bridge
import Testing
import TidemarkProtocol

@Suite("Session handshake")
struct HandshakeTests {
    @Test func helloIsWelcomedAndDelivered() {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        let hello = Fixture.envelope(.hello(Fixture.hello()), 1)
        let action = machine.received(hello, now: Fixture.at(0))
        #expect(action.deliver == true)
        #expect(action.sentMessages == [.welcome(heartbeatIntervalMilliseconds: 1_000, agentVersion: "test")])
        #expect(action.send.first?.sessionID == "s1")
        #expect(action.send.first?.sequence == 1)
        #expect(action.events == [.opened(Fixture.hello())])
        #expect(machine.phase == .awaitingSnapshot)
        #expect(machine.account == AccountID("Demo:1001"))
    }

    @Test func snapshotAfterHelloStartsStreaming() {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        _ = machine.received(Fixture.envelope(.hello(Fixture.hello()), 1), now: Fixture.at(0))
        let snapshot = Fixture.envelope(.snapshot(Fixture.snapshot), 2)
        let action = machine.received(snapshot, now: Fixture.at(1))
        #expect(action.deliver == true)
        #expect(action.send.isEmpty)
        #expect(machine.phase == .streaming)
    }

    @Test func anythingButHelloFirstIsRejected() {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        let action = machine.received(Fixture.envelope(Fixture.tick(5), 1), now: Fixture.at(0))
        #expect(action.deliver == false)
        guard case .reject(.expectedHello, _)? = action.sentMessages.first else {
            Issue.record("expected REJECT expected_hello, got \(action.sentMessages)")
            return
        }
        #expect(action.closeReason == .rejected(.expectedHello))
        #expect(machine.phase == .closed)
    }

    @Test(arguments: [(MarginMode.retailNetting, RejectReason.nettingAccount), (.exchange, .exchangeAccount)])
    func nonHedgingAccountsAreRejectedAndNothingOfTheirsGoesFurther(mode: MarginMode, reason: RejectReason) {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        let action = machine.received(Fixture.envelope(.hello(Fixture.hello(marginMode: mode)), 1), now: Fixture.at(0))
        #expect(action.deliver == false)
        guard case .reject(let sent, _)? = action.sentMessages.first else {
            Issue.record("expected REJECT, got \(action.sentMessages)")
            return
        }
        #expect(sent == reason)
        #expect(
            action.events.contains { event in
                if case .rejected(reason, AccountID("Demo:1001"), _) = event { true } else { false }
            })
        #expect(machine.phase == .closed)
        // The EA carries on regardless: nothing it sends is delivered or answered.
        let after = machine.received(Fixture.envelope(.snapshot(Fixture.snapshot), 2), now: Fixture.at(1))
        #expect(after.deliver == false)
        #expect(after.send.isEmpty)
        #expect(after.events == [.staleFrame(sessionID: "s1")])
    }

    @Test func unsupportedVersionFirstIsRejectedWithItsReason() {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        let action = machine.received(
            BridgeFrameFault(kind: .unsupportedVersion, code: "unsupported_version", sessionID: "x"),
            now: Fixture.at(0))
        guard case .reject(.unsupportedVersion, _)? = action.sentMessages.first else {
            Issue.record("expected REJECT unsupported_version, got \(action.sentMessages)")
            return
        }
        #expect(action.send.first?.sessionID == "x")
        #expect(action.closeReason == .rejected(.unsupportedVersion))
    }

    @Test func unsupportedVersionWithoutSessionIdIsAnsweredToDash() {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        let action = machine.received(
            BridgeFrameFault(kind: .unsupportedVersion, code: "unsupported_version"), now: Fixture.at(0))
        #expect(action.send.first?.sessionID == "-")
    }

    @Test func invalidFirstFrameWithAHeaderIsRejectedAsExpectedHello() {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        let action = machine.received(BridgeFrameFault(code: "bad_field", sessionID: "x"), now: Fixture.at(0))
        guard case .reject(.expectedHello, _)? = action.sentMessages.first else {
            Issue.record("expected REJECT expected_hello, got \(action.sentMessages)")
            return
        }
        #expect(action.send.first?.sessionID == "x")
        #expect(action.badFrameCodes == ["bad_field"])
        #expect(machine.phase == .closed)
    }

    @Test func firstFrameWithoutAHeaderIsNotAnswered() {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        let action = machine.received(BridgeFrameFault(code: "truncated"), now: Fixture.at(0))
        #expect(action.send.isEmpty)
        #expect(action.badFrameCodes == ["truncated"])
        #expect(machine.phase == .closed)
    }

    @Test func absurdHelloIsRejected() {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        let action = machine.received(Fixture.envelope(.hello(Fixture.hello(login: -5)), 1), now: Fixture.at(0))
        #expect(action.deliver == false)
        #expect(action.closeReason == .rejected(.expectedHello))
        #expect(action.badFrameCodes == ["absurd_value"])
    }

    @Test func outgoingSequenceCountsFromOne() {
        var machine = Fixture.streamingMachine()  // WELCOME was #1
        let gap = machine.received(Fixture.envelope(Fixture.tick(1), 9), now: Fixture.at(1))
        #expect(gap.send.map(\.sequence) == [2])
        let heartbeat = machine.received(
            Fixture.envelope(.heartbeat(BrokerTime(milliseconds: 2)), 10), now: Fixture.at(2))
        #expect(heartbeat.send.map(\.sequence) == [3])
    }
}

@Suite("Sequence checking and resync")
struct SequenceTests {
    @Test func inOrderTicksAreDelivered() {
        var machine = Fixture.streamingMachine()
        let tick = Fixture.envelope(Fixture.tick(10), 3)
        let action = machine.received(tick, now: Fixture.at(1))
        #expect(action.deliver == true)
        #expect(action.events.isEmpty)
    }

    @Test func duplicatesAreIgnoredAndReported() {
        var machine = Fixture.streamingMachine()
        _ = machine.received(Fixture.envelope(Fixture.tick(10), 3), now: Fixture.at(1))
        let again = machine.received(Fixture.envelope(Fixture.tick(10), 3), now: Fixture.at(2))
        #expect(again.deliver == false)
        #expect(again.send.isEmpty)
        #expect(again.events == [.duplicate(sequence: 3)])
        let old = machine.received(Fixture.envelope(.snapshot(Fixture.snapshot), 2), now: Fixture.at(3))
        #expect(old.events == [.duplicate(sequence: 2)])
        #expect(machine.phase == .streaming)
    }

    @Test func gapAsksForResyncAndDiscardsUntilSnapshot() {
        var machine = Fixture.streamingMachine()
        _ = machine.received(Fixture.envelope(Fixture.tick(10), 3), now: Fixture.at(1))
        // #4 is lost.
        let gap = machine.received(Fixture.envelope(Fixture.tick(12), 5), now: Fixture.at(2))
        #expect(gap.deliver == false)
        #expect(gap.sentMessages == [.resync(lastSequence: 3, reason: "gap")])
        #expect(gap.resyncReasons == ["gap"])
        #expect(machine.phase == .resyncing)

        let discarded = machine.received(Fixture.envelope(Fixture.tick(13), 6), now: Fixture.at(3))
        #expect(discarded.deliver == false)
        #expect(discarded.events == [.discarded(sequence: 6)])
        // A heartbeat while resyncing is acknowledged with the last contiguous sequence, not delivered.
        let heartbeat = machine.received(
            Fixture.envelope(.heartbeat(BrokerTime(milliseconds: 14)), 7), now: Fixture.at(4))
        #expect(heartbeat.deliver == false)
        #expect(heartbeat.sentMessages == [.acknowledge(sequence: 3)])

        // The snapshot is accepted whatever its number and re-bases the sequence.
        let snapshot = Fixture.envelope(.snapshot(Fixture.snapshot), 8)
        let resynced = machine.received(snapshot, now: Fixture.at(5))
        #expect(resynced.deliver == true)
        #expect(resynced.events == [.resynced(sequence: 8)])
        #expect(machine.phase == .streaming)
        let next = Fixture.envelope(Fixture.tick(15), 9)
        #expect(machine.received(next, now: Fixture.at(6)).deliver == true)
    }

    @Test func somethingOtherThanSnapshotAfterHelloAsksForSnapshot() {
        var machine = BridgeSessionStateMachine(configuration: Fixture.configuration, now: Fixture.at(0))
        _ = machine.received(Fixture.envelope(.hello(Fixture.hello()), 1), now: Fixture.at(0))
        let action = machine.received(Fixture.envelope(Fixture.tick(1), 2), now: Fixture.at(1))
        #expect(action.deliver == false)
        #expect(action.sentMessages == [.resync(lastSequence: 1, reason: "expected_snapshot")])
        #expect(machine.phase == .resyncing)
        let snapshot = Fixture.envelope(.snapshot(Fixture.snapshot), 3)
        #expect(machine.received(snapshot, now: Fixture.at(2)).deliver == true)
        #expect(machine.phase == .streaming)
    }

    @Test func snapshotWhileStreamingRebasesEvenAcrossAGap() {
        var machine = Fixture.streamingMachine()
        let snapshot = Fixture.envelope(.snapshot(Fixture.snapshot), 40)
        let action = machine.received(snapshot, now: Fixture.at(1))
        #expect(action.deliver == true)
        #expect(action.events.isEmpty)
        let next = Fixture.envelope(Fixture.tick(2), 41)
        #expect(machine.received(next, now: Fixture.at(2)).deliver == true)
    }

    @Test func resyncIsAskedAgainWhenNoSnapshotComes() {
        var machine = Fixture.streamingMachine()
        _ = machine.received(Fixture.envelope(Fixture.tick(1), 4), now: Fixture.at(100))  // gap: #3 missing
        // Keep the peer alive so it does not time out.
        _ = machine.received(Fixture.envelope(Fixture.tick(1), 5), now: Fixture.at(1_500))
        #expect(machine.tick(now: Fixture.at(2_099)).resyncReasons.isEmpty)
        let retry = machine.tick(now: Fixture.at(2_100))  // 2,000 ms after the first request
        #expect(retry.sentMessages.contains(.resync(lastSequence: 2, reason: "retry")))
        #expect(machine.tick(now: Fixture.at(2_200)).resyncReasons.isEmpty)
    }

    @Test func framesOfAnotherSessionIdAreStale() {
        var machine = Fixture.streamingMachine()
        let action = machine.received(Fixture.envelope(Fixture.tick(1), 3, session: "old"), now: Fixture.at(1))
        #expect(action.deliver == false)
        #expect(action.events == [.staleFrame(sessionID: "old")])
        #expect(machine.phase == .streaming)
    }

    @Test func aNewHelloOnTheConnectionIsANewSession() {
        let machine = Fixture.streamingMachine()
        #expect(machine.isNewSession(Fixture.envelope(.hello(Fixture.hello(session: "s2")), 1, session: "s2")))
        #expect(!machine.isNewSession(Fixture.envelope(.hello(Fixture.hello()), 1)))
        #expect(!machine.isNewSession(Fixture.envelope(Fixture.tick(1), 1, session: "s2")))
    }
}

@Suite("Acknowledgements, heartbeats and timeouts")
struct TimingTests {
    @Test func ackAfterEveryNMessages() {
        // Configuration: ACK every 3 messages. HELLO #1 and SNAPSHOT #2 are 2 unacknowledged messages.
        var machine = Fixture.streamingMachine()
        let third = machine.received(Fixture.envelope(Fixture.tick(1), 3), now: Fixture.at(1))
        #expect(third.sentMessages == [.acknowledge(sequence: 3)])
        #expect(machine.received(Fixture.envelope(Fixture.tick(2), 4), now: Fixture.at(2)).send.isEmpty)
        #expect(machine.received(Fixture.envelope(Fixture.tick(3), 5), now: Fixture.at(3)).send.isEmpty)
        #expect(
            machine.received(Fixture.envelope(Fixture.tick(4), 6), now: Fixture.at(4)).sentMessages == [
                .acknowledge(sequence: 6)
            ])
    }

    @Test func ackAfterTMilliseconds() {
        var machine = Fixture.streamingMachine()  // 2 unacknowledged since t=0
        #expect(machine.tick(now: Fixture.at(49)).send.isEmpty)
        #expect(machine.tick(now: Fixture.at(50)).sentMessages == [.acknowledge(sequence: 2)])
        // Nothing new: no second ACK.
        #expect(machine.tick(now: Fixture.at(120)).send.isEmpty)
    }

    @Test func heartbeatIsAcknowledgedAndDelivered() {
        var machine = Fixture.streamingMachine()
        let heartbeat = Fixture.envelope(.heartbeat(BrokerTime(milliseconds: 7)), 3)
        let action = machine.received(heartbeat, now: Fixture.at(1))
        #expect(action.deliver == true)
        #expect(action.sentMessages == [.acknowledge(sequence: 3)])
    }

    @Test func byeIsDeliveredAcknowledgedAndCloses() {
        var machine = Fixture.streamingMachine()
        let bye = Fixture.envelope(.bye(reason: "deinit"), 3)
        let action = machine.received(bye, now: Fixture.at(1))
        #expect(action.deliver == true)
        #expect(action.sentMessages == [.acknowledge(sequence: 3)])
        #expect(action.closeReason == .bye("deinit"))
        #expect(machine.phase == .closed)
        #expect(machine.tick(now: Fixture.at(10_000)).send.isEmpty)
    }

    @Test func byeWhileResyncingAcknowledgesOnlyWhatWasProcessed() {
        var machine = Fixture.streamingMachine()
        _ = machine.received(Fixture.envelope(Fixture.tick(1), 5), now: Fixture.at(1))  // gap after #2
        let action = machine.received(Fixture.envelope(.bye(reason: "x"), 6), now: Fixture.at(2))
        #expect(action.deliver == false)
        #expect(action.sentMessages == [.acknowledge(sequence: 2)])
        #expect(action.closeReason == .bye("x"))
    }

    @Test func heartbeatWhenIdle() {
        var machine = Fixture.streamingMachine()  // WELCOME sent at t=0
        _ = machine.tick(now: Fixture.at(50))  // the pending ACK goes at t=50
        _ = machine.received(Fixture.envelope(Fixture.tick(1), 3), now: Fixture.at(900))
        #expect(machine.tick(now: Fixture.at(949)).send.isEmpty)
        // t=950: the ACK for #3 is due (50 ms); it counts as traffic, so no heartbeat yet.
        #expect(machine.tick(now: Fixture.at(950)).sentMessages == [.acknowledge(sequence: 3)])
        #expect(machine.tick(now: Fixture.at(1_949)).send.isEmpty)
        #expect(machine.tick(now: Fixture.at(1_950)).sentMessages == [.heartbeat])
        #expect(machine.tick(now: Fixture.at(1_951)).send.isEmpty)
    }

    @Test func silentPeerTimesOutAfterThreeIntervals() {
        var machine = Fixture.streamingMachine()
        _ = machine.received(Fixture.envelope(Fixture.tick(1), 3), now: Fixture.at(1_000))
        #expect(machine.tick(now: Fixture.at(3_999)).closeReason == nil)
        let action = machine.tick(now: Fixture.at(4_000))  // 3 × 1,000 ms after the last frame
        #expect(action.closeReason == .timedOut)
        // Silence, not a REJECT: an EA that gets a REJECT waits minutes before retrying (SPEC §1).
        #expect(action.send.isEmpty)
        #expect(!action.events.contains { if case .rejected = $0 { true } else { false } })
        #expect(machine.phase == .closed)
    }

    @Test func supersedeClosesSilently() {
        var machine = Fixture.streamingMachine()
        let action = machine.supersede(now: Fixture.at(1))
        #expect(action.send.isEmpty)
        #expect(action.closeReason == .superseded)
        #expect(machine.supersede(now: Fixture.at(2)) == .none)
    }
}

@Suite("Bad input in a session")
struct BadInputTests {
    @Test func undecodableFrameIsALostFrame() {
        var machine = Fixture.streamingMachine()
        let action = machine.received(BridgeFrameFault(code: "truncated", sessionID: "s1"), now: Fixture.at(1))
        #expect(action.badFrameCodes == ["truncated"])
        #expect(action.sentMessages == [.resync(lastSequence: 2, reason: "bad_frame")])
        #expect(machine.phase == .resyncing)
        // Another while resyncing may have been the snapshot: ask again.
        let second = machine.received(BridgeFrameFault(code: "unknown_type"), now: Fixture.at(2))
        #expect(second.badFrameCodes == ["unknown_type"])
        #expect(second.sentMessages == [.resync(lastSequence: 2, reason: "bad_frame")])
    }

    @Test func tooManyBadFramesCloseTheSession() {
        // Configuration: more than 2 bad frames within 1,000 ms close the session.
        var machine = Fixture.streamingMachine()
        _ = machine.received(BridgeFrameFault(code: "truncated"), now: Fixture.at(1))
        _ = machine.received(BridgeFrameFault(code: "truncated"), now: Fixture.at(2))
        let third = machine.received(BridgeFrameFault(code: "truncated"), now: Fixture.at(3))
        #expect(third.closeReason == .tooManyBadFrames)
        guard case .reject(.protocolViolation, _)? = third.sentMessages.first else {
            Issue.record("expected REJECT protocol_violation, got \(third.sentMessages)")
            return
        }
        #expect(!third.events.contains { if case .rejected = $0 { true } else { false } })
        #expect(machine.phase == .closed)
    }

    @Test func badFramesOutsideTheWindowAreForgiven() {
        var machine = Fixture.streamingMachine()
        _ = machine.received(BridgeFrameFault(code: "truncated"), now: Fixture.at(1))
        _ = machine.received(BridgeFrameFault(code: "truncated"), now: Fixture.at(2))
        // 1,002 − 1,000 = 2: both earlier frames have left the window.
        let third = machine.received(BridgeFrameFault(code: "truncated"), now: Fixture.at(1_002))
        #expect(third.closeReason == nil)
        #expect(machine.phase == .resyncing)
        _ = machine.received(BridgeFrameFault(code: "truncated"), now: Fixture.at(1_003))
        #expect(
            machine.received(BridgeFrameFault(code: "truncated"), now: Fixture.at(1_004)).closeReason
                == .tooManyBadFrames)
    }

    @Test func anotherProtocolVersionMidSessionIsRejected() {
        var machine = Fixture.streamingMachine()
        let action = machine.received(
            BridgeFrameFault(kind: .unsupportedVersion, code: "unsupported_version"), now: Fixture.at(1))
        #expect(action.closeReason == .rejected(.unsupportedVersion))
    }

    @Test(
        arguments: [
            ("1.10100", "1.10000"),  // crossed by 0.001, under 1 % of the ask (0.011): a crossed market, not garbage
            ("1.10000", "1.10000"),  // bid = ask
        ] as [(FixedDecimal, FixedDecimal)])
    func slightlyCrossedQuotesPass(bid: FixedDecimal, ask: FixedDecimal) {
        var machine = Fixture.streamingMachine()
        let tick = Fixture.envelope(Fixture.tick(1, bid: bid, ask: ask), 3)
        #expect(machine.received(tick, now: Fixture.at(1)).deliver == true)
    }

    @Test(arguments: [
        Fixture.tick(1, bid: "5.0", ask: "1.1"),  // bid above ask by a mile (3.9 > 0.011)
        Fixture.tick(1, bid: "1.12", ask: "1.1"),  // crossed by 0.02 > 1 % of the ask (0.011)
        Fixture.tick(1, bid: "0", ask: "1.1"),  // zero price
        Fixture.tick(-1),  // negative time
        TerminalMessage.ticks([]),  // empty batch
        TerminalMessage.position(
            PositionUpdate(
                change: .opened, time: BrokerTime(milliseconds: 1),
                position: Position(
                    ticket: 1, symbol: "EURUSD", side: .buy, volume: "-0.1", openPrice: "1.1",
                    openTime: BrokerTime(milliseconds: 1)))),  // negative volume
        TerminalMessage.deal(
            Deal(
                ticket: 1, time: BrokerTime(milliseconds: 1), type: .buy, entry: .in,
                symbol: "EURUSD", volume: "-1", price: "1.1")),
    ])
    func absurdMessagesAreBadFramesAndResync(message: TerminalMessage) {
        var machine = Fixture.streamingMachine()
        let action = machine.received(Fixture.envelope(message, 3), now: Fixture.at(1))
        #expect(action.deliver == false)
        #expect(action.badFrameCodes == ["absurd_value"])
        #expect(action.sentMessages == [.resync(lastSequence: 2, reason: "bad_frame")])
        #expect(machine.phase == .resyncing)
    }

    @Test func anAbsurdSnapshotDoesNotEndTheResync() {
        var machine = Fixture.streamingMachine()
        _ = machine.received(Fixture.envelope(Fixture.tick(1), 9), now: Fixture.at(1))  // gap
        var broken = Fixture.snapshot
        broken.symbols[0].contractSize = .zero
        let action = machine.received(Fixture.envelope(.snapshot(broken), 10), now: Fixture.at(2))
        #expect(action.deliver == false)
        #expect(action.badFrameCodes == ["absurd_value"])
        #expect(machine.phase == .resyncing)
    }

    @Test func secondHelloInSequenceIsABadFrame() {
        var machine = Fixture.streamingMachine()
        let action = machine.received(Fixture.envelope(.hello(Fixture.hello()), 3), now: Fixture.at(1))
        #expect(action.deliver == false)
        #expect(action.badFrameCodes == ["unexpected_hello"])
        #expect(machine.phase == .resyncing)
    }
}
