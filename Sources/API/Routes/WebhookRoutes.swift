import Foundation
import Hummingbird
import TidemarkProtocol

extension TidemarkAPI {
    /// `POST/GET /users/current/webhooks`, `GET/DELETE /users/current/webhooks/{webhookId}`: admin only.
    func addWebhookRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("webhooks") { request, context in
            try requireAdmin(context, "Only the admin token manages webhooks")
            let body = try await jsonObject(request)
            var problems: [ValidationDetail] = []
            var url = ""
            switch body["url"] {
            case .string(let text)? where Self.isDeliverableURL(text): url = text
            case nil, .null?: problems.append(ValidationDetail(parameter: "url", message: "Required"))
            case let value?:
                problems.append(
                    ValidationDetail(
                        parameter: "url", value: value.detailText, message: "Expected an http or https URL with a host")
                )
            }
            var secret: String?
            switch body["secret"] {
            case nil, .null?: secret = nil
            case .string(let text)? where !text.isEmpty: secret = text
            case let value?:
                problems.append(
                    ValidationDetail(
                        parameter: "secret", value: value.detailText, message: "Expected a non-empty string"))
            }
            var filter = WebhookEventFilter()
            switch body["filter"] {
            case nil, .null?: break
            case .object(let fields)?: filter = Self.webhookFilter(fields, problems: &problems)
            case let value?:
                problems.append(
                    ValidationDetail(parameter: "filter", value: value.detailText, message: "Expected an object"))
            }
            if !problems.isEmpty { throw APIError.validation(details: problems) }
            // Generated secrets come from the same CSPRNG as token secrets: 32 bytes, hex.
            let signingKey = secret ?? TokenSecret.generate()
            let webhook = try await webhooks.createWebhook(url: url, secret: signingKey, filter: filter)
            return try APIJSON.response(CreatedWebhook(id: webhook.id, secret: signingKey), status: .created)
        }
        group.get("webhooks") { _, context in
            try requireAdmin(context, "Only the admin token manages webhooks")
            return try APIJSON.response(try await webhooks.webhooks())
        }
        group.get("webhooks/:webhookId") { _, context in
            try requireAdmin(context, "Only the admin token manages webhooks")
            let id = try context.pathParameter("webhookId")
            guard let webhook = try await webhooks.webhooks().first(where: { $0.id == id }) else {
                throw APIError.notFound("Webhook \(id) not found")
            }
            return try APIJSON.response(webhook)
        }
        group.delete("webhooks/:webhookId") { _, context in
            try requireAdmin(context, "Only the admin token manages webhooks")
            let id = try context.pathParameter("webhookId")
            guard try await webhooks.deleteWebhook(id: id) else { throw APIError.notFound("Webhook \(id) not found") }
            return Response(status: .noContent)
        }
    }

    /// Whether the deliverer can POST to `text`: an absolute http(s) URL naming a host.
    static func isDeliverableURL(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    /// The event filter of a request's `filter` object; bad fields are appended to `problems`.
    static func webhookFilter(_ fields: [String: JSONValue], problems: inout [ValidationDetail]) -> WebhookEventFilter {
        func strings(_ key: String) -> [String]? {
            switch fields[key] {
            case nil, .null?: return nil
            case .array(let values)? where values.allSatisfy({ $0.stringValue.map { !$0.isEmpty } ?? false }):
                return values.compactMap(\.stringValue)
            case let value?:
                problems.append(
                    ValidationDetail(
                        parameter: "filter.\(key)", value: value.detailText,
                        message: "Expected an array of non-empty strings"))
                return nil
            }
        }
        var filter = WebhookEventFilter()
        if let kinds = strings("kinds") {
            let parsed = kinds.compactMap(EventKind.init(rawValue:))
            if parsed.count == kinds.count {
                filter.kinds = Set(parsed)
            } else {
                let unknown = kinds.filter { EventKind(rawValue: $0) == nil }.joined(separator: ",")
                problems.append(
                    ValidationDetail(
                        parameter: "filter.kinds", value: unknown,
                        message: "Expected tracker, challenge or competition"))
            }
        }
        filter.accountIds = strings("accountIds").map { Set($0.map(AccountID.init)) }
        filter.subjectIds = strings("subjectIds").map(Set.init)
        filter.types = strings("types").map(Set.init)
        return filter
    }
}
