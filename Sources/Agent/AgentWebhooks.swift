import API
import Foundation
import Store
import StoreBackedAPI
import Webhooks

extension AgentRuntime {
    /// The deliverer of the store's webhook outbox, counted in the agent's metrics.
    ///
    /// A delivery's body is the event exactly as the REST API returns it (`EventRecord`'s body in the
    /// API's JSON: `…Id` names, `"YYYY-MM-DD HH:mm:ss.SSS"` broker times, amounts as JSON numbers), so
    /// a receiver parses webhooks and `…/by-broker-time` answers with the same code.
    func makeWebhookDeliverer() -> WebhookDeliverer {
        WebhookDeliverer(
            store: store, eventBody: { try Self.webhookBody(of: $0) },
            configuration: .init(maximumConcurrentDeliveries: configuration.webhookWorkers),
            logger: logger, observe: { [metrics] attempt in metrics.record(attempt) })
    }

    /// The body a webhook receives for `event`: the REST API's resource of it.
    static func webhookBody(of event: StoredEvent) throws -> Data {
        try EventRecord(event).body.data
    }
}
