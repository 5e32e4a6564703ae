import Foundation
import GRDB
import TidemarkProtocol

/// Which events to read. Every filter given must hold; results are in sequence order, ascending.
public struct EventQuery: Hashable, Sendable {
    /// Only events of this kind.
    public var kind: SubjectKind?
    /// Only events of this account.
    public var accountId: AccountID?
    /// Tracker, challenge or competition id.
    public var subjectId: String?
    /// Inclusive lower bound on broker time.
    public var fromBrokerTime: BrokerTime?
    /// Inclusive upper bound on broker time.
    public var toBrokerTime: BrokerTime?
    /// Only events after this sequence number (a stream's or long poll's resume point).
    public var afterSequenceNumber: UInt64?
    /// The accounts the caller's token may see; nil: all. When set, account-less events are hidden too.
    public var allowedAccounts: Set<AccountID>?
    /// At most this many events (1…10,000).
    public var limit: Int

    /// A query; every filter left nil matches all.
    public init(kind: SubjectKind? = nil, accountId: AccountID? = nil, subjectId: String? = nil,
                fromBrokerTime: BrokerTime? = nil, toBrokerTime: BrokerTime? = nil, afterSequenceNumber: UInt64? = nil,
                allowedAccounts: Set<AccountID>? = nil, limit: Int = 1000) {
        self.kind = kind
        self.accountId = accountId
        self.subjectId = subjectId
        self.fromBrokerTime = fromBrokerTime
        self.toBrokerTime = toBrokerTime
        self.afterSequenceNumber = afterSequenceNumber
        self.allowedAccounts = allowedAccounts
        self.limit = limit
    }

    /// The SQL and its arguments. The text depends only on which filters are set, so it caches well.
    func statement() throws(StoreError) -> (sql: String, arguments: StatementArguments) {
        guard (1...10_000).contains(limit) else { throw StoreError.invalidArgument.with(detail: "limit \(limit)") }
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let kind {
            conditions.append("kind = ?")
            arguments += [kind.rawValue]
        }
        if let accountId {
            conditions.append("account_id = ?")
            arguments += [accountId.rawValue]
        }
        if let subjectId {
            conditions.append("subject_id = ?")
            arguments += [subjectId]
        }
        if let fromBrokerTime {
            conditions.append("broker_time >= ?")
            arguments += [fromBrokerTime.milliseconds]
        }
        if let toBrokerTime {
            conditions.append("broker_time <= ?")
            arguments += [toBrokerTime.milliseconds]
        }
        if let afterSequenceNumber {
            conditions.append("sequence > ?")
            arguments += [Int64(clamping: afterSequenceNumber)]
        }
        if let allowedAccounts {
            conditions.append("account_id IN (SELECT value FROM json_each(?))")
            arguments += [storedText(try CanonicalJSON.encode(allowedAccounts.map(\.rawValue).sorted()))]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [limit]
        return ("SELECT * FROM event \(filter) ORDER BY sequence LIMIT ?", arguments)
    }

    /// Whether an event with these columns passes every filter, as the query's SQL WHERE clause
    /// decides (the limit aside): for events held in memory.
    public func matches(kind: SubjectKind, accountId: AccountID?, subjectId: String, brokerTime: BrokerTime,
                        sequenceNumber: UInt64) -> Bool {
        if let wanted = self.kind, kind != wanted { return false }
        if let wanted = self.accountId, accountId != wanted { return false }
        if let wanted = self.subjectId, subjectId != wanted { return false }
        if let fromBrokerTime, brokerTime < fromBrokerTime { return false }
        if let toBrokerTime, brokerTime > toBrokerTime { return false }
        if let afterSequenceNumber, sequenceNumber <= afterSequenceNumber { return false }
        // SQL's `IN` is never true for a NULL account: account-less events are hidden too.
        if let allowedAccounts, !(accountId.map(allowedAccounts.contains) ?? false) { return false }
        return true
    }

    func matches(_ event: StoredEvent) -> Bool {
        matches(kind: event.kind, accountId: event.accountId, subjectId: event.subjectId, brokerTime: event.brokerTime,
                sequenceNumber: event.sequenceNumber)
    }
}

/// The latest events committed by this process, a gap-free tail of the sequence (bounded): where a
/// waiting long poll or stream finds what it waits for.
struct RecentEvents {
    private var events: [StoredEvent] = []
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Appends newly committed events (the next numbers of the sequence, in order).
    mutating func append(contentsOf new: some Sequence<StoredEvent>) {
        for event in new {
            // A break in the numbers (not expected: commits are gap-free) starts the tail over.
            if let last = events.last, event.sequenceNumber != last.sequenceNumber + 1 { events.removeAll() }
            events.append(event)
        }
        // Trimmed in steps, so each append stays amortised O(1).
        if events.count >= 2 * capacity { events.removeFirst(events.count - capacity) }
    }

    /// The events after `after` that match `query` (up to its limit), or nil when some of the
    /// events after `after` are no longer (or not yet) held here.
    func events(after: UInt64, matching query: EventQuery) -> [StoredEvent]? {
        guard let first = events.first?.sequenceNumber, let last = events.last?.sequenceNumber, after + 1 >= first else {
            return nil
        }
        guard after < last else { return [] }
        var found: [StoredEvent] = []
        for event in events[Int(after + 1 - first)...] where query.matches(event) {
            found.append(event)
            if found.count == query.limit { break }
        }
        return found
    }
}

extension Store {
    // MARK: Events

    /// Events matching `query`, oldest sequence number first.
    public func events(_ query: EventQuery) async throws(StoreError) -> [StoredEvent] {
        let (sql, arguments) = try query.statement()
        if let recent = recentEvents(matching: query) { return recent }
        return try await eventsFromDatabase(sql: sql, arguments: arguments)
    }

    /// ``events(_:)`` read from the database only (tests compare it with the in-memory tail).
    func eventsFromDatabase(_ query: EventQuery) async throws(StoreError) -> [StoredEvent] {
        let (sql, arguments) = try query.statement()
        return try await eventsFromDatabase(sql: sql, arguments: arguments)
    }

    private func eventsFromDatabase(sql: String, arguments: StatementArguments) async throws(StoreError) -> [StoredEvent] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { $0.storedEvent() }
        }
    }

    /// One event by sequence number.
    public func event(sequenceNumber: UInt64) async throws(StoreError) -> StoredEvent? {
        let sequence = Int64(clamping: sequenceNumber)
        return try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM event WHERE sequence = ?"), arguments: [sequence])?
                .storedEvent()
        }
    }

    // MARK: Records

    /// Closed periods of a tracker, newest first: those starting at or before `startingAtOrBefore`
    /// (nil: the latest), at most `limit` (MetaApi's `startTime` going backwards, `limit`).
    public func statistics(accountId: AccountID, trackerId: String, startingAtOrBefore: BrokerTime? = nil,
                           limit: Int = 1) async throws(StoreError) -> [StoredStatistics] {
        guard limit >= 1 else { throw StoreError.invalidArgument.with(detail: "limit \(limit)") }
        let bound = startingAtOrBefore?.milliseconds ?? .max
        return try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM period_statistics WHERE tracker_id = ? AND account_id = ? AND start_broker_time <= ?
                ORDER BY start_broker_time DESC LIMIT ?
                """), arguments: [trackerId, accountId.rawValue, bound, limit]).map { row in
                StoredStatistics(accountId: accountId, trackerId: trackerId,
                                 startBrokerTime: row.brokerTime("start_broker_time") ?? BrokerTime(milliseconds: 0),
                                 endBrokerTime: row.brokerTime("end_broker_time"), body: row.body("body"))
            }
        }
    }

    /// Closed chart hours of an account that overlap `from...to` (both inclusive, either open), oldest first.
    public func equityChart(accountId: AccountID, from: BrokerTime? = nil, to: BrokerTime? = nil) async throws(StoreError) -> [StoredChartRecord] {
        let lower = from?.milliseconds ?? .min
        let upper = to?.milliseconds ?? .max
        return try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM equity_chart WHERE account_id = ? AND end_broker_time >= ? AND start_broker_time <= ?
                ORDER BY start_broker_time
                """), arguments: [accountId.rawValue, lower, upper]).map { row in
                StoredChartRecord(accountId: accountId,
                                  startBrokerTime: row.brokerTime("start_broker_time") ?? BrokerTime(milliseconds: 0),
                                  endBrokerTime: row.brokerTime("end_broker_time") ?? BrokerTime(milliseconds: 0),
                                  body: row.body("body"))
            }
        }
    }

    /// Journaled deals of an account in `from...to` (inclusive, either open), by time then ticket.
    public func deals(accountId: AccountID, from: BrokerTime? = nil, to: BrokerTime? = nil,
                      limit: Int = 1000) async throws(StoreError) -> [Deal] {
        guard limit >= 1 else { throw StoreError.invalidArgument.with(detail: "limit \(limit)") }
        let lower = from?.milliseconds ?? .min
        let upper = to?.milliseconds ?? .max
        return try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT body FROM deal WHERE account_id = ? AND broker_time BETWEEN ? AND ? ORDER BY broker_time, ticket LIMIT ?
                """), arguments: [accountId.rawValue, lower, upper, limit]).map { row in
                try CanonicalJSON.decode(Deal.self, from: row.body("body"))
            }
        }
    }

    // MARK: Accounts and sessions

    /// Registers an account before its terminal connects (or after: then the connected row gets
    /// its registration time). ``StoreError/conflict`` when it was registered already.
    @discardableResult
    public func registerAccount(_ id: AccountID, platform: Platform, at: Date) async throws(StoreError) -> AccountRecord {
        let (server, login) = try id.serverAndLogin()
        return try await write { db in try Self.register(id, server: server, login: login, platform: platform, at: at, in: db) }
    }

    /// ``registerAccount(_:platform:at:)`` for a caller on its own thread (blocks until written).
    @discardableResult
    public func registerAccountBlocking(_ id: AccountID, platform: Platform, at: Date) throws(StoreError) -> AccountRecord {
        let (server, login) = try id.serverAndLogin()
        return try writeBlocking { db in try Self.register(id, server: server, login: login, platform: platform, at: at, in: db) }
    }

    private static func register(_ id: AccountID, server: String, login: Int64, platform: Platform, at: Date,
                                 in db: Database) throws -> AccountRecord {
        try db.execute(sql: """
            INSERT INTO account (id, server, login, platform, registered_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET registered_at = excluded.registered_at,
                platform = COALESCE(platform, excluded.platform)
            WHERE registered_at IS NULL
            """, arguments: [id.rawValue, server, login, platform.rawValue, at.storedMilliseconds])
        guard db.changesCount == 1 else { throw StoreError.conflict.with(detail: "account \(id) is registered") }
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = ?", arguments: [id.rawValue]) else {
            throw StoreError.notFound.with(detail: "account \(id)")
        }
        return row.accountRecord()
    }

    /// Applies an account change outside a batch (e.g. from the API).
    public func updateAccount(_ update: AccountUpdate) async throws(StoreError) {
        try await write { db in try StoreBatch.write(update, in: db) }
    }

    /// One account, or nil when unknown.
    public func account(_ id: AccountID) async throws(StoreError) -> AccountRecord? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM account WHERE id = ?"), arguments: [id.rawValue])?
                .accountRecord()
        }
    }

    /// Accounts in id order, `limit` of them from `offset` on; only `allowed` ones when given.
    public func accounts(allowed: Set<AccountID>? = nil, limit: Int = .max, offset: Int = 0) async throws(StoreError) -> [AccountRecord] {
        let limit = Int64(clamping: max(0, limit)), offset = Int64(clamping: max(0, offset))
        return try await read { db in
            guard let allowed else {
                return try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM account ORDER BY id LIMIT ? OFFSET ?"),
                                        arguments: [limit, offset]).map { $0.accountRecord() }
            }
            let ids = allowed.map(\.rawValue).sorted()
            guard !ids.isEmpty else { return [] }
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
            return try Row.fetchAll(db, sql: "SELECT * FROM account WHERE id IN (\(marks)) ORDER BY id LIMIT ? OFFSET ?",
                                    arguments: StatementArguments(ids.map { $0 as (any DatabaseValueConvertible) } + [limit, offset]))
                .map { $0.accountRecord() }
        }
    }

    /// Every account id (what the bridge does not count as a new account).
    public func accountIDs() async throws(StoreError) -> Set<AccountID> {
        try await read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM account").map(AccountID.init)) }
    }

    /// Every CURVE key binding (Z85 key → account), oldest first.
    public func curveKeyBindings() async throws(StoreError) -> [CurveKeyBindingRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM curve_key_binding ORDER BY bound_at, public_key").map { row in
                CurveKeyBindingRecord(publicKey: row["public_key"], accountId: AccountID(row["account_id"] as String),
                                      boundAt: Date(storedMilliseconds: row["bound_at"]))
            }
        }
    }

    /// Binds a CURVE key to an account (replacing its earlier binding, and any other key's binding
    /// of the account); nil removes the key's binding.
    public func bindCurveKey(_ publicKey: String, to account: AccountID?, at: Date) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM curve_key_binding WHERE public_key = ?", arguments: [publicKey])
            guard let account else { return }
            try db.execute(sql: "DELETE FROM curve_key_binding WHERE account_id = ?", arguments: [account.rawValue])
            try db.execute(sql: "INSERT INTO curve_key_binding (public_key, account_id, bound_at) VALUES (?, ?, ?)",
                           arguments: [publicKey, account.rawValue, at.storedMilliseconds])
        }
    }

    /// Closes every session still open and marks every account disconnected, as of `at`: what a
    /// starting agent does, since no session survives its restart (EAs open new ones). Returns how
    /// many sessions it closed.
    @discardableResult
    public func closeOpenSessions(at: Date, reason: String = "agent_stopped") async throws(StoreError) -> Int {
        try await write { db in
            try db.execute(sql: "UPDATE bridge_session SET closed_at = ?, close_reason = ? WHERE closed_at IS NULL",
                           arguments: [at.storedMilliseconds, reason])
            let closed = db.changesCount
            try db.execute(sql: "UPDATE account SET connected = 0, last_disconnected_at = ? WHERE connected = 1",
                           arguments: [at.storedMilliseconds])
            return closed
        }
    }

    /// An account's bridge sessions, newest first.
    public func sessions(accountId: AccountID, limit: Int = 100) async throws(StoreError) -> [BridgeSessionRecord] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM bridge_session WHERE account_id = ? ORDER BY opened_at DESC, session_id LIMIT ?
                """), arguments: [accountId.rawValue, limit]).map { row in
                BridgeSessionRecord(sessionId: row["session_id"], accountId: accountId,
                                    openedAt: row.date("opened_at") ?? Date(storedMilliseconds: 0),
                                    closedAt: row.date("closed_at"), closeReason: row["close_reason"])
            }
        }
    }

    // MARK: Definitions

    /// A definition by kind and id (deleted ones too: check `deletedAt`).
    public func definition(_ kind: SubjectKind, id: String) async throws(StoreError) -> StoredDefinition? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM definition WHERE kind = ? AND id = ?"),
                             arguments: [kind.rawValue, id])?.definition()
        }
    }

    /// A live definition by account and name (MetaApi's "tracker by name").
    public func definition(_ kind: SubjectKind, accountId: AccountID, name: String) async throws(StoreError) -> StoredDefinition? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT * FROM definition WHERE kind = ? AND account_id = ? AND name = ? AND deleted_at IS NULL
                """), arguments: [kind.rawValue, accountId.rawValue, name])?.definition()
        }
    }

    /// Live definitions of a kind (of one account when given), oldest first.
    public func definitions(_ kind: SubjectKind, accountId: AccountID? = nil,
                            includingDeleted: Bool = false) async throws(StoreError) -> [StoredDefinition] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM definition WHERE kind = ? AND (? IS NULL OR account_id = ?) AND (? OR deleted_at IS NULL)
                ORDER BY created_at, id
                """), arguments: [kind.rawValue, accountId?.rawValue, accountId?.rawValue, includingDeleted])
                .map { $0.definition() }
        }
    }

    // MARK: Resume

    /// The risk core's latest checkpoint, nil on a first run.
    ///
    /// A checkpoint saved beside the store (``saveCheckpoint(_:)``) counts only if the store holds
    /// every event it has numbered: a store restored from a backup older than the checkpoint file
    /// falls back on its own committed checkpoint, rather than numbering events past a gap.
    public func checkpoint() async throws(StoreError) -> Checkpoint? {
        let committed = try await read { db in try Self.checkpointHeader(in: db) }
        let saved = try savedCheckpointHeader().flatMap { $0.nextSequenceNumber <= lastSequenceNumber + 1 ? $0 : nil }
        if var saved, saved.inputPosition > committed?.inputPosition ?? 0 || committed == nil {
            if saved.layout == .perAccount { saved.accounts = try savedCheckpointAccounts() }
            return saved
        }
        guard var committed else { return nil }
        if committed.layout == .perAccount { committed.accounts = try await read { db in try Self.checkpointAccounts(in: db) } }
        return committed
    }

    /// The checkpoint's header row (its ``Checkpoint/accounts`` not read).
    static func checkpointHeader(in db: Database) throws -> Checkpoint? {
        try Row.fetchOne(db, sql: "SELECT * FROM checkpoint WHERE id = 1").map { row in
            Checkpoint(inputPosition: row.sequence("input_position") ?? 0,
                       nextSequenceNumber: row.sequence("next_sequence") ?? 1,
                       layout: (row["layout"] as String?).flatMap(Checkpoint.Layout.init(rawValue:)) ?? .whole,
                       state: row["state"], accounts: [:], isComplete: true,
                       savedAt: row.date("saved_at") ?? Date(storedMilliseconds: 0))
        }
    }

    /// The checkpoint's account rows.
    static func checkpointAccounts(in db: Database) throws -> [AccountID: Data] {
        var accounts: [AccountID: Data] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT account_id, state FROM checkpoint_account") {
            accounts[AccountID(row["account_id"] as String)] = row["state"]
        }
        return accounts
    }

    /// Every account's resume state, in account order.
    public func resumeStates() async throws(StoreError) -> [TerminalResumeState] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM terminal_resume ORDER BY account_id").map { row in
                TerminalResumeState(accountId: AccountID(row["account_id"] as String), sessionId: row["session_id"],
                                    acknowledgedSequence: row.sequence("acknowledged_sequence") ?? 0, state: row["state"])
            }
        }
    }

    // MARK: Enforcement

    /// An account's enforcement commands, newest first.
    public func enforcementCommands(accountId: AccountID, limit: Int = 100) async throws(StoreError) -> [EnforcementCommandRecord] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM enforcement_command WHERE account_id = ? ORDER BY id DESC LIMIT ?
                """), arguments: [accountId.rawValue, limit]).map { $0.enforcementCommand() }
        }
    }

    /// Commands not acknowledged yet, oldest first (to send again when the terminal reconnects).
    public func unacknowledgedCommands(accountId: AccountID? = nil) async throws(StoreError) -> [EnforcementCommandRecord] {
        try await read { db in try Self.unacknowledgedCommands(accountId: accountId, in: db) }
    }

    /// ``unacknowledgedCommands(accountId:)`` for a caller on its own thread.
    public func unacknowledgedCommandsBlocking(accountId: AccountID? = nil) throws(StoreError) -> [EnforcementCommandRecord] {
        try read { db in try Self.unacknowledgedCommands(accountId: accountId, in: db) }
    }

    private static func unacknowledgedCommands(accountId: AccountID?, in db: Database) throws -> [EnforcementCommandRecord] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT * FROM enforcement_command WHERE acknowledged_at IS NULL AND (? IS NULL OR account_id = ?) ORDER BY id
            """), arguments: [accountId?.rawValue, accountId?.rawValue]).map { $0.enforcementCommand() }
    }
}
