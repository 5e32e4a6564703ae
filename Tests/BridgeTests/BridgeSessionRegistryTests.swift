import Bridge
import Testing
import TidemarkProtocol

@Suite("Session registry")
struct BridgeSessionRegistryTests {
    let alice = PeerIdentity([0, 0, 0, 0, 1])
    let bob = PeerIdentity([0, 0, 0, 0, 2])
    let mallory = PeerIdentity([0, 0, 0, 0, 3])

    /// Opens a hedging session for `login` on `peer` (HELLO #1 + SNAPSHOT #2).
    func open(
        _ registry: inout BridgeSessionRegistry, peer: PeerIdentity, session: String, login: Int64, at time: Int64 = 0
    ) {
        _ = registry.received(
            Fixture.envelope(.hello(Fixture.hello(session: session, login: login)), 1, session: session),
            from: peer, now: Fixture.at(time))
        _ = registry.received(
            Fixture.envelope(.snapshot(Fixture.snapshot), 2, session: session), from: peer, now: Fixture.at(time))
    }

    @Test func deliversWithTheAccountAndCounts() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        open(&registry, peer: alice, session: "a1", login: 1)
        let batch = TerminalMessage.ticks([
            Tick(symbol: "EURUSD", time: BrokerTime(milliseconds: 1), bid: "1.1", ask: "1.2"),
            Tick(symbol: "EURUSD", time: BrokerTime(milliseconds: 2), bid: "1.1", ask: "1.2"),
        ])
        let output = registry.received(Fixture.envelope(batch, 3, session: "a1"), from: alice, now: Fixture.at(1))
        #expect(
            output.delivery
                == BridgeDelivery(account: AccountID("Demo:1"), sessionID: "a1", sequence: 3, message: batch))
        // 3rd message: ACK due (every 3) to alice.
        #expect(
            output.outgoing == [
                BridgeOutgoing(
                    peer: alice,
                    envelope: Envelope(
                        sessionID: "a1", sequence: 2,
                        message: .acknowledge(sequence: 3)))
            ])
        #expect(registry.counters.frames == 3)
        #expect(registry.counters.messages == 3)
        #expect(registry.counters.ticks == 2)
        #expect(registry.counters.sessionsOpened == 1)
        #expect(registry.liveSessionCount == 1)
    }

    @Test func garbageFromOnePeerLeavesAnotherPeersSessionServing() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        open(&registry, peer: alice, session: "a1", login: 1)
        var sequence: UInt64 = 3
        for round in 0..<20 {
            // Frames without a readable header from a peer without a session: dropped unanswered.
            let garbage = registry.received(
                BridgeFrameFault(code: round.isMultiple(of: 2) ? "truncated" : "not_utf8"),
                from: mallory, now: Fixture.at(Int64(round)))
            #expect(garbage.delivery == nil && garbage.outgoing.isEmpty)
            let tick = Fixture.envelope(Fixture.tick(Int64(round)), sequence, session: "a1")
            #expect(registry.received(tick, from: alice, now: Fixture.at(Int64(round))).delivery?.sequence == sequence)
            sequence += 1
        }
        #expect(registry.phase(of: mallory) == nil)
        #expect(registry.counters.badFrames == ["truncated": 10, "not_utf8": 10])
        // A readable header with a bad body as first frame: REJECT expected_hello, then silence.
        let headed = registry.received(
            BridgeFrameFault(code: "bad_field", sessionID: "m"), from: mallory, now: Fixture.at(30))
        #expect(headed.outgoing.count == 1)
        #expect(
            registry.received(BridgeFrameFault(code: "bad_field", sessionID: "m"), from: mallory, now: Fixture.at(31))
                .outgoing.isEmpty)
        #expect(registry.counters.rejects == [.expectedHello: 1])
        #expect(registry.counters.staleFrames == 1)
        #expect(registry.phase(of: alice) == .streaming)
        #expect(registry.counters.resyncs == 0)
    }

    @Test func anotherVersionAfterARejectOnTheSameConnectionIsAnsweredToo() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        _ = registry.received(BridgeFrameFault(code: "bad_field", sessionID: "x"), from: mallory, now: Fixture.at(0))
        let tm2 = registry.received(
            BridgeFrameFault(kind: .unsupportedVersion, code: "unsupported_version", sessionID: "g2"),
            from: mallory, now: Fixture.at(1))
        guard case .reject(.unsupportedVersion, _)? = tm2.outgoing.first?.envelope.message else {
            Issue.record("expected REJECT unsupported_version, got \(tm2.outgoing)")
            return
        }
        #expect(tm2.outgoing.first?.envelope.sessionID == "g2")
        #expect(registry.counters.rejects == [.expectedHello: 1, .unsupportedVersion: 1])
    }

    @Test func nettingRejectIsCountedEachTimeAndLoggedOncePerAccount() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        let netting = Fixture.envelope(.hello(Fixture.hello(login: 7, marginMode: .retailNetting)), 1)
        let first = registry.received(netting, from: alice, now: Fixture.at(0))
        let second = registry.received(netting, from: bob, now: Fixture.at(1))
        #expect(first.delivery == nil && second.delivery == nil)
        guard case .reject(.nettingAccount, _) = first.outgoing.first?.envelope.message,
            case .reject(.nettingAccount, _) = second.outgoing.first?.envelope.message
        else {
            Issue.record("both connections are told why")
            return
        }
        #expect(registry.counters.rejects == [.nettingAccount: 2])
        #expect(first.log.contains { if case .rejected(.nettingAccount, _, _) = $0.event { true } else { false } })
        #expect(second.log.isEmpty)
        // Nothing of theirs goes further.
        let snapshot = registry.received(
            Fixture.envelope(.snapshot(Fixture.snapshot), 2), from: alice, now: Fixture.at(2))
        #expect(snapshot.delivery == nil && snapshot.outgoing.isEmpty)
        #expect(registry.counters.messages == 0)
    }

    /// `tidemark_sessions` is opened − closed: a refused handshake must count as neither.
    @Test func aRefusedHandshakeCountsAsNoSessionOpenedOrClosed() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        for (index, hello) in [
            Fixture.hello(login: 7, marginMode: .retailNetting), Fixture.hello(login: 8, server: "Demo\u{0}Live"),
        ].enumerated() {
            let reply = registry.received(
                Fixture.envelope(.hello(hello), 1), from: index == 0 ? alice : bob, now: Fixture.at(Int64(index)))
            #expect(reply.delivery == nil)
            guard case .reject? = reply.outgoing.first?.envelope.message else {
                Issue.record("the EA is told why")
                return
            }
        }
        #expect(registry.counters.sessionsOpened == 0)
        #expect(registry.counters.sessionsClosed == 0)
        open(&registry, peer: mallory, session: "s3", login: 9)
        #expect(registry.counters.sessionsOpened - registry.counters.sessionsClosed == 1)
    }

    @Test func reconnectOnAnotherConnectionSupersedesTheOldSession() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        open(&registry, peer: alice, session: "old", login: 1)
        let hello = registry.received(
            Fixture.envelope(.hello(Fixture.hello(session: "new", login: 1)), 1, session: "new"),
            from: bob, now: Fixture.at(10))
        #expect(hello.delivery?.sessionID == "new")
        #expect(hello.log.contains { $0.peer == alice && $0.event == .closed(.superseded) })
        #expect(registry.phase(of: alice) == .closed)
        #expect(registry.peer(of: AccountID("Demo:1")) == bob)
        // The old connection's late frames go nowhere.
        let late = registry.received(
            Fixture.envelope(Fixture.tick(1), 3, session: "old"), from: alice, now: Fixture.at(11))
        #expect(late.delivery == nil)
        #expect(registry.counters.closes == ["superseded": 1])
    }

    @Test func newHelloOnTheSameConnectionStartsANewSession() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        open(&registry, peer: alice, session: "s1", login: 1)
        let hello = registry.received(
            Fixture.envelope(.hello(Fixture.hello(session: "s2", login: 1)), 1, session: "s2"),
            from: alice, now: Fixture.at(10))
        #expect(hello.delivery?.sessionID == "s2")
        #expect(
            hello.outgoing.map(\.envelope.message) == [
                .welcome(heartbeatIntervalMilliseconds: 1_000, agentVersion: "test")
            ])
        #expect(registry.phase(of: alice) == .awaitingSnapshot)
        #expect(registry.peer(of: AccountID("Demo:1")) == alice)
        #expect(registry.counters.sessionsOpened == 2)
        #expect(registry.counters.sessionsClosed == 1)
    }

    @Test func manyTerminalsKeepTheirOwnSequences() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        let peers = (0..<50).map { PeerIdentity([1, UInt8($0)]) }
        for (index, peer) in peers.enumerated() {
            open(&registry, peer: peer, session: "s\(index)", login: Int64(index + 1))
        }
        var delivered = 0
        for sequence in UInt64(3)..<UInt64(103) {
            for (index, peer) in peers.enumerated() {
                let output = registry.received(
                    Fixture.envelope(Fixture.tick(Int64(sequence)), sequence, session: "s\(index)"),
                    from: peer, now: Fixture.at(Int64(sequence)))
                if output.delivery?.account == AccountID("Demo:\(index + 1)") { delivered += 1 }
            }
        }
        #expect(delivered == 50 * 100)
        #expect(registry.counters.resyncs == 0)
        #expect(registry.liveSessionCount == 50)
    }

    /// libzmq's own routing ids: a zero byte, then a 32-bit counter, big-endian.
    private func libzmqPeer(_ number: Int) -> PeerIdentity {
        PeerIdentity([
            0, UInt8(number >> 24 & 0xFF), UInt8(number >> 16 & 0xFF), UInt8(number >> 8 & 0xFF), UInt8(number & 0xFF),
        ])
    }

    @Test func framesFindTheirSessionAfterPeersComeAndGo() {
        // 300 peers (the routing-id table grows several times), half of them then time out and are
        // forgotten (slots swap-removed): every remaining peer's frame must still reach its own
        // session (the delivery carries that session's account), and a forgotten peer starts anew.
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        let peers = (0..<300).map { libzmqPeer(0x0001_0000 + $0 * 7) }
        for (index, peer) in peers.enumerated() {
            open(&registry, peer: peer, session: "s\(index)", login: Int64(index + 1))
        }
        for (index, peer) in peers.enumerated() where index.isMultiple(of: 2) {
            _ = registry.received(
                Fixture.envelope(Fixture.tick(2_000), 3, session: "s\(index)"), from: peer, now: Fixture.at(2_000))
        }
        _ = registry.tick(now: Fixture.at(3_000))  // odd peers silent 3,000 ms: timed out
        _ = registry.tick(now: Fixture.at(3_001))  // and, silent a timeout, forgotten
        #expect(registry.liveSessionCount == 150)
        var delivered = 0
        for (index, peer) in peers.enumerated() {
            let output = registry.received(
                Fixture.envelope(Fixture.tick(3_100), 4, session: "s\(index)"), from: peer,
                now: Fixture.at(3_100))
            if index.isMultiple(of: 2) {
                if output.delivery?.account == AccountID("Demo:\(index + 1)"), output.delivery?.sequence == 4 {
                    delivered += 1
                }
            } else {
                // A new connection as far as the registry knows: a tick is not a HELLO.
                #expect(output.delivery == nil)
                #expect(
                    output.outgoing.first?.envelope.message
                        == .reject(.expectedHello, message: "first message was TICKS"))
            }
        }
        #expect(delivered == 150)
        #expect(registry.counters.resyncs == 0)
    }

    @Test func peerIdentitiesCompareByTheirBytes() {
        #expect(PeerIdentity([0, 0, 0, 0, 1]) == PeerIdentity([0, 0, 0, 0, 1]))
        #expect(PeerIdentity([0, 0, 0, 0, 1]) != PeerIdentity([0, 0, 0, 1, 0]))
        // Same bytes but one longer: zeros at the end must not make them equal.
        #expect(PeerIdentity([1, 2]) != PeerIdentity([1, 2, 0]))
        #expect(PeerIdentity([1, 2]).routingKey != PeerIdentity([1, 2, 0]).routingKey)
        // Ids of 8 bytes or more (chosen by the peer) and the empty id have no routing key.
        #expect(PeerIdentity(Array(repeating: 7, count: 8)).routingKey == 0)
        #expect(PeerIdentity([]).routingKey == 0)
        #expect(PeerIdentity(Array(repeating: 7, count: 8)) == PeerIdentity(Array(repeating: 7, count: 8)))
        #expect(PeerIdentity(Array(repeating: 7, count: 8)) != PeerIdentity(Array(repeating: 7, count: 9)))
        var changed = PeerIdentity([1])
        changed.bytes = [2]
        #expect(changed == PeerIdentity([2]))
        #expect(
            Set([PeerIdentity([1]), PeerIdentity([1]), changed, PeerIdentity(Array(repeating: 1, count: 10))]).count
                == 3)
    }

    @Test func tickTimesOutSilentPeersAndForgetsTombstones() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        open(&registry, peer: alice, session: "a", login: 1, at: 0)
        open(&registry, peer: bob, session: "b", login: 2, at: 2_000)
        let output = registry.tick(now: Fixture.at(3_000))  // alice silent 3,000 ms: timed out; bob 1,000 ms
        #expect(output.log.contains { $0.peer == alice && $0.event == .closed(.timedOut) })
        // Bob's HELLO and SNAPSHOT (t=2,000) are acknowledged by the timer.
        #expect(output.outgoing.contains { $0.peer == bob && $0.envelope.message == .acknowledge(sequence: 2) })
        #expect(registry.phase(of: alice) == .closed)
        #expect(registry.phase(of: bob) == .streaming)
        #expect(registry.peer(of: AccountID("Demo:1")) == nil)
        // The tombstone lives while its peer keeps talking, and is forgotten once the peer has been
        // silent for a timeout (alice already has been).
        _ = registry.tick(now: Fixture.at(3_001))
        #expect(registry.phase(of: alice) == nil)
        let netting = Fixture.envelope(.hello(Fixture.hello(login: 9, marginMode: .retailNetting)), 1, session: "m")
        _ = registry.received(netting, from: mallory, now: Fixture.at(3_100))
        _ = registry.received(Fixture.envelope(Fixture.tick(1), 2, session: "m"), from: mallory, now: Fixture.at(6_000))
        _ = registry.tick(now: Fixture.at(8_999))
        #expect(registry.phase(of: mallory) == .closed)
        _ = registry.tick(now: Fixture.at(9_000))
        #expect(registry.phase(of: mallory) == nil)
    }

    @Test func shutDownClosesEverySession() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        open(&registry, peer: alice, session: "a", login: 1)
        open(&registry, peer: bob, session: "b", login: 2)
        let output = registry.shutDown()
        #expect(output.log.filter { $0.event == .closed(.shutdown) }.count == 2)
        #expect(registry.liveSessionCount == 0)
    }
}
