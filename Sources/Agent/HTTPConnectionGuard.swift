import CoreMetrics
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP server's limits: how long a connection may take to send a request, how long it may
/// stay idle between requests, and how many may be open at once.
public struct HTTPLimits: Hashable, Sendable {
    /// A kept-alive connection with no new request for this long is closed.
    public var idleTimeout: Duration
    /// A new connection must have sent a whole request head within this.
    public var headerTimeout: Duration
    /// A request body must have arrived whole within this (from its head).
    public var bodyTimeout: Duration
    /// Open connections served normally. Beyond it a connection may ask only for `/health` or
    /// `/ready` (answered, then closed); anything else gets 503. Beyond
    /// `maximumConnections + reserve` a connection is closed at once.
    public var maximumConnections: Int
    /// Connections past the maximum still read (so `/health` answers at the limit).
    public var reserve: Int

    /// Limits; 30 s idle, 10 s for a request head, 30 s for a body, 4,096 connections, 64 more for
    /// health checks.
    public init(
        idleTimeout: Duration = .seconds(30), headerTimeout: Duration = .seconds(10),
        bodyTimeout: Duration = .seconds(30),
        maximumConnections: Int = 4_096, reserve: Int = 64
    ) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maximumConnections = maximumConnections
        self.reserve = reserve
    }
}

/// What every connection's guard shares: the open-connection count and the metrics.
final class HTTPConnectionLedger: Sendable {
    let limits: HTTPLimits
    private let open = Atomic<Int>(0)
    let openGauge: CoreMetrics.Gauge
    let refused: CoreMetrics.Counter
    let restricted: CoreMetrics.Counter
    private let timedOut: [HTTPConnectionGuard.Phase: CoreMetrics.Counter]

    init(limits: HTTPLimits, factory: any MetricsFactory) {
        self.limits = limits
        openGauge = CoreMetrics.Gauge(label: "tidemark_http_connections", factory: factory)
        refused = CoreMetrics.Counter(label: "tidemark_http_connections_refused_total", factory: factory)
        restricted = CoreMetrics.Counter(label: "tidemark_http_connections_over_limit_total", factory: factory)
        var timedOut: [HTTPConnectionGuard.Phase: CoreMetrics.Counter] = [:]
        for phase in HTTPConnectionGuard.Phase.allCases {
            timedOut[phase] = CoreMetrics.Counter(
                label: "tidemark_http_connections_timed_out_total",
                dimensions: [("phase", phase.rawValue)], factory: factory)
        }
        self.timedOut = timedOut
    }

    /// Counts a new connection; returns how many are open with it.
    func opened() -> Int {
        let count = open.wrappingAdd(1, ordering: .relaxed).newValue
        openGauge.record(count)
        return count
    }

    func closed() {
        openGauge.record(open.wrappingSubtract(1, ordering: .relaxed).newValue)
    }

    func timedOut(in phase: HTTPConnectionGuard.Phase) { timedOut[phase]?.increment() }
}

/// One connection's limits, as a channel handler after the HTTP decoder: a deadline for each
/// phase of a request (head, body) and for the idle time between requests. No deadline runs
/// while a response is being produced: long polls and event streams keep their own caps.
///
/// Over the connection limit the connection is served one health check at most.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Where a connection is in its request cycle (a metric label).
    enum Phase: String, CaseIterable, Hashable, Sendable {
        case header, body, idle
    }

    private let ledger: HTTPConnectionLedger
    private let logger: Logger
    private var counted = false
    /// Past the maximum: only `/health` and `/ready` are answered, then the connection closes.
    private var overLimit = false
    /// Requests whose body is still arriving, and requests not yet answered.
    private var requestsBeingRead = 0
    private var requestsInProgress = 0
    /// A refused request's remaining parts are dropped.
    private var discarding = false
    private var deadline: Scheduled<Void>?

    init(ledger: HTTPConnectionLedger, logger: Logger) {
        self.ledger = ledger
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        let open = ledger.opened()
        let limits = ledger.limits
        if open > limits.maximumConnections + limits.reserve {
            ledger.refused.increment()
            context.close(promise: nil)
            return
        }
        if open > limits.maximumConnections {
            overLimit = true
            ledger.restricted.increment()
        }
        arm(.header, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if counted {
            ledger.closed()
            counted = false
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            if overLimit, head.path != "/health", head.path != "/ready" {
                ledger.refused.increment()
                refuse(context: context)
                return
            }
            requestsBeingRead += 1
            requestsInProgress += 1
            arm(.body, context: context)
        case .body:
            if discarding { return }
        case .end:
            if discarding { return }
            requestsBeingRead = max(0, requestsBeingRead - 1)
            if requestsBeingRead == 0 { disarm() }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        requestsInProgress = max(0, requestsInProgress - 1)
        if overLimit {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(data).whenComplete { _ in bound.value.close(promise: nil) }
            promise?.succeed()
            return
        }
        context.write(data, promise: promise)
        if requestsInProgress == 0, requestsBeingRead == 0 { arm(.idle, context: context) }
    }

    /// 503 with `Connection: close`, without the application seeing the request.
    private func refuse(context: ChannelHandlerContext) {
        discarding = true
        disarm()
        let body = "too many connections\n"
        var fields = HTTPFields()
        fields[.connection] = "close"
        fields[.contentType] = "text/plain"
        fields[.contentLength] = "\(body.utf8.count)"
        context.write(
            wrapOutboundOut(.head(HTTPResponse(status: .serviceUnavailable, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(string: body))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }

    private func arm(_ phase: Phase, context: ChannelHandlerContext) {
        deadline?.cancel()
        let limits = ledger.limits
        let timeout =
            switch phase {
            case .header: limits.headerTimeout
            case .body: limits.bodyTimeout
            case .idle: limits.idleTimeout
            }
        let (seconds, attoseconds) = timeout.components
        let amount = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: amount) {
            let (handler, context) = loopBound.value
            handler.deadline = nil
            handler.ledger.timedOut(in: phase)
            handler.logger.debug(
                "http connection closed", metadata: ["phase": "\(phase.rawValue)", "timeout": "\(timeout)"])
            context.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

/// The process's limit on open files (sockets included), raised to what the system allows.
enum FileDescriptorLimit {
    /// Raises the soft limit to the hard one; returns the soft limit in force afterwards.
    static func raise() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1_024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}

extension AgentRuntime {
    /// The HTTP limits from the configuration, the connection maximum kept below the file
    /// descriptors the process may open (raised to the system's hard limit first), with room
    /// for the bridge's sockets, the store's files and the health-check reserve.
    func httpLimits() -> HTTPLimits {
        var limits = HTTPLimits(
            idleTimeout: .seconds(configuration.httpIdleTimeoutSeconds),
            headerTimeout: .seconds(configuration.httpHeaderTimeoutSeconds),
            bodyTimeout: .seconds(configuration.httpBodyTimeoutSeconds),
            maximumConnections: configuration.httpMaximumConnections)
        let descriptors = FileDescriptorLimit.raise()
        let available = max(16, descriptors - 256 - limits.reserve)
        if limits.maximumConnections > available {
            logger.warning(
                "httpMaximumConnections lowered to fit the open-file limit (raise LimitNOFILE)",
                metadata: [
                    "configured": "\(limits.maximumConnections)", "effective": "\(available)",
                    "open_file_limit": "\(descriptors)",
                ])
            limits.maximumConnections = available
        }
        return limits
    }
}
