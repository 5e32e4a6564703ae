import Foundation
import TidemarkProtocol

/// A recording line `{"type":"time","account":"…","time":<ms>}` (protocol/SPEC.md §8): the agent
/// fed its wall clock, in the account's broker time, to a quiet account
/// (``AgentCore/advanceQuietAccounts(wallClock:into:)``). The agent writes it where it happened,
/// so that `tidemark replay` folds the same sequence (``AgentCore/advanceClock(of:to:into:)``).
public struct TimeDirective: Hashable, Sendable {
    /// The directive's `type`.
    public static let type = "time"
    /// The account whose clock moved.
    public var account: AccountID
    /// The broker time it moved to.
    public var time: BrokerTime

    /// A directive.
    public init(account: AccountID, time: BrokerTime) {
        self.account = account
        self.time = time
    }

    private struct Line: Codable {
        var type: String
        var account: String
        var time: Int64
    }

    /// Reads a directive line; nil when a field is missing or of the wrong type.
    public init?(json: [UInt8]) {
        guard let line = try? JSONDecoder().decode(Line.self, from: Data(json)), line.type == Self.type,
            !line.account.isEmpty
        else { return nil }
        self.init(account: AccountID(line.account), time: BrokerTime(milliseconds: line.time))
    }

    /// The line's JSON (without the line feed), keys sorted like every recording line.
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding three plain fields cannot fail.
        return Array(
            (try? encoder.encode(Line(type: Self.type, account: account.rawValue, time: time.milliseconds))) ?? Data())
    }
}
