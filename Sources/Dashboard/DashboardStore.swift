import FeedProtocol
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// An agent as its TLS client certificate identifies it.
public struct AgentIdentity: Hashable, Sendable {
    /// The certificate's subject (RFC 4514 form, e.g. `CN=agent-host-a,O=Tidemark`): the agent's name.
    public var subject: String
    /// SHA-256 of the certificate (DER), lowercase hex.
    public var fingerprint: String

    /// An identity.
    public init(subject: String, fingerprint: String) {
        self.subject = subject
        self.fingerprint = fingerprint
    }
}

/// What one batch did, for the acknowledgement, the log and the metrics.
public struct IngestOutcome: Hashable, Sendable {
    /// The answer to the agent.
    public var acknowledgement: FeedAcknowledgement
    /// New items stored, by kind (`event`, `statistics`, `chartRecord`, `declaration`).
    public var stored: [String: Int]
    /// Items already acknowledged before (resent after a lost answer): skipped.
    public var duplicates: Int
    /// Feed rows the agent reported lost to its outbox retention, recorded now.
    public var lost: UInt64
    /// Account states applied.
    public var accountStates: Int
    /// Accounts refused because another agent owns them.
    public var refusedAccounts: [String]
    /// Whether the agent's store changed (a new store starts a new sequence space).
    public var storeChanged: Bool
    /// The dashboard-wide sequence number of the last event this batch stored (nil: it stored none).
    public var lastEventSequence: UInt64?
    /// The account states applied (for live equity streams).
    public var appliedStates: [FeedAccountState]
    /// Live resources stored.
    public var liveResources: Int
}

/// An agent row of `GET /agents`.
public struct AgentRecord: Codable, Hashable, Sendable {
    public var subject: String
    public var fingerprint: String
    public var version: String
    public var storeId: String
    public var connectedSince: Date
    public var lastSeen: Date
    public var acknowledgedThrough: Int64
    public var lostRows: Int64
    public var reportedOverflowRows: Int64
    public var outboxBacklog: Int64
    /// How far behind the agent's feed is: the age of its oldest unacknowledged row when it last posted.
    public var feedLagMilliseconds: Int64
    public var terminalsConnected: Int64
    public var accounts: Int64
    public var refusedClaims: Int64
}

/// The dashboard's PostgreSQL store (postgres-nio): versioned migrations at start, one transaction
/// per feed batch with batched idempotent inserts (`INSERT … SELECT FROM unnest(arrays) ON CONFLICT`),
/// and the reads of `/agents`.
///
/// Keys: events by (agent store, sequence), since an agent's event numbers are its store's;
/// statistics by (agent, tracker, period start); chart records by (account, hour start); declarations
/// by (agent, kind, id). An account belongs to the agent that first fed it (`account.agent_subject`).
public final class DashboardStore: Sendable {
    /// The pool (a `Service`: it must run for queries to be served).
    public let client: PostgresClient
    private let logger: Logger
    /// This process among the dashboard processes on the database: the origin of its live changes.
    public let processId = UUID().uuidString
    /// Account → the agent that owns it, as committed. An account's owner never changes once
    /// claimed, so a known account needs no claim statements (this process's memory, filled only
    /// after a commit; another process learns it from the table).
    private let owners = Mutex<[String: String]>([:])

    /// A store over a pool of at most `connections` connections to `address`.
    public init(address: DatabaseAddress, connections: Int, logger: Logger) {
        var configuration = PostgresClient.Configuration(
            host: address.host, port: address.port, username: address.username,
            password: address.password, database: address.database, tls: .disable)
        configuration.options.maximumConnections = connections
        configuration.options.minimumConnections = 1
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    // MARK: Migrations

    /// The schema, as numbered migrations. One applied never changes; a new need is a new number.
    static let migrations: [(version: Int, name: String, statements: [String])] = [
        (
            1, "feed",
            [
                """
                CREATE TABLE feed_agent (
                    subject TEXT PRIMARY KEY,
                    fingerprint TEXT NOT NULL,
                    version TEXT NOT NULL,
                    store_id TEXT NOT NULL,
                    first_seen_at TIMESTAMPTZ NOT NULL,
                    connected_since TIMESTAMPTZ NOT NULL,
                    last_seen_at TIMESTAMPTZ NOT NULL,
                    acknowledged_through BIGINT NOT NULL DEFAULT 0,
                    lost_rows BIGINT NOT NULL DEFAULT 0,
                    reported_overflow_rows BIGINT NOT NULL DEFAULT 0,
                    outbox_backlog BIGINT NOT NULL DEFAULT 0,
                    outbox_oldest_age_ms BIGINT NOT NULL DEFAULT 0,
                    terminals_connected BIGINT NOT NULL DEFAULT 0,
                    refused_claims BIGINT NOT NULL DEFAULT 0
                )
                """,
                """
                CREATE TABLE account (
                    account_id TEXT PRIMARY KEY,
                    agent_subject TEXT NOT NULL REFERENCES feed_agent(subject),
                    claimed_at TIMESTAMPTZ NOT NULL,
                    connected BOOLEAN NOT NULL DEFAULT FALSE,
                    balance NUMERIC,
                    equity NUMERIC,
                    broker_time BIGINT,
                    observed_at BIGINT
                )
                """,
                "CREATE INDEX account_by_agent ON account(agent_subject)",
                """
                CREATE TABLE refused_claim (
                    agent_subject TEXT NOT NULL,
                    account_id TEXT NOT NULL,
                    owner_subject TEXT NOT NULL,
                    first_at TIMESTAMPTZ NOT NULL,
                    last_at TIMESTAMPTZ NOT NULL,
                    attempts BIGINT NOT NULL,
                    PRIMARY KEY (agent_subject, account_id)
                )
                """,
                """
                CREATE TABLE event (
                    store_id TEXT NOT NULL,
                    sequence BIGINT NOT NULL,
                    agent_subject TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    type TEXT NOT NULL,
                    account_id TEXT,
                    subject_id TEXT NOT NULL,
                    broker_time BIGINT NOT NULL,
                    body TEXT NOT NULL,
                    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (store_id, sequence)
                )
                """,
                "CREATE INDEX event_by_account ON event(account_id, kind, broker_time)",
                "CREATE INDEX event_by_time ON event(kind, broker_time)",
                """
                CREATE TABLE period_statistics (
                    agent_subject TEXT NOT NULL,
                    tracker_id TEXT NOT NULL,
                    start_broker_time BIGINT NOT NULL,
                    account_id TEXT NOT NULL,
                    end_broker_time BIGINT,
                    body TEXT NOT NULL,
                    PRIMARY KEY (agent_subject, tracker_id, start_broker_time)
                )
                """,
                "CREATE INDEX period_statistics_by_account ON period_statistics(account_id)",
                """
                CREATE TABLE equity_chart (
                    account_id TEXT NOT NULL,
                    start_broker_time BIGINT NOT NULL,
                    end_broker_time BIGINT NOT NULL,
                    agent_subject TEXT NOT NULL,
                    body TEXT NOT NULL,
                    PRIMARY KEY (account_id, start_broker_time)
                )
                """,
                """
                CREATE TABLE declaration (
                    agent_subject TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    id TEXT NOT NULL,
                    account_id TEXT,
                    name TEXT,
                    body TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    deleted_at BIGINT,
                    PRIMARY KEY (agent_subject, kind, id)
                )
                """,
            ]
        ),
        (
            2, "api",
            [
                // One ordering of every agent's events, the API's `sequenceNumber`: numbered at insert
                // under the `dashboard_sequence` row lock (see `storeEvents`). Events stored before
                // this migration are numbered in the order they arrived.
                "ALTER TABLE event ADD COLUMN dashboard_sequence BIGINT",
                """
                UPDATE event SET dashboard_sequence = r.n
                FROM (SELECT store_id, sequence, row_number() OVER (ORDER BY received_at, store_id, sequence) AS n FROM event) r
                WHERE event.store_id = r.store_id AND event.sequence = r.sequence
                """,
                "ALTER TABLE event ALTER COLUMN dashboard_sequence SET NOT NULL",
                "CREATE UNIQUE INDEX event_by_dashboard_sequence ON event(dashboard_sequence)",
                """
                CREATE TABLE dashboard_sequence (
                    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
                    last BIGINT NOT NULL
                )
                """,
                "INSERT INTO dashboard_sequence (last) SELECT COALESCE(MAX(dashboard_sequence), 0) FROM event",
                "ALTER TABLE account ADD COLUMN credit NUMERIC",
                // The open parts each agent's API answers from its live engine (FeedLiveResource),
                // the latest of each.
                """
                CREATE TABLE live_resource (
                    agent_subject TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    account_id TEXT NOT NULL,
                    subject_id TEXT NOT NULL,
                    start_broker_time BIGINT,
                    body TEXT NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (agent_subject, kind, account_id, subject_id)
                )
                """,
                "CREATE INDEX live_resource_by_account ON live_resource(account_id, kind)",
                "CREATE INDEX declaration_by_account ON declaration(account_id, kind)",
            ]
        ),
        (
            3, "api-tokens",
            [
                // The dashboard's own API tokens (the admin's is in its configuration): hashes only.
                """
                CREATE TABLE api_token (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    secret_sha256 TEXT NOT NULL UNIQUE,
                    read_only BOOLEAN NOT NULL,
                    accounts TEXT[],
                    created_at TIMESTAMPTZ NOT NULL,
                    revoked_at TIMESTAMPTZ
                )
                """
            ]
        ),
    ]

    /// Applies the migrations not applied yet, each in its own transaction, under an advisory lock
    /// (several dashboard processes starting at once migrate once). Refuses a database migrated by
    /// a newer version.
    public func migrate() async throws(DashboardError) {
        do {
            try await client.withConnection { connection in
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migration (
                        version INT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                    """, logger: logger)
                try await connection.withTransaction(logger: logger) { transaction in
                    try await transaction.query("SELECT pg_advisory_xact_lock(7243510001)", logger: logger)
                    var applied = Set<Int>()
                    for try await version in try await transaction.query(
                        "SELECT version FROM schema_migration", logger: logger
                    )
                    .decode(Int.self) { applied.insert(version) }
                    let known = Set(Self.migrations.map(\.version))
                    if let newer = applied.subtracting(known).max() {
                        throw DashboardError.database.with(
                            detail: "the database has migration \(newer), which this version does not know")
                    }
                    for migration in Self.migrations where !applied.contains(migration.version) {
                        for statement in migration.statements {
                            try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await transaction.query(
                            "INSERT INTO schema_migration (version, name) VALUES (\(migration.version), \(migration.name))",
                            logger: logger)
                        logger.info(
                            "dashboard database migrated",
                            metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                    }
                }
            }
        } catch let error as DashboardError {
            throw error
        } catch {
            throw DashboardError.database.with(detail: "migrations: \(String(reflecting: error))")
        }
    }

    // MARK: Ingest

    /// Stores one batch from `agent` in one transaction and works out its acknowledgement.
    public func ingest(_ batch: FeedBatch, from agent: AgentIdentity) async throws -> IngestOutcome {
        let knownOwners = owners.withLock { owners in
            var known: [String: String] = [:]
            for account in Self.accounts(of: batch) { known[account] = owners[account] }
            return known
        }
        let (outcome, claimed) = try await client.withTransaction(logger: logger) { connection in
            try await Self.ingest(
                batch, from: agent, knownOwners: knownOwners, on: connection, origin: processId, logger: logger)
        }
        if !claimed.isEmpty { owners.withLock { $0.merge(claimed) { current, _ in current } } }
        return outcome
    }

    /// Every account a batch speaks for (a claim, when it is new).
    private static func accounts(of batch: FeedBatch) -> Set<String> {
        Set(
            batch.items.compactMap(\.record.accountId) + batch.accountStates.map(\.accountId)
                + batch.liveResources.compactMap(\.accountId))
    }

    /// One batch in one transaction: in the steady state (the agent and its accounts known) the
    /// agent's row is locked, the items, states and live resources stored, and the agent's row
    /// updated once.
    private static func ingest(
        _ batch: FeedBatch, from agent: AgentIdentity, knownOwners: [String: String], on connection: PostgresConnection,
        origin: String, logger: Logger
    ) async throws -> (IngestOutcome, claimed: [String: String]) {
        let status = batch.agent
        // The agent's row is locked first: two batches of one agent are applied one after the other.
        var previous = try await lockAgent(agent, on: connection, logger: logger)
        if previous == nil {
            // The agent's first batch: its row, then the lock (another process may have inserted it meanwhile).
            try await connection.query(
                """
                INSERT INTO feed_agent (subject, fingerprint, version, store_id, first_seen_at, connected_since, last_seen_at)
                VALUES (\(agent.subject), \(agent.fingerprint), \(status.version), \(status.storeId), now(), now(), now())
                ON CONFLICT (subject) DO NOTHING
                """, logger: logger)
            previous = try await lockAgent(agent, on: connection, logger: logger)
        }
        var storeChanged = false
        var acknowledgedBefore = UInt64(max(0, previous?.acknowledged ?? 0))
        if let previous, previous.storeId != status.storeId {
            // A new store (the agent's data was replaced): its feed sequence starts again at 1.
            storeChanged = true
            acknowledgedBefore = 0
            logger.warning(
                "agent feeds from a new store: its feed sequence starts again",
                metadata: [
                    "agent": "\(agent.subject)", "old_store": "\(previous.storeId)", "new_store": "\(status.storeId)",
                ])
        }
        let plan = FeedSequencing.plan(previouslyAcknowledged: acknowledgedBefore, batch: batch)
        let duplicates = batch.items.count - plan.itemsToStore.count

        // Claims: every account this batch speaks for belongs to the first agent that fed it. Only
        // accounts this process has not seen committed yet need the table.
        var accountOwners = knownOwners
        let speaksFor = Set(
            plan.itemsToStore.compactMap(\.record.accountId) + batch.accountStates.map(\.accountId)
                + batch.liveResources.compactMap(\.accountId))
        let unknown = Array(speaksFor.filter { knownOwners[$0] == nil })
        var claimed: [String: String] = [:]
        if !unknown.isEmpty {
            try await connection.query(
                """
                INSERT INTO account (account_id, agent_subject, claimed_at)
                SELECT id, \(agent.subject), now() FROM unnest(\(unknown)::text[]) AS id
                ON CONFLICT (account_id) DO NOTHING
                """, logger: logger)
            let rows = try await connection.query(
                """
                SELECT account_id, agent_subject FROM account WHERE account_id = ANY(\(unknown)::text[])
                """, logger: logger)
            for try await (account, owner) in rows.decode((String, String).self) {
                accountOwners[account] = owner
                claimed[account] = owner
            }
        }
        var refused: [String] = []
        var refusedOwners: [String] = []
        for account in speaksFor.sorted() {
            if let owner = accountOwners[account], owner != agent.subject {
                refused.append(account)
                refusedOwners.append(owner)
            }
        }
        if !refused.isEmpty {
            try await connection.query(
                """
                INSERT INTO refused_claim (agent_subject, account_id, owner_subject, first_at, last_at, attempts)
                SELECT \(agent.subject), account, owner, now(), now(), 1
                FROM unnest(\(refused)::text[], \(refusedOwners)::text[]) AS r(account, owner)
                ON CONFLICT (agent_subject, account_id) DO UPDATE SET last_at = now(), attempts = refused_claim.attempts + 1
                """, logger: logger)
        }
        let refusedSet = Set(refused)
        let owned = plan.itemsToStore.filter { item in item.record.accountId.map { !refusedSet.contains($0) } ?? true }
        var stored = try await store(owned, agent: agent, storeId: status.storeId, on: connection, logger: logger)
        let states = batch.accountStates.filter { !refusedSet.contains($0.accountId) }
        if !states.isEmpty { try await apply(states, on: connection, logger: logger) }
        let live = batch.liveResources.filter { $0.accountId.map { !refusedSet.contains($0) } ?? true }
        if !live.isEmpty { try await applyLive(live, agent: agent, on: connection, logger: logger) }
        // The agent's status and position in one statement. An agent quiet for 30 s or more is
        // connected again from now.
        try await connection.query(
            """
            UPDATE feed_agent AS a SET
                fingerprint = \(agent.fingerprint), version = \(status.version), store_id = \(status.storeId),
                connected_since = CASE WHEN a.last_seen_at < now() - interval '30 seconds' THEN now() ELSE a.connected_since END,
                last_seen_at = now(), reported_overflow_rows = \(status.overflowedRows),
                outbox_backlog = \(Int64(status.outboxBacklog)), outbox_oldest_age_ms = \(status.outboxOldestAgeMilliseconds),
                terminals_connected = \(Int64(status.terminalsConnected)),
                acknowledged_through = \(Int64(clamping: plan.acknowledgedThrough)),
                lost_rows = a.lost_rows + \(Int64(clamping: plan.lostCount)),
                refused_claims = a.refused_claims + \(Int64(refused.count))
            WHERE a.subject = \(agent.subject)
            """, logger: logger)
        // Last: the events, numbered dashboard-wide under the one lock every ingest with events
        // queues on, held from here to the commit (see `storeEvents`).
        let lastEventSequence = try await storeEvents(
            stored.newEvents, agent: agent, storeId: status.storeId, on: connection, logger: logger)
        if !stored.newEvents.isEmpty { stored.counts["event"] = stored.newEvents.count }
        // Every dashboard process hears what this batch changed once it commits (NOTIFY is
        // delivered at commit, and not at all on rollback).
        let change = LiveChange(
            storedEvents: owned.compactMap { if case .event(let event) = $0.record { event } else { nil } },
            storeId: status.storeId,
            accounts: owned.compactMap(\.record.accountId) + states.map(\.accountId) + live.compactMap(\.accountId),
            eventsThrough: lastEventSequence, origin: origin)
        if !change.isEmpty {
            for payload in change.payloads() {
                try await connection.query("SELECT pg_notify(\(LiveChange.channel), \(payload))", logger: logger)
            }
        }
        let outcome = IngestOutcome(
            acknowledgement: FeedAcknowledgement(
                acknowledgedThrough: plan.acknowledgedThrough,
                refusedAccounts: refused),
            stored: stored.counts, duplicates: duplicates, lost: plan.lostCount, accountStates: states.count,
            refusedAccounts: refused, storeChanged: storeChanged, lastEventSequence: lastEventSequence,
            appliedStates: states, liveResources: live.count)
        return (outcome, claimed)
    }

    /// Locks the agent's row for this transaction; its position and store before this batch (nil: no row yet).
    private static func lockAgent(
        _ agent: AgentIdentity, on connection: PostgresConnection, logger: Logger
    ) async throws -> (acknowledged: Int64, storeId: String)? {
        let rows = try await connection.query(
            """
            SELECT acknowledged_through, store_id FROM feed_agent WHERE subject = \(agent.subject) FOR UPDATE
            """, logger: logger)
        for try await (acknowledged, storeId) in rows.decode((Int64, String).self) {
            return (acknowledged, storeId)
        }
        return nil
    }

    /// Batched idempotent inserts, one statement per kind. Statistics, chart records and
    /// declarations are upserts (the agent rewrites them); within a batch the last of a key wins.
    /// Events are not inserted here: returns those the dashboard does not hold yet, in feed order,
    /// for ``storeEvents(_:agent:storeId:on:logger:)`` at the end of the transaction.
    private static func store(
        _ items: [FeedItem], agent: AgentIdentity, storeId: String, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> (counts: [String: Int], newEvents: [FeedEvent]) {
        // Arrays cannot carry NULL elements through postgres-nio's binding: a sentinel stands for it.
        let noText = "\u{1}"
        let noTime = Int64.min
        var events: [FeedEvent] = []  // in feed order, which is the agent's event order
        var statistics: [String: FeedStatistics] = [:]
        var charts: [String: FeedChartRecord] = [:]
        var declarations: [String: FeedDeclaration] = [:]
        for item in items {
            switch item.record {
            case .event(let event): events.append(event)
            case .statistics(let record): statistics["\(record.trackerId)\u{1}\(record.startBrokerTime)"] = record
            case .chartRecord(let record): charts["\(record.accountId)\u{1}\(record.startBrokerTime)"] = record
            case .declaration(let declaration): declarations["\(declaration.kind)\u{1}\(declaration.id)"] = declaration
            }
        }
        var stored: [String: Int] = [:]
        let unheld = try await newEvents(events, storeId: storeId, on: connection, logger: logger)
        if !statistics.isEmpty {
            let records = Array(statistics.values)
            try await connection.query(
                """
                INSERT INTO period_statistics (agent_subject, tracker_id, start_broker_time, account_id, end_broker_time, body)
                SELECT \(agent.subject), t, s, a, NULLIF(e, \(noTime)), d
                FROM unnest(\(records.map(\.trackerId))::text[], \(records.map(\.startBrokerTime))::bigint[],
                            \(records.map(\.accountId))::text[], \(records.map { $0.endBrokerTime ?? noTime })::bigint[],
                            \(records.map(\.body))::text[]) AS r(t, s, a, e, d)
                ON CONFLICT (agent_subject, tracker_id, start_broker_time) DO UPDATE SET
                    account_id = excluded.account_id, end_broker_time = excluded.end_broker_time, body = excluded.body
                """, logger: logger)
            stored["statistics"] = records.count
        }
        if !charts.isEmpty {
            let records = Array(charts.values)
            try await connection.query(
                """
                INSERT INTO equity_chart (account_id, start_broker_time, end_broker_time, agent_subject, body)
                SELECT a, s, e, \(agent.subject), d
                FROM unnest(\(records.map(\.accountId))::text[], \(records.map(\.startBrokerTime))::bigint[],
                            \(records.map(\.endBrokerTime))::bigint[], \(records.map(\.body))::text[]) AS r(a, s, e, d)
                ON CONFLICT (account_id, start_broker_time) DO UPDATE SET end_broker_time = excluded.end_broker_time, body = excluded.body
                """, logger: logger)
            stored["chartRecord"] = records.count
        }
        if !declarations.isEmpty {
            let records = Array(declarations.values)
            try await connection.query(
                """
                INSERT INTO declaration (agent_subject, kind, id, account_id, name, body, created_at, deleted_at)
                SELECT \(agent.subject), k, i, NULLIF(a, \(noText)), NULLIF(n, \(noText)), d, c, NULLIF(x, \(noTime))
                FROM unnest(\(records.map(\.kind))::text[], \(records.map(\.id))::text[], \(records.map { $0.accountId ?? noText })::text[],
                            \(records.map { $0.name ?? noText })::text[], \(records.map(\.body))::text[],
                            \(records.map(\.createdAt))::bigint[], \(records.map { $0.deletedAt ?? noTime })::bigint[])
                    AS r(k, i, a, n, d, c, x)
                ON CONFLICT (agent_subject, kind, id) DO UPDATE SET account_id = excluded.account_id, name = excluded.name,
                    body = excluded.body, deleted_at = excluded.deleted_at
                """, logger: logger)
            stored["declaration"] = records.count
        }
        return (stored, unheld)
    }

    /// Live account states: the latest wins (an older one, by the agent's clock, is ignored).
    private static func apply(
        _ states: [FeedAccountState], on connection: PostgresConnection, logger: Logger
    ) async throws {
        var latest: [String: FeedAccountState] = [:]
        for state in states where (latest[state.accountId]?.observedAt ?? .min) <= state.observedAt {
            latest[state.accountId] = state
        }
        let values = Array(latest.values)
        let noText = "\u{1}"
        try await connection.query(
            """
            UPDATE account SET connected = s.c, balance = NULLIF(s.b, \(noText))::numeric, equity = NULLIF(s.e, \(noText))::numeric,
                credit = NULLIF(s.r, \(noText))::numeric, broker_time = NULLIF(s.t, \(Int64.min)), observed_at = s.o
            FROM unnest(\(values.map(\.accountId))::text[], \(values.map(\.connected))::boolean[],
                        \(values.map { $0.balance ?? noText })::text[], \(values.map { $0.equity ?? noText })::text[],
                        \(values.map { $0.credit ?? noText })::text[],
                        \(values.map { $0.brokerTime ?? Int64.min })::bigint[], \(values.map(\.observedAt))::bigint[])
                AS s(id, c, b, e, r, t, o)
            WHERE account.account_id = s.id AND (account.observed_at IS NULL OR account.observed_at <= s.o)
            """, logger: logger)
    }

    // MARK: Reads

    /// Every agent that ever fed, by subject.
    public func agents() async throws -> [AgentRecord] {
        let rows = try await client.query(
            """
            SELECT a.subject, a.fingerprint, a.version, a.store_id, a.connected_since, a.last_seen_at, a.acknowledged_through,
                   a.lost_rows, a.reported_overflow_rows, a.outbox_backlog, a.outbox_oldest_age_ms, a.terminals_connected,
                   (SELECT COUNT(*) FROM account c WHERE c.agent_subject = a.subject), a.refused_claims
            FROM feed_agent a ORDER BY a.subject
            """, logger: logger)
        var agents: [AgentRecord] = []
        for try await row in rows.decode(
            (String, String, String, String, Date, Date, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
        {
            agents.append(
                AgentRecord(
                    subject: row.0, fingerprint: row.1, version: row.2, storeId: row.3, connectedSince: row.4,
                    lastSeen: row.5, acknowledgedThrough: row.6, lostRows: row.7, reportedOverflowRows: row.8,
                    outboxBacklog: row.9, feedLagMilliseconds: row.10, terminalsConnected: row.11,
                    accounts: row.12, refusedClaims: row.13))
        }
        return agents
    }

    /// Whether PostgreSQL answers (for `/ready`).
    public func isReachable() async -> Bool {
        (try? await client.query("SELECT 1", logger: logger)) != nil
    }
}
