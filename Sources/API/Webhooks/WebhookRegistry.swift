import Foundation
import TidemarkProtocol

/// Which events a webhook receives: each non-nil set must contain the event's value; nil matches anything.
public struct WebhookEventFilter: Hashable, Sendable {
    /// Event kinds to receive.
    public var kinds: Set<EventKind>?
    /// Accounts to receive; events without an account (a whole competition's) never match a filter
    /// that lists accounts.
    public var accountIds: Set<AccountID>?
    /// Tracker, challenge or competition ids to receive.
    public var subjectIds: Set<String>?
    /// Event types (`drawdown`, `challengeFailed`, …).
    public var types: Set<String>?

    /// A filter; nil sets match anything.
    public init(
        kinds: Set<EventKind>? = nil, accountIds: Set<AccountID>? = nil, subjectIds: Set<String>? = nil,
        types: Set<String>? = nil
    ) {
        self.kinds = kinds
        self.accountIds = accountIds
        self.subjectIds = subjectIds
        self.types = types
    }
}

/// Which events a webhook receives, as the API shows it: each absent list matches anything.
public struct WebhookFilterResource: Hashable, Sendable, Codable {
    /// Event kinds (`tracker`, `challenge`, `competition`).
    public var kinds: [String]?
    /// Account ids; events without an account never match a filter that lists accounts.
    public var accounts: [String]?
    /// Tracker, challenge or competition ids.
    public var subjects: [String]?
    /// Event types (`drawdown`, `challengeFailed`, …).
    public var types: [String]?

    private enum CodingKeys: String, CodingKey {
        case kinds
        case accounts = "accountIds"
        case subjects = "subjectIds"
        case types
    }

    /// A filter; nil lists match anything.
    public init(kinds: [String]? = nil, accounts: [String]? = nil, subjects: [String]? = nil, types: [String]? = nil) {
        self.kinds = kinds
        self.accounts = accounts
        self.subjects = subjects
        self.types = types
    }
}

/// A registered webhook as the API shows it: never its secret.
public struct WebhookResource: Hashable, Sendable, Codable {
    /// The webhook id (`wh_…`).
    public var id: String
    /// Where deliveries are POSTed.
    public var url: String
    /// Which events it receives.
    public var filter: WebhookFilterResource
    /// When it was created (ISO 8601, UTC).
    public var createdAt: String

    /// A webhook resource.
    public init(id: String, url: String, filter: WebhookFilterResource, createdAt: String) {
        self.id = id
        self.url = url
        self.filter = filter
        self.createdAt = createdAt
    }
}

/// A webhook just created: the only time its secret is shown.
public struct CreatedWebhook: Hashable, Sendable, Codable {
    /// The webhook id.
    public var id: String
    /// The HMAC-SHA256 signing key of its deliveries.
    public var secret: String
}

/// Where webhooks live. The agent implements it over its store; the API only asks it (as with
/// ``TokenAuthority``), so the routes can be tested without SQLite. A read-only server throws
/// ``APIError/readOnlyServer(_:)`` from ``createWebhook(url:secret:filter:)`` and ``deleteWebhook(id:)``.
public protocol WebhookRegistry: Sendable {
    /// Registers a webhook; it receives events committed from now on.
    func createWebhook(url: String, secret: String, filter: WebhookEventFilter) async throws -> WebhookResource
    /// Every webhook, oldest first.
    func webhooks() async throws -> [WebhookResource]
    /// Removes a webhook and its pending deliveries; false when there was none with this id.
    func deleteWebhook(id: String) async throws -> Bool
}

extension WebhookFilterResource {
    /// The API's view of a filter; lists sorted so answers are stable.
    public init(_ filter: WebhookEventFilter) {
        self.init(
            kinds: filter.kinds.map { $0.map(\.rawValue).sorted() },
            accounts: filter.accountIds.map { $0.map(\.rawValue).sorted() },
            subjects: filter.subjectIds.map { $0.sorted() },
            types: filter.types.map { $0.sorted() })
    }
}
