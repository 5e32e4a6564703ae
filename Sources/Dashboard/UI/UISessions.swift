import Crypto
import Foundation
import Logging
import PostgresNIO

/// Who is looking: the admin token sees every account; any other token only its accounts.
public struct UIPrincipal: Hashable, Sendable {
    /// The token's id (`admin` for the admin token); never its secret.
    public var tokenId: String
    public var isAdmin: Bool
    /// nil: every account.
    public var accounts: Set<String>?
}

/// The dashboard's tokens: the admin token from the environment, and account-scoped read tokens
/// in the `api_token` table (SHA-256 of the secret only, so a database dump holds no secret).
///
/// The API's token routes on the dashboard write the same table; a revoked token (`revoked_at`)
/// opens nothing, and ends the sessions it opened.
public struct DashboardTokens: Sendable {
    let client: PostgresClient
    let adminToken: String
    let logger: Logger

    /// SHA-256 of a secret, lowercase hex: what `api_token.secret_sha256` holds.
    public static func digest(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The principal of a secret, or nil. The admin comparison takes the same time whatever the
    /// secret; a read token is found by its hash, so timing reveals nothing of a stored secret.
    func principal(forSecret secret: String) async throws -> UIPrincipal? {
        if SHA256.hash(data: Data(secret.utf8)) == SHA256.hash(data: Data(adminToken.utf8)) {
            return UIPrincipal(tokenId: "admin", isAdmin: true, accounts: nil)
        }
        return try await principal(where: "secret_sha256", equals: Self.digest(secret))
    }

    /// The principal of a token id (a session's token, which may have been revoked since).
    func principal(forId id: String) async throws -> UIPrincipal? {
        if id == "admin" { return UIPrincipal(tokenId: "admin", isAdmin: true, accounts: nil) }
        return try await principal(where: "id", equals: id)
    }

    private func principal(where column: String, equals value: String) async throws -> UIPrincipal? {
        let rows = try await client.query(
            """
            SELECT id, accounts FROM api_token WHERE \(unescaped: column) = \(value) AND revoked_at IS NULL
            """, logger: logger)
        for try await (id, accounts) in rows.decode((String, [String]?).self) {
            return UIPrincipal(tokenId: id, isAdmin: false, accounts: accounts.map(Set.init))
        }
        return nil
    }
}

/// Sessions as signed cookies: `TOKENID.EXPIRY.MAC`, MAC = HMAC-SHA256 over `TOKENID.EXPIRY` with a
/// key derived from the admin token, so every dashboard process behind a load balancer accepts
/// every other's sessions without shared session state. Each request looks the token up again, so
/// revoking a token ends its sessions; logout clears the cookie.
public struct UISessions: Sendable {
    /// The cookie's name.
    public static let cookieName = "tidemark_session"
    /// How long a session lasts.
    public let lifetime: Duration
    /// The signing key's bytes (`SymmetricKey` itself is not `Sendable`).
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// Sessions signed with a key derived from `adminToken`.
    public init(adminToken: String, lifetime: Duration = .seconds(12 * 3600)) {
        keyBytes = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(adminToken.utf8)),
            info: Data("tidemark dashboard session".utf8), outputByteCount: 32
        ).withUnsafeBytes { Array($0) }
        self.lifetime = lifetime
    }

    /// A cookie value for a token id, valid from `now` for ``lifetime``.
    public func issue(tokenId: String, now: Date) -> String {
        let expiry = Int64(now.timeIntervalSince1970) + lifetime.components.seconds
        let signed = "\(tokenId).\(expiry)"
        return signed + "." + Self.hex(HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: key))
    }

    /// The token id of a valid, unexpired cookie value; nil otherwise.
    public func tokenId(fromCookie value: String, now: Date) -> String? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[1]), !parts[0].isEmpty else { return nil }
        let signed = "\(parts[0]).\(parts[1])"
        let expected = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: key))
        // Both are 64 hex digits from HMAC; compare every byte.
        let given = Array(parts[2].utf8)
        let wanted = Array(expected.utf8)
        guard given.count == wanted.count else { return nil }
        var difference: UInt8 = 0
        for index in 0..<wanted.count { difference |= given[index] ^ wanted[index] }
        guard difference == 0, expiry > Int64(now.timeIntervalSince1970) else { return nil }
        return String(parts[0])
    }

    private static func hex(_ code: some Sequence<UInt8>) -> String {
        code.map { String(format: "%02x", $0) }.joined()
    }
}
