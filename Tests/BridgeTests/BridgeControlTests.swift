import Bridge
import Logging
import Testing
import TidemarkProtocol
import ZeroMQ

@Suite("Bridge controls over TCP loopback")
struct BridgeControlTests {
    /// An enforcement command (or an ACK) queued by downstream wakes the socket loop: it goes out at
    /// once, not at the loop's next timer tick. The timer here ticks every 250 ms (its longest), so
    /// five commands, each awaited by the EA before the next is queued, would take ~600 ms if they
    /// waited for it; woken, they take a few milliseconds each.
    @Test func commandsGoOutAtOnceNotAtTheNextTimerTick() async throws {
        let session = BridgeSessionConfiguration(
            heartbeatIntervalMilliseconds: 60_000, acknowledgeAfterMilliseconds: 10_000,
            acknowledgesOnCommit: true)
        let server = try BridgeServer(
            configuration: BridgeServerConfiguration(endpoint: "tcp://127.0.0.1:*", session: session),
            logger: BridgeServerTests.quiet)
        let endpoint = try server.start()
        let consumer = Task { for await _ in server.deliveries {} }
        let context = try ZMQContext()
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.setOption(.receiveTimeout, 5_000)
        try dealer.connect(endpoint)
        try dealer.send(
            WireEncoder.encode(Envelope(sessionID: "s1", sequence: 1, message: TerminalMessage.hello(Fixture.hello()))))
        try dealer.send(
            WireEncoder.encode(
                Envelope(sessionID: "s1", sequence: 2, message: TerminalMessage.snapshot(Fixture.snapshot))))
        // The session is open once WELCOME comes back (sent on HELLO, not on a commit).
        while true {
            if case .welcome = try WireDecoder.decodeAgent(try dealer.receive()).message { break }
        }
        func nextCommand() throws -> Command? {
            while true {
                if case .command(let command) = try WireDecoder.decodeAgent(try dealer.receive()).message {
                    return command
                }
            }
        }
        let account = AccountID(server: "Demo", login: 1001)
        let started = ContinuousClock.now
        for id in Int64(1_001)...1_005 {
            server.send(Command(id: id, kind: .closeAllPositions, reason: "test"), to: account)
            #expect(try nextCommand()?.id == id)
        }
        #expect(ContinuousClock.now - started < .milliseconds(250))
        server.stop()
        try await server.waitUntilStopped()
        consumer.cancel()
        context.shutdown()
    }
}
