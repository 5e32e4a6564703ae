import Bridge
import Testing
import TidemarkProtocol

/// Every session that opened ends downstream with exactly one delivery carrying ``BridgeSessionEnd``,
/// after its last message; refused handshakes and the agent's own shutdown end nothing downstream.
@Suite("Session ends handed downstream")
struct BridgeSessionEndTests {
    let alice = PeerIdentity([0, 0, 0, 0, 1])
    let bob = PeerIdentity([0, 0, 0, 0, 2])
    let account = AccountID("Demo:1")

    /// HELLO #1 + SNAPSHOT #2 for `login` on `peer`, through the hot path; returns what it delivered.
    func open(
        _ registry: inout BridgeSessionRegistry, peer: PeerIdentity, session: String, login: Int64 = 1,
        at time: Int64 = 0
    ) -> [BridgeDelivery] {
        var deliveries: [BridgeDelivery] = []
        var output = BridgeSessionRegistry.Output()
        registry.received(
            Fixture.envelope(.hello(Fixture.hello(session: session, login: login)), 1, session: session),
            from: peer, now: Fixture.at(time), deliveries: &deliveries, output: &output)
        registry.received(
            Fixture.envelope(.snapshot(Fixture.snapshot), 2, session: session),
            from: peer, now: Fixture.at(time), deliveries: &deliveries, output: &output)
        return deliveries
    }

    @Test func byeIsDeliveredThenTheSessionEnds() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        _ = open(&registry, peer: alice, session: "a1")
        let output = registry.received(
            Fixture.envelope(.bye(reason: "terminal closed"), 3, session: "a1"), from: alice,
            now: Fixture.at(10))
        // The BYE itself is the EA's message (recorded, folded); the end follows it.
        #expect(
            output.delivery
                == BridgeDelivery(
                    account: account, sessionID: "a1", sequence: 3,
                    message: .bye(reason: "terminal closed")))
        #expect(
            output.sessionEnds == [
                BridgeDelivery(
                    account: account, sessionID: "a1", sequence: 3,
                    message: .bye(reason: "terminal closed"), sessionEnd: .bye)
            ])
    }

    @Test func byeOnTheHotPathEndsAfterTheByeInTheSameBatch() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        var deliveries = open(&registry, peer: alice, session: "a1")
        var output = BridgeSessionRegistry.Output()
        registry.received(
            Fixture.envelope(.bye(reason: ""), 3, session: "a1"), from: alice, now: Fixture.at(10),
            deliveries: &deliveries, output: &output)
        #expect(deliveries.map(\.sequence) == [1, 2, 3, 3])
        #expect(deliveries.map(\.sessionEnd) == [nil, nil, nil, .bye])
        // An empty BYE reason: the end's message carries the label instead.
        #expect(deliveries.last?.message == .bye(reason: "bye"))
        #expect(output.sessionEnds.isEmpty)
    }

    @Test func aSilentPeerTimesOutWithItsLastDeliveredSequence() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        _ = open(&registry, peer: alice, session: "a1")
        _ = registry.received(Fixture.envelope(Fixture.tick(5), 3, session: "a1"), from: alice, now: Fixture.at(5))
        // Heartbeat 1 s, 3 missed: at 3,004 ms the peer has been silent for 2,999 ms, at 3,005 for 3,000.
        #expect(registry.tick(now: Fixture.at(3_004)).sessionEnds.isEmpty)
        let output = registry.tick(now: Fixture.at(3_005))
        #expect(
            output.sessionEnds == [
                BridgeDelivery(
                    account: account, sessionID: "a1", sequence: 3,
                    message: .bye(reason: "timed_out"), sessionEnd: .timedOut)
            ])
        // Once only.
        #expect(registry.tick(now: Fixture.at(4_000)).sessionEnds.isEmpty)
    }

    @Test func aReconnectOnAnotherConnectionSupersedesTheOldSession() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        _ = open(&registry, peer: alice, session: "a1")
        let deliveries = open(&registry, peer: bob, session: "a2", at: 100)
        // The new HELLO and the old session's end, then the new SNAPSHOT: the account stays connected
        // downstream because a2 opened (the store keeps it connected while any session is open).
        #expect(deliveries.map(\.sessionID) == ["a2", "a1", "a2"])
        #expect(deliveries.map(\.sessionEnd) == [nil, .superseded, nil])
        #expect(deliveries[1].sequence == 2)
    }

    @Test func aNewHelloOnTheSameConnectionEndsTheOldSessionFirst() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        _ = open(&registry, peer: alice, session: "a1")
        let deliveries = open(&registry, peer: alice, session: "a2", at: 100)
        #expect(deliveries.map(\.sessionID) == ["a1", "a2", "a2"])
        #expect(deliveries.map(\.sessionEnd) == [.superseded, nil, nil])
    }

    @Test func aMidSessionRejectEndsTheSession() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        _ = open(&registry, peer: alice, session: "a1")
        let output = registry.received(
            BridgeFrameFault(kind: .unsupportedVersion, code: "unsupported_version", sessionID: "a1"),
            from: alice, now: Fixture.at(10))
        #expect(output.sessionEnds.map(\.sessionEnd) == [.rejected(.unsupportedVersion)])
        #expect(output.sessionEnds.first?.sessionEnd?.label == "rejected_unsupported_version")
    }

    @Test func tooManyBadFramesEndTheSession() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        _ = open(&registry, peer: alice, session: "a1")
        var ends: [BridgeDelivery] = []
        // At most 2 bad frames a second: the third closes the session.
        for time in Int64(1)...3 {
            ends +=
                registry.received(
                    BridgeFrameFault(code: "bad_field", sessionID: "a1"), from: alice, now: Fixture.at(time)
                ).sessionEnds
        }
        #expect(ends.map(\.sessionEnd) == [.tooManyBadFrames])
    }

    @Test func refusedHandshakesAndShutdownEndNothingDownstream() {
        var registry = BridgeSessionRegistry(configuration: Fixture.configuration)
        let netting = registry.received(
            Fixture.envelope(.hello(Fixture.hello(login: 7, marginMode: .retailNetting)), 1),
            from: bob, now: Fixture.at(0))
        #expect(netting.sessionEnds.isEmpty && netting.delivery == nil)
        _ = open(&registry, peer: alice, session: "a1")
        let stopping = registry.shutDown()
        #expect(stopping.sessionEnds.isEmpty)
        #expect(registry.counters.closes["shutdown"] == 1)
    }
}
