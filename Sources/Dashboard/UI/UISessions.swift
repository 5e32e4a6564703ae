import API
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

/// The dashboard's tokens as the UI uses them: a secret is checked by the API's
/// ``PostgresTokenAuthority`` (the admin token from the environment, account-scoped tokens in
/// `api_token`, SHA-256 of the secret only); a session's token is looked up again by its id on each
/// request, so a revoked token (`revoked_at`) opens nothing and ends the sessions it opened.
public struct DashboardTokens: Sendable {
    let authority: PostgresTokenAuthority
    let client: PostgresClient
    let logger: Logger

    /// The tokens of `store`, with `adminToken` as the admin's secret.
    init(store: DashboardStore, adminToken: String, logger: Logger) {
        authority = PostgresTokenAuthority(store: store, adminToken: adminToken, logger: logger)
        client = store.client
        self.logger = logger
    }

    /// The principal of a secret, or nil.
    func principal(forSecret secret: String) async throws -> UIPrincipal? {
        guard let principal = try await authority.principal(forSecret: secret) else { return nil }
        return UIPrincipal(
            tokenId: principal.tokenID, isAdmin: principal.isAdmin,
            accounts: principal.isAdmin ? nil : principal.accounts.map { Set($0.map(\.rawValue)) })
    }

    /// The principal of a token id (a session's token, which may have been revoked since).
    func principal(forId id: String) async throws -> UIPrincipal? {
        if id == PostgresTokenAuthority.adminID {
            return UIPrincipal(tokenId: id, isAdmin: true, accounts: nil)
        }
        let rows = try await client.query(
            "SELECT id, accounts FROM api_token WHERE id = \(id) AND revoked_at IS NULL", logger: logger)
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
