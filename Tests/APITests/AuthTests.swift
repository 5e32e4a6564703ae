import Foundation
import Testing
import TidemarkProtocol
@testable import API

@Suite struct AuthTests {
    @Test func missingOrInvalidTokenIs401() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            let missing = try await client.send(.get, "/users/current/accounts", token: nil)
            #expect(missing.status == 401)
            #expect(missing["error"] == .string("UnauthorizedError"))
            #expect(missing["id"] == .number(401))
            let wrong = try await client.send(.get, "/users/current/accounts", token: "not-a-token")
            #expect(wrong.status == 401)
            // The document itself is public.
            #expect(try await client.send(.get, "/openapi.json", token: nil).status == 200)
        }
    }

    @Test func apiVersionHeaderIsAcceptedAndIgnored() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            let reply = try await client.send(.get, "/users/current/accounts", headers: [HeaderName("api-version")!: "1"])
            #expect(reply.status == 200)
            #expect(reply.array.count == 1)
        }
    }

    @Test(arguments: [false, true]) func tokensLimitedToAccountsNeverSeeOthers(storeBacked: Bool) async throws {
        let harness = Harness(storeBacked: storeBacked)
        harness.risk.connect(accountA)
        harness.risk.connect(accountB)
        try await harness.run { client in
            let created = try await client.send(.post, "/users/current/tokens",
                                                json: #"{"name":"desk A","accountIds":["\#(accountA.rawValue)"]}"#)
            #expect(created.status == 201)
            let secret = try #require(created["token"]?.stringValue)

            let accounts = try await client.send(.get, "/users/current/accounts", token: secret)
            #expect(accounts.array.compactMap { $0.objectValue?["id"]?.stringValue } == [accountA.rawValue])
            #expect(try await client.send(.get, "/users/current/accounts/\(encoded(accountA.rawValue))", token: secret).status == 200)

            // Another account answers exactly as an unknown one: 404, never 403.
            let foreign = try await client.send(.get, "/users/current/accounts/\(encoded(accountB.rawValue))", token: secret)
            let unknown = try await client.send(.get, "/users/current/accounts/\(encoded("Nowhere:9"))", token: secret)
            #expect(foreign.status == 404)
            #expect(foreign["error"] == unknown["error"])
            #expect(try await client.send(.get, "/users/current/accounts/\(encoded(accountB.rawValue))/trackers", token: secret).status == 404)
            let events = try await client.send(.get, "/users/current/tracker-events/by-broker-time?accountId=\(encoded(accountB.rawValue))",
                                               token: secret)
            #expect(events.status == 404)

            // It cannot manage tokens, nor register accounts it could never see.
            #expect(try await client.send(.get, "/users/current/tokens", token: secret).status == 403)
            #expect(try await client.send(.post, "/users/current/accounts", json: #"{"login":7,"server":"S","platform":"mt4"}"#,
                                          token: secret).status == 403)
        }
    }

    @Test(arguments: [false, true]) func readOnlyTokensCannotWrite(storeBacked: Bool) async throws {
        let harness = Harness(storeBacked: storeBacked)
        harness.risk.connect(accountA)
        try await harness.run { client in
            let created = try await client.send(.post, "/users/current/tokens", json: #"{"name":"viewer","readOnly":true}"#)
            let secret = try #require(created["token"]?.stringValue)
            let path = "/users/current/accounts/\(encoded(accountA.rawValue))/trackers"
            let write = try await client.send(.post, path, json: #"{"name":"t","period":"day","absoluteDrawdownThreshold":1}"#, token: secret)
            #expect(write.status == 403)
            #expect(write["error"] == .string("ForbiddenError"))
            #expect(try await client.send(.get, path, token: secret).status == 200)
            #expect(try await harness.risk.trackers(accountId: accountA).isEmpty)
        }
    }

    @Test(arguments: [false, true]) func adminManagesTokens(storeBacked: Bool) async throws {
        let harness = Harness(storeBacked: storeBacked)
        try await harness.run { client in
            let created = try await client.send(.post, "/users/current/tokens", json: #"{"name":"ops"}"#)
            #expect(created.status == 201)
            let id = try #require(created["id"]?.stringValue)
            let secret = try #require(created["token"]?.stringValue)
            #expect(secret.count >= 64)  // 256 random bits in hex

            let list = try await client.send(.get, "/users/current/tokens")
            #expect(Set(list.array.compactMap { $0.objectValue?["name"]?.stringValue }) == ["admin", "ops"])
            #expect(!list.text.contains(secret))  // secrets are never listed

            #expect(try await client.send(.get, "/users/current/accounts", token: secret).status == 200)
            #expect(try await client.send(.delete, "/users/current/tokens/\(id)").status == 204)
            #expect(try await client.send(.get, "/users/current/accounts", token: secret).status == 401)
            #expect(try await client.send(.delete, "/users/current/tokens/\(id)").status == 404)
            let adminID = try #require(list.array.first { $0.objectValue?["admin"] == .bool(true) }?.objectValue?["id"]?.stringValue)
            #expect(try await client.send(.delete, "/users/current/tokens/\(adminID)").status == 409)

            let invalid = try await client.send(.post, "/users/current/tokens", json: #"{"accountIds":"all","readOnly":"yes"}"#)
            #expect(invalid.detailParameters == ["name", "accountIds", "readOnly"])
        }
    }

    /// A token limited to an account the agent does not know would see nothing: refused, naming it.
    @Test func tokenForAnUnknownAccountIsRefused() async throws {
        let harness = Harness()
        harness.risk.connect(accountA)
        try await harness.run { client in
            let refused = try await client.send(.post, "/users/current/tokens",
                                                json: #"{"name":"typo","accountIds":["\#(accountA.rawValue)","Nowhere:1"]}"#)
            #expect(refused.status == 400)
            #expect(refused.detailParameters == ["accountIds"])
            #expect(refused.text.contains("Nowhere:1"))
            #expect(try await client.send(.post, "/users/current/tokens",
                                          json: #"{"name":"ok","accountIds":["\#(accountA.rawValue)"]}"#).status == 201)
        }
    }

    @Test(arguments: [false, true]) func accountsRegisterBeforeTheirTerminalConnects(storeBacked: Bool) async throws {
        let harness = Harness(storeBacked: storeBacked)
        try await harness.run { client in
            let created = try await client.send(.post, "/users/current/accounts",
                                                json: #"{"login":12345678,"server":"Broker-Live","platform":"mt5"}"#)
            #expect(created.status == 201)
            #expect(created["id"] == .string("Broker-Live:12345678"))
            let account = try await client.send(.get, "/users/current/accounts/Broker-Live:12345678")
            #expect(account["platform"] == .string("mt5"))
            #expect(account["connected"] == .bool(false))
            #expect(try await client.send(.post, "/users/current/accounts",
                                          json: #"{"login":12345678,"server":"Broker-Live","platform":"mt5"}"#).status == 409)
            let bad = try await client.send(.post, "/users/current/accounts", json: #"{"login":-1,"platform":"mt6"}"#)
            #expect(bad.detailParameters == ["login", "server", "platform"])
            // A NUL (or any control character) would cut the account id short in C strings.
            for server in [#"Broker\u0000Live"#, #"Broker\tLive"#, String(repeating: "s", count: 129)] {
                let refused = try await client.send(.post, "/users/current/accounts",
                                                    json: #"{"login":5,"server":"\#(server)","platform":"mt5"}"#)
                #expect(refused.status == 400, "\(server)")
                #expect(refused.detailParameters == ["server"])
            }
        }
    }
}
