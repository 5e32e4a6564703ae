import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// Counters of the live path on `/metrics`.
final class LiveMetrics: Sendable {
    /// Listen connections lost and opened again.
    let reconnects: CoreMetrics.Counter
    let notifications: CoreMetrics.Counter
    let badPayloads: CoreMetrics.Counter
    /// Notifications whose rows could not be read (the pages get a "reload everything" instead).
    let readFailures: CoreMetrics.Counter

    init(registry: PrometheusCollectorRegistry) {
        let factory = PrometheusMetricsFactory(registry: registry)
        reconnects = CoreMetrics.Counter(label: "tidemark_dashboard_live_reconnects_total", factory: factory)
        notifications = CoreMetrics.Counter(label: "tidemark_dashboard_live_notifications_total", factory: factory)
        badPayloads = CoreMetrics.Counter(label: "tidemark_dashboard_live_bad_payloads_total", factory: factory)
        readFailures = CoreMetrics.Counter(label: "tidemark_dashboard_live_read_failures_total", factory: factory)
    }
}

/// Every dashboard process runs one: a dedicated PostgreSQL connection (outside the pool, since a
/// pooled connection is handed back between queries and would stop listening) that `LISTEN`s on
/// ``LiveChange/channel``, reads what each notification names and publishes it into the ``LiveHub``.
///
/// A lost connection is opened again (backoff 100 ms doubling to 5 s, counted as
/// `tidemark_dashboard_live_reconnects_total`); notifications sent meanwhile are gone, so after
/// a reconnect the hub gets ``LiveChange/resynchronize`` and the pages reload what they show.
struct LiveListener: Service {
    let address: DatabaseAddress
    let reader: UIReads
    let hub: LiveHub
    let metrics: LiveMetrics
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await listenUntilCancelled()
        }
        hub.shutdown()
    }

    private func listenUntilCancelled() async {
        var backoff = Duration.milliseconds(100)
        var connectionID = 0
        var everConnected = false
        while !Task.isCancelled {
            connectionID += 1
            do {
                let connection = try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(),
                    configuration: .init(
                        host: address.host, port: address.port, username: address.username,
                        password: address.password, database: address.database, tls: .disable),
                    id: connectionID, logger: logger)
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: LiveChange.channel) { notifications in
                    if everConnected {
                        logger.notice("live updates: listening again; pages reload what they show")
                        await publish(.resynchronize)
                    }
                    everConnected = true
                    backoff = .milliseconds(100)
                    for try await notification in notifications {
                        metrics.notifications.increment()
                        guard let change = LiveChange.decode(payload: notification.payload) else {
                            metrics.badPayloads.increment()
                            logger.warning(
                                "live updates: a notification that is not a change",
                                metadata: ["payload": "\(notification.payload.prefix(200))"])
                            continue
                        }
                        await publish(change)
                    }
                }
                if Task.isCancelled { return }
                throw DashboardError.database.with(detail: "the listen connection ended")
            } catch {
                if Task.isCancelled { return }
                metrics.reconnects.increment()
                logger.warning(
                    "live updates: the listen connection is lost; connecting again",
                    metadata: ["error": "\(String(reflecting: error))", "retry_in": "\(backoff)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    /// Reads the rows a change names and hands them to the hub; a failed read becomes "reload everything".
    private func publish(_ change: LiveChange) async {
        do {
            hub.publish(try await reader.update(for: change))
        } catch {
            metrics.readFailures.increment()
            logger.error(
                "live updates: the changed rows could not be read", metadata: ["error": "\(String(reflecting: error))"])
            hub.publish(LiveUpdate(change: .resynchronize, accounts: [], events: []))
        }
    }
}
