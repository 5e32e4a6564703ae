import Bridge
import Dispatch
import RiskCore
import Synchronization
import TidemarkProtocol

/// The writer's input: bridge deliveries, handed over by the socket thread, and requests from the
/// API. Read by the writer's own thread.
///
/// Deliveries are bounded: when the writer falls behind, ``deliver(_:)`` blocks the socket
/// thread, which stops reading the EAs' sockets (backpressure all the way to the terminals).
/// Requests are never refused for space. Deliveries are held back until ``openDeliveries()``, so
/// the declarations of a rules file precede every input.
final class Inbox: BridgeDeliverySink {
    /// What the API asks of the writer.
    enum Request: Sendable {
        /// Risk-core declarations, applied in order; the continuation gets what was refused of each.
        case declarations([RiskCommand], CheckedContinuation<[(any Error)?]?, Never>)
        case registration(AccountID, Platform, CheckedContinuation<Void, any Error>)

        /// Answers the request with `error` (the writer stopped before taking it).
        func fail(with error: any Error) {
            switch self {
            case .declarations(_, let continuation): continuation.resume(returning: nil)
            case .registration(_, _, let continuation): continuation.resume(throwing: error)
            }
        }
    }

    /// One take: requests first (all of them), then deliveries.
    struct Input {
        var requests: [Request] = []
        var deliveries: [BridgeDelivery] = []
        var isEmpty: Bool { requests.isEmpty && deliveries.isEmpty }
    }

    private struct State: Sendable {
        var deliveries: [BridgeDelivery] = []
        var head = 0
        var requests: [Request] = []
        var deliveriesOpen = false
        var finished = false
        /// Set by ``wakeWriter()``: the next take returns even with nothing to take.
        var wakeRequested = false
        var writerWaiting = false
        var producerWaiting = false
        var queuedDeliveries: Int { deliveries.count - head }
    }

    private enum DeliverStep { case queued(wakeWriter: Bool), wait, finished }
    private enum TakeStep { case input(Input), wait, finished }

    private let capacity: Int
    private let state = Mutex(State())
    // The writer and the socket thread sleep on semaphores, which remember a signal sent before
    // the wait: a wake-up cannot be lost between unlocking the state and waiting.
    private let writerWakeUp = DispatchSemaphore(value: 0)
    private let producerWakeUp = DispatchSemaphore(value: 0)

    /// - Parameter capacity: deliveries queued before ``deliver(_:)`` blocks.
    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Deliveries held in storage, taken ones not yet reclaimed included (for tests).
    var storedDeliveryCount: Int { state.withLock { $0.deliveries.count } }

    /// Queues bridge deliveries (on the socket thread); blocks while the inbox is over capacity.
    func deliver(_ batch: [BridgeDelivery]) -> Bool {
        guard !batch.isEmpty else { return true }
        while true {
            let step: DeliverStep = state.withLock { state in
                if state.finished { return .finished }
                if state.queuedDeliveries >= capacity {
                    state.producerWaiting = true
                    return .wait
                }
                if state.queuedDeliveries == 0 {
                    // Reuse the emptied storage, or adopt the batch itself (no copy).
                    if state.deliveries.capacity >= batch.count {
                        state.deliveries.removeAll(keepingCapacity: true)
                        state.deliveries.append(contentsOf: batch)
                    } else {
                        state.deliveries = batch
                    }
                    state.head = 0
                } else {
                    state.deliveries.append(contentsOf: batch)
                }
                return .queued(wakeWriter: state.deliveriesOpen && Self.takeWaitingWriter(&state))
            }
            switch step {
            case .finished: return false
            case .wait: producerWakeUp.wait()
            case .queued(let wake):
                if wake { writerWakeUp.signal() }
                return true
            }
        }
    }

    /// Adds a request; false when the inbox is finished.
    func submit(_ request: Request) -> Bool {
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            if state.finished { return (false, false) }
            state.requests.append(request)
            return (true, Self.takeWaitingWriter(&state))
        }
        if wake { writerWakeUp.signal() }
        return accepted
    }

    /// Lets the writer take deliveries (after the prelude's declarations).
    func openDeliveries() {
        let wake = state.withLock { state in
            state.deliveriesOpen = true
            return Self.takeWaitingWriter(&state)
        }
        if wake { writerWakeUp.signal() }
    }

    /// Makes the writer's current or next ``take(maximum:until:)`` return, empty if need be.
    func wakeWriter() {
        let wake = state.withLock { state in
            state.wakeRequested = true
            return Self.takeWaitingWriter(&state)
        }
        if wake { writerWakeUp.signal() }
    }

    /// No more input: ``take(maximum:until:)`` returns nil once drained; a blocked
    /// ``deliver(_:)`` returns false, and later submissions fail.
    func finish() {
        let (wakeWriter, wakeProducer) = state.withLock { state in
            state.finished = true
            defer { state.producerWaiting = false }
            return (Self.takeWaitingWriter(&state), state.producerWaiting)
        }
        if wakeWriter { writerWakeUp.signal() }
        if wakeProducer { producerWakeUp.signal() }
    }

    /// Every request and up to `maximum` deliveries, waiting for something until `deadline` (then
    /// empty; nil: as long as it takes). Nil once finished and drained. One writer thread only.
    func take(maximum: Int, until deadline: ContinuousClock.Instant?) -> Input? {
        while true {
            var wakeProducer = false
            let step: TakeStep = state.withLock { state in
                var input = Input()
                swap(&input.requests, &state.requests)
                if state.deliveriesOpen, state.queuedDeliveries > 0, maximum > 0 {
                    input.deliveries = Self.takeDeliveries(maximum: maximum, from: &state)
                    if state.producerWaiting, state.queuedDeliveries < capacity {
                        state.producerWaiting = false
                        wakeProducer = true
                    }
                }
                if !input.isEmpty || state.wakeRequested {
                    state.wakeRequested = false
                    return .input(input)
                }
                if state.finished { return .finished }
                if let deadline, ContinuousClock.now >= deadline { return .input(input) }
                state.writerWaiting = true
                return .wait
            }
            if wakeProducer { producerWakeUp.signal() }
            switch step {
            case .input(let input): return input
            case .finished: return nil
            case .wait: waitForWakeUp(until: deadline)
            }
        }
    }

    private func waitForWakeUp(until deadline: ContinuousClock.Instant?) {
        guard let deadline else { return writerWakeUp.wait() }
        let remaining = max(.zero, deadline - ContinuousClock.now)
        let (seconds, attoseconds) = remaining.components
        let nanoseconds = Int(clamping: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        guard writerWakeUp.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .timedOut else { return }
        // Timed out. If a producer cleared the flag meanwhile, its signal is on the way: take it,
        // so the count stays balanced.
        let signalled = state.withLock { state in
            defer { state.writerWaiting = false }
            return !state.writerWaiting
        }
        if signalled { writerWakeUp.wait() }
    }

    /// Whether the writer waits (then the caller signals it, once).
    private static func takeWaitingWriter(_ state: inout State) -> Bool {
        defer { state.writerWaiting = false }
        return state.writerWaiting
    }

    private static func takeDeliveries(maximum: Int, from state: inout State) -> [BridgeDelivery] {
        if state.head == 0, state.deliveries.count <= maximum {
            // All of it: hand over the storage itself.
            var taken: [BridgeDelivery] = []
            swap(&taken, &state.deliveries)
            return taken
        }
        let count = min(maximum, state.queuedDeliveries)
        let taken = Array(state.deliveries[state.head..<(state.head + count)])
        state.head += count
        // Reclaim the consumed prefix: at once when everything is taken, else once it is large
        // (under sustained load the queue never empties, and must not grow without bound).
        if state.head == state.deliveries.count {
            state.deliveries.removeAll(keepingCapacity: true)
            state.head = 0
        } else if state.head >= 16_384, state.head >= state.queuedDeliveries {
            state.deliveries.removeFirst(state.head)
            state.head = 0
        }
        return taken
    }
}
