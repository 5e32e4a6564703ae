import Foundation
import GRDB

/// What makes a store itself: an id the checkpoint file carries too, and the key of its token
/// hashes. Made once, by the migration that introduced it.
public struct StoreIdentity: Hashable, Sendable {
    /// Random, 32 hex digits.
    public var id: String
    /// 32 random bytes.
    var tokenKey: Data

    static func generate() -> StoreIdentity {
        var generator = SystemRandomNumberGenerator()
        let key = Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return StoreIdentity(id: String(TokenHashing.random(prefix: "", byteCount: 16)), tokenKey: key)
    }

    static func read(_ db: Database) throws -> StoreIdentity? {
        try Row.fetchOne(db, sql: "SELECT id, token_key FROM store_identity LIMIT 1").map {
            StoreIdentity(id: $0["id"], tokenKey: $0["token_key"])
        }
    }
}
