import API
import FeedProtocol
import Foundation
import Logging
import PostgresNIO
import RiskCore

/// An account as the overview shows it (numbers as exact decimal text).
public struct AccountRow: Codable, Hashable, Sendable {
    public var accountId: String
    public var agent: String
    public var connected: Bool
    public var balance: String?
    public var equity: String?
    public var credit: String?
    /// The account's last broker time, milliseconds since 1970 in broker time.
    public var brokerTime: Int64?
    /// The balance at the start of the account's current broker day (from the equity chart), for
    /// today's drawdown: max(0, day-start balance − equity).
    public var dayStartBalance: String?
    /// When its agent last fed the dashboard.
    public var agentLastSeen: Date
    /// Whether a breach event (challenge failed, or a tracker's drawdown threshold) was ever stored.
    public var breached: Bool
    /// The account's challenges: declaration body (JSON text), latest event and the risk core's
    /// live progress.
    public var challenges: [ChallengeSummary]
}

/// A challenge beside its latest state.
public struct ChallengeSummary: Codable, Hashable, Sendable {
    public var id: String
    public var name: String?
    /// The declaration as the agent stored it (JSON text).
    public var declaration: String
    /// The type of its latest event (`phaseStarted`, `challengeFailed`, …), nil before any.
    public var lastEventType: String?
    /// The body of its latest event (JSON text).
    public var lastEventBody: String?
    /// The risk core's live progress exactly as `GET /users/current/accounts/{accountId}/challenges/
    /// {challengeId}/status` answers it (JSON text of `ChallengeProgressResource`: every rule's
    /// value, limit, floor and headroom), nil before the agent reported any. The pages show these
    /// figures as they are: no rule is evaluated twice.
    public var progress: String?
}

/// An event as the pages show it.
public struct EventRow: Codable, Hashable, Sendable {
    public var storeId: String
    public var sequence: Int64
    public var agent: String
    public var kind: String
    public var type: String
    public var accountId: String?
    public var subjectId: String
    public var brokerTime: Int64
    /// The event resource as the agent stored it (JSON text).
    public var body: String
    /// A breach: a failed challenge or a drawdown threshold exceeded.
    public var isBreach: Bool { UIReads.isBreach(kind: kind, type: type) }
}

/// What the UI reads from the dashboard's PostgreSQL tables, always limited to the accounts a
/// principal may see (`visible == nil`: every account).
public struct UIReads: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// The event kinds and types that count as a breach (the alert feed, a red row).
    static func isBreach(kind: String, type: String) -> Bool {
        (kind == "challenge" && (type == "challengeFailed")) || (kind == "tracker" && type == "drawdown")
    }

    private static let breachCondition =
        "((e.kind = 'challenge' AND e.type = 'challengeFailed') OR (e.kind = 'tracker' AND e.type = 'drawdown'))"

    /// The rows of these accounts (nil: all), limited to `visible`.
    public func accounts(_ ids: [String]?, visible: Set<String>?) async throws -> [AccountRow] {
        let limit = Self.filter(ids, visible)
        if let limit, limit.isEmpty { return [] }
        let all = limit == nil
        let wanted = limit ?? []
        let rows = try await client.query(
            """
            SELECT a.account_id, a.agent_subject, a.connected, a.balance::text, a.equity::text, a.credit::text, a.broker_time,
                COALESCE(
                    (SELECT c.body::jsonb->>'startBalance' FROM equity_chart c WHERE c.account_id = a.account_id
                        AND c.start_broker_time >= (a.broker_time / 86400000) * 86400000 ORDER BY c.start_broker_time LIMIT 1),
                    (SELECT c.body::jsonb->>'lastBalance' FROM equity_chart c WHERE c.account_id = a.account_id
                        AND c.start_broker_time < (a.broker_time / 86400000) * 86400000 ORDER BY c.start_broker_time DESC LIMIT 1)),
                f.last_seen_at,
                EXISTS (SELECT 1 FROM event e WHERE e.account_id = a.account_id AND \(unescaped: Self.breachCondition)),
                COALESCE((SELECT json_agg(json_build_object('id', d.id, 'name', d.name, 'declaration', d.body,
                        'lastEventType', l.type, 'lastEventBody', l.body, 'progress', p.body) ORDER BY d.id)
                    FROM declaration d
                    LEFT JOIN LATERAL (SELECT e.type, e.body FROM event e WHERE e.kind = 'challenge' AND e.subject_id = d.id
                        AND e.account_id = a.account_id ORDER BY e.broker_time DESC, e.sequence DESC LIMIT 1) l ON TRUE
                    LEFT JOIN live_resource p ON p.kind = \(FeedLiveResource.Kind.challengeProgress.rawValue)
                        AND p.agent_subject = d.agent_subject AND p.account_id = a.account_id AND p.subject_id = d.id
                    WHERE d.kind = 'challenge' AND d.account_id = a.account_id AND d.deleted_at IS NULL)::text, '[]')
            FROM account a JOIN feed_agent f ON f.subject = a.agent_subject
            WHERE \(all) OR a.account_id = ANY(\(wanted)::text[])
            ORDER BY a.account_id
            """, logger: logger)
        var accounts: [AccountRow] = []
        for try await row in rows.decode(
            (String, String, Bool, String?, String?, String?, Int64?, String?, Date, Bool, String).self)
        {
            var challenges = (try? JSONDecoder().decode([ChallengeSummary].self, from: Data(row.10.utf8))) ?? []
            for index in challenges.indices {
                challenges[index].progress = challenges[index].progress.flatMap {
                    statusJSON(riskCoreProgress: $0, challenge: challenges[index].id, account: row.0)
                }
            }
            accounts.append(
                AccountRow(
                    accountId: row.0, agent: row.1, connected: row.2, balance: row.3, equity: row.4, credit: row.5,
                    brokerTime: row.6, dayStartBalance: row.7, agentLastSeen: row.8, breached: row.9,
                    challenges: challenges))
        }
        return accounts
    }

    /// The REST status route's JSON for the risk core's progress as the feed stored it (the same
    /// conversion the agent's and the dashboard's API make). A body that does not decode is logged
    /// and shown as no progress, never as invented figures.
    func statusJSON(riskCoreProgress body: String, challenge: String, account: String) -> String? {
        do {
            let progress = try JSONDecoder().decode(ChallengeProgress.self, from: Data(body.utf8))
            return String(decoding: try APIJSON.encoder.encode(ChallengeProgressResource(progress)), as: UTF8.self)
        } catch {
            logger.warning(
                "challenge progress not shown: it does not decode",
                metadata: ["challenge": "\(challenge)", "account": "\(account)", "reason": "\(error)"])
            return nil
        }
    }

    /// Events, newest first: of one account, or the breaches across every visible account.
    public func events(
        account: String?, breachesOnly: Bool, visible: Set<String>?, limit: Int
    ) async throws
        -> [EventRow]
    {
        if let account, let visible, !visible.contains(account) { return [] }
        let all = visible == nil
        let wanted = Array(visible ?? [])
        let onlyBreaches = breachesOnly
        let anyAccount = account == nil
        let rows = try await client.query(
            """
            SELECT e.store_id, e.sequence, e.agent_subject, e.kind, e.type, e.account_id, e.subject_id, e.broker_time, e.body
            FROM event e
            WHERE (\(all) OR e.account_id = ANY(\(wanted)::text[]))
              AND (\(anyAccount) OR e.account_id = \(account ?? ""))
              AND (NOT \(onlyBreaches) OR \(unescaped: Self.breachCondition))
            ORDER BY e.received_at DESC, e.broker_time DESC, e.sequence DESC LIMIT \(Int64(limit))
            """, logger: logger)
        return try await Self.eventRows(rows)
    }

    /// The events of one store's sequence range (a notification's), oldest first.
    func events(storeId: String, from first: Int64, through last: Int64) async throws -> [EventRow] {
        let rows = try await client.query(
            """
            SELECT e.store_id, e.sequence, e.agent_subject, e.kind, e.type, e.account_id, e.subject_id, e.broker_time, e.body
            FROM event e WHERE e.store_id = \(storeId) AND e.sequence BETWEEN \(first) AND \(last)
            ORDER BY e.sequence
            """, logger: logger)
        return try await Self.eventRows(rows)
    }

    private static func eventRows(_ rows: PostgresRowSequence) async throws -> [EventRow] {
        var events: [EventRow] = []
        for try await row in rows.decode((String, Int64, String, String, String, String?, String, Int64, String).self) {
            events.append(
                EventRow(
                    storeId: row.0, sequence: row.1, agent: row.2, kind: row.3, type: row.4, accountId: row.5,
                    subjectId: row.6, brokerTime: row.7, body: row.8))
        }
        return events
    }

    /// One account's page, as one JSON document built by PostgreSQL: chart records, period
    /// statistics, declarations (trackers, challenges, competitions naming it). Nil when not visible
    /// or unknown.
    func accountDetail(_ account: String, visible: Set<String>?) async throws -> String? {
        if let visible, !visible.contains(account) { return nil }
        let rows = try await client.query(
            """
            SELECT json_build_object(
                'chart', COALESCE((SELECT json_agg(c.body::json ORDER BY c.start_broker_time) FROM equity_chart c
                    WHERE c.account_id = \(account)), '[]'),
                'statistics', COALESCE((SELECT json_agg(json_build_object('trackerId', s.tracker_id, 'record', s.body::json)
                    ORDER BY s.tracker_id, s.start_broker_time DESC) FROM period_statistics s WHERE s.account_id = \(account)), '[]'),
                'declarations', COALESCE((SELECT json_agg(json_build_object('kind', d.kind, 'id', d.id, 'name', d.name,
                    'body', d.body::json) ORDER BY d.kind, d.id) FROM declaration d
                    WHERE d.deleted_at IS NULL AND (d.account_id = \(account) OR d.body LIKE '%' || \(account) || '%')), '[]')
            )::text
            FROM account a WHERE a.account_id = \(account)
            """, logger: logger)
        for try await text in rows.decode(String.self) { return text }
        return nil
    }

    /// Competitions whose entrants are all visible, each with its latest events (JSON text).
    func competitions(visible: Set<String>?) async throws -> String {
        let rows = try await client.query(
            """
            SELECT COALESCE(json_agg(json_build_object('id', d.id, 'name', d.name, 'body', d.body::json,
                'events', COALESCE((SELECT json_agg(x.body::json) FROM (SELECT e.body FROM event e
                    WHERE e.kind = 'competition' AND e.subject_id = d.id ORDER BY e.received_at DESC, e.sequence DESC LIMIT 200) x), '[]'))
                ORDER BY d.id), '[]')::text
            FROM declaration d WHERE d.kind = 'competition' AND d.deleted_at IS NULL
            """, logger: logger)
        var text = "[]"
        for try await value in rows.decode(String.self) { text = value }
        guard let visible else { return text }
        // A competition is shown only to a token that may see every entrant (as the API does).
        guard let all = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return "[]" }
        let shown = all.filter { competition in
            let entrants = Self.accountIds(in: competition["body"])
            return !entrants.isEmpty && entrants.isSubset(of: visible)
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: shown), as: UTF8.self)
    }

    /// Every string under an `accounts`/`accountIds` key of a declaration body.
    static func accountIds(in body: Any?) -> Set<String> {
        guard let object = body as? [String: Any] else { return [] }
        for key in ["accounts", "accountIds", "entrants"] {
            if let list = object[key] as? [String] { return Set(list) }
            if let list = object[key] as? [[String: Any]] {
                return Set(list.compactMap { ($0["accountId"] ?? $0["account"]) as? String })
            }
        }
        return []
    }

    /// What a notification names, read once for every page of this process.
    func update(for change: LiveChange) async throws -> LiveUpdate {
        let accounts = try await self.accounts(change.everything ? nil : change.accounts, visible: nil)
        var events: [EventRow] = []
        if let store = change.storeId, let first = change.firstEvent, let last = change.lastEvent {
            events = try await self.events(storeId: store, from: first, through: last)
        }
        var eventsThrough = change.eventsThrough
        if change.everything {
            // Whatever was missed: the API's waiters catch up with everything stored.
            let rows = try await client.query("SELECT last FROM dashboard_sequence", logger: logger)
            for try await last in rows.decode(Int64.self) { eventsThrough = UInt64(max(0, last)) }
        }
        return LiveUpdate(change: change, accounts: accounts, events: events, eventsThrough: eventsThrough)
    }

    /// The requested ids limited to the visible ones (nil: no limit at all).
    static func filter(_ ids: [String]?, _ visible: Set<String>?) -> [String]? {
        switch (ids, visible) {
        case (nil, nil): nil
        case (let ids?, nil): ids
        case (nil, let visible?): Array(visible)
        case (let ids?, let visible?): ids.filter(visible.contains)
        }
    }
}

extension AccountRow {
    /// The row as the feed's account state (what the API's equity streams are fed from).
    var feedState: FeedAccountState {
        FeedAccountState(
            accountId: accountId, connected: connected, balance: balance, equity: equity, credit: credit,
            brokerTime: brokerTime, observedAt: brokerTime ?? 0)
    }
}
