import AgentFold
import Foundation
import Store

/// Where the agent keeps a checkpoint (the `file` label of `tidemark_checkpoints_total` and
/// `tidemark_checkpoint_bytes_total`).
enum CheckpointPlace: String, CaseIterable, Sendable {
    /// Committed in the store with a batch (declarations, registrations, wall-clock events, a stop).
    case store
    /// Saved beside the store every checkpoint interval, off the writer (``Store/checkpointPath``).
    case checkpointFile = "checkpoint_file"
}

/// The store's record of a checkpoint in parts, at `inputPosition`.
extension Checkpoint {
    init(_ parts: AgentCore.CheckpointParts, inputPosition: UInt64, savedAt: Date) {
        self.init(
            inputPosition: inputPosition, nextSequenceNumber: parts.nextSequenceNumber, layout: .perAccount,
            state: parts.shared, accounts: parts.accounts, removedAccounts: parts.removedAccounts,
            isComplete: parts.isComplete, savedAt: savedAt)
    }
}

extension AgentCore {
    /// A core resumed from a stored checkpoint, in either layout (`Checkpoint.Layout`).
    public init(configuration: Configuration = .init(), checkpoint: Checkpoint) throws {
        switch checkpoint.layout {
        case .whole: try self.init(configuration: configuration, checkpoint: checkpoint.state)
        case .perAccount:
            try self.init(configuration: configuration, shared: checkpoint.state, accounts: checkpoint.accounts)
        }
    }
}

/// What the agent resumes from at start.
public struct RestoredCore: Sendable {
    /// The core to continue (fresh on a first run).
    public var core: AgentCore
    /// The checkpoint's input position (0 on a first run).
    public var inputPosition: UInt64
    /// The core's ``AgentCore/changeMark`` when both checkpoint places were written with its
    /// complete state (nil on a first run: the first checkpoint of each place is complete).
    var writtenMark: AgentCore.ChangeMark?
}

extension Pipeline {
    /// Opens the store's latest checkpoint, if any, and writes the state it holds back to both
    /// places as complete checkpoints in parts, so that every later checkpoint writes only what
    /// changed after: the store's own and the checkpoint file may be at different positions (a
    /// restart resumes from the newer), and a checkpoint written as one blob (`Checkpoint.Layout.whole`)
    /// becomes account rows here.
    public static func restore(from store: Store, configuration: AgentCore.Configuration) async throws -> RestoredCore {
        guard let checkpoint = try await store.checkpoint() else {
            return RestoredCore(core: AgentCore(configuration: configuration), inputPosition: 0, writtenMark: nil)
        }
        let core = try AgentCore(configuration: configuration, checkpoint: checkpoint)
        let parts = try core.checkpointParts(changedSince: nil)
        let complete = Checkpoint(parts, inputPosition: checkpoint.inputPosition, savedAt: Date())
        try await store.commit(StoreBatch(checkpoint: complete))
        try store.saveCheckpoint(complete)
        return RestoredCore(core: core, inputPosition: checkpoint.inputPosition, writtenMark: parts.mark)
    }
}
