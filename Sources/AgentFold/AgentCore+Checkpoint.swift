import CompactBinaryCoding
import Foundation
import RiskCore
import TidemarkProtocol

extension AgentCore {
    /// What the checkpoint holds: the risk core and the marks that keep resent messages from being
    /// folded twice.
    public struct CheckpointState: Codable, Sendable {
        public var risk: RiskEngine
        /// Read from checkpoints of agents that kept one clock for every account, and ignored:
        /// each account keeps its own clock (see `RiskEngine`'s decoding). Never written.
        public var sharedClock: BrokerTime?
        public var dealMarks: [AccountID: DealMark]
        /// Each account's broker UTC offset from its latest HELLO (nil in older checkpoints).
        public var utcOffsets: [AccountID: Int]?
    }

    /// Where a checkpoint writer stands: the core's change counts when it last wrote
    /// (``changeMark``); ``checkpointParts(changedSince:)`` encodes the accounts changed after it.
    public struct ChangeMark: Hashable, Sendable {
        /// The risk core's `RiskEngine.revision`.
        public var risk: UInt64
        /// The count of changes to the agent's own per-account marks (deal marks, UTC offsets).
        public var agent: UInt64
    }

    /// A checkpoint in parts, encoded (compact binary, `CompactBinaryEncoder`): the part that
    /// belongs to no account, and each account's. A checkpoint of the changes since a
    /// ``ChangeMark`` holds the accounts changed after it only, so its size follows the changed accounts,
    /// not how many accounts there are.
    public struct CheckpointParts: Sendable {
        /// The event sequence and the competitions (``SharedCheckpoint``).
        public var shared: Data
        /// Each account's part (``AccountCheckpoint``): every account's when ``isComplete``, else
        /// those changed.
        public var accounts: [AccountID: Data]
        /// Accounts changed into nothing (forgotten): their parts are to be removed.
        public var removedAccounts: Set<AccountID>
        /// Whether ``accounts`` is every account's part.
        public var isComplete: Bool
        /// The sequence number the next event will carry.
        public var nextSequenceNumber: UInt64
        /// Where the core stood when encoded: the mark of the next checkpoint of changes.
        public var mark: ChangeMark
    }

    /// A checkpoint's part that belongs to no account.
    public struct SharedCheckpoint: Codable, Sendable {
        public var nextSequenceNumber: UInt64
        public var competitions: [Competition]
        /// The shape of the parts; ``SharedCheckpoint/currentFormatVersion`` is the one written.
        public var formatVersion: Int
        /// The version this agent writes and reads.
        public static let currentFormatVersion = 1
    }

    /// A checkpoint's part of one account.
    public struct AccountCheckpoint: Codable, Hashable, Sendable {
        public var risk: AccountRiskState?
        public var dealMark: DealMark?
        public var utcOffset: Int?
    }

    /// The deals folded for an account: the latest deal time, and the tickets of every deal folded
    /// within ``AgentCore/lateDealWindowMilliseconds`` before it.
    public struct DealMark: Codable, Hashable, Sendable {
        /// The latest deal time folded.
        public var time: BrokerTime
        /// The tickets folded at exactly `time`.
        public var tickets: Set<Int64>
        /// Every ticket folded within the late-deal window before `time`, with its deal's time (nil
        /// in a checkpoint without it: then `tickets` is all the mark knows).
        public var recent: [Int64: BrokerTime]?
    }

    /// The whole checkpoint of the current state in one blob, in the compact binary form
    /// (`CompactBinaryEncoder`; JSON of a thousand accounts takes ~46 ms and ~0.9 MB). The agent
    /// writes parts (``checkpointParts(changedSince:)``); this form is what checkpoints written
    /// before account rows hold.
    public func checkpoint() throws -> Data {
        Data(
            try CompactBinaryEncoder().encode(
                CheckpointState(
                    risk: risk, sharedClock: nil, dealMarks: dealMarks,
                    utcOffsets: utcOffsets)))
    }

    /// Where the core stands now (see ``ChangeMark``).
    public var changeMark: ChangeMark { ChangeMark(risk: risk.revision, agent: agentRevision) }

    /// The checkpoint in parts: with `mark` nil, every account's part (complete); else the parts of
    /// the accounts changed after `mark`, an earlier ``changeMark`` of this core (those not
    /// changed are as the checkpoint written at `mark` holds them). The shared part is always
    /// there.
    public func checkpointParts(changedSince mark: ChangeMark?) throws -> CheckpointParts {
        let encoder = CompactBinaryEncoder()
        let accountIds: [AccountID]
        if let mark {
            var changed = Set(risk.accountsChanged(after: mark.risk))
            for (account, revision) in agentRevisions where revision > mark.agent { changed.insert(account) }
            accountIds = changed.sorted()
        } else {
            accountIds = Set(risk.accountIds).union(dealMarks.keys).union(utcOffsets.keys).sorted()
        }
        var parts = CheckpointParts(
            shared: Data(
                try encoder.encode(
                    SharedCheckpoint(
                        nextSequenceNumber: risk.nextSequenceNumber,
                        competitions: risk.competitionStates,
                        formatVersion: SharedCheckpoint.currentFormatVersion))),
            accounts: [:], removedAccounts: [], isComplete: mark == nil, nextSequenceNumber: risk.nextSequenceNumber,
            mark: changeMark)
        for account in accountIds {
            let part = AccountCheckpoint(
                risk: risk.accountState(of: account), dealMark: dealMarks[account],
                utcOffset: utcOffsets[account])
            if part.risk == nil, part.dealMark == nil, part.utcOffset == nil {
                parts.removedAccounts.insert(account)
            } else {
                parts.accounts[account] = Data(try encoder.encode(part))
            }
        }
        return parts
    }
}
