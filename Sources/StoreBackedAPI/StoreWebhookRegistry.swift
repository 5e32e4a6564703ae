import API
import Foundation
import Store
import TidemarkProtocol

/// `WebhookRegistry` over the SQLite store (which the agent's deliverer reads).
public struct StoreWebhookRegistry: WebhookRegistry {
    /// The agent's store.
    public let store: Store

    /// A registry over `store`.
    public init(store: Store) { self.store = store }

    public func createWebhook(url: String, secret: String, filter: WebhookEventFilter) async throws -> WebhookResource {
        WebhookResource(
            try await store.createWebhook(url: url, secret: secret, filter: WebhookFilter(filter), at: Date()))
    }

    public func webhooks() async throws -> [WebhookResource] {
        try await store.webhooks().map(WebhookResource.init)
    }

    public func deleteWebhook(id: String) async throws -> Bool {
        do {
            try await store.deleteWebhook(id: id)
            return true
        } catch  where error == .notFound {
            return false
        }
    }
}

extension WebhookResource {
    /// The API's view of a stored webhook (never its secret).
    public init(_ webhook: Webhook) {
        self.init(
            id: webhook.id, url: webhook.url, filter: WebhookFilterResource(webhook.filter),
            createdAt: webhook.createdAt.ISO8601Format())
    }
}

extension WebhookFilterResource {
    /// The API's view of a store filter; lists sorted so answers are stable.
    public init(_ filter: WebhookFilter) { self.init(WebhookEventFilter(filter)) }
}
