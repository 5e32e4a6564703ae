import AgentFold
import Bridge
import EquityEngine
import Foundation
import RiskCore
import Store
import TidemarkProtocol

extension Pipeline {
    /// What ``process(_:forceCheckpoint:wallClockRound:unacknowledged:)`` did besides committing.
    struct ProcessedBatch {
        /// Whether the commit carried a checkpoint of the current state (then every ACK went out).
        var checkpointed: Bool
        /// Positions in the batch of deliveries refused for an implausible time.
        var refused: Set<Int>
        /// Wall-clock time inputs fed to quiet accounts.
        var wallClockTimes: [(AccountID, BrokerTime)]
    }

    // MARK: One batch

    /// What folding one batch produced: what the commit stores and what follows it acts on.
    struct FoldedBatch {
        /// When the writer began the batch (the event-lag metric starts here).
        var started: ContinuousClock.Instant
        var effects = AgentCore.Effects()
        /// Positions in the batch of deliveries refused for an implausible time.
        var refused: Set<Int> = []
        /// The latest sequence number folded of each session.
        var acknowledgements: [String: UInt64] = [:]
        /// Each declaration request with what the risk core refused of each of its commands (nil: applied).
        var declarations: [(CheckedContinuation<[(any Error)?]?, Never>, [(any Error)?])] = []
        /// The definition rows the applied declarations write.
        var definitionChanges: [DefinitionChange] = []
        var registrations: [(AccountID, Platform, CheckedContinuation<Void, any Error>)] = []
        var ticks = 0
        var messages = 0
        /// The checkpoint committed with the batch (nil: none due), in parts.
        var checkpoint: AgentCore.CheckpointParts?
        /// The input position the batch ends at.
        var inputPosition: UInt64 = 0
    }

    /// Folds and commits one batch, then acts on the receipt; returns what the writer's loop needs.
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
    func process(
        _ input: Inbox.Input, forceCheckpoint: Bool, wallClockRound: Bool,
        unacknowledged: inout [String: UInt64]
    ) throws -> ProcessedBatch {
        let folded = try fold(input, forceCheckpoint: forceCheckpoint, wallClockRound: wallClockRound)
        if input.isEmpty, folded.checkpoint == nil, folded.effects.isEmpty,
            state.withLock({ $0.accountRows.dueInRound == 0 })
        {
            // Only a wall-clock round that closed nothing: nothing to store, no commit.
            metrics.wallClockTimes.increment(by: Int64(folded.effects.wallClockTimes.count))
            return ProcessedBatch(checkpointed: false, refused: [], wallClockTimes: folded.effects.wallClockTimes)
        }
        register(folded.registrations)
        let batch = try storeBatch(for: folded, allAccountRows: forceCheckpoint, at: Date())
        let receipt = try commit(batch, of: folded, builtAt: ContinuousClock.now)
        try afterCommit(folded, receipt: receipt, unacknowledged: &unacknowledged)
        return ProcessedBatch(
            checkpointed: folded.checkpoint != nil, refused: folded.refused,
            wallClockTimes: folded.effects.wallClockTimes)
    }

    /// Folds the batch through the core, under the writer's lock: the wall clock first (a
    /// wall-clock round), then the API's requests, then the bridge's deliveries, each one input
    /// position; then the checkpoint, when one is due with this batch.
    private func fold(_ input: Inbox.Input, forceCheckpoint: Bool, wallClockRound: Bool) throws -> FoldedBatch {
        var folded = FoldedBatch(started: ContinuousClock.now)
        // The wall clock is read here, once per batch, and handed to the pure core as a value.
        let wallClock = Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
        try state.withLock { state in
            var core = state.core.take()!
            defer { state.core = core }
            var wallClockOutputs = false
            if wallClockRound {
                core.advanceQuietAccounts(wallClock: wallClock, into: &folded.effects)
                wallClockOutputs = !folded.effects.riskOutputs.isEmpty
            }
            for request in input.requests {
                state.inputPosition += 1
                switch request {
                case .declarations(let commands, let continuation):
                    let results = commands.map { command -> (any Error)? in
                        do {
                            let applied = try core.declare(command, into: &folded.effects)
                            if let change = try Self.definitionChange(for: applied, in: core.risk, at: Date()) {
                                folded.definitionChanges.append(change)
                            }
                            return nil
                        } catch {
                            return error
                        }
                    }
                    folded.declarations.append((continuation, results))
                case .registration(let account, let platform, let continuation):
                    folded.registrations.append((account, platform, continuation))
                }
            }
            for (index, delivery) in input.deliveries.enumerated() {
                state.inputPosition += 1
                if delivery.sessionEnd == nil { folded.messages += 1 }
                if case .ticks(let batch) = delivery.message { folded.ticks += batch.count }
                // A refused frame is acknowledged all the same: resending cannot make its time plausible.
                if !core.apply(delivery, wallClock: wallClock, into: &folded.effects) { folded.refused.insert(index) }
                folded.acknowledgements[delivery.sessionID] = delivery.sequence
            }
            for (account, observation) in folded.effects.latestObservation {
                state.latestObservations[account] = observation
                state.accountRows.observed(observation, of: account)
            }
            if !folded.effects.accountErrors.isEmpty || !folded.effects.clearedAccountErrors.isEmpty {
                for account in folded.effects.clearedAccountErrors { state.accountErrors[account] = nil }
                for (account, error) in folded.effects.accountErrors { state.accountErrors[account] = (error, Date()) }
            }
            folded.inputPosition = state.inputPosition
            let withCheckpoint =
                forceCheckpoint || !folded.declarations.isEmpty || !folded.registrations.isEmpty || wallClockOutputs
            guard withCheckpoint else { return }
            // Only the accounts changed since the store's previous checkpoint (a declaration's own,
            // and those with inputs since): its cost follows the changed accounts, not the whole state.
            let parts = try core.checkpointParts(changedSince: state.checkpointMarks[.store])
            state.checkpointMarks[.store] = parts.mark
            folded.checkpoint = parts
        }
        return folded
    }

    /// Registers the accounts the API asked for (each answered on its own).
    private func register(_ registrations: [(AccountID, Platform, CheckedContinuation<Void, any Error>)]) {
        for (account, platform, continuation) in registrations {
            do {
                try store.registerAccountBlocking(account, platform: platform, at: Date())
                continuation.resume()
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// What the store commits of a folded batch: events and records, definitions, deals, session
    /// changes, account rows (those due, or all of them), enforcement, the checkpoint.
    private func storeBatch(for folded: FoldedBatch, allAccountRows: Bool, at now: Date) throws -> StoreBatch {
        let effects = folded.effects
        var batch = StoreBatch()
        for output in effects.riskOutputs { try batch.append(output) }
        batch.definitionChanges = folded.definitionChanges
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
        for (account, observation) in state.withLock({ $0.accountRows.rowsForCommit(all: allAccountRows) }) {
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
            logger.warning(
                "terminal equity drifts from the reconstruction",
                metadata: [
                    "account": "\(account)", "terminal": "\(drift.terminalEquity)",
                    "reconstructed": "\(drift.reconstructedEquity)",
                ])
        }
        for output in effects.riskOutputs {
            guard let (account, kinds, reason) = Self.enforcement(of: output), let sequence = output.sequenceNumber
            else { continue }
            for kind in kinds {
                batch.enforcementRequests.append(
                    EnforcementRequest(
                        accountId: account, kind: kind, reason: reason,
                        requestedAt: now, causeSequenceNumber: sequence))
            }
            var update = updates[account] ?? AccountUpdate(id: account)
            update.enforcementState = .some(kinds.map(\.rawValue).joined(separator: ",") + " requested")
            updates[account] = update
        }
        for (account, acknowledgement) in effects.commandAcknowledgements {
            batch.enforcementAcknowledgements.append(
                EnforcementAcknowledgement(
                    accountId: account, acknowledgement: acknowledgement,
                    receivedAt: now))
            var update = updates[account] ?? AccountUpdate(id: account)
            update.enforcementState = .some(
                "command \(acknowledgement.commandID) \(acknowledgement.succeeded ? "succeeded" : "failed")"
                    + (acknowledgement.detail.isEmpty ? "" : ": \(acknowledgement.detail)"))
            updates[account] = update
        }
        batch.accountUpdates = updates.keys.sorted().map { updates[$0]! }
        if let checkpoint = folded.checkpoint {
            batch.checkpoint = Checkpoint(checkpoint, inputPosition: folded.inputPosition, savedAt: now)
        }
        return batch
    }

    /// Commits the batch and counts it. A failed commit stops the agent: the declarations waiting
    /// on it are answered with the failure.
    private func commit(
        _ batch: StoreBatch, of folded: FoldedBatch, builtAt built: ContinuousClock.Instant
    ) throws -> CommitReceipt {
        let receipt: CommitReceipt
        do {
            receipt = try store.commitBlocking(batch)
        } catch {
            // Nothing of the batch is stored and nothing was acknowledged: the EAs resend it. The
            // in-memory core is ahead of the store now, so the agent must stop (and restart from
            // the checkpoint) rather than go on.
            logger.critical(
                "store commit failed; stopping", metadata: ["error": "\(error)", "detail": "\(error.detail)"])
            let failure = AgentError.store.with(detail: "\(error)")
            for (continuation, results) in folded.declarations {
                continuation.resume(returning: results.map { _ in failure })
            }
            throw AgentError.store.with(detail: "\(error): \(error.detail)")
        }
        let effects = folded.effects
        metrics.commits.increment()
        if batch.checkpoint != nil { metrics.recordCheckpoint(receipt.checkpointWritten, to: .store) }
        metrics.ticks.increment(by: Int64(folded.ticks))
        metrics.messages.increment(by: Int64(folded.messages))
        metrics.commitLatency.recordNanoseconds(Self.nanoseconds(receipt.duration))
        let lag = ContinuousClock.now - folded.started
        metrics.eventLag.recordNanoseconds(Self.nanoseconds(lag))
        if lag > .milliseconds(50) {
            // An event of this batch reached nobody for this long: say where the time went.
            logger.warning(
                "slow batch",
                metadata: [
                    "messages": "\(folded.messages)", "ticks": "\(folded.ticks)",
                    "fold_ms": "\((built - folded.started).milliseconds)",
                    "commit_ms": "\(receipt.duration.milliseconds)",
                    "checkpoint_bytes": "\(receipt.checkpointWritten.bytes)",
                ])
        }
        metrics.resentSkipped.increment(by: Int64(effects.skippedResent))
        metrics.wallClockTimes.increment(by: Int64(effects.wallClockTimes.count))
        if !effects.implausibleTimes.isEmpty {
            metrics.implausibleTimes.increment(by: Int64(effects.implausibleTimes.count))
            for refusal in effects.implausibleTimes {
                logger.warning(
                    "frame refused: time too far ahead of the wall clock",
                    metadata: [
                        "account": "\(refusal.account)", "time": "\(refusal.time.milliseconds)",
                        "latest_plausible": "\(refusal.limit.milliseconds)",
                    ])
            }
        }
        if let events = receipt.newEvents { metrics.events.increment(by: Int64(events.count)) }
        metrics.publish(bridge.counters)
        return receipt
    }

    /// Durable: now acknowledge (all that is folded, when the commit carried a checkpoint),
    /// answer the declarations, announce the commit, send enforcement commands, and tell the
    /// sessions of accounts that went into error.
    private func afterCommit(
        _ folded: FoldedBatch, receipt: CommitReceipt, unacknowledged: inout [String: UInt64]
    ) throws {
        let effects = folded.effects
        unacknowledged.merge(folded.acknowledgements) { max($0, $1) }
        if folded.checkpoint != nil {
            // The current state is checkpointed: everything folded so far may be acknowledged.
            bridge.committed(unacknowledged.map { (sessionID: $0.key, sequence: $0.value) })
            unacknowledged.removeAll(keepingCapacity: true)
        }
        for (continuation, results) in folded.declarations { continuation.resume(returning: results) }
        onCommit(
            CommitNotice(
                lastSequenceNumber: receipt.lastSequenceNumber, newEvents: receipt.newEvents,
                observations: Array(effects.latestObservation.values), queuedDeliveries: receipt.queuedDeliveryCount))
        for command in receipt.newCommands {
            bridge.send(command.command, to: command.accountId)
            metrics.commandsSent.increment()
            logger.notice(
                "enforcement command",
                metadata: [
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
            logger.warning(
                "equity engine refused a message", metadata: ["account": "\(account)", "error": "\(reason)"])
        }
        if effects.refusalCount > 0 || !effects.clearedAccountErrors.isEmpty {
            metrics.recordRefusals(effects.refusalsByReason)
            metrics.accountsInError.record(state.withLock { $0.accountErrors.count })
            // The session is told and re-bases the account with a snapshot, which clears the error.
            for (account, error) in effects.accountErrors {
                bridge.requestResync(of: account, reason: error.reason.rawValue)
                logger.error(
                    "account input not representable; account in error until its next snapshot",
                    metadata: [
                        "account": "\(account)", "reason": "\(error.reason.rawValue)", "detail": "\(error.detail)",
                        "broker_time": "\(error.brokerTime.map { "\($0.milliseconds)" } ?? "-")",
                    ])
            }
            for account in effects.clearedAccountErrors {
                logger.notice("account error cleared by a snapshot", metadata: ["account": "\(account)"])
            }
        }
    }

    /// The definition row a declaration writes (the store keeps definitions for the API).
    static func definitionChange(
        for command: RiskCommand, in risk: RiskEngine, at date: Date
    ) throws -> DefinitionChange? {
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
