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
/// ``AgentCore``, into the store, and only then out: ACKs to the EAs (through the bridge), the
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
    private let store: Store
    private let bridge: BridgeServer
    private let logger: Logger
    private let metrics: AgentMetrics
    private let maximumBatch: Int
    private let onCommit: @Sendable (CommitNotice) -> Void
    private let inbox: Inbox
    private let state: Mutex<WriterState>
    private let recordDirectory: String?
    private let commitInterval: Duration
    private let checkpointInterval: Duration
    private let farewellAcknowledgementDelay: Duration
    /// How often quiet accounts get the wall clock as a time input (zero: never).
    private let wallClockInterval: Duration

    private struct WriterState: Sendable {
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
    init(store: Store, bridge: BridgeServer, inbox: Inbox, restored: RestoredCore, maximumBatch: Int,
                metrics: AgentMetrics, logger: Logger, recordDirectory: String? = nil,
                commitInterval: Duration, checkpointInterval: Duration, wallClockInterval: Duration = .zero,
                farewellAcknowledgementDelay: Duration, onCommit: @escaping @Sendable (CommitNotice) -> Void) {
        self.recordDirectory = recordDirectory
        self.wallClockInterval = wallClockInterval
        self.checkpointInterval = checkpointInterval
        self.farewellAcknowledgementDelay = farewellAcknowledgementDelay
        self.commitInterval = commitInterval
        self.store = store; self.bridge = bridge; self.logger = logger; self.metrics = metrics
        self.maximumBatch = maximumBatch; self.onCommit = onCommit
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
    /// (``RiskCoreError``) or ``AgentError/stopped``.
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

    /// Runs until the bridge's deliveries end (after ``BridgeServer/stop()``) and everything taken
    /// is committed. Declarations submitted after that fail with ``AgentError/stopped``.
    ///
    /// The writer runs on a thread of its own, fed by the bridge's socket thread directly through
    /// the ``Inbox``, and commits synchronously: a breach tick wakes one thread on its way to the
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
                    farewellDue.map { min($0, lastCheckpoint + checkpointInterval) } ?? lastCheckpoint + checkpointInterval
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
                    if farewellDue == nil, input.deliveries.contains(where: { if case .bye = $0.message { true } else { false } }) {
                        farewellDue = ContinuousClock.now + farewellAcknowledgementDelay
                    }
                    let processed = try process(input, forceCheckpoint: false, wallClockRound: wallClockDue,
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
                        let written = try store.saveCheckpoint(Checkpoint(parts, inputPosition: position, savedAt: Date()))
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
                _ = try process(Inbox.Input(), forceCheckpoint: true, wallClockRound: false, unacknowledged: &unacknowledged)
            }
        } catch {
            // Declarations waiting behind the failure get ``AgentError/stopped``; none are taken after.
            inbox.finish()
            for request in inbox.take(maximum: 0, until: .now)?.requests ?? [] { request.fail(with: AgentError.stopped) }
            throw error
        }
    }

    /// Writes what a batch folded to the recording: the wall-clock time inputs as `time` lines,
    /// then the deliveries, without those refused for an implausible time (a recording holds what
    /// was folded, so that `tidemark replay` folds the same).
    private func record(_ deliveries: [BridgeDelivery], _ processed: ProcessedBatch, to recorder: BridgeRecorder) throws {
        for (account, time) in processed.wallClockTimes {
            try recorder.recordDirective(TimeDirective(account: account, time: time).json, of: account)
        }
        for (index, delivery) in deliveries.enumerated() where !processed.refused.contains(index) {
            try recorder.record(delivery)
        }
    }

    /// What ``process(_:forceCheckpoint:wallClockRound:unacknowledged:)`` did besides committing.
    private struct ProcessedBatch {
        /// Whether the commit carried a checkpoint of the current state (then every ACK went out).
        var checkpointed: Bool
        /// Positions in the batch of deliveries refused for an implausible time.
        var refused: Set<Int>
        /// Wall-clock time inputs fed to quiet accounts.
        var wallClockTimes: [(AccountID, BrokerTime)]
    }

    // MARK: One batch

    /// Folds and commits one batch; returns whether the commit carried a checkpoint.
    ///
    /// Events are committed (and served) with every batch. The risk core's checkpoint is saved
    /// beside the store off the writer every ``AgentConfiguration/checkpointIntervalMilliseconds``
    /// (see ``writeLoop()``), and committed here only with a batch that has a declaration (its
    /// definition row and the state that holds it must agree) or when stopping. EAs are
    /// acknowledged only up to the last checkpoint: after a crash the agent resumes from it, the
    /// EAs resend what followed, and the core folds it again into the same events, which the store
    /// recognises as replays of what it has (checked equal, not stored twice).
    /// - Parameters:
    ///   - forceCheckpoint: encode the current state here and commit it with this batch, and write
    ///     every unsaved account row (stopping); otherwise the batch carries the account rows the
    ///     current refresh round has due (see ``AccountRowRefresh``).
    ///   - wallClockRound: first feed the wall clock to quiet accounts
    ///     (``AgentCore/advanceQuietAccounts(wallClock:into:)``). When that causes outputs, the batch
    ///     carries a checkpoint: those time inputs come from no terminal, so after a crash nothing
    ///     would fold them again into the same events.
    private func process(_ input: Inbox.Input, forceCheckpoint: Bool, wallClockRound: Bool,
                         unacknowledged: inout [String: UInt64]) throws -> ProcessedBatch {
        let started = ContinuousClock.now
        // The wall clock is read here, once per batch, and handed to the pure core as a value.
        let wallClock = Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
        var refused: Set<Int> = []
        var effects = AgentCore.Effects()
        var acknowledgements: [String: UInt64] = [:]
        var declarations: [(CheckedContinuation<[(any Error)?]?, Never>, [(any Error)?])] = []
        var definitionChanges: [DefinitionChange] = []
        var registrations: [(AccountID, Platform, CheckedContinuation<Void, any Error>)] = []
        var ticks = 0
        var messages = 0
        let (checkpoint, position): (AgentCore.CheckpointParts?, UInt64) = try state.withLock { state in
            var core = state.core.take()!
            defer { state.core = core }
            var wallClockOutputs = false
            if wallClockRound {
                core.advanceQuietAccounts(wallClock: wallClock, into: &effects)
                wallClockOutputs = !effects.riskOutputs.isEmpty
            }
            for request in input.requests {
                state.inputPosition += 1
                switch request {
                case .declarations(let commands, let continuation):
                    let results = commands.map { command -> (any Error)? in
                        do {
                            let applied = try core.declare(command, into: &effects)
                            if let change = try Self.definitionChange(for: applied, in: core.risk, at: Date()) {
                                definitionChanges.append(change)
                            }
                            return nil
                        } catch {
                            return error
                        }
                    }
                    declarations.append((continuation, results))
                case .registration(let account, let platform, let continuation):
                    registrations.append((account, platform, continuation))
                }
            }
            for (index, delivery) in input.deliveries.enumerated() {
                state.inputPosition += 1
                if delivery.sessionEnd == nil { messages += 1 }
                if case .ticks(let batch) = delivery.message { ticks += batch.count }
                // A refused frame is acknowledged all the same: resending cannot make its time plausible.
                if !core.apply(delivery, wallClock: wallClock, into: &effects) { refused.insert(index) }
                acknowledgements[delivery.sessionID] = delivery.sequence
            }
            for (account, observation) in effects.latestObservation {
                state.latestObservations[account] = observation
                state.accountRows.observed(observation, of: account)
            }
            if !effects.accountErrors.isEmpty || !effects.clearedAccountErrors.isEmpty {
                for account in effects.clearedAccountErrors { state.accountErrors[account] = nil }
                for (account, error) in effects.accountErrors { state.accountErrors[account] = (error, Date()) }
            }
            let withCheckpoint = forceCheckpoint || !declarations.isEmpty || !registrations.isEmpty || wallClockOutputs
            guard withCheckpoint else { return (nil, state.inputPosition) }
            // Only the accounts changed since the store's previous checkpoint (a declaration's own,
            // and those with inputs since): its cost follows what changed, not the whole state.
            let parts = try core.checkpointParts(changedSince: state.checkpointMarks[.store])
            state.checkpointMarks[.store] = parts.mark
            return (parts, state.inputPosition)
        }
        if input.isEmpty, checkpoint == nil, effects.isEmpty, state.withLock({ $0.accountRows.dueInRound == 0 }) {
            // Only a wall-clock round that closed nothing: nothing to store, no commit.
            metrics.wallClockTimes.increment(by: Int64(effects.wallClockTimes.count))
            return ProcessedBatch(checkpointed: false, refused: [], wallClockTimes: effects.wallClockTimes)
        }
        for (account, platform, continuation) in registrations {
            do {
                try store.registerAccountBlocking(account, platform: platform, at: Date())
                continuation.resume()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        let now = Date()
        var batch = StoreBatch()
        for output in effects.riskOutputs { try batch.append(output) }
        batch.definitionChanges = definitionChanges
        for (account, deal) in effects.deals { batch.deals.append(JournalDeal(accountId: account, deal: deal)) }
        var updates: [AccountID: AccountUpdate] = [:]
        // A session (and a new account) is stored from its first snapshot: a HELLO alone stores nothing.
        for (sessionID, hello) in effects.openedSessions {
            batch.sessionChanges.append(.opened(sessionId: sessionID, accountId: hello.accountID, at: now))
            var update = updates[hello.accountID] ?? AccountUpdate(id: hello.accountID)
            update.platform = hello.platform
            update.currency = hello.currency
            update.connected = true
            updates[hello.accountID] = update
        }
        // The store turns `connected` off unless another session of the account is still open.
        for end in effects.sessionEnds where !effects.unopenedSessionEnds.contains(end.sessionID) {
            batch.sessionChanges.append(.closed(sessionId: end.sessionID, at: now, reason: end.reason))
        }
        for (account, observation) in state.withLock({ $0.accountRows.rowsForCommit(all: forceCheckpoint) }) {
            var update = updates[account] ?? AccountUpdate(id: account)
            update.lastEquity = observation.equity
            update.lastBalance = observation.balance
            update.lastSeenBrokerTime = observation.time
            updates[account] = update
        }
        for (account, drift) in effects.drifts {
            var update = updates[account] ?? AccountUpdate(id: account)
            // Two in-range figures of opposite sign can differ beyond the range: the row shows its end.
            update.reconciliationDrift = drift.terminalEquity.subtractingClamped(drift.reconstructedEquity)
            updates[account] = update
            metrics.driftReports.increment()
            logger.warning("terminal equity drifts from the reconstruction", metadata: [
                "account": "\(account)", "terminal": "\(drift.terminalEquity)", "reconstructed": "\(drift.reconstructedEquity)",
            ])
        }
        for output in effects.riskOutputs {
            guard let (account, kinds, reason) = Self.enforcement(of: output), let sequence = output.sequenceNumber else { continue }
            for kind in kinds {
                batch.enforcementRequests.append(EnforcementRequest(accountId: account, kind: kind, reason: reason,
                                                                    requestedAt: now, causeSequenceNumber: sequence))
            }
            var update = updates[account] ?? AccountUpdate(id: account)
            update.enforcementState = .some(kinds.map(\.rawValue).joined(separator: ",") + " requested")
            updates[account] = update
        }
        for (account, acknowledgement) in effects.commandAcknowledgements {
            batch.enforcementAcknowledgements.append(EnforcementAcknowledgement(accountId: account, acknowledgement: acknowledgement,
                                                                                receivedAt: now))
            var update = updates[account] ?? AccountUpdate(id: account)
            update.enforcementState = .some("command \(acknowledgement.commandID) \(acknowledgement.succeeded ? "succeeded" : "failed")"
                                            + (acknowledgement.detail.isEmpty ? "" : ": \(acknowledgement.detail)"))
            updates[account] = update
        }
        batch.accountUpdates = updates.keys.sorted().map { updates[$0]! }
        if let checkpoint {
            batch.checkpoint = Checkpoint(checkpoint, inputPosition: position, savedAt: now)
        }

        let folded = ContinuousClock.now
        let receipt: CommitReceipt
        do {
            receipt = try store.commitBlocking(batch)
        } catch {
            // Nothing of the batch is stored and nothing was acknowledged: the EAs resend it. The
            // in-memory core is ahead of the store now, so the agent must stop (and restart from
            // the checkpoint) rather than go on.
            logger.critical("store commit failed; stopping", metadata: ["error": "\(error)", "detail": "\(error.detail)"])
            let failure = AgentError.store.with(detail: "\(error)")
            for (continuation, results) in declarations { continuation.resume(returning: results.map { _ in failure }) }
            throw AgentError.store.with(detail: "\(error): \(error.detail)")
        }
        metrics.commits.increment()
        if batch.checkpoint != nil { metrics.recordCheckpoint(receipt.checkpointWritten, to: .store) }
        metrics.ticks.increment(by: Int64(ticks))
        metrics.messages.increment(by: Int64(messages))
        metrics.commitLatency.recordNanoseconds(Self.nanoseconds(receipt.duration))
        let lag = ContinuousClock.now - started
        metrics.eventLag.recordNanoseconds(Self.nanoseconds(lag))
        if lag > .milliseconds(50) {
            // An event of this batch reached nobody for this long: say where the time went.
            logger.warning("slow batch", metadata: [
                "messages": "\(messages)", "ticks": "\(ticks)", "fold_ms": "\((folded - started).milliseconds)",
                "commit_ms": "\(receipt.duration.milliseconds)", "checkpoint_bytes": "\(receipt.checkpointWritten.bytes)",
            ])
        }
        metrics.resentSkipped.increment(by: Int64(effects.skippedResent))
        metrics.wallClockTimes.increment(by: Int64(effects.wallClockTimes.count))
        if !effects.implausibleTimes.isEmpty {
            metrics.implausibleTimes.increment(by: Int64(effects.implausibleTimes.count))
            for refusal in effects.implausibleTimes {
                logger.warning("frame refused: time too far ahead of the wall clock", metadata: [
                    "account": "\(refusal.account)", "time": "\(refusal.time.milliseconds)", "latest_plausible": "\(refusal.limit.milliseconds)",
                ])
            }
        }
        if let events = receipt.newEvents { metrics.events.increment(by: Int64(events.count)) }
        metrics.publish(bridge.counters)

        // Durable: now acknowledge, announce, enforce.
        unacknowledged.merge(acknowledgements) { max($0, $1) }
        if checkpoint != nil {
            // The current state is checkpointed: everything folded so far may be acknowledged.
            bridge.committed(unacknowledged.map { (sessionID: $0.key, sequence: $0.value) })
            unacknowledged.removeAll(keepingCapacity: true)
        }
        for (continuation, results) in declarations { continuation.resume(returning: results) }
        onCommit(CommitNotice(lastSequenceNumber: receipt.lastSequenceNumber, newEvents: receipt.newEvents,
                              observations: Array(effects.latestObservation.values), queuedDeliveries: receipt.queuedDeliveryCount))
        for command in receipt.newCommands {
            bridge.send(command.command, to: command.accountId)
            metrics.commandsSent.increment()
            logger.notice("enforcement command", metadata: [
                "account": "\(command.accountId)", "command": "\(command.id)", "kind": "\(command.kind.rawValue)",
                "reason": "\(command.reason)",
            ])
        }
        // A new session gets the commands its account has not answered yet (sent while it was away,
        // or lost with the previous connection). The EA executes each id once.
        // One read for the whole batch (a thousand terminals reconnecting come in few batches).
        if !effects.hellos.isEmpty {
            let greeted = Set(effects.hellos.map(\.hello.accountID))
            for command in try store.unacknowledgedCommandsBlocking()
            where greeted.contains(command.accountId) && !receipt.newCommands.contains(where: { $0.id == command.id }) {
                bridge.send(command.command, to: command.accountId)
                metrics.commandsSent.increment()
            }
        }
        for (account, reason) in effects.refused {
            logger.warning("equity engine refused a message", metadata: ["account": "\(account)", "error": "\(reason)"])
        }
        if effects.refusalCount > 0 || !effects.clearedAccountErrors.isEmpty {
            metrics.recordRefusals(effects.refusalsByReason)
            metrics.accountsInError.record(state.withLock { $0.accountErrors.count })
            // The session is told and re-bases the account with a snapshot, which clears the error.
            for (account, error) in effects.accountErrors {
                bridge.requestResync(of: account, reason: error.reason.rawValue)
                logger.error("account input not representable; account in error until its next snapshot", metadata: [
                    "account": "\(account)", "reason": "\(error.reason.rawValue)", "detail": "\(error.detail)",
                    "broker_time": "\(error.brokerTime.map { "\($0.milliseconds)" } ?? "-")",
                ])
            }
            for account in effects.clearedAccountErrors {
                logger.notice("account error cleared by a snapshot", metadata: ["account": "\(account)"])
            }
        }
        return ProcessedBatch(checkpointed: checkpoint != nil, refused: refused, wallClockTimes: effects.wallClockTimes)
    }

    /// The definition row a declaration writes (the store keeps definitions for the API).
    static func definitionChange(for command: RiskCommand, in risk: RiskEngine, at date: Date) throws -> DefinitionChange? {
        switch command {
        case .createTracker(let definition):
            return .put(try StoredDefinition(tracker: definition, createdAt: date))
        case .renameTracker(_, let id, _):
            return try risk.tracker(id: id).map { .put(try StoredDefinition(tracker: $0, createdAt: date)) }
        case .deleteTracker(_, let id):
            return .delete(kind: .tracker, id: id, at: date)
        case .createChallenge(let definition):
            return .put(try StoredDefinition(challenge: definition, createdAt: date))
        case .deleteChallenge(let id):
            return .delete(kind: .challenge, id: id, at: date)
        case .createCompetition(let definition):
            return .put(try StoredDefinition(competition: definition, createdAt: date))
        case .deleteCompetition(let id):
            return .delete(kind: .competition, id: id, at: date)
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

    /// Why the account's input is refused and since when, while it is (see ``AccountInputError``).
    public func accountError(of account: AccountID) -> (error: AccountInputError, since: Date)? {
        state.withLock { $0.accountErrors[account] }
    }

    /// The account, commands and reason of an event that asks for enforcement.
    private static func enforcement(of output: RiskOutput) -> (AccountID, [CommandKind], String)? {
        switch output {
        case .challengeEvent(_, let event) where !event.enforcement.isEmpty:
            return (event.account, event.enforcement, "challenge \(event.challengeID): \(event.kind.rawValue)")
        case .competitionEvent(_, let event) where !event.enforcement.isEmpty:
            guard let account = event.account else { return nil }
            return (account, event.enforcement, "competition \(event.competitionID): \(event.kind.rawValue)")
        default:
            return nil
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// A checkpoint saved beside the store off the writer.
struct SavedCheckpoint: Sendable {
    /// What may be acknowledged now (everything folded into it).
    var acknowledgements: [String: UInt64]
}

/// A checkpoint being encoded and saved on a thread of its own: that takes milliseconds of CPU and
/// I/O, which the writer spends folding and committing the next batches meanwhile. When done it
/// wakes the writer, which sends the ACKs it allows.
///
/// The thread runs at a lower priority (nice 10): on a busy machine the scheduler then gives the
/// bridge and the writer, the path of a breach to its subscribers, the CPU first. A checkpoint is
/// only due every few hundred milliseconds, and an EA keeps what is unacknowledged until it is.
final class CheckpointEncoding: Sendable {
    private let outcome = Mutex<Result<SavedCheckpoint, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(wakingWriterOf inbox: Inbox, _ work: @escaping @Sendable () throws -> SavedCheckpoint) {
        let thread = Thread { [self] in
            Thread.current.name = "checkpoint"
            // Linux keeps the nice value per thread; `who` 0 names the calling thread. Raising it
            // needs no privilege (failing would only leave the default priority).
            #if os(Linux)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            #endif
            // Encoded outside the lock: the writer looks at `result` between batches meanwhile.
            let result = Result { try work() }
            outcome.withLock { $0 = result }
            done.signal()
            inbox.wakeWriter()
        }
        thread.start()
    }

    /// The outcome, or nil while encoding.
    var result: Result<SavedCheckpoint, any Error>? { outcome.withLock { $0 } }

    /// Blocks until encoded.
    func wait() throws -> SavedCheckpoint {
        if let result { return try result.get() }
        done.wait()
        return try result!.get()
    }
}

/// The writer's input: bridge deliveries, handed over by the socket thread, and requests from the
/// API. Read by the writer's own thread.
///
/// Deliveries are bounded: when the writer falls behind, ``deliver(_:)`` blocks the socket
/// thread, which stops reading the EAs' sockets (backpressure all the way to the terminals).
/// Requests are never refused for space. Deliveries are held back until ``openDeliveries()``, so
/// the declarations of a rules file precede every input.
final class Inbox: BridgeDeliverySink {
    /// What the API asks of the writer.
    enum Request: Sendable {
        /// Risk-core declarations, applied in order; the continuation gets what was refused of each.
        case declarations([RiskCommand], CheckedContinuation<[(any Error)?]?, Never>)
        case registration(AccountID, Platform, CheckedContinuation<Void, any Error>)

        /// Answers the request with `error` (the writer stopped before taking it).
        func fail(with error: any Error) {
            switch self {
            case .declarations(_, let continuation): continuation.resume(returning: nil)
            case .registration(_, _, let continuation): continuation.resume(throwing: error)
            }
        }
    }

    /// One take: requests first (all of them), then deliveries.
    struct Input {
        var requests: [Request] = []
        var deliveries: [BridgeDelivery] = []
        var isEmpty: Bool { requests.isEmpty && deliveries.isEmpty }
    }

    private struct State: Sendable {
        var deliveries: [BridgeDelivery] = []
        var head = 0
        var requests: [Request] = []
        var deliveriesOpen = false
        var finished = false
        /// Set by ``wakeWriter()``: the next take returns even with nothing to take.
        var wakeRequested = false
        var writerWaiting = false
        var producerWaiting = false
        var queuedDeliveries: Int { deliveries.count - head }
    }

    private enum DeliverStep { case queued(wakeWriter: Bool), wait, finished }
    private enum TakeStep { case input(Input), wait, finished }

    private let capacity: Int
    private let state = Mutex(State())
    // The writer and the socket thread sleep on semaphores, which remember a signal sent before
    // the wait: a wake-up cannot be lost between unlocking the state and waiting.
    private let writerWakeUp = DispatchSemaphore(value: 0)
    private let producerWakeUp = DispatchSemaphore(value: 0)

    /// - Parameter capacity: deliveries queued before ``deliver(_:)`` blocks.
    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Deliveries held in storage, taken ones not yet reclaimed included (for tests).
    var storedDeliveryCount: Int { state.withLock { $0.deliveries.count } }

    /// Queues bridge deliveries (on the socket thread); blocks while the inbox is over capacity.
    func deliver(_ batch: [BridgeDelivery]) -> Bool {
        guard !batch.isEmpty else { return true }
        while true {
            let step: DeliverStep = state.withLock { state in
                if state.finished { return .finished }
                if state.queuedDeliveries >= capacity {
                    state.producerWaiting = true
                    return .wait
                }
                if state.queuedDeliveries == 0 {
                    // Reuse the emptied storage, or adopt the batch itself (no copy).
                    if state.deliveries.capacity >= batch.count {
                        state.deliveries.removeAll(keepingCapacity: true)
                        state.deliveries.append(contentsOf: batch)
                    } else {
                        state.deliveries = batch
                    }
                    state.head = 0
                } else {
                    state.deliveries.append(contentsOf: batch)
                }
                return .queued(wakeWriter: state.deliveriesOpen && Self.takeWaitingWriter(&state))
            }
            switch step {
            case .finished: return false
            case .wait: producerWakeUp.wait()
            case .queued(let wake):
                if wake { writerWakeUp.signal() }
                return true
            }
        }
    }

    /// Adds a request; false when the inbox is finished.
    func submit(_ request: Request) -> Bool {
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            if state.finished { return (false, false) }
            state.requests.append(request)
            return (true, Self.takeWaitingWriter(&state))
        }
        if wake { writerWakeUp.signal() }
        return accepted
    }

    /// Lets the writer take deliveries (after the prelude's declarations).
    func openDeliveries() {
        let wake = state.withLock { state in
            state.deliveriesOpen = true
            return Self.takeWaitingWriter(&state)
        }
        if wake { writerWakeUp.signal() }
    }

    /// Makes the writer's current or next ``take(maximum:until:)`` return, empty if need be.
    func wakeWriter() {
        let wake = state.withLock { state in
            state.wakeRequested = true
            return Self.takeWaitingWriter(&state)
        }
        if wake { writerWakeUp.signal() }
    }

    /// No more input: ``take(maximum:until:)`` returns nil once drained; a blocked
    /// ``deliver(_:)`` returns false, and later submissions fail.
    func finish() {
        let (wakeWriter, wakeProducer) = state.withLock { state in
            state.finished = true
            defer { state.producerWaiting = false }
            return (Self.takeWaitingWriter(&state), state.producerWaiting)
        }
        if wakeWriter { writerWakeUp.signal() }
        if wakeProducer { producerWakeUp.signal() }
    }

    /// Every request and up to `maximum` deliveries, waiting for something until `deadline` (then
    /// empty; nil: as long as it takes). Nil once finished and drained. One writer thread only.
    func take(maximum: Int, until deadline: ContinuousClock.Instant?) -> Input? {
        while true {
            var wakeProducer = false
            let step: TakeStep = state.withLock { state in
                var input = Input()
                swap(&input.requests, &state.requests)
                if state.deliveriesOpen, state.queuedDeliveries > 0, maximum > 0 {
                    input.deliveries = Self.takeDeliveries(maximum: maximum, from: &state)
                    if state.producerWaiting, state.queuedDeliveries < capacity {
                        state.producerWaiting = false
                        wakeProducer = true
                    }
                }
                if !input.isEmpty || state.wakeRequested {
                    state.wakeRequested = false
                    return .input(input)
                }
                if state.finished { return .finished }
                if let deadline, ContinuousClock.now >= deadline { return .input(input) }
                state.writerWaiting = true
                return .wait
            }
            if wakeProducer { producerWakeUp.signal() }
            switch step {
            case .input(let input): return input
            case .finished: return nil
            case .wait: waitForWakeUp(until: deadline)
            }
        }
    }

    private func waitForWakeUp(until deadline: ContinuousClock.Instant?) {
        guard let deadline else { return writerWakeUp.wait() }
        let remaining = max(.zero, deadline - ContinuousClock.now)
        let (seconds, attoseconds) = remaining.components
        let nanoseconds = Int(clamping: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        guard writerWakeUp.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .timedOut else { return }
        // Timed out. If a producer cleared the flag meanwhile, its signal is on the way: take it,
        // so the count stays balanced.
        let signalled = state.withLock { state in
            defer { state.writerWaiting = false }
            return !state.writerWaiting
        }
        if signalled { writerWakeUp.wait() }
    }

    /// Whether the writer waits (then the caller signals it, once).
    private static func takeWaitingWriter(_ state: inout State) -> Bool {
        defer { state.writerWaiting = false }
        return state.writerWaiting
    }

    private static func takeDeliveries(maximum: Int, from state: inout State) -> [BridgeDelivery] {
        if state.head == 0, state.deliveries.count <= maximum {
            // All of it: hand over the storage itself.
            var taken: [BridgeDelivery] = []
            swap(&taken, &state.deliveries)
            return taken
        }
        let count = min(maximum, state.queuedDeliveries)
        let taken = Array(state.deliveries[state.head..<(state.head + count)])
        state.head += count
        // Reclaim the consumed prefix: at once when everything is taken, else once it is large
        // (under sustained load the queue never empties, and must not grow without bound).
        if state.head == state.deliveries.count {
            state.deliveries.removeAll(keepingCapacity: true)
            state.head = 0
        } else if state.head >= 16_384, state.head >= state.queuedDeliveries {
            state.deliveries.removeFirst(state.head)
            state.head = 0
        }
        return taken
    }
}

extension Duration {
    /// Whole milliseconds (for logs).
    var milliseconds: Int64 { components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000 }
}
