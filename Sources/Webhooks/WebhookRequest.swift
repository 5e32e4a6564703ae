import Foundation
import Store
import TidemarkProtocol

/// The HTTP request for one delivery: built from an outbox row, the event's body and a timestamp,
/// nothing else, so the same delivery always gives the same bytes and headers for the same second.
public struct WebhookRequest: Hashable, Sendable {
    /// Header names a receiver may rely on.
    public enum HeaderName {
        /// The event's sequence number: the same for every attempt, so receivers de-duplicate on it.
        public static let eventID = "Tidemark-Event-Id"
        /// The event's type within its kind (`drawdown`, `challengeFailed`…).
        public static let eventType = "Tidemark-Event-Type"
        /// `tracker`, `challenge` or `competition`.
        public static let eventKind = "Tidemark-Event-Kind"
        /// The webhook's id.
        public static let webhookID = "Tidemark-Webhook-Id"
        /// Unix seconds when this attempt was signed (the `t` of the signature).
        public static let timestamp = "Tidemark-Timestamp"
        /// 1 for the first attempt, 2 for the first retry…
        public static let attempt = "Tidemark-Delivery-Attempt"
        /// See ``WebhookSignature``.
        public static let signature = WebhookSignature.headerName
    }

    /// One header line.
    public struct Header: Hashable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var url: String
    /// The headers, in a fixed order.
    public var headers: [Header]
    /// The event as the receiver reads it (the agent gives the REST API's resource of the event).
    public var body: Data

    /// The request delivering `delivery` with `body`, signed at `timestamp` (unix seconds).
    public init(delivery: OutboxDelivery, body: Data, timestamp: Int64) {
        url = delivery.url
        self.body = body
        headers = [
            Header("Content-Type", "application/json"),
            Header("User-Agent", "Tidemark-Webhook/1"),
            Header(HeaderName.eventID, String(delivery.event.sequenceNumber)),
            Header(HeaderName.eventKind, delivery.event.kind.rawValue),
            Header(HeaderName.eventType, delivery.event.type),
            Header(HeaderName.webhookID, delivery.webhookId),
            Header(HeaderName.timestamp, String(timestamp)),
            Header(HeaderName.attempt, String(delivery.attempts + 1)),
            Header(
                HeaderName.signature,
                WebhookSignature.header(
                    body: body, secret: delivery.secret,
                    timestamp: timestamp)),
        ]
    }

    /// The value of the first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// Why a delivery attempt failed. Cases can be added without breaking callers; ``code`` is short and
/// bounded (a metric label); ``description`` is what the outbox keeps as the row's last error.
public struct WebhookDeliveryError: CodeComparedError {
    private enum Code: String, Hashable, Sendable {
        case rejected
        case timeout
        case connection
        case invalidURL = "invalid_url"
        case unrenderable
    }

    private let codeValue: Code
    /// What exactly happened (the status, the client's error).
    public var detail: String

    private init(_ code: Code) {
        codeValue = code
        detail = ""
    }

    /// A short, stable name of the failure.
    public var code: String { codeValue.rawValue }

    /// The receiver answered, but not with 2xx (redirects included: they are not followed).
    public static let rejected = Self(.rejected)
    /// No complete answer within the request timeout.
    public static let timeout = Self(.timeout)
    /// The connection failed (refused, reset, DNS, TLS).
    public static let connection = Self(.connection)
    /// The webhook's URL is not an http(s) URL with a host.
    public static let invalidURL = Self(.invalidURL)
    /// The stored event could not be turned into its body (nothing was sent).
    public static let unrenderable = Self(.unrenderable)

    /// A rejection by status.
    public static func rejected(status: Int) -> Self { rejected.with(detail: "HTTP \(status)") }
}
