import Dispatch
import Synchronization
import TidemarkProtocol

/// Where the bridge's socket thread hands accepted messages: a bounded queue whose ``deliver(_:)``
/// blocks while it is full, so the socket loop stops reading and backpressure reaches the EAs.
///
/// ``BridgeHandoff`` is the default (an async sequence for one consumer). The agent's writer passes
/// its own inbox, which its own thread reads: a tick then goes from the socket thread straight to
/// the writer, with no task in between to wake.
public protocol BridgeDeliverySink: Sendable {
    /// Queues `batch`; called on the socket thread, may block while the queue is full. Returns
    /// `false` once ``finish()`` was called (the socket loop then stops).
    func deliver(_ batch: [BridgeDelivery]) -> Bool
    /// No more batches: the consumer drains what is queued; a blocked ``deliver(_:)`` returns `false`.
    func finish()
}

extension BridgeHandoff: BridgeDeliverySink where Element == BridgeDelivery {
    public func deliver(_ batch: [BridgeDelivery]) -> Bool { push(batch) }
}

/// A bounded queue from the bridge's socket thread (an OS thread that may block) to one async
/// consumer, with backpressure on purpose.
///
/// When `capacity` messages are waiting, ``push(_:)`` blocks the socket thread. The thread then
/// stops reading its ROUTER socket, ZeroMQ's receive high-water mark fills, TCP flow control pushes
/// back, and the EAs' own send queues fill: nothing accepted (and so nothing acknowledged) is ever
/// dropped here. (`AsyncStream.bufferingNewest` drops silently when the consumer is slower: 10–64 % of
/// 100,000 messages in a test on these machines; `.unbounded` grows without limit.)
///
/// Messages travel in batches (one lock round per batch, not per message) and are read one by one
/// through ``BridgeDeliveries``.
public final class BridgeHandoff<Element: Sendable>: Sendable {
    private struct State: Sendable {
        var batches: [[Element]] = []
        var headIndex = 0
        var queued = 0
        var finished = false
        var consumer: CheckedContinuation<[Element]?, Never>?
        var producerWaiting = false
    }

    private enum PushStep { case delivered(CheckedContinuation<[Element]?, Never>?), wait, finished }
    private enum ParkOutcome { case batch([Element], wakeProducer: Bool), finished, parked }

    /// How many messages may wait before the producer blocks.
    public let capacity: Int
    private let state = Mutex(State())
    // Wakes a producer blocked on a full queue. A semaphore remembers a signal sent before the wait,
    // so the wake-up cannot be lost between unlocking the state and waiting.
    private let producerWakeUp = DispatchSemaphore(value: 0)

    /// - Parameter capacity: messages queued before ``push(_:)`` blocks (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Queues `batch`, blocking the calling thread while the queue is full. Call from a dedicated
    /// thread, never from async code. Returns `false` (and drops nothing that was acknowledged:
    /// the caller stops) once ``finish()`` was called.
    @discardableResult
    public func push(_ batch: [Element]) -> Bool {
        guard !batch.isEmpty else { return true }
        while true {
            let step: PushStep = state.withLock { state in
                if state.finished { return .finished }
                if state.queued >= capacity, state.consumer == nil {
                    state.producerWaiting = true
                    return .wait
                }
                if let consumer = state.consumer {
                    state.consumer = nil
                    return .delivered(consumer)
                }
                state.batches.append(batch)
                state.queued += batch.count
                return .delivered(nil)
            }
            switch step {
            case .finished:
                return false
            case .wait:
                producerWakeUp.wait()
            case .delivered(let consumer):
                consumer?.resume(returning: batch)
                return true
            }
        }
    }

    /// Ends the stream: the consumer gets what is queued, then `nil`; a blocked producer returns `false`.
    public func finish() {
        let (consumer, wake) = state.withLock { state -> (CheckedContinuation<[Element]?, Never>?, Bool) in
            state.finished = true
            defer {
                state.consumer = nil
                state.producerWaiting = false
            }
            return (state.queued == 0 ? state.consumer : nil, state.producerWaiting)
        }
        consumer?.resume(returning: nil)
        if wake { producerWakeUp.signal() }
    }

    /// Messages waiting.
    public var queuedCount: Int { state.withLock { $0.queued } }

    /// The next batch, or `nil` when finished and drained. One consumer at a time.
    func nextBatch(isolation actor: isolated (any Actor)? = #isolation) async -> [Element]? {
        if let ready = takeQueued() { return ready }
        return await withCheckedContinuation(isolation: actor) { continuation in
            let outcome: ParkOutcome = state.withLock { state in
                // Something may have arrived since takeQueued().
                if let batch = Self.dequeue(&state) {
                    let wake = state.producerWaiting && state.queued < capacity
                    if wake { state.producerWaiting = false }
                    return .batch(batch, wakeProducer: wake)
                }
                if state.finished { return .finished }
                precondition(state.consumer == nil, "BridgeHandoff supports one consumer")
                state.consumer = continuation
                return .parked
            }
            switch outcome {
            case .batch(let batch, let wake):
                if wake { producerWakeUp.signal() }
                continuation.resume(returning: batch)
            case .finished:
                continuation.resume(returning: nil)
            case .parked:
                break
            }
        }
    }

    private func takeQueued() -> [Element]? {
        let (batch, wake) = state.withLock { state -> ([Element]?, Bool) in
            guard let batch = Self.dequeue(&state) else { return (nil, false) }
            let wake = state.producerWaiting && state.queued < capacity
            if wake { state.producerWaiting = false }
            return (batch, wake)
        }
        if wake { producerWakeUp.signal() }
        return batch
    }

    private static func dequeue(_ state: inout State) -> [Element]? {
        guard state.headIndex < state.batches.count else { return nil }
        let batch = state.batches[state.headIndex]
        state.headIndex += 1
        state.queued -= batch.count
        if state.headIndex == state.batches.count {
            state.batches.removeAll(keepingCapacity: true)
            state.headIndex = 0
        }
        return batch
    }

    /// The messages as an async sequence (one consumer).
    public var elements: BridgeDeliveries<Element> { BridgeDeliveries(handoff: self) }

    /// The messages in the batches they were handed over in (one consumer; use either this or
    /// ``elements``). Cheaper per message for consumers that loop over each batch synchronously.
    public var batches: BridgeDeliveryBatches<Element> { BridgeDeliveryBatches(handoff: self) }
}

/// The batches of a ``BridgeHandoff``, in order.
public struct BridgeDeliveryBatches<Element: Sendable>: AsyncSequence, Sendable {
    let handoff: BridgeHandoff<Element>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let handoff: BridgeHandoff<Element>

        public mutating func next() async -> [Element]? {
            await next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> [Element]? {
            await handoff.nextBatch(isolation: actor)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handoff: handoff) }
}

/// The messages of a ``BridgeHandoff``, one at a time, in order.
public struct BridgeDeliveries<Element: Sendable>: AsyncSequence, Sendable {
    let handoff: BridgeHandoff<Element>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let handoff: BridgeHandoff<Element>
        var batch: [Element] = []
        var index = 0

        public mutating func next() async -> Element? {
            await next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> Element? {
            if index < batch.count {
                defer { index += 1 }
                return batch[index]
            }
            guard let next = await handoff.nextBatch(isolation: actor) else { return nil }
            batch = next
            index = 1
            return next[0]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handoff: handoff) }
}
