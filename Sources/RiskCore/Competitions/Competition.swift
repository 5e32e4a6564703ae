import EquityEngine
import TidemarkProtocol

/// Where a competition stands.
public enum CompetitionStatus: String, Hashable, Sendable, Codable {
    case notStarted, running, finished
}

/// Something that happened in a competition. The risk engine gives it a global sequence number.
public struct CompetitionEvent: Hashable, Sendable, Codable {
    /// What happened.
    public enum Kind: String, Hashable, Sendable, Codable {
        /// The window opened.
        case started
        /// An account's rank changed (nil: it has no rank — no data yet, or disqualified).
        case rankChanged
        /// A rule disqualified an account; ``breach`` says which.
        case disqualified
        /// The window closed; the leaderboard is final.
        case finished
    }
    /// What happened.
    public var kind: Kind
    /// The competition's definition id.
    public var competitionID: String
    /// When it happened (broker time).
    public var brokerTime: BrokerTime
    /// The account concerned (nil for started/finished).
    public var account: AccountID?
    /// The rank before (nil: unranked).
    public var previousRank: Int?
    /// The rank now (nil: unranked).
    public var rank: Int?
    /// The account's metric value when it happened.
    public var value: FixedDecimal?
    /// For `disqualified`: the rule and values.
    public var breach: RuleBreach?
    /// Commands requested (``EnforcementOptions/onFailure`` on disqualification).
    public var enforcement: [CommandKind]

    /// An event.
    public init(kind: Kind, competitionID: String, brokerTime: BrokerTime, account: AccountID? = nil,
                previousRank: Int? = nil, rank: Int? = nil, value: FixedDecimal? = nil, breach: RuleBreach? = nil,
                enforcement: [CommandKind] = []) {
        self.kind = kind
        self.competitionID = competitionID
        self.brokerTime = brokerTime
        self.account = account
        self.previousRank = previousRank
        self.rank = rank
        self.value = value
        self.breach = breach
        self.enforcement = enforcement
    }
}

/// One line of a leaderboard.
public struct LeaderboardEntry: Hashable, Sendable, Codable {
    /// 1 = best; nil when disqualified or without data.
    public var rank: Int?
    /// The account.
    public var account: AccountID
    /// The metric's value (nil without data); frozen at disqualification.
    public var value: FixedDecimal?
    /// (equity − capital) × 100 ÷ capital.
    public var gainPercent: FixedDecimal?
    /// Equity − capital.
    public var profit: FixedDecimal?
    /// Largest (peak − equity) × 100 ÷ peak so far.
    public var maxDrawdownPercent: FixedDecimal?
    /// The account's balance at the start (the rules' initial capital).
    public var initialCapital: FixedDecimal?
    /// Adjusted equity now (or at disqualification).
    public var equity: FixedDecimal?
    /// Why it was disqualified.
    public var disqualification: RuleBreach?
}

/// A competition: fold ``RiskInput`` values with ``apply(_:)``; read ``leaderboard``. Pure and Codable.
///
/// Ranking: qualified accounts with data, by value (higher first); ties go to the smaller maximum
/// drawdown %, then to the smaller account id (string order), so the order never depends on input
/// timing or hashing. Disqualified accounts follow, unranked, by account id; then accounts with no
/// data yet. Ranks are recomputed after each input that moves a value; every changed rank is an event.
public struct Competition: Hashable, Sendable, Codable {
    struct Entrant: Hashable, Sendable, Codable {
        var account: AccountID
        var book: RuleBook?
        var lastObservation: EquityObservation?
        var openVolumes: [Int64: FixedDecimal] = [:]
        var peakEquity: FixedDecimal?
        var maxDrawdownPercent: FixedDecimal = .zero
        var gainPercent: FixedDecimal = .zero
        var value: FixedDecimal = .zero
        var disqualification: RuleBreach?
        var rank: Int?
        /// Set by the entrant's first input at or after the end: its entry is final. Optional so
        /// that checkpoints written without it decode (nil: not reached).
        var endReached: Bool?

        var hasData: Bool { book?.hasBaseline ?? false }
    }

    /// What this competition runs.
    public let definition: CompetitionDefinition
    /// Not started, running or finished.
    public private(set) var status: CompetitionStatus = .notStarted
    var entrants: [Entrant]
    /// Account → index in ``entrants`` (definition order).
    let slots: [AccountID: Int]
    let clock: TradingDayClock

    /// Validates the definition.
    public init(definition: CompetitionDefinition) throws(RuleDefinitionError) {
        try definition.validate()
        self.definition = definition
        entrants = definition.accounts.map { Entrant(account: $0) }
        slots = Dictionary(uniqueKeysWithValues: definition.accounts.enumerated().map { ($1, $0) })
        clock = try TradingDayClock(reset: definition.dayReset, brokerClock: definition.brokerClock, at: definition.startTime)
    }

    /// How long after the end a competition waits for members that have not reached it: once any
    /// member's own time is this far past the end, the others are taken as they stand.
    public static let finalGraceMilliseconds: Int64 = 3_600_000

    /// Folds one input; returns what happened, in order. An entrant whose figures would leave the
    /// decimal range skips the input (see ``apply(_:refusals:)``, which also says so).
    public mutating func apply(_ input: RiskInput) -> [CompetitionEvent] {
        var refusals: [(AccountID, ArithmeticOverflow)] = []
        return apply(input, refusals: &refusals)
    }

    /// Folds one input; returns what happened, in order, and appends to `refusals` each entrant
    /// that skipped it because a figure computed from it is outside the decimal range (the other
    /// entrants fold it as usual).
    ///
    /// The end is per account: an account's first input at or after the end freezes its entry at
    /// its state after its last input before the end (rules checked up to the end's last
    /// millisecond); later inputs of that account are ignored, while other accounts' inputs from
    /// before the end still count. The competition is final (``CompetitionStatus/finished``) once
    /// every member has reached the end, or once any member's time is
    /// ``finalGraceMilliseconds`` past it.
    public mutating func apply(_ input: RiskInput, refusals: inout [(AccountID, ArithmeticOverflow)]) -> [CompetitionEvent] {
        guard status != .finished, let slot = slots[RuleBook.account(of: input)] else { return [] }
        let time = RuleBook.time(of: input)
        var events: [CompetitionEvent] = []
        if status == .notStarted {
            guard time >= definition.startTime else {
                rememberBeforeStart(input, slot: slot)
                return []
            }
            start(into: &events, refusals: &refusals)
        }
        if time >= definition.endTime {
            if entrants[slot].endReached != true { reachEnd(slot, into: &events, refusals: &refusals) }
            // Both times are in the calendar range (inputs and definitions are checked), so no overflow.
            let graceOver = time.milliseconds - definition.endTime.milliseconds >= Self.finalGraceMilliseconds
            if graceOver || entrants.allSatisfy({ $0.endReached == true }) { finish(into: &events, refusals: &refusals) }
            return events
        }
        guard entrants[slot].endReached != true, entrants[slot].disqualification == nil else { return events }
        do {
            // Mutate in place (optional chaining): a copy would force copy-on-write of its positions.
            let breaches = try entrants[slot].book?.apply(input) ?? []
            if case .observation = input { try updateMetrics(slot) }
            if let fatal = breaches.first(where: \.isFatal) { disqualify(slot, fatal, into: &events) }
        } catch {
            refusals.append((entrants[slot].account, error))
        }
        rerank(at: time, into: &events)
        return events
    }

    private mutating func rememberBeforeStart(_ input: RiskInput, slot: Int) {
        switch input {
        case .observation(let observation):
            entrants[slot].lastObservation = observation
        case .position(_, let update):
            entrants[slot].openVolumes[update.position.ticket] = update.change == .closed ? nil : update.position.volume
        case .openPositions(_, let positions, _):
            entrants[slot].openVolumes = Dictionary(positions.map { ($0.ticket, $0.volume) }, uniquingKeysWith: { $1 })
        case .deal, .time:
            break
        }
    }

    private mutating func start(into events: inout [CompetitionEvent], refusals: inout [(AccountID, ArithmeticOverflow)]) {
        status = .running
        events.append(CompetitionEvent(kind: .started, competitionID: definition.id, brokerTime: definition.startTime))
        for index in entrants.indices {
            do {
                entrants[index].book = try RuleBook(rules: definition.rules, capital: nil, start: definition.startTime,
                                                    clock: clock, last: entrants[index].lastObservation,
                                                    openVolumes: entrants[index].openVolumes)
                if entrants[index].hasData { try updateMetrics(index) }
            } catch {
                // Its last observation cannot be a baseline: the next one will be.
                entrants[index].book = try? RuleBook(rules: definition.rules, capital: nil, start: definition.startTime,
                                                     clock: clock, last: nil, openVolumes: entrants[index].openVolumes)
                refusals.append((entrants[index].account, error))
            }
            entrants[index].lastObservation = nil
            entrants[index].openVolumes = [:]
        }
        rerank(at: definition.startTime, into: &events)
    }

    /// Freezes one entrant at the end: its rules run up to the end's last millisecond, and a
    /// requirement still unmet disqualifies it.
    private mutating func reachEnd(_ index: Int, into events: inout [CompetitionEvent],
                                   refusals: inout [(AccountID, ArithmeticOverflow)]) {
        entrants[index].endReached = true
        guard entrants[index].disqualification == nil else { return }
        let lastMoment = BrokerTime(milliseconds: definition.endTime.milliseconds - 1)
        let breaches: [RuleBreach]
        do {
            breaches = try entrants[index].book?.advance(to: lastMoment) ?? []
        } catch {
            refusals.append((entrants[index].account, error))
            breaches = []
        }
        if let fatal = breaches.first(where: \.isFatal) {
            disqualify(index, fatal, into: &events)
        } else if let book = entrants[index].book, book.hasBaseline,
                  let unmet = book.progress.first(where: { $0.rule.isRequirement && $0.status != .satisfied }) {
            disqualify(index, RuleBreach(rule: unmet.rule, brokerTime: definition.endTime, value: unmet.value,
                                         limit: unmet.limit, isFatal: true), into: &events)
        }
        rerank(at: definition.endTime, into: &events)
    }

    /// Makes the leaderboard final: members that have not reached the end are frozen as they stand.
    private mutating func finish(into events: inout [CompetitionEvent], refusals: inout [(AccountID, ArithmeticOverflow)]) {
        for index in entrants.indices where entrants[index].endReached != true {
            reachEnd(index, into: &events, refusals: &refusals)
        }
        status = .finished
        events.append(CompetitionEvent(kind: .finished, competitionID: definition.id, brokerTime: definition.endTime))
    }

    /// Refreshes the entrant's ranking figures; when one is outside the decimal range nothing changes.
    private mutating func updateMetrics(_ index: Int) throws(ArithmeticOverflow) {
        guard let book = entrants[index].book, book.hasBaseline else { return }
        let capital = book.initialCapital
        let equity = book.equity
        let peak = max(entrants[index].peakEquity ?? equity, equity)
        var maxDrawdownPercent = entrants[index].maxDrawdownPercent
        if peak > .zero {
            let drawdown = RiskMath.ratio(try peak.subtracting(equity), times: 100, over: peak)
            maxDrawdownPercent = max(maxDrawdownPercent, drawdown)
        }
        let gain = try equity.subtracting(capital)
        let gainPercent = capital > .zero ? RiskMath.ratio(gain, times: 100, over: capital) : .zero
        let value: FixedDecimal
        switch definition.metric {
        case .gainPercent:
            value = gainPercent
        case .absoluteProfit:
            value = gain
        case .gainToMaxDrawdown:
            value = RiskMath.ratio(gainPercent, over: max(maxDrawdownPercent, definition.minimumDrawdownPercent))
        }
        entrants[index].peakEquity = peak
        entrants[index].maxDrawdownPercent = maxDrawdownPercent
        entrants[index].gainPercent = gainPercent
        entrants[index].value = value
    }

    private mutating func disqualify(_ index: Int, _ breach: RuleBreach, into events: inout [CompetitionEvent]) {
        entrants[index].disqualification = breach
        events.append(CompetitionEvent(kind: .disqualified, competitionID: definition.id, brokerTime: breach.brokerTime,
                                       account: entrants[index].account, previousRank: entrants[index].rank,
                                       value: entrants[index].value, breach: breach,
                                       enforcement: definition.enforcement.onFailure))
    }

    /// The ranking order of qualified entrants with data (see the type's comment).
    private func rankedOrder() -> [Int] {
        entrants.indices
            .filter { entrants[$0].disqualification == nil && entrants[$0].hasData }
            .sorted { a, b in
                let x = entrants[a], y = entrants[b]
                if x.value != y.value { return x.value > y.value }
                if x.maxDrawdownPercent != y.maxDrawdownPercent { return x.maxDrawdownPercent < y.maxDrawdownPercent }
                return x.account < y.account
            }
    }

    private mutating func rerank(at time: BrokerTime, into events: inout [CompetitionEvent]) {
        var newRanks = [Int?](repeating: nil, count: entrants.count)
        let order = rankedOrder()
        for (position, index) in order.enumerated() { newRanks[index] = position + 1 }
        // Report changes in new-rank order, then those that lost their rank, by account id.
        let unranked = entrants.indices.filter { newRanks[$0] == nil }.sorted { entrants[$0].account < entrants[$1].account }
        for index in order + unranked where entrants[index].rank != newRanks[index] {
            events.append(CompetitionEvent(kind: .rankChanged, competitionID: definition.id, brokerTime: time,
                                           account: entrants[index].account, previousRank: entrants[index].rank,
                                           rank: newRanks[index], value: entrants[index].hasData ? entrants[index].value : nil))
            entrants[index].rank = newRanks[index]
        }
    }

    /// Ranked accounts first, then disqualified ones, then those without data (each by account id).
    public var leaderboard: [LeaderboardEntry] {
        func entry(_ index: Int) -> LeaderboardEntry {
            let entrant = entrants[index]
            let data = entrant.hasData
            return LeaderboardEntry(rank: entrant.rank, account: entrant.account, value: data ? entrant.value : nil,
                                    gainPercent: data ? entrant.gainPercent : nil,
                                    profit: data ? entrant.book.map { $0.equity.subtractingClamped($0.initialCapital) } : nil,
                                    maxDrawdownPercent: data ? entrant.maxDrawdownPercent : nil,
                                    initialCapital: data ? entrant.book?.initialCapital : nil,
                                    equity: data ? entrant.book?.equity : nil,
                                    disqualification: entrant.disqualification)
        }
        let ranked = entrants.indices.filter { entrants[$0].rank != nil }.sorted { entrants[$0].rank! < entrants[$1].rank! }
        let rest = entrants.indices.filter { entrants[$0].rank == nil }.sorted { a, b in
            let x = entrants[a], y = entrants[b]
            let xGroup = x.disqualification != nil ? 0 : 1, yGroup = y.disqualification != nil ? 0 : 1
            return xGroup != yGroup ? xGroup < yGroup : x.account < y.account
        }
        return (ranked + rest).map(entry)
    }
}
