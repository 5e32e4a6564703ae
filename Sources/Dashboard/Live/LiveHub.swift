import Synchronization

/// What one notification means for the pages: the changed accounts' current rows and the new
/// events, read once by the listening process and handed to every subscriber.
public struct LiveUpdate: Sendable {
    /// The change as notified.
    public var change: LiveChange
    /// The current rows of the changed accounts (every account when ``LiveChange/everything``).
    public var accounts: [AccountRow]
    /// The events the change announced, oldest first.
    public var events: [EventRow]
    /// The dashboard-wide event number through which events are stored (the API's `sequenceNumber`).
    public var eventsThrough: UInt64?

    /// An update.
    public init(change: LiveChange, accounts: [AccountRow], events: [EventRow], eventsThrough: UInt64? = nil) {
        self.change = change
        self.accounts = accounts
        self.events = events
        self.eventsThrough = eventsThrough
    }
}

/// Fans live updates out to this process's subscribers: the UI's stream and, through
/// ``observe(_:)``, the API's notifiers.
///
/// Each subscriber has a bounded buffer. A subscriber that falls that far behind is ended rather
/// than let updates drop silently: its page reconnects (EventSource does so by itself) and reloads a
/// fresh picture, so an event is never missing from what it shows.
public final class LiveHub: Sendable {
    /// Updates a subscriber may have waiting before it is ended.
    public static let bufferLimit = 256

    private struct State {
        var nextID = 0
        var subscribers: [Int: AsyncStream<LiveUpdate>.Continuation] = [:]
        var observers: [@Sendable (LiveUpdate) -> Void] = []
        var isShutDown = false
    }
    private let state = Mutex(State())

    /// A hub with no subscribers.
    public init() {}

    /// Calls `observer` with every update, on the listener's task (keep it short): the place where
    /// the API's `EventNotifier` and `EquityBroadcaster` are fed.
    public func observe(_ observer: @escaping @Sendable (LiveUpdate) -> Void) {
        state.withLock { $0.observers.append(observer) }
    }

    /// The updates from now on; the stream ends on shutdown or when its reader falls behind.
    public func subscribe() -> AsyncStream<LiveUpdate> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: LiveUpdate.self, bufferingPolicy: .bufferingOldest(Self.bufferLimit))
        let id = state.withLock { state -> Int? in
            guard !state.isShutDown else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = continuation
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// How many streams are open.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Hands an update to every subscriber and observer.
    public func publish(_ update: LiveUpdate) {
        let (subscribers, observers) = state.withLock { ($0.subscribers, $0.observers) }
        for observer in observers { observer(update) }
        for (_, continuation) in subscribers {
            if case .dropped = continuation.yield(update) { continuation.finish() }
        }
    }

    /// Ends every stream.
    public func shutdown() {
        let subscribers = state.withLock { state in
            state.isShutDown = true
            defer { state.subscribers.removeAll() }
            return state.subscribers
        }
        for (_, continuation) in subscribers { continuation.finish() }
    }
}
