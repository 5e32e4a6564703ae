import FeedProtocol
import Logging
import PostgresNIO

// The parts of an ingest that serve the API: the dashboard-wide event order and the live resources.

extension DashboardStore {
    /// The events of a batch that the dashboard does not hold yet, in their order. An agent's
    /// batches are applied one at a time (its `feed_agent` row is locked first), so nothing of
    /// that agent's store can be inserted between this read and the insert.
    static func newEvents(
        _ events: [FeedEvent], storeId: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [FeedEvent] {
        guard !events.isEmpty else { return [] }
        var held = Set<Int64>()
        let rows = try await connection.query(
            """
            SELECT sequence FROM event WHERE store_id = \(storeId)
                AND sequence = ANY(\(events.map { Int64(clamping: $0.sequence) })::bigint[])
            """, logger: logger)
        for try await sequence in rows.decode(Int64.self) { held.insert(sequence) }
        return events.filter { !held.contains(Int64(clamping: $0.sequence)) }
    }

    /// Numbers `events` dashboard-wide and inserts them, in one statement; returns the last number
    /// (nil for no events). Call it last in the transaction, just before the NOTIFY and the commit.
    ///
    /// The counter's one row stays locked until this transaction ends, so a concurrent ingest (of
    /// this process or another) waits here and numbers its events after these have committed:
    /// numbers commit in their own order, without gaps, and a reader that saw event N has seen every
    /// event below N (what the API's long polls and streams resume from relies on this). Every
    /// ingest that carries events queues on that lock, so whatever else a batch stores is done
    /// before it: the lock is held for this one statement and the commit, never for the batch's
    /// other statements (a breach event behind another agent's batch waits only for its commit).
    static func storeEvents(
        _ events: [FeedEvent], agent: AgentIdentity, storeId: String, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> UInt64? {
        guard !events.isEmpty else { return nil }
        // Arrays cannot carry NULL elements through postgres-nio's binding: a sentinel stands for it.
        let noText = "\u{1}"
        let count = Int64(events.count)
        let rows = try await connection.query(
            """
            WITH numbered AS (UPDATE dashboard_sequence SET last = last + \(count) RETURNING last)
            INSERT INTO event (store_id, sequence, agent_subject, kind, type, account_id, subject_id, broker_time, body,
                               dashboard_sequence)
            SELECT \(storeId), e.s, \(agent.subject), e.k, e.t, NULLIF(e.a, \(noText)), e.j, e.b, e.d,
                   numbered.last - \(count) + e.n
            FROM numbered,
                 unnest(\(events.map { Int64(clamping: $0.sequence) })::bigint[], \(events.map(\.kind))::text[],
                        \(events.map(\.type))::text[], \(events.map { $0.accountId ?? noText })::text[],
                        \(events.map(\.subjectId))::text[], \(events.map(\.brokerTime))::bigint[],
                        \(events.map(\.body))::text[]) WITH ORDINALITY AS e(s, k, t, a, j, b, d, n)
            RETURNING dashboard_sequence
            """, logger: logger)
        var last: Int64?
        for try await number in rows.decode(Int64.self) { last = max(last ?? number, number) }
        guard let last else {
            throw DashboardError.database.with(detail: "the dashboard_sequence row is missing")
        }
        return UInt64(last)
    }

    /// Live resources: the latest of each replaces the one before; one without a body removes it.
    static func applyLive(
        _ resources: [FeedLiveResource], agent: AgentIdentity, on connection: PostgresConnection, logger: Logger
    ) async throws {
        var latest: [FeedLiveResource.Key: FeedLiveResource] = [:]
        for resource in resources { latest[resource.key] = resource }
        let present = latest.values.filter { $0.body != nil }
        let gone = latest.values.filter { $0.body == nil }
        if !gone.isEmpty {
            try await connection.query(
                """
                DELETE FROM live_resource l
                USING unnest(\(gone.map(\.kind.rawValue))::text[], \(gone.map { $0.accountId ?? "" })::text[],
                             \(gone.map(\.subjectId))::text[]) AS g(k, a, s)
                WHERE l.agent_subject = \(agent.subject) AND l.kind = g.k AND l.account_id = g.a AND l.subject_id = g.s
                """, logger: logger)
        }
        if !present.isEmpty {
            try await connection.query(
                """
                INSERT INTO live_resource (agent_subject, kind, account_id, subject_id, start_broker_time, body, updated_at)
                SELECT \(agent.subject), k, a, s, NULLIF(t, \(Int64.min)), b, now()
                FROM unnest(\(present.map(\.kind.rawValue))::text[], \(present.map { $0.accountId ?? "" })::text[],
                            \(present.map(\.subjectId))::text[], \(present.map { $0.startBrokerTime ?? Int64.min })::bigint[],
                            \(present.map { $0.body ?? "" })::text[]) AS r(k, a, s, t, b)
                ON CONFLICT (agent_subject, kind, account_id, subject_id) DO UPDATE SET
                    start_broker_time = excluded.start_broker_time, body = excluded.body, updated_at = now()
                """, logger: logger)
        }
    }
}
