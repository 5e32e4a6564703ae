import Bridge
import Testing
import TidemarkProtocol

/// CURVE keys bound to accounts, and the limits on sessions and new accounts, in the registry
/// (no sockets: the key or address comes in as the frame's origin).
@Suite("Bridge admission")
struct BridgeAdmissionTests {
    let alice = PeerIdentity([0, 0, 0, 0, 1])
    let bob = PeerIdentity([0, 0, 0, 0, 2])
    let bobAgain = PeerIdentity([0, 0, 0, 0, 3])
    let keyA = "A".padding(toLength: 40, withPad: "a", startingAt: 0)
    let keyB = "B".padding(toLength: 40, withPad: "b", startingAt: 0)
    let accountX = AccountID("Demo:1")

    func hello(
        _ peer: PeerIdentity, origin: String?, session: String, login: Int64, at time: Int64 = 0,
        in registry: inout BridgeSessionRegistry
    ) -> BridgeSessionRegistry.Output {
        registry.received(
            Fixture.envelope(.hello(Fixture.hello(session: session, login: login)), 1, session: session),
            from: peer, origin: origin, now: Fixture.at(time))
    }

    func snapshot(_ peer: PeerIdentity, session: String, at time: Int64 = 0, in registry: inout BridgeSessionRegistry) {
        _ = registry.received(
            Fixture.envelope(.snapshot(Fixture.snapshot), 2, session: session), from: peer, now: Fixture.at(time))
    }

    static func rejection(_ output: BridgeSessionRegistry.Output) -> RejectReason? {
        for message in output.outgoing { if case .reject(let reason, _) = message.envelope.message { return reason } }
        return nil
    }

    static func welcomed(_ output: BridgeSessionRegistry.Output) -> Bool {
        output.outgoing.contains { if case .welcome = $0.envelope.message { true } else { false } }
    }

    @Test func decisionsFollowTheListAndTheBindings() {
        var access = CurveKeyAccess(allowList: [keyA: [accountX], keyB: []])
        #expect(access.decide(key: keyA, account: accountX) == .allowed)
        #expect(access.decide(key: keyA, account: AccountID("Demo:2")) == .refused("this key may not speak for Demo:2"))
        #expect(access.decide(key: keyB, account: accountX) == .refused("Demo:1 is bound to another key"))
        #expect(access.decide(key: keyB, account: AccountID("Demo:2")) == .bind)
        #expect(access.decide(key: "unknown", account: AccountID("Demo:2")) == .refused("key is not on the allow-list"))
        access.bind(keyB, to: AccountID("Demo:2"))
        #expect(access.decide(key: keyB, account: AccountID("Demo:2")) == .allowed)
        #expect(
            access.decide(key: keyB, account: AccountID("Demo:3"))
                == .refused("this key is bound to Demo:2, not Demo:3"))
        #expect(access.owner(of: AccountID("Demo:2")) == keyB)
        // Dropping B from the list reports it; its binding stays for when it comes back.
        #expect(access.replaceAllowList([keyA: [accountX]]) == [keyB])
        #expect(access.decide(key: keyB, account: AccountID("Demo:2")) == .refused("key is not on the allow-list"))
        #expect(access.bindings[keyB] == AccountID("Demo:2"))
    }

    @Test func aKeyCannotSpeakForAnotherKeysAccountAndTheRealSessionIsUntouched() {
        var registry = BridgeSessionRegistry(
            configuration: Fixture.configuration,
            access: CurveKeyAccess(allowList: [keyA: [accountX], keyB: []]))
        #expect(Self.welcomed(hello(alice, origin: keyA, session: "a1", login: 1, in: &registry)))
        snapshot(alice, session: "a1", in: &registry)

        let intrusion = hello(bob, origin: keyB, session: "b1", login: 1, at: 10, in: &registry)
        #expect(Self.rejection(intrusion) == .notAllowed)
        #expect(intrusion.outgoing.allSatisfy { $0.peer == bob }, "nothing goes to the real terminal")
        #expect(intrusion.delivery == nil && intrusion.sessionEnds.isEmpty, "nothing reaches the account")
        #expect(intrusion.bindings.isEmpty, "a refused key is not bound")
        #expect(registry.peer(of: accountX) == alice)
        #expect(registry.phase(of: alice) == .streaming)
        #expect(registry.counters.rejects[.notAllowed] == 1)
        // Commands for X still go to the real session only.
        let (sent, output) = registry.send(
            Command(id: 1, kind: .closeAllPositions, reason: "test"), to: accountX, now: Fixture.at(20))
        #expect(sent && output.outgoing.map(\.peer) == [alice])

        // B's first account binds it, on another connection.
        let first = hello(bobAgain, origin: keyB, session: "b2", login: 2, at: 30, in: &registry)
        #expect(Self.welcomed(first))
        #expect(first.bindings == [CurveKeyBinding(key: keyB, account: AccountID("Demo:2"))])
        #expect(registry.access?.bindings[keyB] == AccountID("Demo:2"))
        // ... and then B may speak for nothing else.
        #expect(Self.rejection(hello(bob, origin: keyB, session: "b3", login: 3, at: 40, in: &registry)) == .notAllowed)
    }

    @Test func revokingAKeyEndsItsLiveSessionOnly() {
        var registry = BridgeSessionRegistry(
            configuration: Fixture.configuration,
            access: CurveKeyAccess(allowList: [keyA: [accountX], keyB: []]))
        _ = hello(alice, origin: keyA, session: "a1", login: 1, in: &registry)
        snapshot(alice, session: "a1", in: &registry)
        _ = hello(bob, origin: keyB, session: "b1", login: 2, in: &registry)
        snapshot(bob, session: "b1", in: &registry)
        #expect(registry.liveSessionCount == 2)

        let revoked = registry.replaceAllowList([keyA: [accountX]], now: Fixture.at(100))
        #expect(Self.rejection(revoked) == .notAllowed)
        #expect(revoked.outgoing.map(\.peer) == [bob])
        #expect(revoked.sessionEnds.map(\.sessionEnd) == [.rejected(.notAllowed)])
        #expect(registry.phase(of: alice) == .streaming)
        #expect(registry.phase(of: bob) == .closed)
        #expect(registry.liveSessionCount == 1)
        // A new HELLO of the revoked key (a connection admitted before the reload) is refused.
        #expect(
            Self.rejection(hello(bobAgain, origin: keyB, session: "b2", login: 2, at: 200, in: &registry))
                == .notAllowed)
    }

    @Test func sessionLimitsPerPeerAndInTotalAreCounted() {
        var registry = BridgeSessionRegistry(
            configuration: Fixture.configuration,
            limits: BridgeAdmissionLimits(
                sessionsPerPeer: 2, sessions: 3,
                newAccountsPerPeerPerMinute: 100, newAccountsPerMinute: 100))
        let peers = (1...5).map { PeerIdentity([0, 0, 0, 1, UInt8($0)]) }
        #expect(Self.welcomed(hello(peers[0], origin: "10.0.0.1", session: "s1", login: 1, in: &registry)))
        #expect(Self.welcomed(hello(peers[1], origin: "10.0.0.1", session: "s2", login: 2, in: &registry)))
        #expect(
            Self.rejection(hello(peers[2], origin: "10.0.0.1", session: "s3", login: 3, in: &registry)) == .limitReached
        )
        #expect(Self.welcomed(hello(peers[3], origin: "10.0.0.2", session: "s4", login: 4, in: &registry)))
        #expect(
            Self.rejection(hello(peers[4], origin: "10.0.0.3", session: "s5", login: 5, in: &registry)) == .limitReached
        )
        #expect(registry.counters.limitRefusals == [.sessionsPerPeer: 1, .sessions: 1])
        #expect(registry.liveSessionCount == 3)
        // A session that ends frees its place.
        snapshot(peers[0], session: "s1", at: 5, in: &registry)
        _ = registry.received(
            Fixture.envelope(.bye(reason: "done"), 3, session: "s1"), from: peers[0], now: Fixture.at(5))
        #expect(registry.liveSessionCount == 2)
        #expect(Self.welcomed(hello(peers[2], origin: "10.0.0.1", session: "s6", login: 3, at: 6, in: &registry)))
    }

    @Test func newAccountsPerMinuteAreLimitedAndKnownAccountsAreNot() {
        var registry = BridgeSessionRegistry(
            configuration: Fixture.configuration,
            limits: BridgeAdmissionLimits(
                sessionsPerPeer: 100, sessions: 100,
                newAccountsPerPeerPerMinute: 2, newAccountsPerMinute: 3),
            knownAccounts: [AccountID("Demo:99")])
        let peer = PeerIdentity([0, 0, 0, 2, 1])
        // One connection, a new session (and account) per HELLO: each supersedes the last.
        #expect(Self.welcomed(hello(peer, origin: "10.0.0.1", session: "s1", login: 1, in: &registry)))
        #expect(Self.welcomed(hello(peer, origin: "10.0.0.1", session: "s2", login: 2, in: &registry)))
        #expect(
            Self.rejection(hello(peer, origin: "10.0.0.1", session: "s3", login: 3, in: &registry)) == .limitReached)
        // An account the store knows is not new.
        #expect(Self.welcomed(hello(peer, origin: "10.0.0.1", session: "s4", login: 99, in: &registry)))
        #expect(Self.welcomed(hello(peer, origin: "10.0.0.2", session: "s5", login: 5, in: &registry)))
        #expect(
            Self.rejection(hello(peer, origin: "10.0.0.3", session: "s6", login: 6, in: &registry)) == .limitReached)
        #expect(registry.counters.limitRefusals == [.newAccountsPerPeer: 1, .newAccounts: 1])
        // A minute later the budget is back.
        #expect(Self.welcomed(hello(peer, origin: "10.0.0.1", session: "s7", login: 7, at: 60_000, in: &registry)))
        // An account that completed a snapshot is known from then on.
        snapshot(peer, session: "s7", at: 60_000, in: &registry)
        #expect(Self.welcomed(hello(peer, origin: "10.0.0.1", session: "s8", login: 8, at: 60_001, in: &registry)))
        #expect(
            Self.rejection(hello(peer, origin: "10.0.0.1", session: "s9", login: 9, at: 60_002, in: &registry))
                == .limitReached)
        #expect(Self.welcomed(hello(peer, origin: "10.0.0.1", session: "s10", login: 7, at: 60_003, in: &registry)))
    }
}
