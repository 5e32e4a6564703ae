import Synchronization

/// Wakes long polls and event streams when the agent has committed new events.
///
/// The agent calls ``published(through:)`` after the events up to that sequence number are in the
/// store (an event is stored before it is served). Waiters remember the latest number they have
/// seen *before* they query, then wait for a larger one, so an event committed between the query
/// and the wait is never missed.
///
/// ``shutdown()`` (call it on graceful shutdown) wakes every waiter and makes new waits return at
/// once: long polls answer `[]` and streams end, so the server can drain.
public final class EventNotifier: Sendable {
    private struct State {
        var latest: UInt64 = 0
        var isShutDown = false
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: (after: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let state = Mutex(State())

    /// A notifier that has seen events up to `latestSequenceNumber` (from the store at start).
    public init(latestSequenceNumber: UInt64 = 0) {
        state.withLock { $0.latest = latestSequenceNumber }
    }

    /// The highest committed sequence number announced so far.
    public var latestSequenceNumber: UInt64 { state.withLock { $0.latest } }

    /// Whether ``shutdown()`` was called.
    public var isShutDown: Bool { state.withLock { $0.isShutDown } }

    /// How many requests are waiting (for metrics and tests).
    public var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Announces that every event up to `sequenceNumber` is committed. Cheap when nobody waits.
    public func published(through sequenceNumber: UInt64) {
        let ready: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard sequenceNumber > state.latest else { return [] }
            state.latest = sequenceNumber
            guard !state.waiters.isEmpty else { return [] }
            var ready: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters where waiter.after < sequenceNumber {
                ready.append(waiter.continuation)
                state.waiters[id] = nil
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Wakes every waiter; from now on waits return at once.
    public func shutdown() {
        let all: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.isShutDown = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in all { continuation.resume() }
    }

    /// Returns when an event after `sequenceNumber` is committed, on shutdown, or when the task is
    /// cancelled (whichever comes first).
    func wait(after sequenceNumber: UInt64) async {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isShutDown || state.latest > sequenceNumber || Task.isCancelled { return true }
                    state.waiters[id] = (sequenceNumber, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.waiters.removeValue(forKey: id)?.continuation }
            continuation?.resume()
        }
    }

    /// Waits as ``wait(after:)`` but at most `timeout`; true when woken by an event or shutdown,
    /// false on timeout.
    func wait(after sequenceNumber: UInt64, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.wait(after: sequenceNumber)
                return !Task.isCancelled
            }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return true }
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
