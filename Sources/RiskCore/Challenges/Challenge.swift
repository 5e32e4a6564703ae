import EquityEngine
import TidemarkProtocol

/// Where a challenge stands.
public enum ChallengeStatus: String, Hashable, Sendable, Codable {
    /// Before its start time.
    case notStarted
    /// Running a phase.
    case active
    /// The last phase passed.
    case passed
    /// A rule failed it.
    case failed
}

/// Something that happened to a challenge. The risk engine gives it a global sequence number.
public struct ChallengeEvent: Hashable, Sendable, Codable {
    /// What happened.
    public enum Kind: String, Hashable, Sendable, Codable {
        /// A phase began (the first at the start time, later ones when the previous passed).
        case phaseStarted
        /// A phase's requirements were met with no rule broken.
        case phasePassed
        /// The last phase passed (follows its `phasePassed`).
        case challengePassed
        /// A rule broke; ``breach`` says which. Terminal.
        case challengeFailed
        /// A warn-only cap went over its limit; the challenge goes on.
        case ruleWarning
    }
    /// What happened.
    public var kind: Kind
    /// The challenge's definition id.
    public var challengeID: String
    /// The challenge's account.
    public var account: AccountID
    /// Index into the definition's phases.
    public var phase: Int
    /// The phase's name in the definition.
    public var phaseName: String
    /// When it happened (broker time).
    public var brokerTime: BrokerTime
    /// For `challengeFailed` and `ruleWarning`.
    public var breach: RuleBreach?
    /// For `phaseStarted`: the capital the phase measures against.
    public var initialCapital: FixedDecimal?
    /// Commands the definition asks for on this event (empty unless enabled).
    public var enforcement: [CommandKind]

    /// Builds an event (the challenge does; tests and decoders may too).
    public init(kind: Kind, challengeID: String, account: AccountID, phase: Int, phaseName: String,
                brokerTime: BrokerTime, breach: RuleBreach? = nil, initialCapital: FixedDecimal? = nil,
                enforcement: [CommandKind] = []) {
        self.kind = kind
        self.challengeID = challengeID
        self.account = account
        self.phase = phase
        self.phaseName = phaseName
        self.brokerTime = brokerTime
        self.breach = breach
        self.initialCapital = initialCapital
        self.enforcement = enforcement
    }
}

/// A challenge's live state, for the API and the replay report.
public struct ChallengeProgress: Hashable, Sendable, Codable {
    /// The challenge's definition id.
    public var challengeID: String
    /// The challenge's account.
    public var account: AccountID
    /// Not started, active, passed or failed.
    public var status: ChallengeStatus
    /// Index of the current (or deciding) phase.
    public var phase: Int
    /// The current phase's name.
    public var phaseName: String
    /// When the current phase began (nil before the start).
    public var phaseStartTime: BrokerTime?
    /// When the challenge passed or failed.
    public var decidedAt: BrokerTime?
    /// Why it failed.
    public var failure: RuleBreach?
    /// The current phase's capital, adjusted balance and adjusted equity (see ``RuleBook``).
    public var initialCapital: FixedDecimal
    /// Adjusted balance (see ``RuleBook``).
    public var balance: FixedDecimal
    /// Adjusted equity, credit excluded.
    public var equity: FixedDecimal
    /// Where the current trading day began, in broker time.
    public var tradingDayStart: BrokerTime?
    /// The current phase's rules, in ``RuleKind`` order. Frozen at the decision once decided.
    public var rules: [RuleProgress]
}

/// A challenge run over one account: fold ``RiskInput`` values in order with ``apply(_:)``; read
/// ``progress``. Pure, no clock: the start, day changes and time limits happen when an input's time
/// reaches them (send `.time` heartbeats so they happen on a quiet account). Codable: encode it to
/// checkpoint, decode to resume.
///
/// Inputs for other accounts are ignored, `.time` included. Before the start, the
/// latest observation and the open positions are remembered, so the phase starts from the account's
/// figures at the start time. After it passes or fails, the state is frozen.
public struct Challenge: Hashable, Sendable, Codable {
    /// What this challenge runs.
    public let definition: ChallengeDefinition
    /// Not started, active, passed or failed.
    public private(set) var status: ChallengeStatus = .notStarted
    /// Index of the current (or deciding) phase.
    public private(set) var phaseIndex = 0
    /// When it passed or failed.
    public private(set) var decidedAt: BrokerTime?
    /// The breach that failed it.
    public private(set) var failure: RuleBreach?
    /// The current phase's evaluator. Before the start it is a placeholder that nothing reaches;
    /// it is not optional so that every tick mutates it in place (an optional 512-byte struct is
    /// moved out and back on each access, which cost more than the rules themselves).
    public private(set) var book: RuleBook
    let clock: TradingDayClock
    // Known before the start.
    var lastObservation: EquityObservation?
    var openVolumes: [Int64: FixedDecimal] = [:]

    /// Validates the definition.
    public init(definition: ChallengeDefinition) throws(RuleDefinitionError) {
        try definition.validate()
        self.definition = definition
        clock = try TradingDayClock(reset: definition.dayReset, brokerClock: definition.brokerClock, at: definition.startTime)
        do {
            book = try RuleBook(rules: definition.phases[0].rules, capital: definition.initialCapital,
                                start: definition.startTime, clock: clock, last: nil, openVolumes: [:])
        } catch {
            throw .invalidAmount("a limit of \(definition.id) is outside the decimal range (\(error))")
        }
    }

    /// Folds one input; returns what happened, in order.
    /// - Throws: `ArithmeticOverflow` when a figure computed from the input is outside the
    ///   decimal range (the challenge skips the input).
    public mutating func apply(_ input: RiskInput) throws(ArithmeticOverflow) -> [ChallengeEvent] {
        guard status == .notStarted || status == .active else { return [] }
        if RuleBook.account(of: input) != definition.account { return [] }
        let time = RuleBook.time(of: input)
        var events: [ChallengeEvent] = []
        if status == .notStarted {
            guard time >= definition.startTime else {
                rememberBeforeStart(input)
                return []
            }
            let phase = definition.phases[0]
            book = try RuleBook(rules: phase.rules, capital: definition.initialCapital, start: definition.startTime,
                                clock: clock, last: lastObservation, openVolumes: openVolumes)
            status = .active
            lastObservation = nil
            openVolumes = [:]
            events.append(event(.phaseStarted, at: definition.startTime, initialCapital: definition.initialCapital))
        }
        let breaches = try book.apply(input)
        for breach in breaches {
            if breach.isFatal {
                status = .failed
                decidedAt = breach.brokerTime
                failure = breach
                events.append(event(.challengeFailed, at: breach.brokerTime, breach: breach,
                                    enforcement: definition.enforcement.onFailure))
                return events
            }
            events.append(event(.ruleWarning, at: breach.brokerTime, breach: breach,
                                enforcement: definition.enforcement.onWarning))
        }
        if book.canPass { try pass(at: time, into: &events) }
        return events
    }

    private mutating func rememberBeforeStart(_ input: RiskInput) {
        switch input {
        case .observation(let observation):
            lastObservation = observation
        case .position(_, let update):
            openVolumes[update.position.ticket] = update.change == .closed ? nil : update.position.volume
        case .openPositions(_, let positions, _):
            openVolumes = Dictionary(positions.map { ($0.ticket, $0.volume) }, uniquingKeysWith: { $1 })
        case .deal, .time:
            break
        }
    }

    private mutating func pass(at time: BrokerTime, into events: inout [ChallengeEvent]) throws(ArithmeticOverflow) {
        guard phaseIndex + 1 < definition.phases.count else {
            events.append(event(.phasePassed, at: time, enforcement: definition.enforcement.onPhasePassed))
            status = .passed
            decidedAt = time
            events.append(event(.challengePassed, at: time))
            return
        }
        let phase = definition.phases[phaseIndex + 1]
        let capital: FixedDecimal
        switch phase.capital {
        case .initial: capital = definition.initialCapital
        case .balance: capital = book.balance
        case .amount(let amount): capital = amount
        }
        // The next phase's book first: when it cannot be built the phase is not passed yet.
        let next = try RuleBook(continuing: book, rules: phase.rules, capital: capital, start: time)
        events.append(event(.phasePassed, at: time, enforcement: definition.enforcement.onPhasePassed))
        phaseIndex += 1
        book = next
        events.append(event(.phaseStarted, at: time, initialCapital: capital))
    }

    private func event(_ kind: ChallengeEvent.Kind, at time: BrokerTime, breach: RuleBreach? = nil,
                       initialCapital: FixedDecimal? = nil, enforcement: [CommandKind] = []) -> ChallengeEvent {
        ChallengeEvent(kind: kind, challengeID: definition.id, account: definition.account, phase: phaseIndex,
                       phaseName: definition.phases[phaseIndex].name, brokerTime: time, breach: breach,
                       initialCapital: initialCapital, enforcement: enforcement)
    }

    /// The live state: status, decision, and every rule of the current phase.
    public var progress: ChallengeProgress {
        let started = status != .notStarted
        return ChallengeProgress(
            challengeID: definition.id, account: definition.account, status: status, phase: phaseIndex,
            phaseName: definition.phases[phaseIndex].name, phaseStartTime: started ? book.startTime : nil,
            decidedAt: decidedAt, failure: failure, initialCapital: book.initialCapital,
            balance: started ? book.balance : .zero, equity: started ? book.equity : .zero,
            tradingDayStart: started ? book.clock.dayStart : nil, rules: started ? book.progress : [])
    }
}
