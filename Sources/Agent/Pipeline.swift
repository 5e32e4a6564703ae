import AgentFold
import Bridge
import Dispatch
import EquityEngine
import Foundation
import Logging
import RiskCore
import Store
import Synchronization
import TidemarkProtocol

/// What the pipeline tells the outputs after each commit (the events are durable by then).
public struct CommitNotice: Sendable {
    /// The highest committed event sequence number.
    public var lastSequenceNumber: UInt64
    /// The events this commit stored (nil when none were new).
    public var newEvents: ClosedRange<UInt64>?
    /// The latest observation of each account in this commit (live equity streams: a subscriber
    /// wants the current figure, at most one commit interval old, not every tick).
    public var observations: [EquityObservation]
    /// Webhook deliveries the commit queued.
    public var queuedDeliveries: Int
}

/// A declaration from the API, for the single writer.
public enum Declaration: Sendable {
    /// A risk-core declaration (its definition row is written in the same commit).
    case risk(RiskCommand)
    /// An account registered before its terminal connects.
    case registerAccount(AccountID, Platform)
}

/// The single writer: bridge deliveries and API declarations in one sequence, through
/// `AgentCore`, into the store, and only then out: ACKs to the EAs (through the bridge), the
/// commit notice (long polls, streams, webhooks), enforcement commands.
///
/// Batching: the writer takes whatever has arrived (at most
/// ``AgentConfiguration/commitMaximumMessages``), folds it, commits it in one transaction, and acts
/// on the receipt; every ``AgentConfiguration/checkpointIntervalMilliseconds`` the risk core's
/// state is encoded and saved beside the store off the writer, and the ACKs follow (sooner after a
/// BYE: see `farewellAcknowledgementDelay`). While a commit runs, new messages queue up and form the
/// next batch, so batches grow with load and latency stays one commit when idle ("group commit").
/// With ``AgentConfiguration/commitIntervalMilliseconds`` above 0, commits are at least that far
/// apart: a batch that would follow the previous commit sooner waits for the rest of the interval
/// to gather more messages (fewer fsyncs on a slow disk, at the cost of latency).
public final class Pipeline: Sendable {
    let store: Store
    let bridge: BridgeServer
    let logger: Logger
    let metrics: AgentMetrics
    private let maximumBatch: Int
    let onCommit: @Sendable (CommitNotice) -> Void
    private let inbox: Inbox
    let state: Mutex<WriterState>
    private let recordDirectory: String?
    private let commitInterval: Duration
    private let checkpointInterval: Duration
    private let farewellAcknowledgementDelay: Duration
    /// How often quiet accounts get the wall clock as a time input (zero: never).
    private let wallClockInterval: Duration

    struct WriterState: Sendable {
        var core: AgentCore?
        var inputPosition: UInt64
        /// The latest observation of every account (the live view of the accounts' equity).
        var latestObservations: [AccountID: EquityObservation] = [:]
        /// Observations not yet written to the account rows: a round of them after every checkpoint,
        /// a few with each commit, not all with every commit (the API reads the live figures from
        /// ``latestObservations``; the rows are what a restart shows).
        var accountRows = AccountRowRefresh(rowsPerCommit: Pipeline.accountRowsPerCommit)
        /// Accounts in error (``AccountInputError``) and since when (the agent's clock).
        var accountErrors: [AccountID: (error: AccountInputError, since: Date)] = [:]
        /// Where the core stood at the last checkpoint of each place (nil: none yet, the next is
        /// complete): each writes the accounts changed after it.
        var checkpointMarks: [CheckpointPlace: AgentCore.ChangeMark] = [:]
    }

    /// - Parameters:
    ///   - bridge: the bridge whose sink is `inbox`.
    ///   - restored: the core to continue and its input position (``restore(from:configuration:)``).
    ///   - commitInterval, checkpointInterval, wallClockInterval: from ``AgentConfiguration``, which
    ///     holds their defaults (``AgentConfiguration/wallClockIntervalMilliseconds``).
    ///   - farewellAcknowledgementDelay: how soon after a BYE its ACK must go out, however long the
    ///     checkpoint interval: after a BYE the agent sends the terminal nothing else, and a
    ///     terminal gives up after three heartbeat intervals of silence (SPEC §6.4).
    init(
        store: Store, bridge: BridgeServer, inbox: Inbox, restored: RestoredCore, maximumBatch: Int,
        metrics: AgentMetrics, logger: Logger, recordDirectory: String? = nil,
        commitInterval: Duration, checkpointInterval: Duration, wallClockInterval: Duration = .zero,
        farewellAcknowledgementDelay: Duration, onCommit: @escaping @Sendable (CommitNotice) -> Void
    ) {
        self.recordDirectory = recordDirectory
        self.wallClockInterval = wallClockInterval
        self.checkpointInterval = checkpointInterval
        self.farewellAcknowledgementDelay = farewellAcknowledgementDelay
        self.commitInterval = commitInterval
        self.store = store
        self.bridge = bridge
        self.logger = logger
        self.metrics = metrics
        self.maximumBatch = maximumBatch
        self.onCommit = onCommit
        self.inbox = inbox
        var state = WriterState(core: restored.core, inputPosition: restored.inputPosition)
        if let mark = restored.writtenMark {
            for place in CheckpointPlace.allCases { state.checkpointMarks[place] = mark }
        }
        self.state = Mutex(state)
    }

    /// Account rows one commit writes at most while a refresh round is under way (see
    /// ``AccountRowRefresh``): ~0.6 ms of SQLite work (measured ~9 µs a row).
    static let accountRowsPerCommit = 64

    /// Submits a declaration and returns once it is committed; throws what the risk core refused
    /// (`RiskCoreError`) or ``AgentError/stopped``.
    public func declare(_ declaration: Declaration) async throws {
        switch declaration {
        case .risk(let command):
            if let error = try await declare(all: [command])[0] { throw error }
        case .registerAccount(let account, let platform):
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if !inbox.submit(.registration(account, platform, continuation)) {
                    continuation.resume(throwing: AgentError.stopped)
                }
            }
        }
    }

    /// Submits risk-core declarations in this order, as one input (one commit, one checkpoint,
    /// however many there are: a rules file of thousands of trackers costs one checkpoint, not one
    /// each). Returns once they are committed, with what the risk core refused of each (nil:
    /// applied); throws ``AgentError/stopped``.
    public func declare(all commands: [RiskCommand]) async throws -> [(any Error)?] {
        guard !commands.isEmpty else { return [] }
        let results = await withCheckedContinuation { (continuation: CheckedContinuation<[(any Error)?]?, Never>) in
            if !inbox.submit(.declarations(commands, continuation)) { continuation.resume(returning: nil) }
        }
        guard let results else { throw AgentError.stopped }
        return results
    }

    /// Runs until the bridge's deliveries end (after `BridgeServer.stop()`) and everything taken
    /// is committed. Declarations submitted after that fail with ``AgentError/stopped``.
    ///
    /// The writer runs on a thread of its own, fed by the bridge's socket thread directly through
    /// the `Inbox`, and commits synchronously: a breach tick wakes one thread on its way to the
    /// store, not a chain of tasks on the cooperative pool, where it would also queue behind the
    /// HTTP handlers.
    /// - Parameter prelude: runs before the first bridge message is taken (e.g. declarations from
    ///   a rules file, so they precede every input); the writer already runs meanwhile.
    public func run(prelude: @escaping @Sendable () async -> Void = {}) async throws {
        async let written: Void = Self.onThread(named: "writer") { [self] in try writeLoop() }
        await prelude()
        inbox.openDeliveries()
        try await written
    }

    /// Runs `body` on a new OS thread; returns (or throws) when it does.
    private static func onThread(named name: String, _ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                // Named from inside: on Linux a name set before start() does not reach the OS
                // thread, which would show in top and perf under its creator's name.
                Thread.current.name = name
                continuation.resume(with: Result { try body() })
            }
            thread.start()
        }
    }

    /// The writer's loop: take what has arrived, fold it, commit it, act on the receipt.
    private func writeLoop() throws {
        // The recorder is not Sendable: it lives on this thread only.
        var recording: BridgeRecorder?
        if let recordDirectory {
            do { recording = try BridgeRecorder(directory: recordDirectory) } catch {
                logger.error("cannot record", metadata: ["directory": "\(recordDirectory)", "error": "\(error)"])
            }
        }
        defer { recording?.close() }
        var lastCommit = ContinuousClock.now - .seconds(1)
        var lastCheckpoint = ContinuousClock.now
        // The first wall-clock round comes one interval after the start: terminals reconnecting
        // after a restart say HELLO first, and an account with a session keeps its own time.
        let wallClockRounds = wallClockInterval > .zero
        var nextWallClockRound = ContinuousClock.now + wallClockInterval
        // Wall-clock time inputs folded since the last checkpoint (they acknowledge nothing, so
        // nothing else makes the last checkpoint at a stop cover them).
        var wallClockUnsaved = false
        var unacknowledged: [String: UInt64] = [:]
        var encoding: CheckpointEncoding?
        // A terminal said BYE and waits for its ACK: the next checkpoint is due by then at the latest.
        var farewellDue: ContinuousClock.Instant?
        do {
            while true {
                // With acknowledgements waiting, wait for input at most until the next checkpoint is
                // due; a checkpoint being saved off this thread wakes it when done. With account rows
                // due, don't wait: a quiet spell writes them.
                let rowsDue = state.withLock { $0.accountRows.dueInRound > 0 }
                var checkpointDue: ContinuousClock.Instant {
                    farewellDue.map { min($0, lastCheckpoint + checkpointInterval) } ?? lastCheckpoint
                        + checkpointInterval
                }
                var deadline = rowsDue ? .now : unacknowledged.isEmpty || encoding != nil ? nil : checkpointDue
                if wallClockRounds { deadline = min(deadline ?? nextWallClockRound, nextWallClockRound) }
                guard var input = inbox.take(maximum: maximumBatch, until: deadline) else { break }
                // Commits back to back (under load): let a few more messages join this one, so one
                // fsync serves more of them. After a quiet spell nothing waits (latency first).
                let sinceLast = ContinuousClock.now - lastCommit
                if !input.deliveries.isEmpty, input.deliveries.count < maximumBatch, sinceLast < commitInterval {
                    let (seconds, attoseconds) = (commitInterval - sinceLast).components
                    Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
                    if let more = inbox.take(maximum: maximumBatch - input.deliveries.count, until: .now) {
                        input.requests += more.requests
                        input.deliveries += more.deliveries
                    }
                }
                if let current = encoding, let result = current.result {
                    // Saved: what it covers may be acknowledged; the account rows follow with the next commits.
                    bridge.committed(try result.get().acknowledgements.map { (sessionID: $0.key, sequence: $0.value) })
                    encoding = nil
                    state.withLock { $0.accountRows.startRound() }
                }
                let wallClockDue = wallClockRounds && ContinuousClock.now >= nextWallClockRound
                if wallClockDue { nextWallClockRound = ContinuousClock.now + wallClockInterval }
                if !input.isEmpty || rowsDue || wallClockDue {
                    if farewellDue == nil,
                        input.deliveries.contains(where: { if case .bye = $0.message { true } else { false } })
                    {
                        farewellDue = ContinuousClock.now + farewellAcknowledgementDelay
                    }
                    let processed = try process(
                        input, forceCheckpoint: false, wallClockRound: wallClockDue,
                        unacknowledged: &unacknowledged)
                    if processed.checkpointed {
                        // A declaration's checkpoint is committed: everything folded is acknowledged.
                        lastCheckpoint = ContinuousClock.now
                        wallClockUnsaved = false
                    }
                    if !processed.wallClockTimes.isEmpty, !processed.checkpointed { wallClockUnsaved = true }
                    lastCommit = ContinuousClock.now
                    if recording != nil {
                        do { try record(input.deliveries, processed, to: recording!) } catch {
                            logger.error("recording stopped", metadata: ["error": "\(error)"])
                            recording = nil
                        }
                    }
                }
                if encoding == nil, !unacknowledged.isEmpty, ContinuousClock.now >= checkpointDue {
                    farewellDue = nil
                    wallClockUnsaved = false
                    // Encode the core's state and save it beside the store, both off the writer (the
                    // copy is cheap: copy-on-write); the ACKs gathered so far go out once it is saved.
                    // Only the accounts changed since the file's previous checkpoint are encoded and written.
                    let (core, position, mark) = state.withLock { state in
                        let core = state.core!
                        defer { state.checkpointMarks[.checkpointFile] = core.changeMark }
                        return (core, state.inputPosition, state.checkpointMarks[.checkpointFile])
                    }
                    let acknowledgements = unacknowledged
                    unacknowledged.removeAll(keepingCapacity: true)
                    lastCheckpoint = ContinuousClock.now
                    encoding = CheckpointEncoding(wakingWriterOf: inbox) { [store, metrics] in
                        let parts = try core.checkpointParts(changedSince: mark)
                        let written = try store.saveCheckpoint(
                            Checkpoint(parts, inputPosition: position, savedAt: Date()))
                        metrics.recordCheckpoint(written, to: .checkpointFile)
                        return SavedCheckpoint(acknowledgements: acknowledgements)
                    }
                }
            }
            // Stopping: what was taken is committed; a last checkpoint lets every ACK go out.
            if let encoding {
                bridge.committed(try encoding.wait().acknowledgements.map { (sessionID: $0.key, sequence: $0.value) })
            }
            if !unacknowledged.isEmpty || wallClockUnsaved || state.withLock({ $0.accountRows.unsavedCount > 0 }) {
                _ = try process(
                    Inbox.Input(), forceCheckpoint: true, wallClockRound: false, unacknowledged: &unacknowledged)
            }
        } catch {
            // Declarations waiting behind the failure get ``AgentError/stopped``; none are taken after.
            inbox.finish()
            for request in inbox.take(maximum: 0, until: .now)?.requests ?? [] {
                request.fail(with: AgentError.stopped)
            }
            throw error
        }
    }

    /// Writes what a batch folded to the recording: the wall-clock time inputs as `time` lines,
    /// then the deliveries, without those refused for an implausible time (a recording holds what
    /// was folded, so that `tidemark replay` folds the same).
    private func record(_ deliveries: [BridgeDelivery], _ processed: ProcessedBatch, to recorder: BridgeRecorder) throws
    {
        for (account, time) in processed.wallClockTimes {
            try recorder.recordDirective(TimeDirective(account: account, time: time).json, of: account)
        }
        for (index, delivery) in deliveries.enumerated() where !processed.refused.contains(index) {
            try recorder.record(delivery)
        }
    }

    /// Reads the writer's live state (open periods, progress, leaderboards) between batches.
    public func read<T>(_ body: (AgentCore) throws -> T) rethrows -> T {
        try state.withLock { state in try body(state.core!) }
    }

    /// The account's latest observation (balance, equity, broker time) folded so far.
    public func latestObservation(of account: AccountID) -> EquityObservation? {
        state.withLock { $0.latestObservations[account] }
    }

    /// Why the account's input is refused and since when, while it is (see `AccountInputError`).
    public func accountError(of account: AccountID) -> (error: AccountInputError, since: Date)? {
        state.withLock { $0.accountErrors[account] }
    }

}

extension Duration {
    /// Whole milliseconds (for logs).
    var milliseconds: Int64 { components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000 }
}
