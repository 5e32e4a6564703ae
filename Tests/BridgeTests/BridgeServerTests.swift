import Bridge
import Logging
import Testing
import TidemarkProtocol
import ZeroMQ

@Suite("Bridge server over TCP loopback")
struct BridgeServerTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func aSlowConsumerLosesNothingAndStallsNoSession() async throws {
        // A tiny handoff, so the socket loop blocks often and ZeroMQ has to hold the rest.
        let server = try BridgeServer(configuration: BridgeServerConfiguration(
            endpoint: "tcp://127.0.0.1:*", handoffCapacity: 8, handoffBatchSize: 4), logger: Self.quiet)
        let endpoint = try server.start()
        let total: UInt64 = 3_000
        let context = try ZMQContext()
        let terminal = try ZMQSocketThread(name: "test-ea") {
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.connect(endpoint)
            try dealer.send(WireEncoder.encode(Envelope(sessionID: "s", sequence: 1, message: TerminalMessage.hello(Fixture.hello(session: "s")))))
            try dealer.send(WireEncoder.encode(Envelope(sessionID: "s", sequence: 2, message: TerminalMessage.snapshot(Fixture.snapshot))))
            for sequence in 3...total {
                try dealer.send(WireEncoder.encode(Envelope(sessionID: "s", sequence: sequence, message: Fixture.tick(Int64(sequence)))))
            }
            _ = try dealer.receive()   // blocks until the context shuts down
        }
        var sequences: [UInt64] = []
        for await delivery in server.deliveries {
            sequences.append(delivery.sequence)
            if sequences.count.isMultiple(of: 500) { try await Task.sleep(for: .milliseconds(20)) }
            if sequences.count == Int(total) { break }
        }
        #expect(sequences == Array(1...total))
        server.stop()
        try await server.waitUntilStopped()
        context.shutdown()
        try await terminal.value
        let counters = server.counters
        #expect(counters.messages == Int(total))
        #expect(counters.resyncs == 0)
        #expect(counters.closes["timed_out"] == nil)
    }

    @Test func bindsAFreePortAndStopsCleanly() async throws {
        let server = try BridgeServer(configuration: BridgeServerConfiguration(endpoint: "tcp://127.0.0.1:*"), logger: Self.quiet)
        let endpoint = try server.start()
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(endpoint != "tcp://127.0.0.1:*")
        server.stop()
        try await server.waitUntilStopped()
        var count = 0
        for await _ in server.deliveries { count += 1 }
        #expect(count == 0)
    }
}
