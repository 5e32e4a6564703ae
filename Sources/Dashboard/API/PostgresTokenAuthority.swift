import API
import Crypto
import Foundation
import Logging
import PostgresNIO
import TidemarkProtocol

/// The dashboard's tokens: the admin token from its configuration (`TIDEMARK_DASHBOARD_ADMIN_TOKEN`,
/// held to the agent's strength rule), and the tokens the admin creates through the API (typically
/// read-only and limited to some accounts), kept in PostgreSQL as SHA-256 hashes only, so that every
/// dashboard process behind a load balancer knows them.
///
/// Dashboard tokens are the dashboard's own: an agent's tokens do not open the dashboard, nor the
/// other way round.
public struct PostgresTokenAuthority: TokenAuthority {
    /// The admin token's id in listings.
    public static let adminID = "admin"

    let client: PostgresClient
    let adminToken: String
    let logger: Logger

    /// Tokens over the dashboard store's pool, with `adminToken` as the admin's secret.
    public init(store: DashboardStore, adminToken: String, logger: Logger) {
        self.client = store.client
        self.adminToken = adminToken
        self.logger = logger
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public func principal(forSecret secret: String) async throws -> Principal? {
        if TokenSecret.equalInConstantTime(secret, adminToken) {
            return Principal(tokenID: Self.adminID, isAdmin: true)
        }
        // Looked up by the secret's hash: how long that takes says nothing about the secret.
        let rows = try await client.query(
            """
            SELECT id, read_only, accounts FROM api_token WHERE secret_sha256 = \(Self.hash(secret)) AND revoked_at IS NULL
            """, logger: logger)
        for try await (id, readOnly, accounts) in rows.decode((String, Bool, [String]?).self) {
            return Principal(tokenID: id, readOnly: readOnly, accounts: accounts.map { Set($0.map(AccountID.init)) })
        }
        return nil
    }

    public func createToken(_ request: NewToken) async throws -> (token: TokenResource, secret: String) {
        let token = TokenResource(
            id: TokenSecret.generateID(), name: request.name, admin: false, readOnly: request.readOnly ?? false,
            accounts: request.accounts.map { Array(Set($0)).sorted() })
        let secret = TokenSecret.generate()
        let accounts = token.accounts?.map(\.rawValue)
        try await client.query(
            """
            INSERT INTO api_token (id, name, secret_sha256, read_only, accounts, created_at)
            VALUES (\(token.id), \(token.name), \(Self.hash(secret)), \(token.readOnly), \(accounts), now())
            """, logger: logger)
        return (token, secret)
    }

    public func tokens() async throws -> [TokenResource] {
        var tokens = [TokenResource(id: Self.adminID, name: "admin", admin: true, readOnly: false, accounts: nil)]
        let rows = try await client.query(
            "SELECT id, name, read_only, accounts FROM api_token WHERE revoked_at IS NULL ORDER BY created_at, id",
            logger: logger)
        for try await (id, name, readOnly, accounts) in rows.decode((String, String, Bool, [String]?).self) {
            tokens.append(
                TokenResource(
                    id: id, name: name, admin: false, readOnly: readOnly, accounts: accounts?.map(AccountID.init)))
        }
        return tokens
    }

    public func revoke(id: String) async throws -> Bool {
        // The admin token lives in the configuration: it changes there, not through the API.
        guard id != Self.adminID else { return false }
        let rows = try await client.query(
            "UPDATE api_token SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING id",
            logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }
}
