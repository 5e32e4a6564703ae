import EquityEngine
import TidemarkProtocol

/// The accounts whose stored row (last equity, balance, broker time) is older than their latest
/// observation, and which of them the next commits write.
///
/// The rows are refreshed in rounds, one per checkpoint: a round covers the accounts that were
/// unsaved when it started, oldest first, at most ``rowsPerCommit`` per commit. A thousand rows in
/// one commit take 5–9 ms of SQLite work, and every breach event committed with them waited that
/// long (it was the slowest 1–3 % of breach latencies at light load); spread over several commits
/// each adds well under a millisecond. An account observed again goes to the back of the line, so
/// no account waits more than a few rounds however busy the others are.
struct AccountRowRefresh: Sendable {
    /// The most rows one commit writes while a round is under way.
    let rowsPerCommit: Int
    private var unsaved: [AccountID: EquityObservation] = [:]
    /// Unsaved accounts in the order they became unsaved, from `head` on.
    private var line: [AccountID] = []
    private var head = 0
    /// Rows the current round still has to write.
    private(set) var dueInRound = 0

    init(rowsPerCommit: Int) { self.rowsPerCommit = max(1, rowsPerCommit) }

    /// Accounts whose latest observation is not written yet.
    var unsavedCount: Int { line.count - head }

    /// Entries the line holds, written ones not yet dropped included (its bound is tested).
    var lineStorageCount: Int { line.count }

    /// Notes an account's latest observation.
    mutating func observed(_ observation: EquityObservation, of account: AccountID) {
        if unsaved.updateValue(observation, forKey: account) == nil { line.append(account) }
    }

    /// Starts a round: every account unsaved now will be written by the next commits.
    mutating func startRound() { dueInRound = unsavedCount }

    /// The rows the next commit writes: the round's next ``rowsPerCommit``, or every unsaved row
    /// when `all` (the last commit before stopping).
    mutating func rowsForCommit(all: Bool = false) -> [(account: AccountID, observation: EquityObservation)] {
        let count = all ? unsavedCount : min(dueInRound, rowsPerCommit)
        guard count > 0 else { return [] }
        let rows = line[head..<(head + count)].map { account in
            (account: account, observation: unsaved.removeValue(forKey: account)!)
        }
        head += count
        dueInRound = max(0, dueInRound - count)
        if head > 4_096, head * 2 > line.count {
            // Drop the written prefix now and then, not per commit: amortised O(1) per row.
            line.removeFirst(head)
            head = 0
        }
        return rows
    }
}
