import Synchronization

/// Caps how many long polls and streams one token holds open at once, so one client cannot tie
/// up the server's connections; over the cap the API answers 429 with Retry-After.
final class WaitLimiter: Sendable {
    private let limit: Int
    private let open = Mutex<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Runs `body` holding one of the token's slots, or throws 429 when all are taken.
    func withSlot<Value>(for tokenID: String, _ body: () async throws -> Value) async throws -> Value {
        let granted = open.withLock { open -> Bool in
            guard open[tokenID, default: 0] < limit else { return false }
            open[tokenID, default: 0] += 1
            return true
        }
        guard granted else {
            throw APIError.tooManyRequests(
                "At most \(limit) long polls and streams per token at once", retryAfterSeconds: 1)
        }
        defer {
            open.withLock { open in
                open[tokenID, default: 1] -= 1
                if open[tokenID] == 0 { open[tokenID] = nil }
            }
        }
        return try await body()
    }
}

extension WaitLimiter {
    /// Throws 429 when the token has no free slot now (a stream checks before it answers 200;
    /// the slot itself is taken while the body is written).
    func checkAvailable(for tokenID: String) throws {
        let full = open.withLock { $0[tokenID, default: 0] >= limit }
        if full {
            throw APIError.tooManyRequests(
                "At most \(limit) long polls and streams per token at once", retryAfterSeconds: 1)
        }
    }
}
