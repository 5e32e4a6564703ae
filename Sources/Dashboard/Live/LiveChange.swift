import FeedProtocol
import Foundation

/// What one stored feed batch changed, as every dashboard process hears it through PostgreSQL
/// `NOTIFY` on ``LiveChange/channel``.
///
/// The payload names the changed rows, not their values: a listener reads the rows it needs (one query
/// per notification, shared by every page it serves). PostgreSQL limits a payload to 8000 bytes by
/// default (https://www.postgresql.org/docs/current/sql-notify.html); ``payloads(maximumBytes:)``
/// splits a large change so each stays under ``maximumPayloadBytes``.
public struct LiveChange: Codable, Hashable, Sendable {
    /// The PostgreSQL channel every dashboard process listens on.
    public static let channel = "tidemark_live"
    /// Well under PostgreSQL's default 8000-byte limit.
    public static let maximumPayloadBytes = 4000

    /// The feeding agent's store, whose event sequence numbers ``firstEvent``…``lastEvent`` are.
    public var storeId: String?
    /// The first new event's sequence number in the agent's store (nil: no new event).
    public var firstEvent: Int64?
    /// The last new event's sequence number.
    public var lastEvent: Int64?
    /// Accounts whose live state, events, statistics, chart or declarations changed.
    public var accounts: [String]
    /// True when a listener must assume every account changed (it missed notifications while its
    /// connection was down).
    public var everything: Bool
    /// The dashboard-wide event number (the API's `sequenceNumber`) through which events are stored.
    public var eventsThrough: UInt64?
    /// The dashboard process whose ingest this was (``DashboardStore/processId``).
    public var origin: String?

    private enum CodingKeys: String, CodingKey {
        case storeId = "s"
        case firstEvent = "f"
        case lastEvent = "l"
        case accounts = "a"
        case everything = "x"
        case eventsThrough = "n"
        case origin = "o"
    }

    /// A change naming what a batch stored.
    public init(
        storeId: String? = nil, firstEvent: Int64? = nil, lastEvent: Int64? = nil, accounts: [String],
        everything: Bool = false, eventsThrough: UInt64? = nil, origin: String? = nil
    ) {
        self.storeId = storeId
        self.firstEvent = firstEvent
        self.lastEvent = lastEvent
        self.accounts = accounts
        self.everything = everything
        self.eventsThrough = eventsThrough
        self.origin = origin
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        storeId = try container.decodeIfPresent(String.self, forKey: .storeId)
        firstEvent = try container.decodeIfPresent(Int64.self, forKey: .firstEvent)
        lastEvent = try container.decodeIfPresent(Int64.self, forKey: .lastEvent)
        accounts = try container.decodeIfPresent([String].self, forKey: .accounts) ?? []
        everything = try container.decodeIfPresent(Bool.self, forKey: .everything) ?? false
        eventsThrough = try container.decodeIfPresent(UInt64.self, forKey: .eventsThrough)
        origin = try container.decodeIfPresent(String.self, forKey: .origin)
    }

    /// A listener that reconnected: it cannot know what it missed.
    public static let resynchronize = LiveChange(accounts: [], everything: true)

    /// What a stored batch changed: its new events' sequence range and every account it touched.
    public init(
        storedEvents events: [FeedEvent], storeId: String, accounts: some Sequence<String>,
        eventsThrough: UInt64? = nil, origin: String? = nil
    ) {
        let sequences = events.map { Int64(clamping: $0.sequence) }
        self.init(
            storeId: sequences.isEmpty ? nil : storeId, firstEvent: sequences.min(), lastEvent: sequences.max(),
            accounts: Array(Set(accounts)).sorted(), eventsThrough: sequences.isEmpty ? nil : eventsThrough,
            origin: origin)
    }

    /// Whether there is anything to tell.
    public var isEmpty: Bool { firstEvent == nil && accounts.isEmpty && !everything }

    /// The change as one or more JSON payloads, each at most `maximumBytes` long: the event range
    /// travels in the first, the accounts are spread over as many as they need, each names the origin.
    public func payloads(maximumBytes: Int = LiveChange.maximumPayloadBytes) -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func encoded(_ change: LiveChange) -> String {
            String(decoding: (try? encoder.encode(change)) ?? Data(), as: UTF8.self)
        }
        let whole = encoded(self)
        if whole.utf8.count <= maximumBytes { return [whole] }
        var payloads: [String] = []
        var current = LiveChange(
            storeId: storeId, firstEvent: firstEvent, lastEvent: lastEvent, accounts: [], everything: everything,
            eventsThrough: eventsThrough, origin: origin)
        var currentBytes = encoded(current).utf8.count
        for account in accounts {
            // An account id costs its JSON string, its quotes and a comma.
            let cost = (try? encoder.encode(account).count).map { $0 + 1 } ?? account.utf8.count + 3
            if currentBytes + cost > maximumBytes, !current.accounts.isEmpty {
                payloads.append(encoded(current))
                current = LiveChange(accounts: [], origin: origin)
                currentBytes = encoded(current).utf8.count
            }
            current.accounts.append(account)
            currentBytes += cost
        }
        payloads.append(encoded(current))
        return payloads
    }

    /// Reads a payload; nil when it is not one (logged and counted by the listener).
    public static func decode(payload: String) -> LiveChange? {
        try? JSONDecoder().decode(LiveChange.self, from: Data(payload.utf8))
    }
}
