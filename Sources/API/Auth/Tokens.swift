import Synchronization
import TidemarkProtocol

/// Who a request acts as: what its `auth-token` allows.
public struct Principal: Hashable, Sendable {
    /// The token's id (never the secret).
    public var tokenID: String
    /// Manages tokens and sees every account.
    public var isAdmin: Bool
    /// May only read.
    public var readOnly: Bool
    /// The accounts the token may see; nil: every account. Accounts outside it answer 404.
    public var accounts: Set<AccountID>?

    /// A principal with the given rights.
    public init(tokenID: String, isAdmin: Bool = false, readOnly: Bool = false, accounts: Set<AccountID>? = nil) {
        self.tokenID = tokenID
        self.isAdmin = isAdmin
        self.readOnly = readOnly
        self.accounts = accounts
    }

    /// Whether the token may see this account.
    public func canSee(_ account: AccountID) -> Bool {
        isAdmin || accounts.map { $0.contains(account) } ?? true
    }

    /// Whether the token may see every one of these accounts (a competition over several).
    public func canSeeAll(_ accounts: some Sequence<AccountID>) -> Bool {
        accounts.allSatisfy(canSee)
    }
}

/// A token as the API shows it: everything but the secret.
public struct TokenResource: Hashable, Sendable, Codable {
    /// The public token id (`tok_…`).
    public var id: String
    /// The label it was created with.
    public var name: String
    /// Whether it manages tokens and sees every account.
    public var admin: Bool
    /// Whether it may only read.
    public var readOnly: Bool
    /// nil: every account.
    public var accounts: [AccountID]?

    private enum CodingKeys: String, CodingKey { case id, name, admin, readOnly, accounts = "accountIds" }

    /// A token view with every field given.
    public init(id: String, name: String, admin: Bool, readOnly: Bool, accounts: [AccountID]?) {
        self.id = id
        self.name = name
        self.admin = admin
        self.readOnly = readOnly
        self.accounts = accounts
    }

    /// What a request with this token may do.
    public var principal: Principal {
        Principal(tokenID: id, isAdmin: admin, readOnly: readOnly, accounts: accounts.map(Set.init))
    }
}

/// The body of `POST /users/current/tokens`.
public struct NewToken: Hashable, Sendable, Codable {
    /// A label for the token.
    public var name: String
    /// Limit the token to these accounts; absent: every account.
    public var accounts: [AccountID]?
    /// Whether it may only read (absent: it may write).
    public var readOnly: Bool?

    private enum CodingKeys: String, CodingKey { case name, readOnly, accounts = "accountIds" }

    /// A request for a token.
    public init(name: String, accounts: [AccountID]? = nil, readOnly: Bool? = nil) {
        self.name = name
        self.accounts = accounts
        self.readOnly = readOnly
    }
}

/// A token just created: the only time its secret is shown.
public struct CreatedToken: Hashable, Sendable, Codable {
    /// The public token id (`tok_…`).
    public var id: String
    /// The value of the `auth-token` header.
    public var token: String
    /// The label it was created with.
    public var name: String
    /// Whether it may only read.
    public var readOnly: Bool
    /// The accounts it may see; nil: every account.
    public var accounts: [AccountID]?

    private enum CodingKeys: String, CodingKey { case id, token, name, readOnly, accounts = "accountIds" }
}

/// Where tokens live. The agent implements it over its store (secrets kept hashed); the API only
/// asks it. Implementations compare secrets in constant time.
public protocol TokenAuthority: Sendable {
    /// The principal of a secret, or nil when it is not a valid token.
    func principal(forSecret secret: String) async throws -> Principal?
    /// Creates a (non-admin) token with a new random secret; returns it and its secret.
    func createToken(_ request: NewToken) async throws -> (token: TokenResource, secret: String)
    /// Every token, admin included.
    func tokens() async throws -> [TokenResource]
    /// Removes a token; false when there was none with this id.
    func revoke(id: String) async throws -> Bool
}

/// Tokens in memory, for tests and for a first run before the store is wired. Keeps secrets as
/// given: use a hashing store in production.
public final class InMemoryTokenAuthority: TokenAuthority {
    private struct Entry: Sendable {
        var resource: TokenResource
        var secret: String
    }
    private let entries: Mutex<[Entry]>

    /// Starts with one admin token.
    public init(adminSecret: String, adminID: String = "admin") {
        entries = Mutex([Entry(resource: TokenResource(id: adminID, name: "admin", admin: true, readOnly: false, accounts: nil),
                               secret: adminSecret)])
    }

    public func principal(forSecret secret: String) async throws -> Principal? {
        entries.withLock { entries in
            // Constant time per comparison, and every entry compared: the answer's timing says
            // nothing about which secret, or which prefix of one, exists.
            var found: Principal?
            for entry in entries where TokenSecret.equalInConstantTime(entry.secret, secret) {
                found = entry.resource.principal
            }
            return found
        }
    }

    public func createToken(_ request: NewToken) async throws -> (token: TokenResource, secret: String) {
        let token = TokenResource(id: TokenSecret.generateID(), name: request.name, admin: false,
                                  readOnly: request.readOnly ?? false, accounts: request.accounts)
        let secret = TokenSecret.generate()
        entries.withLock { $0.append(Entry(resource: token, secret: secret)) }
        return (token, secret)
    }

    public func tokens() async throws -> [TokenResource] {
        entries.withLock { $0.map(\.resource) }
    }

    public func revoke(id: String) async throws -> Bool {
        entries.withLock { entries in
            guard let index = entries.firstIndex(where: { $0.resource.id == id }) else { return false }
            entries.remove(at: index)
            return true
        }
    }
}

/// Generating and comparing token secrets.
public enum TokenSecret {
    /// 32 random bytes as 64 lower-case hex digits (256 bits from the system's CSPRNG).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        text.reserveCapacity(64)
        for _ in 0..<4 {
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            text += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return text
    }

    /// A short random id for a new token (not secret).
    public static func generateID() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = String(generator.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Byte-wise comparison whose time depends only on the lengths.
    public static func equalInConstantTime(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
