import EquityEngine
import Synchronization
import TidemarkProtocol

/// Fans live equity/balance observations out to `equity-stream` subscribers.
///
/// The agent calls ``publish(_:)`` for every observation; with no subscriber for that account it
/// costs one lock and one dictionary lookup. Each subscriber keeps only the *newest* observation
/// not yet written (`bufferingNewest(1)`): a live equity view wants the current figure, and a slow
/// client must neither hold memory nor slow the engine, so intermediate ticks are skipped for it
/// on purpose. (Events are never dropped: their streams read from the store, see ``EventNotifier``.)
public final class EquityBroadcaster: Sendable {
    /// What a subscriber receives.
    enum Item: Sendable {
        case observation(EquityObservation)
        /// Written by the stream's own keep-alive timer, through the same buffer.
        case keepAlive
    }

    /// One open stream: its items, and the way in for its keep-alive timer.
    struct Subscription: Sendable {
        let stream: AsyncStream<Item>
        let continuation: AsyncStream<Item>.Continuation
    }

    private struct State {
        var nextID: UInt64 = 0
        var isShutDown = false
        var subscribers: [AccountID: [UInt64: AsyncStream<Item>.Continuation]] = [:]
    }

    private let state = Mutex(State())

    /// A broadcaster with no subscribers yet.
    public init() {}

    /// Hands an observation to the account's subscribers.
    public func publish(_ observation: EquityObservation) {
        let targets = state.withLock { $0.subscribers[observation.account].map { Array($0.values) } }
        guard let targets else { return }
        for continuation in targets { continuation.yield(.observation(observation)) }
    }

    /// Ends every stream; new subscriptions end at once.
    public func shutdown() {
        let all = state.withLock { state in
            state.isShutDown = true
            defer { state.subscribers.removeAll() }
            return state.subscribers.values.flatMap(\.values)
        }
        for continuation in all { continuation.finish() }
    }

    /// How many streams are open for this account.
    public func subscriberCount(for account: AccountID) -> Int {
        state.withLock { $0.subscribers[account]?.count ?? 0 }
    }

    /// A stream of the account's observations from now on; it ends on shutdown. Ending the
    /// iteration (the client went away) unsubscribes.
    func subscribe(to account: AccountID) -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingNewest(1))
        let id: UInt64? = state.withLock { state in
            guard !state.isShutDown else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[account, default: [:]][id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return Subscription(stream: stream, continuation: continuation)
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.subscribers[account]?[id] = nil
                if state.subscribers[account]?.isEmpty == true { state.subscribers[account] = nil }
            }
        }
        return Subscription(stream: stream, continuation: continuation)
    }
}
