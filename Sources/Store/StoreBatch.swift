import Foundation
import GRDB
import TidemarkProtocol

/// Everything one commit writes, in one SQLite transaction: all of it is stored, or none of it.
///
/// The agent gathers the risk core's outputs, the deals, account changes and the core's new
/// checkpoint for a few milliseconds (or N items) and commits them together; only after
/// ``Store/commit(_:)`` returns may it serve or send the events. Encode bodies (``CanonicalJSON``)
/// while building the batch: that work then happens outside the writer's lock.
public struct StoreBatch: Hashable, Sendable {
    /// Events in sequence order. They must continue the stored sequence without a gap; events the
    /// store already has (a replay after a restart) are checked equal and skipped.
    public var events: [StoredEvent] = []
    /// Closed tracker periods (upserted by tracker id and period start: a replay rewrites them equal).
    public var statistics: [StoredStatistics] = []
    /// Closed equity-chart hours (upserted by account and hour start).
    public var chartRecords: [StoredChartRecord] = []
    /// Deals to journal (a deal already journaled is ignored).
    public var deals: [JournalDeal] = []
    /// Account changes (created when new).
    public var accountUpdates: [AccountUpdate] = []
    /// Bridge sessions opened or closed.
    public var sessionChanges: [SessionChange] = []
    /// Tracker, challenge and competition declarations the checkpoint includes.
    public var definitionChanges: [DefinitionChange] = []
    /// Commands to send; one with a cause already enforced (a replayed event) is skipped.
    public var enforcementRequests: [EnforcementRequest] = []
    /// Terminals' answers to enforcement commands.
    public var enforcementAcknowledgements: [EnforcementAcknowledgement] = []
    /// Per-account resume points (each replaces the account's stored one).
    public var resumeStates: [TerminalResumeState] = []
    /// The core's state after everything above. Its `nextSequenceNumber` may not pass the stored
    /// events (that would mean lost events) and its `inputPosition` may not go back.
    public var checkpoint: Checkpoint?

    /// A batch; every part defaults to empty.
    public init(
        events: [StoredEvent] = [], statistics: [StoredStatistics] = [], chartRecords: [StoredChartRecord] = [],
        deals: [JournalDeal] = [], accountUpdates: [AccountUpdate] = [], sessionChanges: [SessionChange] = [],
        definitionChanges: [DefinitionChange] = [], enforcementRequests: [EnforcementRequest] = [],
        enforcementAcknowledgements: [EnforcementAcknowledgement] = [], resumeStates: [TerminalResumeState] = [],
        checkpoint: Checkpoint? = nil
    ) {
        self.events = events
        self.statistics = statistics
        self.chartRecords = chartRecords
        self.deals = deals
        self.accountUpdates = accountUpdates
        self.sessionChanges = sessionChanges
        self.definitionChanges = definitionChanges
        self.enforcementRequests = enforcementRequests
        self.enforcementAcknowledgements = enforcementAcknowledgements
        self.resumeStates = resumeStates
        self.checkpoint = checkpoint
    }

    /// Whether committing it would write nothing.
    public var isEmpty: Bool { self == StoreBatch() }
}

/// What a commit did.
public struct CommitReceipt: Hashable, Sendable {
    /// Wall time of the whole commit, waiting for the writer included: the store-latency metric.
    public var duration: Duration
    /// The sequence numbers stored by this commit (nil when none was new). Serve and send these.
    public var newEvents: ClosedRange<UInt64>?
    /// Events of the batch the store already had (a replay), checked equal and skipped.
    public var replayedEventCount: Int
    /// The highest sequence number stored after this commit (0 when there is no event at all).
    public var lastSequenceNumber: UInt64
    /// Deals of the batch not journaled before.
    public var newDealCount: Int
    /// Webhook deliveries queued.
    public var queuedDeliveryCount: Int
    /// Enforcement commands created (with their ids): send them.
    public var newCommands: [EnforcementCommandRecord]
    /// Acknowledgements that matched no unanswered command of their account (late duplicates, strays).
    public var unmatchedAcknowledgements: [Int64]
    /// What the batch's checkpoint wrote (nothing without one).
    public var checkpointWritten: CheckpointWriteSize
}

/// The part of the receipt worked out inside the transaction.
struct BatchResult: Sendable {
    var newEvents: ClosedRange<UInt64>?
    var replayedEventCount = 0
    var lastSequenceNumber: UInt64 = 0
    var newDealCount = 0
    var queuedDeliveryCount = 0
    var newCommands: [EnforcementCommandRecord] = []
    var unmatchedAcknowledgements: [Int64] = []
    var checkpointWritten = CheckpointWriteSize()
}

extension StoreBatch {
    /// Writes the batch inside the caller's transaction. Any throw rolls the whole batch back.
    /// With `feed`, what it wrote is queued for the dashboard in the same transaction (``FeedOutbox``).
    func write(in db: Database, feed: Bool = false) throws -> BatchResult {
        var result = BatchResult()
        for change in definitionChanges { try Self.write(change, in: db) }
        let stored = try Self.lastSequenceNumber(in: db)
        result.lastSequenceNumber = stored
        if !events.isEmpty {
            try writeEvents(after: stored, in: db, result: &result)
        }
        for record in statistics {
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO period_statistics (tracker_id, start_broker_time, account_id, end_broker_time, body)
                    VALUES (?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                record.trackerId, record.startBrokerTime.milliseconds, record.accountId.rawValue,
                record.endBrokerTime?.milliseconds, storedText(record.body),
            ])
        }
        for record in chartRecords {
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO equity_chart (account_id, start_broker_time, end_broker_time, body) VALUES (?, ?, ?, ?)
                    """
            ).execute(arguments: [
                record.accountId.rawValue, record.startBrokerTime.milliseconds,
                record.endBrokerTime.milliseconds, storedText(record.body),
            ])
        }
        for entry in deals {
            try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO deal (account_id, ticket, broker_time, type, body) VALUES (?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                entry.accountId.rawValue, entry.deal.ticket, entry.deal.time.milliseconds,
                entry.deal.type.rawValue, storedText(try CanonicalJSON.encode(entry.deal)),
            ])
            result.newDealCount += db.changesCount
        }
        for update in accountUpdates { try Self.write(update, in: db) }
        for change in self.sessionChanges { try Self.write(change, in: db) }
        for request in enforcementRequests {
            if let command = try Self.write(request, in: db) { result.newCommands.append(command) }
        }
        for acknowledgement in enforcementAcknowledgements {
            if try !Self.write(acknowledgement, in: db) {
                result.unmatchedAcknowledgements.append(acknowledgement.acknowledgement.commandID)
            }
        }
        for state in resumeStates {
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO terminal_resume (account_id, session_id, acknowledged_sequence, state) VALUES (?, ?, ?, ?)
                    """
            ).execute(arguments: [
                state.accountId.rawValue, state.sessionId,
                try storedInteger(state.acknowledgedSequence, "acknowledged sequence"), state.state,
            ])
        }
        if let checkpoint {
            result.checkpointWritten = try Self.write(checkpoint, lastSequenceNumber: result.lastSequenceNumber, in: db)
        }
        if feed { try FeedOutbox.queue(self, newEvents: result.newEvents, in: db) }
        return result
    }

    static func lastSequenceNumber(in db: Database) throws -> UInt64 {
        let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(sequence) FROM event")) ?? 0
        return UInt64(last)
    }

    private func writeEvents(after stored: UInt64, in db: Database, result: inout BatchResult) throws {
        var expected = stored + 1
        var webhooks: [(id: String, filter: WebhookFilter)]?
        var queuedAt: Int64?
        // Looked up once per batch, not per event: the hot loop only binds and steps.
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO event (sequence, kind, type, account_id, subject_id, broker_time, body) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
        for event in events {
            if event.sequenceNumber < expected && event.sequenceNumber <= stored {
                // A replay after a restart regenerates events the store has: they must be the same.
                try Self.checkReplayed(event, in: db)
                result.replayedEventCount += 1
                continue
            }
            guard event.sequenceNumber == expected else {
                throw StoreError.sequenceGap.with(detail: "expected event \(expected), got \(event.sequenceNumber)")
            }
            let sequence = try storedInteger(event.sequenceNumber, "sequence number")
            try insert.execute(arguments: [
                sequence, event.kind.rawValue, event.type, event.accountId?.rawValue,
                event.subjectId, event.brokerTime.milliseconds, storedText(event.body),
            ])
            if webhooks == nil { webhooks = try Self.webhookFilters(in: db) }
            for webhook in webhooks ?? [] where webhook.filter.matches(event) {
                // queued_at: the wall clock of this commit, where a delivery's latency starts.
                if queuedAt == nil { queuedAt = Date().storedMilliseconds }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO outbox (webhook_id, event_sequence, attempts, next_attempt_at, queued_at) VALUES (?, ?, 0, 0, ?)
                        """
                ).execute(arguments: [webhook.id, sequence, queuedAt])
                result.queuedDeliveryCount += 1
            }
            result.newEvents = (result.newEvents?.lowerBound ?? event.sequenceNumber)...event.sequenceNumber
            expected += 1
        }
        result.lastSequenceNumber = expected - 1
    }

    private static func checkReplayed(_ event: StoredEvent, in db: Database) throws {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM event WHERE sequence = ?"),
                arguments: [try storedInteger(event.sequenceNumber, "sequence number")])
        else { throw StoreError.sequenceGap.with(detail: "event \(event.sequenceNumber) is missing") }
        let stored = row.storedEvent()
        guard stored == event else {
            throw StoreError.conflict.with(detail: "replayed event \(event.sequenceNumber) differs from the stored one")
        }
    }

    private static func webhookFilters(in db: Database) throws -> [(id: String, filter: WebhookFilter)] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT id, filter FROM webhook")).map { row in
            (row["id"], try CanonicalJSON.decode(WebhookFilter.self, from: row.body("filter")))
        }
    }

    static func write(_ change: DefinitionChange, in db: Database) throws {
        switch change {
        case .put(let definition):
            do {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO definition (kind, id, account_id, name, body, created_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (kind, id) DO UPDATE SET account_id = excluded.account_id, name = excluded.name,
                            body = excluded.body, deleted_at = excluded.deleted_at
                        """
                ).execute(arguments: [
                    definition.kind.rawValue, definition.id, definition.accountId?.rawValue,
                    definition.name, storedText(definition.body),
                    definition.createdAt.storedMilliseconds, definition.deletedAt?.storedMilliseconds,
                ])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw StoreError.conflict.with(
                    detail:
                        "\(definition.kind.rawValue) name \(definition.name ?? "") is taken on \(definition.accountId?.rawValue ?? "-")"
                )
            }
        case .delete(let kind, let id, let at):
            // Deleting what is not there is not an error: the risk core already decided the deletion.
            try db.cachedStatement(
                sql: "UPDATE definition SET deleted_at = ? WHERE kind = ? AND id = ? AND deleted_at IS NULL"
            )
            .execute(arguments: [at.storedMilliseconds, kind.rawValue, id])
        }
    }

    static func write(_ update: AccountUpdate, in db: Database) throws {
        let (server, login) = try update.id.serverAndLogin()
        // COALESCE keeps what is stored where the update says nothing.
        try db.cachedStatement(
            sql: """
                INSERT INTO account (id, server, login, platform, currency, last_equity, last_balance, last_seen_broker_time,
                                     connected, reconciliation_drift, enforcement_state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, 0), ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    platform = COALESCE(excluded.platform, platform),
                    currency = COALESCE(excluded.currency, currency),
                    last_equity = COALESCE(excluded.last_equity, last_equity),
                    last_balance = COALESCE(excluded.last_balance, last_balance),
                    last_seen_broker_time = COALESCE(excluded.last_seen_broker_time, last_seen_broker_time),
                    connected = COALESCE(?, connected),
                    reconciliation_drift = COALESCE(excluded.reconciliation_drift, reconciliation_drift),
                    enforcement_state = CASE WHEN ? THEN excluded.enforcement_state ELSE enforcement_state END
                """
        ).execute(arguments: [
            update.id.rawValue, server, login, update.platform?.rawValue, update.currency,
            update.lastEquity?.units, update.lastBalance?.units,
            update.lastSeenBrokerTime?.milliseconds, update.connected,
            update.reconciliationDrift?.units, update.enforcementState ?? nil,
            update.connected, update.enforcementState != nil,
        ])
    }

    static func write(_ change: SessionChange, in db: Database) throws {
        switch change {
        case .opened(let sessionId, let accountId, let at):
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO bridge_session (session_id, account_id, opened_at, closed_at, close_reason)
                    VALUES (?, ?, ?, NULL, NULL)
                    """
            ).execute(arguments: [sessionId, accountId.rawValue, at.storedMilliseconds])
            // The account is connected from its first session's HELLO (whatever the batch's
            // account updates said, the sessions decide).
            try db.cachedStatement(
                sql: """
                    UPDATE account SET connected = 1, last_connected_at = ? WHERE id = ?
                    """
            ).execute(arguments: [at.storedMilliseconds, accountId.rawValue])
        case .closed(let sessionId, let at, let reason):
            try db.cachedStatement(
                sql: """
                    UPDATE bridge_session SET closed_at = ?, close_reason = ? WHERE session_id = ? AND closed_at IS NULL
                    """
            ).execute(arguments: [at.storedMilliseconds, reason, sessionId])
            guard db.changesCount == 1 else { return }
            // Disconnected as of now, unless another session of the account is still open (a newer
            // one superseded this: the account stays connected with it).
            try db.cachedStatement(
                sql: """
                    UPDATE account SET connected = 0, last_disconnected_at = ?
                    WHERE id = (SELECT account_id FROM bridge_session WHERE session_id = ?)
                        AND NOT EXISTS (SELECT 1 FROM bridge_session s WHERE s.account_id = account.id AND s.closed_at IS NULL)
                    """
            ).execute(arguments: [at.storedMilliseconds, sessionId])
        }
    }

    /// The new command, or nil when its cause was already enforced with this kind.
    static func write(_ request: EnforcementRequest, in db: Database) throws -> EnforcementCommandRecord? {
        let cause = try request.causeSequenceNumber.map { (n: UInt64) throws(StoreError) in
            try storedInteger(n, "cause")
        }
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO enforcement_command (account_id, kind, reason, requested_at, cause_sequence) VALUES (?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            request.accountId.rawValue, request.kind.rawValue, request.reason,
            request.requestedAt.storedMilliseconds, cause,
        ])
        guard db.changesCount == 1 else { return nil }
        return EnforcementCommandRecord(
            id: db.lastInsertedRowID, accountId: request.accountId, kind: request.kind,
            reason: request.reason,
            requestedAt: Date(storedMilliseconds: request.requestedAt.storedMilliseconds),
            causeSequenceNumber: request.causeSequenceNumber)
    }

    /// Whether the acknowledgement answered a command of its account that was not answered yet.
    static func write(_ acknowledgement: EnforcementAcknowledgement, in db: Database) throws -> Bool {
        let ack = acknowledgement.acknowledgement
        try db.cachedStatement(
            sql: """
                UPDATE enforcement_command SET acknowledged_at = ?, acknowledged_broker_time = ?, succeeded = ?, detail = ?
                WHERE id = ? AND account_id = ? AND acknowledged_at IS NULL
                """
        ).execute(arguments: [
            acknowledgement.receivedAt.storedMilliseconds, ack.time.milliseconds, ack.succeeded,
            ack.detail, ack.commandID, acknowledgement.accountId.rawValue,
        ])
        return db.changesCount == 1
    }

    /// Writes a checkpoint's header and account rows (all of them, or the changed ones: see
    /// ``Checkpoint/isComplete``) in the caller's transaction.
    /// - Parameter allowingRegression: whether a complete checkpoint in rows may replace one at a later
    ///   input position (the checkpoint file, which only caches the store's state; never the store).
    static func write(
        _ checkpoint: Checkpoint, lastSequenceNumber: UInt64, allowingRegression: Bool = false,
        in db: Database
    ) throws -> CheckpointWriteSize {
        guard checkpoint.nextSequenceNumber <= lastSequenceNumber + 1 else {
            throw StoreError.checkpointMismatch.with(
                detail:
                    "checkpoint expects next event \(checkpoint.nextSequenceNumber), stored events end at \(lastSequenceNumber)"
            )
        }
        let position = try storedInteger(checkpoint.inputPosition, "input position")
        let stored = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT input_position, layout FROM checkpoint WHERE id = 1"))
        if let stored, let storedPosition = stored["input_position"] as Int64?, position < storedPosition,
            !(allowingRegression && checkpoint.isComplete && checkpoint.layout == .perAccount)
        {
            throw StoreError.inputPositionRegressed.with(
                detail: "input position \(position) < stored \(storedPosition)")
        }
        if !checkpoint.isComplete,
            stored.map({ ($0["layout"] as String?) != Checkpoint.Layout.perAccount.rawValue }) ?? true
        {
            // Changed rows only make sense over a whole set of rows of the same layout.
            throw StoreError.checkpointMismatch.with(
                detail: "a checkpoint of changed accounts needs a complete one before it")
        }
        var written = CheckpointWriteSize()
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO checkpoint (id, input_position, next_sequence, state, saved_at, layout) VALUES (1, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            position, try storedInteger(checkpoint.nextSequenceNumber, "next sequence number"),
            checkpoint.state, checkpoint.savedAt.storedMilliseconds, checkpoint.layout.rawValue,
        ])
        written.rows += 1
        written.bytes += checkpoint.state.count
        if checkpoint.isComplete {
            try db.execute(sql: "DELETE FROM checkpoint_account")
        } else {
            for account in checkpoint.removedAccounts.sorted() {
                try db.cachedStatement(sql: "DELETE FROM checkpoint_account WHERE account_id = ?").execute(arguments: [
                    account.rawValue
                ])
                written.rows += db.changesCount
            }
        }
        for account in checkpoint.accounts.keys.sorted() {
            let part = checkpoint.accounts[account]!
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO checkpoint_account (account_id, state) VALUES (?, ?)")
                .execute(arguments: [account.rawValue, part])
            written.rows += 1
            written.bytes += part.count
        }
        return written
    }
}
