import Crypto
import Foundation
import GRDB
import TidemarkProtocol

/// An API token as stored: what it may do, never its secret (only a keyed hash of it is kept:
/// HMAC-SHA256, keyed by the store's own secret, of the secret's SHA-256).
public struct APIToken: Hashable, Sendable {
    /// Public id, for listing and revoking (`tok_…`); not a credential.
    public var id: String
    /// A label chosen by whoever created it.
    public var name: String
    /// Manages tokens (and sees every account, whatever `allowedAccounts` says).
    public var isAdmin: Bool
    /// May only read.
    public var isReadOnly: Bool
    /// The accounts it may see; nil: all.
    public var allowedAccounts: Set<AccountID>?
    /// When it was created.
    public var createdAt: Date
    /// When it was revoked; nil while valid.
    public var revokedAt: Date?

    /// Whether the token may see `account`. An account outside the list must look absent (404, not 403).
    public func canSee(_ account: AccountID) -> Bool {
        isAdmin || allowedAccounts.map { $0.contains(account) } ?? true
    }

    /// Whether the token may change things.
    public var canWrite: Bool { !isReadOnly }
}

/// A token just created: the only moment its secret is known.
public struct IssuedToken: Hashable, Sendable {
    /// What the token may do.
    public var token: APIToken
    /// The value clients send in the `auth-token` header. Show it once; the store cannot.
    public var secret: String
}

enum TokenHashing {
    /// The stored form of a secret: HMAC-SHA256 keyed by the store's `key`, of the secret's
    /// SHA-256. A copy of the token table alone cannot be checked against guesses offline.
    static func hash(_ secret: String, key: Data) -> Data {
        keyed(sha256: Data(SHA256.hash(data: Data(secret.utf8))), key: key)
    }

    /// HMAC-SHA256 of an already computed SHA-256 (the rows of a store made without an identity key).
    static func keyed(sha256: Data, key: Data) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: sha256, using: SymmetricKey(data: key)))
    }

    /// `prefix` and `byteCount` random bytes in lower-case hex (from the system's CSPRNG).
    static func random(prefix: String, byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var text = prefix
        for _ in 0..<byteCount {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            text += String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
        }
        return text
    }
}

extension Store {
    /// Creates a token. Pass `secret` to adopt a given value (e.g. `TIDEMARK_ADMIN_TOKEN`); otherwise
    /// a random 256-bit one is made. ``StoreError/conflict`` when a token with that secret exists.
    public func createToken(
        name: String, isAdmin: Bool = false, isReadOnly: Bool = false,
        allowedAccounts: Set<AccountID>? = nil, secret: String? = nil,
        at: Date
    ) async throws(StoreError) -> IssuedToken {
        let secret = secret ?? TokenHashing.random(prefix: "tm_", byteCount: 32)
        guard secret.utf8.count >= 16 else {
            throw StoreError.invalidArgument.with(detail: "a token needs at least 16 characters")
        }
        let token = APIToken(
            id: TokenHashing.random(prefix: "tok_", byteCount: 8), name: name, isAdmin: isAdmin,
            isReadOnly: isReadOnly, allowedAccounts: allowedAccounts,
            createdAt: Date(storedMilliseconds: at.storedMilliseconds))
        let accounts = try allowedAccounts.map { (set: Set<AccountID>) throws(StoreError) in
            storedText(try CanonicalJSON.encode(set.map(\.rawValue).sorted()))
        }
        let hash = TokenHashing.hash(secret, key: identity.tokenKey)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_token (id, name, hash, admin, read_only, accounts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [token.id, name, hash, isAdmin, isReadOnly, accounts, at.storedMilliseconds])
        }
        return IssuedToken(token: token, secret: secret)
    }

    /// The live (not revoked) token whose secret this is, or nil.
    public func verifyToken(_ secret: String) async throws(StoreError) -> APIToken? {
        let hash = TokenHashing.hash(secret, key: identity.tokenKey)
        return try await read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM api_token WHERE hash = ? AND revoked_at IS NULL"),
                arguments: [hash]
            ).map(Self.token(from:))
        }
    }

    /// Every token (revoked ones too), oldest first. Secrets are not stored, so not shown.
    public func tokens() async throws(StoreError) -> [APIToken] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_token ORDER BY created_at, id").map(Self.token(from:))
        }
    }

    /// Revokes a token: it stops verifying at once. ``StoreError/notFound`` for an unknown or revoked id.
    public func revokeToken(id: String, at: Date) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: "UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [at.storedMilliseconds, id])
            guard db.changesCount == 1 else { throw StoreError.notFound.with(detail: "token \(id)") }
        }
    }

    private static func token(from row: Row) throws -> APIToken {
        let accounts = try (row["accounts"] as String?).map { text in
            Set(try CanonicalJSON.decode([String].self, from: Data(text.utf8)).map(AccountID.init))
        }
        return APIToken(
            id: row["id"], name: row["name"], isAdmin: row["admin"], isReadOnly: row["read_only"],
            allowedAccounts: accounts, createdAt: row.date("created_at") ?? Date(storedMilliseconds: 0),
            revokedAt: row.date("revoked_at"))
    }
}
