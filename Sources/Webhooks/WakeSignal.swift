import Synchronization

/// Wakes one sleeping loop (the webhook deliverer's, the dashboard feed's): ``signal()`` from anywhere, ``wait(atMost:)`` from the loop. Signals
/// while the loop is busy coalesce into one pending wake-up (the loop then looks at everything that is
/// due, so one wake-up stands for any number of signals). ``stop()`` ends every present and future wait.
public final class WakeSignal: Sendable {
    private struct State {
        var isPending = false
        var isStopped = false
        /// Set by the waiting task's cancellation handler, which may run before the waiter is stored.
        var isWaitCancelled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// A signal with nothing pending.
    public init() {}

    /// Whether ``stop()`` was called.
    public var isStopped: Bool { state.withLock { $0.isStopped } }

    /// Wakes the waiting loop, or makes its next wait return at once.
    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.isPending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Ends the present wait and every later one at once.
    public func stop() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.isStopped = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns on a signal (or one pending since the last wait), on ``stop()``, when `timeout` has
    /// passed (nil: no timeout), or when the task is cancelled. One waiter at a time.
    public func wait(atMost timeout: Duration?) async {
        guard let timeout else {
            await waitForSignal()
            return
        }
        guard timeout > .zero else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        state.withLock { $0.isWaitCancelled = false }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isPending || state.isStopped || state.isWaitCancelled {
                        state.isPending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.isWaitCancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
