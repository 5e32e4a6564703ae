import CompactBinaryCoding
import EquityEngine
import Foundation
import RiskCore
import TidemarkProtocol

/// The agent's deterministic heart: bridge messages and declarations in, everything the store must
/// commit out. No I/O, no clock: the agent's pipeline around it does those, and `tidemark replay` folds
/// recordings through it offline (``RecordingReplay``): one fold order for both.
///
/// Per message of an account, in the order the risk core needs:
/// 1. the message goes to the equity engine, whose outputs are held back;
/// 2. a DEAL (unless the engine refused it as not representable), a POSITION change, or a
///    SNAPSHOT's open positions go to the risk core, so a deposit is known before the observation
///    that shows it;
/// 3. the engine's observations go to the risk core;
/// 4. a HEARTBEAT's time, or a TICKS frame's latest time that no observation reached, goes to the
///    risk core as a time input of that account (`RiskInput.time(after:of:latestObservation:)`).
///
/// **Per-account time.** An account's clock moves only with its own inputs, and with the agent's
/// wall clock converted with its own UTC offset (from its HELLO) while it has no session
/// (``advanceQuietAccounts(wallClock:into:)``). A HEARTBEAT or TICKS frame whose time is more than
/// ``Configuration/timeBoundMilliseconds`` ahead of the wall clock in the account's broker time is
/// refused whole: nothing of it is folded (``Effects/implausibleTimes``).
///
/// **Inputs that cannot be represented** (a sum beyond the decimal range, a time beyond the
/// calendar: see ``AccountInputError``) never trap: the engine's out-of-range notices and
/// refusals and the risk core's `RiskOutput.inputRefused(_:)` mark the account in error
/// (``accountErrors``, reported once in ``Effects/accountErrors``) until a snapshot folds cleanly.
///
/// **Resending after a reconnect.** An EA that starts a new session resends everything since its
/// last snapshot (protocol/SPEC.md §6.7), and the agent may have processed
/// part of it already (it acknowledges only after committing, so the unacknowledged tail may or
/// may not be in the risk core's state, e.g. after a kill -9 between commit and ACK). The equity
/// engine gets every message (it rebuilds the account from the snapshot), but the risk core only
/// what it has not folded yet:
/// - from a HELLO until an input newer than the latest time of the account's *own* inputs folded
///   (`RiskEngine.lastOwnInputTime(accountId:)`: its observations, deals, position changes and
///   snapshots' open positions) — the *resume window* — inputs older than that time are skipped
///   (they are in the risk core's state already). Not the account's risk clock: heartbeats and the
///   wall clock move that, and the terminal resends inputs older than those times;
/// - a deal is skipped when its ticket was folded already (deals are exact). A deal older than the
///   latest one folded is still folded when its ticket is new and it lies within
///   ``lateDealWindowMilliseconds`` of that latest deal (an MT5 deal found by the EA's history rescan,
///   a balance operation booked while the terminal reconnected); older ones are skipped and counted,
///   as whether they were folded is no longer known. Ticks at the very same millisecond as the
///   own-input time are folded again, which leaves drawdown/profit thresholds and statistics
///   unchanged.
/// The deal marks and the accounts' UTC offsets are part of the checkpoint (``CheckpointState``),
/// the own-input times too (in the risk core's state). A checkpoint written before own-input times
/// existed gives each account its risk clock as own-input time, the closest bound it keeps: after
/// an upgrade, the first reconnect of a lagging terminal may still skip inputs.
public struct AgentCore: Sendable {
    /// Settings that shape the outputs.
    public struct Configuration: Hashable, Sendable {
        public var equity: EquityEngine.Configuration
        /// How far ahead of the wall clock (in the account's broker time) a heartbeat or tick may
        /// be; further is refused (the agent's `timeBoundSeconds` setting).
        public var timeBoundMilliseconds: Int64
        /// Bounds on declarations (names, ids, trackers per account).
        public var limits: DeclarationLimits
        public init(
            equity: EquityEngine.Configuration = .init(), timeBoundMilliseconds: Int64 = 86_400_000,
            limits: DeclarationLimits = .init()
        ) {
            self.equity = equity
            self.timeBoundMilliseconds = timeBoundMilliseconds
            self.limits = limits
        }
    }

    /// How far before the latest deal folded a deal with a new ticket is still folded: one week, longer
    /// than the EAs look back into deal history (MT5: one day per rescan; MT4: entries newer than
    /// the session's snapshot).
    public static let lateDealWindowMilliseconds: Int64 = 7 * 86_400_000

    public private(set) var equity: EquityEngine
    public private(set) var risk: RiskEngine
    private let configuration: Configuration
    /// Each account's broker time minus UTC, in seconds, from its latest HELLO.
    public private(set) var utcOffsets: [AccountID: Int] = [:]
    /// The session of each account with one open (from its HELLO to that session's end).
    private var liveSessions: [AccountID: String] = [:]
    private(set) var dealMarks: [AccountID: DealMark] = [:]
    /// Accounts in a resume window, with the latest own-input time folded when their session began.
    private var resumeWatermarks: [AccountID: BrokerTime] = [:]
    /// The latest HELLO of every account seen since start (broker clock for challenges).
    public private(set) var hellos: [AccountID: Hello] = [:]
    /// Sessions whose HELLO was folded and whose first SNAPSHOT was not (not checkpointed: no
    /// session survives a restart).
    private var awaitingSnapshot: [String: AccountID] = [:]
    /// How many of ``awaitingSnapshot`` each account has.
    private var awaitingSnapshotOfAccount: [AccountID: Int] = [:]
    /// Accounts that completed a snapshot since start; the others are forgotten when their last
    /// session ends without one, so HELLOs alone leave nothing behind.
    private var snapshotted: Set<AccountID> = []
    /// Accounts whose input could not be represented, until a snapshot clears it (see
    /// ``AccountInputError``). Not in the checkpoint: after a restart every terminal's snapshot
    /// re-bases its account, which is what clears an error.
    public private(set) var accountErrors: [AccountID: AccountInputError] = [:]
    private var equityOutputs: [EquityOutput] = []
    /// Split snapshots waiting for their positions (not checkpointed: a restart starts every
    /// account with a new snapshot).
    private var splitSnapshots = SplitSnapshotAssembler()
    /// Counts changes to ``dealMarks`` and ``utcOffsets``, and the count at each account's latest
    /// (see ``ChangeMark``; not checkpointed).
    private(set) var agentRevision: UInt64 = 0
    private(set) var agentRevisions: [AccountID: UInt64] = [:]

    /// A fresh core (first run).
    public init(configuration: Configuration = .init()) {
        equity = EquityEngine(configuration: configuration.equity)
        risk = RiskEngine()
        self.configuration = configuration
    }

    /// A core resumed from a checkpoint's state (the equity engine starts empty: EAs send snapshots).
    /// Reads the compact binary form and, from earlier versions, JSON.
    public init(configuration: Configuration = .init(), checkpoint: Data) throws {
        let state =
            CompactBinaryDecoder.isCompactBinary(checkpoint)
            ? try CompactBinaryDecoder().decode(CheckpointState.self, from: checkpoint)
            : try JSONDecoder().decode(CheckpointState.self, from: checkpoint)
        equity = EquityEngine(configuration: configuration.equity)
        risk = state.risk
        dealMarks = state.dealMarks
        utcOffsets = state.utcOffsets ?? [:]
        self.configuration = configuration
    }

    /// A core resumed from a checkpoint's parts (``checkpointParts(changedSince:)``), read back
    /// from every account's rows. The equity engine starts empty: EAs send snapshots.
    public init(configuration: Configuration = .init(), shared: Data, accounts: [AccountID: Data]) throws {
        let decoder = CompactBinaryDecoder()
        let sharedPart = try decoder.decode(SharedCheckpoint.self, from: shared)
        guard sharedPart.formatVersion == SharedCheckpoint.currentFormatVersion else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [],
                    debugDescription:
                        "checkpoint format \(sharedPart.formatVersion), this agent reads \(SharedCheckpoint.currentFormatVersion)"
                ))
        }
        var riskStates: [AccountRiskState] = []
        riskStates.reserveCapacity(accounts.count)
        for (account, data) in accounts {
            let part = try decoder.decode(AccountCheckpoint.self, from: data)
            if let risk = part.risk {
                guard risk.accountId == account else {
                    throw DecodingError.dataCorrupted(
                        .init(
                            codingPath: [],
                            debugDescription:
                                "the checkpoint row of \(account) holds the state of \(risk.accountId)"))
                }
                riskStates.append(risk)
            }
            dealMarks[account] = part.dealMark
            utcOffsets[account] = part.utcOffset
        }
        equity = EquityEngine(configuration: configuration.equity)
        risk = try RiskEngine(
            nextSequenceNumber: sharedPart.nextSequenceNumber, accounts: riskStates,
            competitions: sharedPart.competitions)
        self.configuration = configuration
    }

    /// Notes a change to the account's deal mark or UTC offset (for ``checkpointParts(changedSince:)``).
    private mutating func markAgentChange(of account: AccountID) {
        agentRevision &+= 1
        agentRevisions[account] = agentRevision
    }

    // MARK: Declarations

    /// Applies a declaration (tracker, challenge, competition) and returns it as applied. On error
    /// nothing changes. Filled in here, so that the declaration is complete in the input sequence:
    /// a tracker's `createdBrokerTime` (the account's latest broker time, when absent), and a
    /// challenge's broker clock (from its terminal's latest HELLO, kept across restarts, when the
    /// definition has none).
    @discardableResult
    public mutating func declare(
        _ command: RiskCommand, into effects: inout Effects
    ) throws(RiskCoreError) -> RiskCommand {
        try configuration.limits.check(command, against: risk)
        var command = command
        if case .createChallenge(var definition) = command, definition.brokerClock == nil,
            let offset = utcOffsets[definition.account]
        {
            definition.brokerClock = .fixed(utcOffsetSeconds: offset)
            command = .createChallenge(definition)
        }
        if case .createTracker(var definition) = command, definition.createdBrokerTime == nil,
            let clock = risk.clock(accountId: definition.accountId)
        {
            definition.createdBrokerTime = clock
            command = .createTracker(definition)
        }
        effects.riskOutputs += try risk.apply(command)
        return command
    }

    // MARK: Messages

    /// Folds one accepted bridge message. Returns false when it was refused for its time (too far
    /// ahead of the wall clock, ``Effects/implausibleTimes``; or a heartbeat outside the calendar,
    /// which marks the account in error): then nothing of it was folded. A split snapshot's parts
    /// are held, and accepted, until its last position arrives; then it folds as one snapshot.
    /// - Parameters:
    ///   - delivery: a message the bridge accepted, or the end of a session.
    ///   - wallClock: the agent's wall clock, UTC milliseconds since 1970 (read by the caller); nil
    ///     when there is none: a replayed recording holds only what the agent folded (it leaves
    ///     out the frames it refused for their time), so no time of it is bounded.
    ///   - effects: where what the store must commit is gathered.
    @discardableResult
    public mutating func apply(_ delivery: BridgeDelivery, wallClock: Int64?, into effects: inout Effects) -> Bool {
        let account = delivery.account
        if delivery.sessionEnd != nil {
            // Not a message of the terminal: nothing to fold, only a fact for the store.
            splitSnapshots.discard(account, sessionID: delivery.sessionID)
            if liveSessions[account] == delivery.sessionID { liveSessions[account] = nil }
            effects.sessionEnds.append((account, delivery.sessionID, Self.closeReason(of: delivery)))
            if stopAwaitingSnapshot(delivery.sessionID) != nil {
                effects.unopenedSessionEnds.insert(delivery.sessionID)
                if !snapshotted.contains(account), awaitingSnapshotOfAccount[account] == nil {
                    // A HELLO that never completed a snapshot leaves nothing behind.
                    equity.remove(account: account)
                    hellos[account] = nil
                    resumeWatermarks[account] = nil
                    accountErrors[account] = nil
                    if risk.clock(accountId: account) == nil, utcOffsets.removeValue(forKey: account) != nil {
                        markAgentChange(of: account)
                    }
                }
            }
            return true
        }
        let assembly = splitSnapshots.assemble(delivery.message, account: account, sessionID: delivery.sessionID)
        var accepted = true
        for (index, message) in assembly.messages.enumerated() {
            var part = delivery
            part.message = message
            accepted = fold(part, wallClock: wallClock, into: &effects)
            if index == 0, let interrupted = assembly.interrupted {
                // After the partial snapshot folded (a clean snapshot would clear the error): the
                // session is asked for a whole one.
                refuse(
                    account, .splitSnapshotIncomplete,
                    detail: "\(interrupted.positions.count) of \(interrupted.positionCount ?? 0) positions",
                    at: interrupted.account.time, into: &effects)
            }
        }
        return accepted
    }

    /// Folds one whole message (a split snapshot joined by ``splitSnapshots``).
    private mutating func fold(_ delivery: BridgeDelivery, wallClock: Int64?, into effects: inout Effects) -> Bool {
        let account = delivery.account
        if let wallClock, let stated = RiskInput.statedTime(of: delivery.message),
            let limit = latestPlausibleTime(of: account, wallClock: wallClock), stated > limit
        {
            effects.implausibleTimes.append(ImplausibleTime(account: account, time: stated, limit: limit))
            return false
        }
        if case .heartbeat(let time) = delivery.message, !time.isInCalendarRange {
            // No calendar holds it: neither the engine's clock nor any period may move to it.
            refuse(
                account, .timeOutOfRange, detail: "heartbeat at \(time.milliseconds) ms", at: time,
                into: &effects)
            return false
        }
        // The equity engine first, its outputs held back: a deal it refuses (amount out of range)
        // must not reach the risk core either. The risk core still gets each input before the
        // observations that reflect it.
        equityOutputs.removeAll(keepingCapacity: true)
        var engineRefusedDeal = false
        do {
            try equity.apply(delivery.message, account: account, into: &equityOutputs)
        } catch {
            if error.isOutOfRange {
                engineRefusedDeal = true
                refuse(account, .dealOutOfRange, detail: error.detail, at: nil, into: &effects)
            } else {
                effects.refused.append((account, "\(error)"))
            }
        }
        let refusalsBefore = effects.refusalCount
        switch delivery.message {
        case .hello(let hello):
            hellos[account] = hello
            if utcOffsets.updateValue(hello.brokerUTCOffsetSeconds, forKey: account) != hello.brokerUTCOffsetSeconds {
                markAgentChange(of: account)
            }
            liveSessions[account] = delivery.sessionID
            effects.hellos.append((delivery.sessionID, hello))
            if awaitingSnapshot.updateValue(account, forKey: delivery.sessionID) == nil {
                awaitingSnapshotOfAccount[account, default: 0] += 1
            }
            if let folded = risk.lastOwnInputTime(accountId: account) { resumeWatermarks[account] = folded }
        case .deal(let deal):
            if engineRefusedDeal {
                break
            } else if isNewDeal(deal, of: account) {
                feed(.deal(account, deal), account: account, into: &effects)
                effects.deals.append((account, deal))
            } else {
                effects.skippedResent += 1
            }
        case .position(let update):
            if isFresh(update.time, of: account) {
                feed(.position(account, update), account: account, into: &effects)
            } else {
                effects.skippedResent += 1
            }
        case .snapshot(let snapshot):
            if stopAwaitingSnapshot(delivery.sessionID) != nil, let hello = hellos[account] {
                snapshotted.insert(account)
                effects.openedSessions.append((delivery.sessionID, hello))
            }
            if isFresh(snapshot.account.time, of: account) {
                feed(
                    .openPositions(account, snapshot.positions, at: snapshot.account.time), account: account,
                    into: &effects)
            }
        case .commandAcknowledgement(let acknowledgement):
            effects.commandAcknowledgements.append((account, acknowledgement))
        default:
            break
        }
        effects.equityOutputs?.append(contentsOf: equityOutputs)
        var latestObservation: BrokerTime?
        for output in equityOutputs {
            switch output {
            case .observation(let observation):
                latestObservation = observation.time
                effects.latestObservation[account] = observation
                if isFresh(observation.time, of: account) {
                    feed(.observation(observation), account: account, into: &effects)
                } else {
                    effects.skippedResent += 1
                }
            case .drift(let drift):
                effects.drifts[drift.account] = drift
            case .outOfRange(let notice):
                refuse(
                    account, AccountInputError.Reason(notice.figure),
                    detail: "\(notice.figure.rawValue) outside the decimal range",
                    at: notice.since, into: &effects)
            case .balanceOperation, .equityUnknown, .equityKnown, .inRange:
                break
            }
        }
        if let time = RiskInput.time(after: delivery.message, of: account, latestObservation: latestObservation) {
            feed(time, account: account, into: &effects)
        }
        // A snapshot that folded without a new error re-bases the account: its error ends.
        if case .snapshot = delivery.message, accountErrors[account] != nil, effects.refusalCount == refusalsBefore,
            equity.view(of: account)?.outOfRange == nil
        {
            accountErrors[account] = nil
            effects.clearedAccountErrors.append(account)
        }
        return true
    }

    /// The latest time a heartbeat or tick of `account` may state at `wallClock`: the wall clock
    /// converted with the account's UTC offset, plus the bound. Nil before the account's first
    /// HELLO (the bridge delivers nothing else first).
    ///
    /// The account's own last time is no reference: a terminal back after days away states a
    /// time far ahead of it, honestly; and since no accepted time lies beyond the wall clock's
    /// bound, times cannot creep forward from one accepted time to the next.
    public func latestPlausibleTime(of account: AccountID, wallClock: Int64) -> BrokerTime? {
        guard let offset = utcOffsets[account] else { return nil }
        let limit = Int128(wallClock) + Int128(offset) * 1_000 + Int128(configuration.timeBoundMilliseconds)
        return BrokerTime(milliseconds: Int64(clamping: limit))
    }

    /// Moves the clock of every quiet account on to the wall clock in its own broker time: those
    /// with no session open whose clock is behind that time by at most the bound (a live account
    /// whose terminal went away; an account whose times are further in the past, such as a replayed
    /// recording, keeps its own time). Closes their periods and chart hours and lets their
    /// challenges' time limits and inactivity rules fire. The times fed are listed in
    /// ``Effects/wallClockTimes`` (the recording keeps them, so a replay folds the same inputs).
    /// - Parameters:
    ///   - wallClock: the agent's wall clock, UTC milliseconds since 1970 (read by the caller).
    ///   - effects: where the time inputs' risk outputs and ``Effects/wallClockTimes`` are gathered.
    public mutating func advanceQuietAccounts(wallClock: Int64, into effects: inout Effects) {
        for (account, offset) in utcOffsets.sorted(by: { $0.key < $1.key }) where liveSessions[account] == nil {
            guard let clock = risk.clock(accountId: account) else { continue }
            let now = Int128(wallClock) + Int128(offset) * 1_000
            guard now > Int128(clock.milliseconds),
                now - Int128(clock.milliseconds) <= Int128(configuration.timeBoundMilliseconds)
            else { continue }
            let time = BrokerTime(milliseconds: Int64(clamping: now))
            advanceClock(of: account, to: time, into: &effects)
            effects.wallClockTimes.append((account, time))
        }
    }

    /// Feeds a time input: the account's clock moves on to `time` (when it is ahead), closing its
    /// periods and chart hours and letting its challenges' time rules fire. The agent feeds the
    /// wall clock to quiet accounts this way (``advanceQuietAccounts(wallClock:into:)``), and a
    /// replay feeds a recording's `time` lines (``TimeDirective``), which keep those inputs.
    public mutating func advanceClock(of account: AccountID, to time: BrokerTime, into effects: inout Effects) {
        feed(.time(account, time), account: account, into: &effects)
    }

    /// Removes a session from ``awaitingSnapshot``; its account, if it was there.
    private mutating func stopAwaitingSnapshot(_ sessionID: String) -> AccountID? {
        guard let account = awaitingSnapshot.removeValue(forKey: sessionID) else { return nil }
        let left = awaitingSnapshotOfAccount[account, default: 1] - 1
        awaitingSnapshotOfAccount[account] = left > 0 ? left : nil
        return account
    }

    /// Marks `account` in error (when it is not already) and counts the refusal.
    private mutating func refuse(
        _ account: AccountID, _ reason: AccountInputError.Reason, detail: String,
        at time: BrokerTime?, into effects: inout Effects
    ) {
        effects.refusalsByReason[reason.rawValue, default: 0] += 1
        effects.refusalCount += 1
        let error = AccountInputError(reason: reason, detail: detail, brokerTime: time)
        effects.refusals?.append((account, error))
        guard accountErrors[account] == nil else { return }
        accountErrors[account] = error
        effects.accountErrors.append((account, error))
    }

    /// The reason a session end is stored with: the end's label, with the EA's own words after a BYE
    /// (`bye: terminal closed`).
    public static func closeReason(of delivery: BridgeDelivery) -> String {
        guard let end = delivery.sessionEnd else { return "" }
        if end == .bye, case .bye(let said) = delivery.message, !said.isEmpty, said != end.label {
            return "bye: \(said)"
        }
        return end.label
    }

    /// Whether an input at `time` is new to the risk core (outside a resume window everything is;
    /// inside, only what is not older than the account's latest own input folded at the HELLO). An
    /// input newer than that closes the window.
    private mutating func isFresh(_ time: BrokerTime, of account: AccountID) -> Bool {
        // Checked per tick: with no window open (the usual case) skip hashing the account id.
        guard !resumeWatermarks.isEmpty, let watermark = resumeWatermarks[account] else { return true }
        if time > watermark { resumeWatermarks[account] = nil }
        return time >= watermark
    }

    private mutating func isNewDeal(_ deal: Deal, of account: AccountID) -> Bool {
        guard var mark = dealMarks[account] else {
            dealMarks[account] = DealMark(time: deal.time, tickets: [deal.ticket], recent: [deal.ticket: deal.time])
            markAgentChange(of: account)
            return true
        }
        var recent = mark.recent ?? Dictionary(uniqueKeysWithValues: mark.tickets.map { ($0, mark.time) })
        if recent[deal.ticket] != nil { return false }
        let (windowStart, below) = mark.time.milliseconds.subtractingReportingOverflow(Self.lateDealWindowMilliseconds)
        if !below, deal.time.milliseconds < windowStart { return false }
        recent[deal.ticket] = deal.time
        if deal.time > mark.time {
            mark.time = deal.time
            mark.tickets = [deal.ticket]
            let (oldest, overflow) = deal.time.milliseconds.subtractingReportingOverflow(
                Self.lateDealWindowMilliseconds)
            if !overflow { recent = recent.filter { $0.value.milliseconds >= oldest } }
        } else if deal.time == mark.time {
            mark.tickets.insert(deal.ticket)
        }
        mark.recent = recent
        dealMarks[account] = mark
        markAgentChange(of: account)
        return true
    }

    /// Folds `input` (of `account`, or a heartbeat of it) into the risk core.
    private mutating func feed(_ input: RiskInput, account: AccountID, into effects: inout Effects) {
        var outputs = risk.apply(input)
        guard !outputs.isEmpty else { return }
        // Refusals are not stored: they mark the account in error (a heartbeat's, the sender's).
        if outputs.contains(where: { if case .inputRefused = $0 { true } else { false } }) {
            for case .inputRefused(let refusal) in outputs {
                refuse(
                    refusal.accountId ?? account, AccountInputError.Reason(refusal.reason),
                    detail: "\(refusal.component) refused the input", at: refusal.brokerTime, into: &effects)
            }
            outputs.removeAll { if case .inputRefused = $0 { true } else { false } }
        }
        effects.riskOutputs += outputs
    }
}
