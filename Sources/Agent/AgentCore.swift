import Bridge
import EquityEngine
import Foundation
import RiskCore
import TidemarkProtocol

/// The agent's deterministic heart: bridge messages and declarations in, everything the store must
/// commit out. No I/O, no clock: the ``Pipeline`` around it does those.
///
/// Per message of an account, in the order the risk core needs (the same as `tidemark replay`):
/// 1. the message goes to the equity engine, whose outputs are held back;
/// 2. a DEAL (unless the engine refused it as not representable), a POSITION change, or a
///    SNAPSHOT's open positions go to the risk core, so a deposit is known before the observation
///    that shows it;
/// 3. the engine's observations go to the risk core;
/// 4. a HEARTBEAT's time goes to the risk core (`.time`) when it moves the shared broker clock on.
///
/// **Inputs that cannot be represented** (a sum beyond the decimal range, a time beyond the
/// calendar: see ``AccountInputError``) never trap: the engine's out-of-range notices and
/// refusals and the risk core's ``RiskOutput/inputRefused(_:)`` mark the account in error
/// (``accountErrors``, reported once in ``Effects/accountErrors``) until a snapshot folds cleanly.
///
/// **Resending after a reconnect.** An EA that starts a new session resends everything since the
/// last position the agent acknowledged (protocol/SPEC.md §6.6), and the agent may have processed
/// part of it already (it acknowledges only after committing, so the unacknowledged tail may or
/// may not be in the risk core's state, e.g. after a kill -9 between commit and ACK). The equity
/// engine gets every message (it rebuilds the account from the snapshot), but the risk core only
/// what it has not folded yet:
/// - from a HELLO until an input newer than the latest time of the account's *own* inputs folded
///   (``RiskEngine/lastOwnInputTime(accountId:)``: its observations, deals, position changes and
///   snapshots' open positions) — the *resume window* — inputs older than that time are skipped
///   (they are in the risk core's state already). Not the account's risk clock: every terminal's
///   HEARTBEAT moves that (the shared broker clock, `.time`), so a terminal whose times lag the
///   others', or an account that so far only heard others' heartbeats, would have its first new
///   inputs after a reconnect skipped as if folded;
/// - a deal is skipped when older than the last deal folded for the account, or at the same time
///   with a ticket already folded (deals are exact; ticks at the very same millisecond as the
///   own-input time are folded again, which leaves drawdown/profit thresholds and statistics
///   unchanged).
/// The deal marks and the shared clock are part of the checkpoint (``CheckpointState``), the
/// own-input times too (in the risk core's state). A checkpoint written before those existed
/// gives each account its risk clock as own-input time, the old rule, because it keeps nothing
/// closer: after an upgrade, the first reconnect of a lagging terminal may still skip inputs.
public struct AgentCore: Sendable {
    /// Settings that shape the outputs.
    public struct Configuration: Hashable, Sendable {
        public var equity: EquityEngine.Configuration
        public init(equity: EquityEngine.Configuration = .init()) { self.equity = equity }
    }

    /// What the store commits and the outputs act on, gathered over one batch of messages.
    public struct Effects: Sendable {
        /// The risk core's outputs, in order.
        public var riskOutputs: [RiskOutput] = []
        /// Deals to journal.
        public var deals: [(AccountID, Deal)] = []
        /// Latest observation per account (account rows, live equity).
        public var latestObservation: [AccountID: EquityObservation] = [:]
        /// HELLOs accepted (sessions opened), in order.
        public var hellos: [(sessionID: String, hello: Hello)] = []
        /// Sessions that ended, in order, with the reason the store keeps (``closeReason(of:)``).
        public var sessionEnds: [(account: AccountID, sessionID: String, reason: String)] = []
        /// Latest drift per account.
        public var drifts: [AccountID: Drift] = [:]
        /// CMDACKs, in order.
        public var commandAcknowledgements: [(AccountID, CommandAcknowledgement)] = []
        /// Messages the equity engine refused (account, reason).
        public var refused: [(AccountID, String)] = []
        /// Risk inputs skipped as already folded (resent after a reconnect).
        public var skippedResent = 0
        /// Accounts that went into error (``AccountInputError``), in order: the pipeline tells the
        /// account's live session (RESYNC), logs and counts them.
        public var accountErrors: [(account: AccountID, error: AccountInputError)] = []
        /// Accounts whose error a snapshot cleared, in order.
        public var clearedAccountErrors: [AccountID] = []
        /// Refusals of this batch by reason (every one, also those of an account already in error).
        public var refusalsByReason: [String: Int] = [:]
        /// How many refusals this batch had.
        public var refusalCount = 0
        public init() {}

        public var isEmpty: Bool {
            riskOutputs.isEmpty && deals.isEmpty && latestObservation.isEmpty && hellos.isEmpty && drifts.isEmpty
                && commandAcknowledgements.isEmpty && sessionEnds.isEmpty && accountErrors.isEmpty
                && clearedAccountErrors.isEmpty
        }
    }

    /// What the checkpoint holds: the risk core and the marks that keep resent messages from being
    /// folded twice.
    public struct CheckpointState: Codable, Sendable {
        public var risk: RiskEngine
        public var sharedClock: BrokerTime?
        public var dealMarks: [AccountID: DealMark]
    }

    /// The last deal time folded for an account and the tickets folded at that time.
    public struct DealMark: Codable, Hashable, Sendable {
        public var time: BrokerTime
        public var tickets: Set<Int64>
    }

    public private(set) var equity: EquityEngine
    public private(set) var risk: RiskEngine
    /// The latest heartbeat time folded (`.time` inputs only move forward).
    public private(set) var sharedClock: BrokerTime?
    private var dealMarks: [AccountID: DealMark] = [:]
    /// Accounts in a resume window, with the latest own-input time folded when their session began.
    private var resumeWatermarks: [AccountID: BrokerTime] = [:]
    /// The latest HELLO of every account seen since start (broker clock for challenges).
    public private(set) var hellos: [AccountID: Hello] = [:]
    /// Accounts whose input could not be represented, until a snapshot clears it (see
    /// ``AccountInputError``). Not in the checkpoint: after a restart every terminal's snapshot
    /// re-bases its account, which is what clears an error.
    public private(set) var accountErrors: [AccountID: AccountInputError] = [:]
    private var equityOutputs: [EquityOutput] = []

    /// A fresh core (first run).
    public init(configuration: Configuration = .init()) {
        equity = EquityEngine(configuration: configuration.equity)
        risk = RiskEngine()
    }

    /// A core resumed from a checkpoint's state (the equity engine starts empty: EAs send snapshots).
    /// Reads the compact binary form and, from earlier versions, JSON.
    public init(configuration: Configuration = .init(), checkpoint: Data) throws {
        let state = CompactBinaryDecoder.isCompactBinary(checkpoint)
            ? try CompactBinaryDecoder().decode(CheckpointState.self, from: checkpoint)
            : try JSONDecoder().decode(CheckpointState.self, from: checkpoint)
        equity = EquityEngine(configuration: configuration.equity)
        risk = state.risk
        sharedClock = state.sharedClock
        dealMarks = state.dealMarks
    }

    /// The checkpoint of the current state, in the compact binary form (``CompactBinaryEncoder``):
    /// the agent writes one every few hundred milliseconds, and JSON of a thousand accounts took
    /// ~46 ms and ~0.9 MB each time.
    public func checkpoint() throws -> Data {
        Data(try CompactBinaryEncoder().encode(CheckpointState(risk: risk, sharedClock: sharedClock, dealMarks: dealMarks)))
    }

    // MARK: Declarations

    /// Applies a declaration (tracker, challenge, competition) and returns it as applied. On error
    /// nothing changes. Filled in here, so that the declaration is complete in the input sequence:
    /// a tracker's `createdBrokerTime` (the account's latest broker time, when absent), and a
    /// challenge's broker clock (from its terminal's HELLO, when the definition has none).
    @discardableResult
    public mutating func declare(_ command: RiskCommand, into effects: inout Effects) throws(RiskCoreError) -> RiskCommand {
        var command = command
        if case .createChallenge(var definition) = command, definition.brokerClock == nil,
           let hello = hellos[definition.account] {
            definition.brokerClock = .fixed(utcOffsetSeconds: hello.brokerUTCOffsetSeconds)
            command = .createChallenge(definition)
        }
        if case .createTracker(var definition) = command, definition.createdBrokerTime == nil,
           let clock = risk.clock(accountId: definition.accountId) {
            definition.createdBrokerTime = clock
            command = .createTracker(definition)
        }
        effects.riskOutputs += try risk.apply(command)
        return command
    }

    // MARK: Messages

    /// Folds one accepted bridge message.
    public mutating func apply(_ delivery: BridgeDelivery, into effects: inout Effects) {
        let account = delivery.account
        if delivery.sessionEnd != nil {
            // Not a message of the terminal: nothing to fold, only a fact for the store.
            effects.sessionEnds.append((account, delivery.sessionID, Self.closeReason(of: delivery)))
            return
        }
        if case .heartbeat(let time) = delivery.message, !time.isInCalendarRange {
            // No calendar holds it: neither the engine's clock nor any period may move to it.
            refuse(account, .timeOutOfRange, detail: "heartbeat at \(time.milliseconds) ms", at: time,
                   into: &effects)
            return
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
            effects.hellos.append((delivery.sessionID, hello))
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
            if isFresh(snapshot.account.time, of: account) {
                feed(.openPositions(account, snapshot.positions, at: snapshot.account.time), account: account,
                     into: &effects)
            }
        case .commandAcknowledgement(let acknowledgement):
            effects.commandAcknowledgements.append((account, acknowledgement))
        default:
            break
        }
        for output in equityOutputs {
            switch output {
            case .observation(let observation):
                effects.latestObservation[account] = observation
                if isFresh(observation.time, of: account) {
                    feed(.observation(observation), account: account, into: &effects)
                } else {
                    effects.skippedResent += 1
                }
            case .drift(let drift):
                effects.drifts[drift.account] = drift
            case .outOfRange(let notice):
                refuse(account, AccountInputError.Reason(notice.figure), detail: "\(notice.figure.rawValue) outside the decimal range",
                       at: notice.since, into: &effects)
            case .balanceOperation, .equityUnknown, .equityKnown, .inRange:
                break
            }
        }
        if case .heartbeat(let time) = delivery.message, sharedClock.map({ time > $0 }) ?? true {
            sharedClock = time
            feed(.time(time), account: account, into: &effects)
        }
        // A snapshot that folded without a new error re-bases the account: its error ends.
        if case .snapshot = delivery.message, accountErrors[account] != nil, effects.refusalCount == refusalsBefore,
           equity.view(of: account)?.outOfRange == nil {
            accountErrors[account] = nil
            effects.clearedAccountErrors.append(account)
        }
    }

    /// Marks `account` in error (when it is not already) and counts the refusal.
    private mutating func refuse(_ account: AccountID, _ reason: AccountInputError.Reason, detail: String,
                                 at time: BrokerTime?, into effects: inout Effects) {
        effects.refusalsByReason[reason.rawValue, default: 0] += 1
        effects.refusalCount += 1
        guard accountErrors[account] == nil else { return }
        let error = AccountInputError(reason: reason, detail: detail, brokerTime: time)
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
            dealMarks[account] = DealMark(time: deal.time, tickets: [deal.ticket])
            return true
        }
        if deal.time < mark.time { return false }
        if deal.time == mark.time {
            guard mark.tickets.insert(deal.ticket).inserted else { return false }
        } else {
            mark = DealMark(time: deal.time, tickets: [deal.ticket])
        }
        dealMarks[account] = mark
        return true
    }

    /// Folds `input` (of `account`, or a heartbeat of it) into the risk core.
    private mutating func feed(_ input: RiskInput, account: AccountID, into effects: inout Effects) {
        var outputs = risk.apply(input)
        guard !outputs.isEmpty else { return }
        // Refusals are not stored: they mark the account in error (a heartbeat's, the sender's).
        if outputs.contains(where: { if case .inputRefused = $0 { true } else { false } }) {
            for case .inputRefused(let refusal) in outputs {
                refuse(refusal.accountId ?? account, AccountInputError.Reason(refusal.reason),
                       detail: "\(refusal.component) refused the input", at: refusal.brokerTime, into: &effects)
            }
            outputs.removeAll { if case .inputRefused = $0 { true } else { false } }
        }
        effects.riskOutputs += outputs
    }
}
