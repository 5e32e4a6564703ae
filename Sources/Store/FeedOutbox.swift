import Foundation
import GRDB

/// The dashboard feed's outbox: what the store queues for the dashboard, in the same transaction as
/// the data it feeds, numbered by the agent's feed sequence.
///
/// Rows are the feed's JSON records (FeedProtocol's `FeedRecord`: `{"event": {…}}`,
/// `{"statistics": {…}}`, `{"chartRecord": {…}}`, `{"declaration": {…}}`), composed by SQLite from
/// the rows just written, so the feed carries exactly what the store holds. The store only queues
/// when opened with ``Store/Options/feedOutbox``; the first such open queues everything already
/// stored (declarations, events, statistics, chart records), so a dashboard added later still gets
/// an account's whole history.
enum FeedOutbox {
    static let eventRecord = """
        json_object('event', json_object('sequence', sequence, 'kind', kind, 'type', type, 'accountId', account_id,
            'subjectId', subject_id, 'brokerTime', broker_time, 'body', body))
        """
    static let statisticsRecord = """
        json_object('statistics', json_object('trackerId', tracker_id, 'startBrokerTime', start_broker_time,
            'accountId', account_id, 'endBrokerTime', end_broker_time, 'body', body))
        """
    static let chartRecord = """
        json_object('chartRecord', json_object('accountId', account_id, 'startBrokerTime', start_broker_time,
            'endBrokerTime', end_broker_time, 'body', body))
        """
    static let declarationRecord = """
        json_object('declaration', json_object('kind', kind, 'id', id, 'accountId', account_id, 'name', name,
            'body', body, 'createdAt', created_at, 'deletedAt', deleted_at))
        """

    /// Starts the feed's position on the first open with the feed on, queueing what is stored already.
    static func enable(in db: Database) throws {
        guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM feed_state") == 0 else { return }
        try db.execute(
            sql: "INSERT INTO feed_state (id, acknowledged_through, overflowed_rows, lost_through) VALUES (1, 0, 0, 0)")
        let now = Date().storedMilliseconds
        try db.execute(
            sql: """
                INSERT INTO feed_outbox (kind, account_id, record, queued_at)
                    SELECT 'declaration', account_id, \(declarationRecord), ? FROM definition ORDER BY created_at, kind, id
                """, arguments: [now])
        try db.execute(
            sql: """
                INSERT INTO feed_outbox (kind, account_id, record, queued_at)
                    SELECT 'event', account_id, \(eventRecord), ? FROM event ORDER BY sequence
                """, arguments: [now])
        try db.execute(
            sql: """
                INSERT INTO feed_outbox (kind, account_id, record, queued_at)
                    SELECT 'statistics', account_id, \(statisticsRecord), ? FROM period_statistics ORDER BY start_broker_time, tracker_id
                """, arguments: [now])
        try db.execute(
            sql: """
                INSERT INTO feed_outbox (kind, account_id, record, queued_at)
                    SELECT 'chartRecord', account_id, \(chartRecord), ? FROM equity_chart ORDER BY start_broker_time, account_id
                """, arguments: [now])
    }

    /// Queues what `batch` just wrote (inside the batch's transaction): its declarations, its new
    /// events, its statistics and chart records. Replayed events are not queued again; a replayed
    /// statistics or chart row is (the dashboard upserts it: same key, same value).
    static func queue(_ batch: StoreBatch, newEvents: ClosedRange<UInt64>?, in db: Database) throws {
        var queuedAt: Int64 { Date().storedMilliseconds }
        let now = queuedAt
        for change in batch.definitionChanges {
            let (kind, id): (String, String)
            switch change {
            case .put(let definition): (kind, id) = (definition.kind.rawValue, definition.id)
            case .delete(let deletedKind, let deletedId, _): (kind, id) = (deletedKind.rawValue, deletedId)
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO feed_outbox (kind, account_id, record, queued_at)
                        SELECT 'declaration', account_id, \(declarationRecord), ? FROM definition WHERE kind = ? AND id = ?
                    """
            ).execute(arguments: [now, kind, id])
        }
        if let newEvents {
            try db.cachedStatement(
                sql: """
                    INSERT INTO feed_outbox (kind, account_id, record, queued_at)
                        SELECT 'event', account_id, \(eventRecord), ? FROM event WHERE sequence BETWEEN ? AND ? ORDER BY sequence
                    """
            ).execute(arguments: [now, Int64(newEvents.lowerBound), Int64(newEvents.upperBound)])
        }
        for record in batch.statistics {
            try db.cachedStatement(
                sql: """
                    INSERT INTO feed_outbox (kind, account_id, record, queued_at)
                        SELECT 'statistics', account_id, \(statisticsRecord), ? FROM period_statistics
                        WHERE tracker_id = ? AND start_broker_time = ?
                    """
            ).execute(arguments: [now, record.trackerId, record.startBrokerTime.milliseconds])
        }
        for record in batch.chartRecords {
            try db.cachedStatement(
                sql: """
                    INSERT INTO feed_outbox (kind, account_id, record, queued_at)
                        SELECT 'chartRecord', account_id, \(chartRecord), ? FROM equity_chart
                        WHERE account_id = ? AND start_broker_time = ?
                    """
            ).execute(arguments: [now, record.accountId.rawValue, record.startBrokerTime.milliseconds])
        }
    }
}

/// Unacknowledged feed rows, oldest first, with the feed's position: read in one transaction, so
/// `lostThrough` and the rows agree.
public struct FeedOutboxPage: Hashable, Sendable {
    /// One row: its feed sequence and its record (JSON text).
    public struct Row: Hashable, Sendable {
        /// The feed sequence.
        public var sequence: UInt64
        /// The record, as FeedProtocol's `FeedRecord` JSON.
        public var record: String
    }

    /// The rows, oldest first.
    public var rows: [Row]
    /// Rows not acknowledged yet, in all.
    public var backlog: Int
    /// When the oldest of them was queued (nil when none is).
    public var oldestQueuedAt: Date?
    /// Rows dropped by the retention bound since the feed started.
    public var overflowedRows: Int64
    /// The highest sequence so dropped (0: none).
    public var lostThrough: UInt64
    /// The highest sequence the dashboard acknowledged.
    public var acknowledgedThrough: UInt64
}

extension Store {
    /// Up to `limit` unacknowledged feed rows, oldest first, and the outbox's size and position.
    public func feedOutboxPage(limit: Int) async throws(StoreError) -> FeedOutboxPage {
        try await read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT feed_sequence, record FROM feed_outbox ORDER BY feed_sequence LIMIT ?
                        """), arguments: [limit]
            ).map { row in
                FeedOutboxPage.Row(sequence: UInt64(row["feed_sequence"] as Int64), record: row["record"])
            }
            let size = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MIN(queued_at) AS oldest FROM feed_outbox")
            let state = try Row.fetchOne(
                db, sql: "SELECT acknowledged_through, overflowed_rows, lost_through FROM feed_state")
            return FeedOutboxPage(
                rows: rows, backlog: size?["n"] ?? 0,
                oldestQueuedAt: (size?["oldest"] as Int64?).map { Date(storedMilliseconds: $0) },
                overflowedRows: state?["overflowed_rows"] ?? 0,
                lostThrough: UInt64(state?["lost_through"] as Int64? ?? 0),
                acknowledgedThrough: UInt64(state?["acknowledged_through"] as Int64? ?? 0))
        }
    }

    /// Drops the rows up to `sequence`: the dashboard has stored them.
    public func acknowledgeFeed(through sequence: UInt64) async throws(StoreError) {
        let through = Int64(clamping: sequence)
        try await write { db in
            try db.execute(sql: "DELETE FROM feed_outbox WHERE feed_sequence <= ?", arguments: [through])
            try db.execute(
                sql: "UPDATE feed_state SET acknowledged_through = MAX(acknowledged_through, ?)", arguments: [through])
        }
    }

    /// Enforces the retention bound: drops the oldest unacknowledged rows beyond `maximumRows`,
    /// counting them (the count and the highest dropped sequence go to the dashboard). Returns how
    /// many it dropped.
    public func trimFeedOutbox(maximumRows: Int) async throws(StoreError) -> Int {
        try await write { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM feed_outbox") ?? 0
            guard count > maximumRows else { return 0 }
            let excess = count - maximumRows
            guard
                let highest = try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT MAX(feed_sequence) FROM (SELECT feed_sequence FROM feed_outbox ORDER BY feed_sequence LIMIT ?)
                        """, arguments: [excess])
            else { return 0 }
            return try Self.dropFeedRows(through: highest, in: db)
        }
    }

    /// Enforces the retention bound by age: drops the unacknowledged rows queued before `cutoff`
    /// (and any older sequence, so the outbox stays a contiguous tail), counting them like
    /// ``trimFeedOutbox(maximumRows:)``. Returns how many it dropped.
    public func trimFeedOutbox(queuedBefore cutoff: Date) async throws(StoreError) -> Int {
        try await write { db in
            guard
                let highest = try Int64.fetchOne(
                    db, sql: "SELECT MAX(feed_sequence) FROM feed_outbox WHERE queued_at < ?",
                    arguments: [cutoff.storedMilliseconds])
            else { return 0 }
            return try Self.dropFeedRows(through: highest, in: db)
        }
    }

    /// Deletes the outbox rows up to `highest`, counts them as overflowed and remembers them as lost.
    private static func dropFeedRows(through highest: Int64, in db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM feed_outbox WHERE feed_sequence <= ?", arguments: [highest])
        let dropped = db.changesCount
        try db.execute(
            sql: """
                UPDATE feed_state SET overflowed_rows = overflowed_rows + ?, lost_through = MAX(lost_through, ?)
                """, arguments: [dropped, highest])
        return dropped
    }

    /// The store's identity (the same in its checkpoint file), e.g. to tell the dashboard which store feeds it.
    public var storeId: String { identity.id }
}

/// An account row as the feed reports it between observations (connection, last known figures).
public struct StoredAccountState: Hashable, Sendable {
    /// `server:login`.
    public var accountId: String
    /// Whether a terminal session is open.
    public var connected: Bool
    /// The last balance stored (units of 1e-8).
    public var balanceUnits: Int64?
    /// The last equity stored (units of 1e-8).
    public var equityUnits: Int64?
    /// The broker time last seen, milliseconds.
    public var lastSeenBrokerTime: Int64?
}

extension Store {
    /// Every account's stored connection state and last figures.
    public func accountStates() async throws(StoreError) -> [StoredAccountState] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT id, connected, last_balance, last_equity, last_seen_broker_time FROM account ORDER BY id
                        """)
            ).map { row in
                StoredAccountState(
                    accountId: row["id"], connected: row["connected"], balanceUnits: row["last_balance"],
                    equityUnits: row["last_equity"], lastSeenBrokerTime: row["last_seen_broker_time"])
            }
        }
    }
}
