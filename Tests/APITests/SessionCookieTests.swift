import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

/// A session authority that knows one cookie value.
private struct OneSession: SessionAuthority {
    let cookieName = "tidemark_session"
    func principal(forSession value: String) async throws -> Principal? {
        value == "valid-session" ? Principal(tokenID: "tok_desk", readOnly: true, accounts: [accountA]) : nil
    }
}

@Suite struct SessionCookieTests {
    /// A router with the token middleware and one read and one write that answer with the principal's token id.
    static func application(sessions: (any SessionAuthority)?) -> some ApplicationProtocol {
        let router = Router(context: APIRequestContext.self)
        let group = router.group("users/current").add(
            middleware: TokenAuthenticationMiddleware(
                authority: InMemoryTokenAuthority(adminSecret: adminSecret), sessions: sessions))
        group.get("whoami") { _, context in try context.requirePrincipal().tokenID }
        group.post("whoami") { _, context in try context.requirePrincipal().tokenID }
        return Application(router: router)
    }

    static func send(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, cookie: String?, token: String? = nil
    ) async throws -> (Int, String) {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = "tidemark_session=\(cookie)" }
        if let token { headers[HeaderName("auth-token")!] = token }
        let response = try await client.executeRequest(
            uri: "/users/current/whoami", method: method, headers: headers, body: nil)
        return (Int(response.status.code), String(buffer: response.body))
    }

    @Test func aValidSessionCookieAuthenticatesReadsOnly() async throws {
        try await Self.application(sessions: OneSession()).test(.router) { client in
            let read = try await Self.send(client, .get, cookie: "valid-session")
            #expect(read.0 == 200 && read.1 == "tok_desk")
            // A cookie never authorizes a change.
            #expect(try await Self.send(client, .post, cookie: "valid-session").0 == 401)
            #expect(try await Self.send(client, .get, cookie: "forged").0 == 401)
            #expect(try await Self.send(client, .get, cookie: nil).0 == 401)
            // The header, when there is one, decides.
            let header = try await Self.send(client, .get, cookie: "valid-session", token: adminSecret)
            #expect(header.0 == 200 && header.1 == "admin")
            #expect(try await Self.send(client, .get, cookie: "valid-session", token: "wrong").0 == 401)
        }
    }

    @Test func withoutASessionAuthorityCookiesAreIgnored() async throws {
        try await Self.application(sessions: nil).test(.router) { client in
            let read = try await Self.send(client, .get, cookie: "valid-session")
            #expect(read.0 == 401)
        }
    }
}
