import Bridge
import Foundation
import Logging
import Testing
import TidemarkProtocol
import ZeroMQ

@Suite("Bridge server over TCP loopback")
struct BridgeServerTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func aSlowConsumerLosesNothingAndStallsNoSession() async throws {
        // A tiny handoff, so the socket loop blocks often and ZeroMQ has to hold the rest.
        let server = try BridgeServer(
            configuration: BridgeServerConfiguration(
                endpoint: "tcp://127.0.0.1:*", handoffCapacity: 8, handoffBatchSize: 4), logger: Self.quiet)
        let endpoint = try server.start()
        let total: UInt64 = 3_000
        let context = try ZMQContext()
        let terminal = try ZMQSocketThread(name: "test-ea") {
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.setOption(.receiveTimeout, 500)
            try dealer.connect(endpoint)
            // Frames sent right after connect can be lost over TCP (slow joiner): like an EA, say
            // HELLO until WELCOME comes back, with a new session id each time.
            var session = ""
            for attempt in 1...20 {
                session = "s\(attempt)"
                try dealer.send(
                    WireEncoder.encode(
                        Envelope(
                            sessionID: session, sequence: 1,
                            message: TerminalMessage.hello(Fixture.hello(session: session)))))
                if let reply = try? dealer.receive(), case .welcome? = try? WireDecoder.decodeAgent(reply).message {
                    break
                }
            }
            try dealer.send(
                WireEncoder.encode(
                    Envelope(sessionID: session, sequence: 2, message: TerminalMessage.snapshot(Fixture.snapshot))))
            for sequence in 3...total {
                try dealer.send(
                    WireEncoder.encode(
                        Envelope(sessionID: session, sequence: sequence, message: Fixture.tick(Int64(sequence)))))
            }
            try dealer.setOption(.receiveTimeout, -1)
            while true { _ = try dealer.receive() }  // until the context shuts down
        }
        var sequences: [UInt64] = []
        var session = ""
        for await delivery in server.deliveries {
            if delivery.sessionID != session {
                session = delivery.sessionID
                sequences = []
            }
            sequences.append(delivery.sequence)
            // The scenario, not a wait: a consumer that stalls now and then, so the bridge queues.
            if sequences.count.isMultiple(of: 500) { try await Task.sleep(for: .milliseconds(20)) }
            if delivery.sequence == total { break }
        }
        #expect(sequences == Array(1...total))
        server.stop()
        try await server.waitUntilStopped()
        context.shutdown()
        try await terminal.value
        let counters = server.counters
        #expect(counters.messages >= Int(total))
        #expect(counters.resyncs == 0)
        #expect(counters.closes["timed_out"] == nil)
    }

    @Test func anOversizedFrameIsDroppedByLibzmqAndTheAgentKeepsServing() async throws {
        let server = try BridgeServer(
            configuration: BridgeServerConfiguration(endpoint: "tcp://127.0.0.1:*"), logger: Self.quiet)
        let endpoint = try server.start()
        let context = try ZMQContext()
        let terminal = try ZMQSocketThread(name: "test-ea") {
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.setOption(.receiveTimeout, 500)
            try dealer.connect(endpoint)
            // A well-formed HELLO the agent would welcome, but over the 1 MiB limit (SPEC §2): its
            // EA version alone is 1 MiB + 1 byte.
            var huge = Fixture.hello(session: "huge")
            huge.eaVersion = String(repeating: "x", count: (1 << 20) + 1)
            try dealer.send(
                WireEncoder.encode(Envelope(sessionID: "huge", sequence: 1, message: TerminalMessage.hello(huge))))
            // libzmq drops the connection; the DEALER reconnects and the same terminal is served.
            var welcomed = false
            for attempt in 1...40 where !welcomed {
                let session = "after-\(attempt)"
                try dealer.send(
                    WireEncoder.encode(
                        Envelope(
                            sessionID: session, sequence: 1,
                            message: TerminalMessage.hello(Fixture.hello(session: session)))))
                if let reply = try? dealer.receive(), case .welcome? = try? WireDecoder.decodeAgent(reply).message {
                    welcomed = true
                }
            }
            try dealer.setOption(.receiveTimeout, -1)
            while true { _ = try dealer.receive() }  // until the context shuts down
        }
        var first: BridgeDelivery?
        for await delivery in server.deliveries {
            first = delivery
            break
        }
        #expect(first?.sessionID.hasPrefix("after-") == true)
        server.stop()
        try await server.waitUntilStopped()
        context.shutdown()
        try await terminal.value
        let counters = server.counters
        #expect(counters.messages >= 1)
        #expect(counters.badFrames.isEmpty)  // the big frame never reached the sessions
        #expect(counters.rejects.isEmpty)
    }

    /// A thousand EAs reconnecting at once (an agent restart) fit the listen queue: with libzmq's
    /// default backlog of 100 the kernel drops the overflow's handshakes, and those terminals
    /// connect only after a TCP retransmission timeout, a second or more later.
    @Test(.timeLimit(.minutes(1)))
    func aThousandTerminalsConnectingAtOnceOverflowNoListenQueue() async throws {
        let server = try BridgeServer(
            configuration: BridgeServerConfiguration(endpoint: "tcp://127.0.0.1:*"), logger: Self.quiet)
        let endpoint = try server.start()
        let overflowsBefore = try Self.listenOverflows()
        let terminals = 1_000
        let context = try ZMQContext()
        let connecting = try ZMQSocketThread(name: "test-eas") {
            var dealers: [ZMQSocket] = []
            for index in 0..<terminals {
                let dealer = try ZMQSocket(context: context, type: .dealer)
                try dealer.connect(endpoint)
                let session = "burst-\(index)"
                try dealer.send(
                    WireEncoder.encode(
                        Envelope(
                            sessionID: session, sequence: 1,
                            message: TerminalMessage.hello(
                                Fixture.hello(session: session, login: Int64(10_000 + index))))))
                dealers.append(dealer)
            }
            while true { _ = try dealers[0].receive() }  // keeps every socket open until the context shuts down
        }
        var hellos = Set<String>()
        for await delivery in server.deliveries {
            hellos.insert(delivery.sessionID)
            if hellos.count == terminals { break }
        }
        #expect(hellos.count == terminals)
        // The kernel counts every handshake dropped for a full listen queue (per network namespace).
        #expect(try Self.listenOverflows() == overflowsBefore)
        server.stop()
        try await server.waitUntilStopped()
        context.shutdown()
        try await connecting.value
    }

    /// `TcpExt: ListenOverflows` from /proc/net/netstat.
    static func listenOverflows() throws -> Int {
        let lines = try String(contentsOfFile: "/proc/net/netstat", encoding: .utf8).split(separator: "\n")
        let names = lines.first { $0.hasPrefix("TcpExt:") }!.split(separator: " ")
        let values = lines.last { $0.hasPrefix("TcpExt:") }!.split(separator: " ")
        return Int(values[names.firstIndex(of: "ListenOverflows")!])!
    }

    @Test func bindsAFreePortAndStopsCleanly() async throws {
        let server = try BridgeServer(
            configuration: BridgeServerConfiguration(endpoint: "tcp://127.0.0.1:*"), logger: Self.quiet)
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
