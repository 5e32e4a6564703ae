import API
import EquityEngine
import FeedProtocol
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import TidemarkProtocol

/// The agents' REST API, served by the dashboard over PostgreSQL across every agent: the API
/// target's own routes (no second copy), read-only, with the dashboard's tokens.
///
/// It owns the one `EventNotifier` and `EquityBroadcaster` of this process: long polls, event
/// streams and equity streams wait on them, and ``published(eventsThrough:accountStates:)`` is the
/// single way in for "new data is committed", called after each ingest commit of this process
/// (and by whatever relays other dashboard processes' commits).
public final class DashboardAPI: Sendable {
    /// The API's routes and settings.
    public let api: TidemarkAPI
    /// Wakes long polls and event streams.
    public var notifier: EventNotifier { api.notifier }
    /// Feeds equity streams.
    public var equity: EquityBroadcaster { api.equity }
    private let store: DashboardStore
    private let logger: Logger

    /// The API over `store`, with `adminToken` as the admin's secret.
    /// `sessions`: the web UI's session cookies, accepted for reads (``UIAPISessions``).
    public init(
        store: DashboardStore, adminToken: String, configuration: APIConfiguration = .init(), logger: Logger,
        sessions: (any SessionAuthority)? = nil
    ) {
        self.store = store
        self.logger = logger
        api = TidemarkAPI(
            readModel: PostgresReadModel(store: store, logger: logger), control: ReadOnlyControl(),
            tokens: PostgresTokenAuthority(store: store, adminToken: adminToken, logger: logger),
            webhooks: ReadOnlyWebhooks(), notifier: EventNotifier(), equity: EquityBroadcaster(),
            configuration: configuration, sessions: sessions)
    }

    /// New data is committed: events up to `eventsThrough` (dashboard-wide sequence) and these
    /// account states. Wakes the long polls and streams waiting for them.
    public func published(eventsThrough sequence: UInt64?, accountStates: [FeedAccountState]) {
        if let sequence { notifier.published(through: sequence) }
        for state in accountStates {
            guard let observation = Self.observation(state) else { continue }
            equity.publish(observation)
        }
    }

    /// An account state as the equity stream's observation; nil without figures. Floating is what
    /// the figures imply (equity − balance − credit), as the equity engine defines equity.
    static func observation(_ state: FeedAccountState) -> EquityObservation? {
        guard let balance = state.balance.flatMap(FixedDecimal.init),
            let equity = state.equity.flatMap(FixedDecimal.init),
            let time = state.brokerTime
        else { return nil }
        let credit = state.credit.flatMap(FixedDecimal.init) ?? .zero
        return EquityObservation(
            account: AccountID(state.accountId), time: BrokerTime(milliseconds: time), balance: balance,
            credit: credit, equity: equity, floating: equity.subtractingClamped(balance).subtractingClamped(credit))
    }

    /// Adds the API's routes under `/users/current` (and `/openapi.json`), writes refused first.
    public func addRoutes(to router: Router<APIRequestContext>) {
        router.add(middleware: ReadOnlyMiddleware())
        api.addRoutes(to: router)
    }

    /// Catches the notifier up with what is stored (call once the migrations ran).
    public func catchUp() async throws {
        let rows = try await store.client.query("SELECT last FROM dashboard_sequence", logger: logger)
        for try await last in rows.decode(Int64.self) { notifier.published(through: UInt64(max(0, last))) }
    }

    /// On graceful shutdown: long polls answer `[]`, streams end, so the HTTP server can drain.
    struct Shutdown: Service {
        let api: DashboardAPI
        func run() async throws {
            try? await gracefulShutdown()
            api.api.shutdown()
        }
    }
}
