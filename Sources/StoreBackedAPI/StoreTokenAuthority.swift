import API
import Foundation
import Store
import TidemarkProtocol

/// `TokenAuthority` over the SQLite store, which keeps only each secret's SHA-256.
public struct StoreTokenAuthority: TokenAuthority {
    /// The agent's store.
    public let store: Store

    /// An authority over `store`.
    public init(store: Store) { self.store = store }

    public func principal(forSecret secret: String) async throws -> Principal? {
        try await store.verifyToken(secret).map { token in
            Principal(
                tokenID: token.id, isAdmin: token.isAdmin, readOnly: token.isReadOnly, accounts: token.allowedAccounts)
        }
    }

    public func createToken(_ request: NewToken) async throws -> (token: TokenResource, secret: String) {
        let issued = try await store.createToken(
            name: request.name, isReadOnly: request.readOnly ?? false,
            allowedAccounts: request.accounts.map(Set.init), at: Date())
        return (TokenResource(issued.token), issued.secret)
    }

    public func tokens() async throws -> [TokenResource] {
        try await store.tokens().filter { $0.revokedAt == nil }.map(TokenResource.init)
    }

    public func revoke(id: String) async throws -> Bool {
        do {
            try await store.revokeToken(id: id, at: Date())
            return true
        } catch  where error == .notFound {
            return false
        }
    }
}

extension TokenResource {
    /// The API's view of a stored token (never its secret).
    public init(_ token: APIToken) {
        self.init(
            id: token.id, name: token.name, admin: token.isAdmin, readOnly: token.isReadOnly,
            accounts: token.allowedAccounts.map { $0.sorted() })
    }
}
