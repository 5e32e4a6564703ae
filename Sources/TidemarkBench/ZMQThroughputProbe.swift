import Dispatch
import Synchronization
import ZeroMQ

/// Raw libzmq throughput on this machine, printed beside the bridge's own figure so a reader can
/// tell how much of the ceiling the agent uses.
public enum ZMQThroughputProbe {
    /// One DEALER sends `count` messages of `messageSize` bytes to one ROUTER (which receives on
    /// its own thread), over `endpoint` (TCP loopback by default, port chosen by the system).
    ///
    /// Timing starts after a warm-up round trip (so connection set-up is not counted) and ends
    /// when the ROUTER has received the last message.
    /// - Returns: messages per second.
    public static func measureRawDealerToRouter(messageSize: Int, count: Int,
                                                endpoint: String = "tcp://127.0.0.1:*") throws -> Double {
        precondition(count > 0 && messageSize >= 0)
        let context = try ZMQContext()
        defer { context.shutdown() }
        let boundEndpoint = Mutex<Result<String, ZMQError>?>(nil)
        let bound = DispatchSemaphore(value: 0)
        let finishedAt = Mutex<ContinuousClock.Instant?>(nil)

        let receiver = try ZMQSocketThread(name: "probe-router") {
            let router: ZMQSocket
            do {
                router = try ZMQSocket(context: context, type: .router)
                try router.setOption(.receiveHighWaterMark, 100_000)
                try router.bind(endpoint)
                let resolved = try router.lastEndpoint
                boundEndpoint.withLock { $0 = .success(resolved) }
                bound.signal()
            } catch let error as ZMQError {
                boundEndpoint.withLock { $0 = .failure(error) }
                bound.signal()
                return
            }
            let message = ZMQMessage()
            // Warm-up: one message in, one reply out, so the sender knows the path is up.
            try router.receive(into: message)
            let peer = message.bytes
            try router.receive(into: message)
            try router.send(peer, more: true)
            try router.send([UInt8]())
            for _ in 0..<count {
                try router.receive(into: message) // routing id
                try router.receive(into: message) // payload
            }
            let end = ContinuousClock.now
            finishedAt.withLock { $0 = end }
        }
        bound.wait()
        let target = try boundEndpoint.withLock { $0 }!.get()

        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.setOption(.sendHighWaterMark, 100_000)
        try dealer.connect(target)
        try dealer.send([UInt8]())
        _ = try dealer.receive()
        let payload = [UInt8](repeating: 0x5A, count: messageSize)
        let start = ContinuousClock.now
        try payload.withUnsafeBytes { bytes in
            for _ in 0..<count { try dealer.send(bytes) }
        }
        try receiver.join()
        guard let end = finishedAt.withLock({ $0 }) else { throw ZMQError.terminated }
        let seconds = (end - start) / .seconds(1)
        return seconds > 0 ? Double(count) / seconds : .infinity
    }
}
