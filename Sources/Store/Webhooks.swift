import Foundation
import GRDB
import TidemarkProtocol

/// Which events a webhook receives. Each non-nil set must contain the event's value; nil means any.
public struct WebhookFilter: Hashable, Sendable, Codable {
    /// Event kinds to receive.
    public var kinds: Set<SubjectKind>?
    /// Events without an account (competition-wide) never match a filter that lists accounts.
    public var accountIds: Set<AccountID>?
    /// Tracker, challenge or competition ids to receive.
    public var subjectIds: Set<String>?
    /// Event types (`drawdown`, `challengeFailed`…).
    public var types: Set<String>?

    /// A filter; nil sets match anything.
    public init(kinds: Set<SubjectKind>? = nil, accountIds: Set<AccountID>? = nil, subjectIds: Set<String>? = nil,
                types: Set<String>? = nil) {
        self.kinds = kinds
        self.accountIds = accountIds
        self.subjectIds = subjectIds
        self.types = types
    }

    /// Whether `event` passes the filter.
    public func matches(_ event: StoredEvent) -> Bool {
        if let kinds, !kinds.contains(event.kind) { return false }
        if let accountIds {
            guard let account = event.accountId, accountIds.contains(account) else { return false }
        }
        if let subjectIds, !subjectIds.contains(event.subjectId) { return false }
        if let types, !types.contains(event.type) { return false }
        return true
    }
}

/// A webhook: events matching `filter` are POSTed to `url`, signed with `secret`.
public struct Webhook: Hashable, Sendable {
    /// The webhook's id.
    public var id: String
    /// Where deliveries are POSTed.
    public var url: String
    /// The HMAC-SHA256 key; stored in clear because every delivery needs it.
    public var secret: String
    /// Which events it receives.
    public var filter: WebhookFilter
    /// When it was created.
    public var createdAt: Date
}

/// One pending delivery of one event to one webhook.
public struct OutboxDelivery: Hashable, Sendable {
    /// The webhook the delivery is for.
    public var webhookId: String
    /// Where to POST.
    public var url: String
    /// The signing key.
    public var secret: String
    /// The event to deliver.
    public var event: StoredEvent
    /// Attempts made so far (0 for the first).
    public var attempts: Int
    /// When the commit that stored the event queued this delivery (nil for rows older than that column).
    public var queuedAt: Date?

    /// A delivery as read from the outbox.
    public init(webhookId: String, url: String, secret: String, event: StoredEvent, attempts: Int, queuedAt: Date? = nil) {
        self.webhookId = webhookId
        self.url = url
        self.secret = secret
        self.event = event
        self.attempts = attempts
        self.queuedAt = queuedAt
    }
}

extension Store {
    /// Adds a webhook. It receives events committed from now on (earlier ones are not queued).
    public func createWebhook(url: String, secret: String, filter: WebhookFilter = WebhookFilter(),
                              id: String? = nil, at: Date) async throws(StoreError) -> Webhook {
        let webhook = Webhook(id: id ?? TokenHashing.random(prefix: "wh_", byteCount: 8), url: url, secret: secret,
                              filter: filter, createdAt: Date(storedMilliseconds: at.storedMilliseconds))
        let filterText = storedText(try CanonicalJSON.encode(filter))
        try await write { db in
            try db.execute(sql: "INSERT INTO webhook (id, url, secret, filter, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [webhook.id, url, secret, filterText, at.storedMilliseconds])
        }
        return webhook
    }

    /// Every webhook, oldest first.
    public func webhooks() async throws(StoreError) -> [Webhook] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhook ORDER BY created_at, id").map { row in
                Webhook(id: row["id"], url: row["url"], secret: row["secret"],
                        filter: try CanonicalJSON.decode(WebhookFilter.self, from: row.body("filter")),
                        createdAt: row.date("created_at") ?? Date(storedMilliseconds: 0))
            }
        }
    }

    /// Deletes a webhook and its pending deliveries. ``StoreError/notFound`` for an unknown id.
    public func deleteWebhook(id: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM webhook WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else { throw StoreError.notFound.with(detail: "webhook \(id)") }
        }
    }

    /// Deliveries due at `now` (their next attempt time has come), in due order then sequence order.
    public func dueDeliveries(at now: Date, limit: Int = 100) async throws(StoreError) -> [OutboxDelivery] {
        let bound = now.storedMilliseconds
        return try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT o.webhook_id, o.attempts, o.queued_at, w.url, w.secret, e.*
                FROM outbox o JOIN webhook w ON w.id = o.webhook_id JOIN event e ON e.sequence = o.event_sequence
                WHERE o.next_attempt_at IS NOT NULL AND o.next_attempt_at <= ?
                ORDER BY o.next_attempt_at, o.event_sequence LIMIT ?
                """), arguments: [bound, limit]).map { row in
                OutboxDelivery(webhookId: row["webhook_id"], url: row["url"], secret: row["secret"],
                               event: row.storedEvent(), attempts: row["attempts"], queuedAt: row.date("queued_at"))
            }
        }
    }

    /// When the next pending delivery is due (nil: nothing pending), to sleep until then.
    public func nextDeliveryDue() async throws(StoreError) -> Date? {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM outbox WHERE next_attempt_at IS NOT NULL")
                .map(Date.init(storedMilliseconds:))
        }
    }

    /// Deliveries neither delivered nor abandoned.
    public func pendingDeliveryCount() async throws(StoreError) -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE next_attempt_at IS NOT NULL") ?? 0
        }
    }

    /// Records a successful delivery (the receiver answered 2xx): it is not retried.
    public func markDelivered(webhookId: String, sequenceNumber: UInt64, at: Date) async throws(StoreError) {
        let sequence = Int64(clamping: sequenceNumber)
        try await write { db in
            try db.execute(sql: """
                UPDATE outbox SET attempts = attempts + 1, delivered_at = ?, next_attempt_at = NULL, last_error = NULL
                WHERE webhook_id = ? AND event_sequence = ? AND next_attempt_at IS NOT NULL
                """, arguments: [at.storedMilliseconds, webhookId, sequence])
            guard db.changesCount == 1 else {
                throw StoreError.notFound.with(detail: "pending delivery of event \(sequenceNumber) to \(webhookId)")
            }
        }
    }

    /// Records a failed attempt. `retryAt` is when to try again (the caller's backoff); nil abandons
    /// the delivery (kept, with its error, for inspection).
    public func markFailed(webhookId: String, sequenceNumber: UInt64, error: String,
                           retryAt: Date?) async throws(StoreError) {
        let sequence = Int64(clamping: sequenceNumber)
        try await write { db in
            try db.execute(sql: """
                UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?
                WHERE webhook_id = ? AND event_sequence = ? AND next_attempt_at IS NOT NULL
                """, arguments: [retryAt?.storedMilliseconds, error, webhookId, sequence])
            guard db.changesCount == 1 else {
                throw StoreError.notFound.with(detail: "pending delivery of event \(sequenceNumber) to \(webhookId)")
            }
        }
    }
}
