import Synchronization
import Testing
import TestSupport
@testable import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// Every test uses its own context, so tests can run in parallel.
@Suite struct ZeroMQSocketTests {
    @Test func maximumMessageSizeIsA64BitOption() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        #expect(try router.option(.maximumMessageSize) == -1)   // libzmq's default: no limit
        try router.setOption(.maximumMessageSize, 1 << 33)       // 8 GiB: does not fit an Int32
        #expect(try router.option(.maximumMessageSize) == 8_589_934_592)
        try router.setOption(.maximumMessageSize, 1_048_576)
        #expect(try router.option(.maximumMessageSize) == 1_048_576)
    }

    @Test func routerDealerRoundTripOverTCPWithIdentities() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(!endpoint.hasSuffix(":*") && !endpoint.hasSuffix(":0"))

        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.setOption(.routingID, "terminal-7")
        #expect(try dealer.option(.routingID) == Array("terminal-7".utf8))
        try dealer.connect(endpoint)
        try dealer.send("hello")

        let request = try router.receiveParts()
        #expect(request == [Array("terminal-7".utf8), Array("hello".utf8)])
        try router.send(parts: [request[0], Array("welcome".utf8)])
        #expect(try dealer.receive() == Array("welcome".utf8))
    }

    @Test func multipartMessagesArriveWholeOverInproc() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.bind("inproc://multipart")
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect("inproc://multipart")
        try push.send(parts: [[1], [], [2, 3], Array(repeating: 9, count: 5000)])

        let message = ZMQMessage()
        try pull.receive(into: message)
        #expect(message.bytes == [1] && message.hasMoreParts)
        try pull.receive(into: message)
        #expect(message.count == 0 && message.hasMoreParts)
        var reused: [UInt8] = []
        reused.reserveCapacity(8192)
        #expect(try pull.receive(into: &reused) == true)
        #expect(reused == [2, 3])
        #expect(try pull.receive(into: &reused) == false)
        #expect(reused == Array(repeating: 9, count: 5000))
    }

    @Test func pollReportsNothingThenInput() throws {
        let context = try ZMQContext()
        let a = try ZMQSocket(context: context, type: .pair)
        try a.bind("inproc://poll")
        let b = try ZMQSocket(context: context, type: .pair)
        try b.connect("inproc://poll")

        let poller = ZMQPoller()
        let index = poller.add(a, events: .input)
        #expect(try poller.poll(timeoutMilliseconds: 0) == 0)
        #expect(!poller.isReady(index))
        #expect(try a.hasPendingInput == false)

        try b.send("ping")
        #expect(try poller.poll(timeoutMilliseconds: 5_000) == 1)
        #expect(poller.isReady(index, for: .input))
        #expect(try a.hasPendingInput)
        #expect(try a.tryReceive() == Array("ping".utf8))
    }

    @Test func receiveTimeoutThrowsWouldBlock() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.bind("inproc://timeout")
        try pull.setOption(.receiveTimeout, 20)
        #expect(try pull.option(.receiveTimeout) == 20)
        #expect(throws: ZMQError.wouldBlock) { _ = try pull.receive() }
    }

    @Test func nonBlockingCallsReturnNilOrFalseOnEAGAIN() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.bind("inproc://eagain")
        #expect(try pull.tryReceive() == nil)
        #expect(try pull.tryReceiveParts() == nil)
        #expect(try pull.tryReceive(into: ZMQMessage()) == false)

        // A PUSH with no peer cannot queue anything: a non-blocking send is refused.
        let lonelyPush = try ZMQSocket(context: context, type: .push)
        #expect(try lonelyPush.trySend([1, 2, 3]) == false)
        #expect(try lonelyPush.trySend(parts: [[1], [2]]) == false)
    }

    @Test func linger() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        // Zero from the start, so closing a socket with unsent messages never blocks the context.
        #expect(try socket.option(.linger) == 0)
    }

    @Test func badEndpointsGiveErrnoAndLibzmqText() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        do {
            try socket.connect("bogus://nowhere")
            Issue.record("connect to an unknown transport succeeded")
        } catch let error as ZMQError {
            #expect(error == .protocolNotSupported)
            #expect(error.errno == EPROTONOSUPPORT)
            #expect(error.reason == "Protocol not supported")
            #expect(error.description.contains("zmq_connect(bogus://nowhere)"))
            #expect(error.code == "protocol_not_supported")
        }
        #expect(throws: ZMQError.invalidArgument) { try socket.bind("tcp://no-port-here") }
    }

    @Test func addressInUse() throws {
        let context = try ZMQContext()
        let first = try ZMQSocket(context: context, type: .router)
        try first.bind("tcp://127.0.0.1:*")
        let second = try ZMQSocket(context: context, type: .router)
        #expect(throws: ZMQError.addressInUse) { try second.bind(first.lastEndpoint) }
    }

    @Test func routerMandatoryRefusesUnknownPeers() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.setOption(.routerMandatory, true)
        try router.bind("inproc://mandatory")
        #expect(throws: ZMQError.hostUnreachable) {
            try router.send(parts: [Array("nobody".utf8), Array("hi".utf8)])
        }
    }

    @Test func unbindAndDisconnect() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.connect(endpoint)
        try dealer.disconnect(endpoint)
        #expect(throws: ZMQError.self) { try dealer.disconnect(endpoint) }
        try router.unbind(endpoint)
        // libzmq closes the listener asynchronously, so the proof is that it is no longer bound.
        #expect(throws: ZMQError.self) { try router.unbind(endpoint) }
    }

    @Test func shutdownUnblocksABlockedReceive() async throws {
        let context = try ZMQContext()
        let reachedReceive = Atomic<Bool>(false)
        let loop = try ZMQSocketThread(name: "blocked") {
            let pull = try ZMQSocket(context: context, type: .pull)
            try pull.bind("inproc://blocked")
            reachedReceive.store(true, ordering: .releasing)
            _ = try pull.receive() // blocks until shutdown: nothing is ever sent
            Issue.record("receive returned without a message")
        }
        try await eventually("the loop reached its receive", deadline: .seconds(10)) { reachedReceive.load(ordering: .acquiring) }
        // A window in which the receive must stay blocked (nothing is sent): not a wait for an outcome.
        try await Task.sleep(for: .milliseconds(20))
        #expect(!loop.isFinished)
        context.shutdown()
        try await loop.value // ETERM counts as a clean stop
        #expect(loop.isFinished)
        #expect(context.isShutDown)
    }

    @Test func threadErrorsOtherThanTerminationAreRethrown() throws {
        let context = try ZMQContext()
        let loop = try ZMQSocketThread(name: "failing") {
            let socket = try ZMQSocket(context: context, type: .dealer)
            try socket.connect("bogus://x")
        }
        #expect(throws: ZMQError.protocolNotSupported) { try loop.join() }
    }
}
