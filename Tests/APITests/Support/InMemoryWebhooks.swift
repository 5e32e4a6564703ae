import Foundation
import Store
import Synchronization
@testable import API

/// Webhooks in memory, for the API tests that run without a store.
final class InMemoryWebhookRegistry: WebhookRegistry {
    private let entries = Mutex<[WebhookResource]>([])
    private let nextNumber = Mutex(1)

    func createWebhook(url: String, secret: String, filter: WebhookFilter) async throws -> WebhookResource {
        let number = nextNumber.withLock { number in defer { number += 1 }; return number }
        let webhook = WebhookResource(id: "wh_\(number)", url: url, filter: WebhookFilterResource(filter),
                                      createdAt: Date(timeIntervalSince1970: 0).ISO8601Format())
        entries.withLock { $0.append(webhook) }
        return webhook
    }

    func webhooks() async throws -> [WebhookResource] { entries.withLock { $0 } }

    func deleteWebhook(id: String) async throws -> Bool {
        entries.withLock { entries in
            guard let index = entries.firstIndex(where: { $0.id == id }) else { return false }
            entries.remove(at: index)
            return true
        }
    }
}
