import Foundation
import Store
import Testing
import TidemarkProtocol
@testable import API

@Suite struct WebhookTests {
    @Test(arguments: [false, true]) func createListGetDelete(storeBacked: Bool) async throws {
        let harness = Harness(storeBacked: storeBacked)
        try await harness.run { client in
            let created = try await client.send(.post, "/users/current/webhooks", json: """
                {"url":"https://hooks.example.com/tidemark","secret":"firm-chosen-key",
                 "filter":{"kinds":["challenge"],"accountIds":["\(accountA.rawValue)"],"types":["challengeFailed"]}}
                """)
            #expect(created.status == 201)
            let id = try #require(created["id"]?.stringValue)
            #expect(created["secret"] == .string("firm-chosen-key"))

            let list = try await client.send(.get, "/users/current/webhooks")
            #expect(list.status == 200)
            #expect(list.array.count == 1)
            let listed = try #require(list.array.first?.objectValue)
            #expect(listed["id"] == .string(id))
            #expect(listed["url"] == .string("https://hooks.example.com/tidemark"))
            #expect(listed["secret"] == nil)
            #expect(!list.text.contains("firm-chosen-key"))
            let filter = try #require(listed["filter"]?.objectValue)
            #expect(filter["kinds"] == .array([.string("challenge")]))
            #expect(filter["accountIds"] == .array([.string(accountA.rawValue)]))
            #expect(filter["types"] == .array([.string("challengeFailed")]))
            #expect(filter["subjectIds"] == nil)

            let one = try await client.send(.get, "/users/current/webhooks/\(id)")
            #expect(one.status == 200)
            #expect(one["id"] == .string(id))
            #expect(one["secret"] == nil)
            #expect(!one.text.contains("firm-chosen-key"))

            #expect(try await client.send(.delete, "/users/current/webhooks/\(id)").status == 204)
            #expect(try await client.send(.get, "/users/current/webhooks/\(id)").status == 404)
            let again = try await client.send(.delete, "/users/current/webhooks/\(id)")
            #expect(again.status == 404)
            #expect(again["error"] == .string("NotFoundError"))
            #expect(try await client.send(.get, "/users/current/webhooks").array.isEmpty)
        }
    }

    @Test func storeBackedWebhookKeepsTheSecretForDelivery() async throws {
        let harness = Harness(storeBacked: true)
        try await harness.run { client in
            let created = try await client.send(.post, "/users/current/webhooks", json: #"{"url":"http://127.0.0.1:9000/hook"}"#)
            #expect(created.status == 201)
            let id = try #require(created["id"]?.stringValue)
            let secret = try #require(created["secret"]?.stringValue)
            // Generated: 32 random bytes as 64 lower-case hex digits.
            #expect(secret.count == 64)
            #expect(secret.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            let stored = try #require(try await harness.risk.store?.webhooks().first)
            #expect(stored.id == id)
            #expect(stored.secret == secret)
            #expect(stored.filter == WebhookFilter())
        }
    }

    @Test func generatedSecretsDiffer() async throws {
        let harness = Harness()
        try await harness.run { client in
            let first = try await client.send(.post, "/users/current/webhooks", json: #"{"url":"https://a.example/h"}"#)
            let second = try await client.send(.post, "/users/current/webhooks", json: #"{"url":"https://a.example/h"}"#)
            #expect(first.status == 201 && second.status == 201)
            #expect(first["secret"]?.stringValue != nil)
            #expect(first["secret"] != second["secret"])
        }
    }

    @Test func invalidBodiesAre400WithDetails() async throws {
        let harness = Harness()
        try await harness.run { client in
            for url in ["ftp://files.example/x", "https:///no-host", "not a url", "mailto:desk@example.com"] {
                let reply = try await client.send(.post, "/users/current/webhooks", json: #"{"url":"\#(url)"}"#)
                #expect(reply.status == 400, "\(url)")
                #expect(reply["error"] == .string("ValidationError"))
                #expect(reply.detailParameters == ["url"], "\(url)")
            }
            let missing = try await client.send(.post, "/users/current/webhooks", json: #"{}"#)
            #expect(missing.status == 400)
            #expect(missing.detailParameters == ["url"])
            let bad = try await client.send(.post, "/users/current/webhooks", json: """
                {"url":"https://ok.example/h","secret":"","filter":{"kinds":["tracker","bogus"],"accountIds":"x","types":[1]}}
                """)
            #expect(bad.status == 400)
            #expect(bad.detailParameters == ["secret", "filter.kinds", "filter.accountIds", "filter.types"])
            // Nothing was registered by the refused requests.
            #expect(try await client.send(.get, "/users/current/webhooks").array.isEmpty)
        }
    }

    @Test func nonAdminTokensAre403() async throws {
        let harness = Harness()
        try await harness.run { client in
            let created = try await client.send(.post, "/users/current/tokens", json: #"{"name":"desk"}"#)
            let secret = try #require(created["token"]?.stringValue)
            let hook = try await client.send(.post, "/users/current/webhooks", json: #"{"url":"https://a.example/h"}"#)
            let id = try #require(hook["id"]?.stringValue)
            let post = try await client.send(.post, "/users/current/webhooks", json: #"{"url":"https://b.example/h"}"#, token: secret)
            #expect(post.status == 403)
            #expect(post["error"] == .string("ForbiddenError"))
            #expect(try await client.send(.get, "/users/current/webhooks", token: secret).status == 403)
            #expect(try await client.send(.get, "/users/current/webhooks/\(id)", token: secret).status == 403)
            #expect(try await client.send(.delete, "/users/current/webhooks/\(id)", token: secret).status == 403)
            #expect(try await client.send(.get, "/users/current/webhooks").array.count == 1)
        }
    }
}
