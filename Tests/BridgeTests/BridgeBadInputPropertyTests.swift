import Bridge
import Testing
import TidemarkProtocol

@Suite("Bad input through decoder and sessions")
struct BridgeBadInputPropertyTests {
    /// What the socket loop does with one frame: decode, then the registry.
    private func feed(
        _ frame: [UInt8], from peer: PeerIdentity, at time: Int64,
        into registry: inout BridgeSessionRegistry
    ) -> BridgeSessionRegistry.Output {
        do {
            let envelope = try WireDecoder.decodeTerminal(frame)
            return registry.received(envelope, from: peer, now: MonotonicInstant(milliseconds: time))
        } catch {
            let fault = BridgeFrameFault(
                kind: error.isUnsupportedVersion ? .unsupportedVersion : .malformed,
                code: error.code, detail: error.message, sessionID: error.sessionID)
            return registry.received(fault, from: peer, now: MonotonicInstant(milliseconds: time))
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func mutatedFramesFromManyPeersNeverDisturbAnHonestSession(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var registry = BridgeSessionRegistry(configuration: BridgeSessionConfiguration())
        let honest = PeerIdentity([0, 0, 0, 0, 1])
        // The attackers mutate frames of another account (login 7): a HELLO that survives mutation
        // legitimately opens a session, and one for the honest account (login 1001) would legitimately
        // supersede it (SPEC §6) — which no single-byte change of "7" can produce.
        let valid: [[UInt8]] = [
            WireEncoder.encode(
                Envelope(
                    sessionID: "m", sequence: 1, message: TerminalMessage.hello(Fixture.hello(session: "m", login: 7)))),
            WireEncoder.encode(
                Envelope(sessionID: "m", sequence: 2, message: TerminalMessage.snapshot(Fixture.snapshot))),
            WireEncoder.encode(Envelope(sessionID: "m", sequence: 3, message: Fixture.tick(10))),
            WireEncoder.encode(
                Envelope(sessionID: "m", sequence: 4, message: TerminalMessage.heartbeat(BrokerTime(milliseconds: 11)))),
        ]
        var delivered: [UInt64] = []
        var honestSequence: UInt64 = 0
        let garbageFrames = 3_000
        for step in 0..<garbageFrames {
            // A mutation of a valid frame: flip, cut, insert, or pure noise; from one of 20 peers.
            var frame = valid[Int.random(in: 0..<valid.count, using: &random)]
            switch Int.random(in: 0..<4, using: &random) {
            case 0: frame[Int.random(in: 0..<frame.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1: frame.removeLast(Int.random(in: 1...frame.count, using: &random))
            case 2:
                frame.insert(
                    UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...frame.count, using: &random))
            default:
                frame = (0..<Int.random(in: 0...64, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            }
            let attacker = PeerIdentity([1, 0, 0, 0, UInt8(step % 20)])
            let garbage = feed(frame, from: attacker, at: Int64(step), into: &registry)
            #expect(garbage.outgoing.allSatisfy { $0.peer == attacker })

            // The honest terminal keeps sending in order: hello, snapshot, then ticks.
            honestSequence += 1
            let message: TerminalMessage =
                switch honestSequence {
                case 1: .hello(Fixture.hello(session: "h"))
                case 2: .snapshot(Fixture.snapshot)
                default: Fixture.tick(Int64(honestSequence))
                }
            let output = feed(
                WireEncoder.encode(Envelope(sessionID: "h", sequence: honestSequence, message: message)),
                from: honest, at: Int64(step), into: &registry)
            if let delivery = output.delivery { delivered.append(delivery.sequence) }
            #expect(output.outgoing.allSatisfy { $0.peer == honest })
        }
        #expect(delivered == Array(1...UInt64(garbageFrames)))
        #expect(registry.phase(of: honest) == .streaming)
        #expect(registry.counters.frames == 2 * garbageFrames)
        // Every garbage frame was counted somewhere: delivered (a mutation can still be valid),
        // bad, stale, duplicate, discarded — nothing vanished uncounted.
        let counted =
            registry.counters.messages - garbageFrames + registry.counters.badFrames.values.reduce(0, +)
            + registry.counters.staleFrames + registry.counters.duplicates + registry.counters.discarded
            + registry.counters.rejects.values.reduce(0, +)
        #expect(counted >= garbageFrames)
    }
}
