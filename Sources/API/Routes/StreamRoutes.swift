import EquityEngine
import Hummingbird
import NIOCore
import TidemarkProtocol

/// One live equity/balance figure as the equity stream writes it.
struct EquityFrame: Encodable {
    let accountId: AccountID
    let brokerTime: String
    let balance: FixedDecimal
    let credit: FixedDecimal
    let equity: FixedDecimal
    let floating: FixedDecimal

    init(_ observation: EquityObservation) {
        accountId = observation.account
        brokerTime = observation.time.formatted
        balance = observation.balance
        credit = observation.credit
        equity = observation.equity
        floating = observation.floating
    }
}

/// Server-Sent Events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html).
enum ServerSentEvents {
    static let headers: HTTPFields = [
        .contentType: "text/event-stream; charset=utf-8",
        .cacheControl: "no-cache",
        // Tells nginx-style proxies not to buffer the stream.
        HeaderName("X-Accel-Buffering")!: "no",
    ]

    /// `id:`/`event:` lines and one `data:` line (JSON has no raw newlines), then a blank line.
    static func frame(id: UInt64? = nil, event: String, data: some Sequence<UInt8>) -> ByteBuffer {
        var buffer = ByteBuffer()
        if let id { buffer.writeString("id: \(id)\n") }
        buffer.writeString("event: \(event)\ndata: ")
        buffer.writeBytes(data)
        buffer.writeStaticString("\n\n")
        return buffer
    }

    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")
}

extension TidemarkAPI {
    /// `GET /users/current/events/stream` (every kind of event, as SSE) and
    /// `GET /users/current/accounts/{accountId}/equity-stream` (live equity and balance, as SSE).
    func addStreamRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("events/stream") { request, context in
            let principal = try context.requirePrincipal()
            var reader = QueryReader(request)
            var query = EventSelection(
                kind: reader.value("kind", as: EventKind.self),
                accountId: reader.string("accountId").map(AccountID.init),
                allowedAccounts: allowedAccounts(principal), limit: 1000)
            // A reconnecting EventSource sends the last id it saw; it wins over the query.
            if let lastID = request.headers[.lastEventID] {
                if let value = UInt64(lastID) {
                    query.afterSequenceNumber = value
                } else {
                    reader.report(
                        ValidationDetail(parameter: "Last-Event-ID", value: lastID, message: "Expected an integer ≥ 0"))
                }
            } else {
                query.afterSequenceNumber = reader.sequenceNumber("previousSequenceNumber")
            }
            try reader.validate()
            try await checkAccountFilter(query, context: context)
            let startQuery = query
            let tokenID = principal.tokenID
            try waitLimiter.checkAvailable(for: tokenID)
            return Response(
                status: .ok, headers: ServerSentEvents.headers,
                body: ResponseBody { writer in
                    try await waitLimiter.withSlot(for: tokenID) {
                        try await streamEvents(from: startQuery, to: &writer)
                    }
                    try await writer.finish(nil)
                })
        }
        group.get("accounts/:accountId/equity-stream") { _, context in
            let account = try await visibleAccount(context)
            let tokenID = try context.requirePrincipal().tokenID
            try waitLimiter.checkAvailable(for: tokenID)
            let subscription = equity.subscribe(to: account.id)
            let interval = configuration.streamKeepAliveInterval
            return Response(
                status: .ok, headers: ServerSentEvents.headers,
                body: ResponseBody { writer in
                    try await waitLimiter.withSlot(for: tokenID) {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                while true {
                                    try await Task.sleep(for: interval)
                                    subscription.continuation.yield(.keepAlive)
                                }
                            }
                            for await item in subscription.stream {
                                switch item {
                                case .observation(let observation):
                                    let data = try APIJSON.encoder.encode(EquityFrame(observation))
                                    try await writer.write(ServerSentEvents.frame(event: "equity", data: data))
                                case .keepAlive:
                                    try await writer.write(ServerSentEvents.keepAlive)
                                }
                            }
                            group.cancelAll()
                        }
                    }
                    try await writer.finish(nil)
                })
        }
    }

    /// Writes every matching event from the query's start, then each newly committed one, until
    /// shutdown or until the client goes away (a failed write ends it).
    func streamEvents(from start: EventSelection, to writer: inout any ResponseBodyWriter) async throws {
        var query = start
        try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
        while true {
            let seen = notifier.latestSequenceNumber
            let events = try await readModel.events(query)
            for event in events {
                try await writer.write(
                    ServerSentEvents.frame(
                        id: event.sequenceNumber, event: event.kind.rawValue,
                        data: event.body.data))
                query.afterSequenceNumber = event.sequenceNumber
            }
            if events.count == query.limit { continue }  // more are waiting
            if notifier.isShutDown || Task.isCancelled { return }
            if await !notifier.wait(after: seen, timeout: configuration.streamKeepAliveInterval) {
                try await writer.write(ServerSentEvents.keepAlive)
            }
        }
    }
}
