import EquityEngine
import TidemarkProtocol

/// Applies one ``RuleSet`` to one account from a start moment: the evaluator behind a challenge
/// phase and behind each competitor. Pure and Codable (a checkpoint is its encoding).
///
/// Everything is measured in *adjusted* money: deposits, withdrawals and bonuses after the start are
/// taken out, credit is taken out of equity, and the balance at the start reads as the initial
/// capital (see ``adjustment``). So a rule compares results made since the start with limits derived
/// from the initial capital, whatever the account held before.
///
/// Input order matters: a deposit's `deal` must come before the observation whose balance includes
/// it (the equity engine's natural order), or that observation reads the deposit as profit.
public struct RuleBook: Hashable, Sendable, Codable {
    /// The rules applied.
    public let rules: RuleSet
    /// When the rules began to apply.
    public let startTime: BrokerTime
    /// The trading day of ``startTime`` (day one of a time limit).
    public let startDay: Int
    /// The trading day the book is in.
    public private(set) var clock: TradingDayClock
    /// The capital the rules measure against, once known (see ``hasBaseline``).
    public private(set) var initialCapital: FixedDecimal
    /// Nil: the account's balance at the baseline observation becomes the initial capital.
    let configuredCapital: FixedDecimal?
    /// False until the first observation at or after the start gave the account's figures.
    public private(set) var hasBaseline = false
    /// Raw balance − adjusted balance: the start offset plus deposits/withdrawals/bonuses since.
    public private(set) var adjustment: FixedDecimal = .zero
    /// Adjusted balance.
    public private(set) var balance: FixedDecimal = .zero
    /// Adjusted equity, credit excluded.
    public private(set) var equity: FixedDecimal = .zero
    /// The raw floating result (for "flat").
    public private(set) var floating: FixedDecimal = .zero

    // The current day.
    var dayStartBalance: FixedDecimal = .zero
    var dayStartEquity: FixedDecimal = .zero
    var dailyBase: FixedDecimal = .zero
    var dailyLimit: FixedDecimal = .zero

    /// The trailing max loss's reference.
    public private(set) var highWaterMark: FixedDecimal = .zero

    // Limits resolved against the initial capital once it is known (not per tick).
    var maxLossLimit: FixedDecimal = .zero
    var profitTargetAmount: FixedDecimal = .zero
    var minEquityLevel: FixedDecimal = .zero

    // Counters.
    /// Days counted by ``MinTradingDaysRule`` (positions opened by default).
    public private(set) var tradingDays = 0
    var lastTradingDay: Int?
    /// Completed days that met the profitable-day threshold.
    var completedProfitableDays = 0
    /// The best closed result of a completed day.
    var bestCompletedDayProfit: FixedDecimal?
    /// The last day a position was opened (the start day until one is).
    var lastActiveDay: Int
    /// Positions opened (trade deals with entry `in`).
    public private(set) var trades = 0
    /// Open positions' volumes by ticket.
    var openPositions: [Int64: FixedDecimal]
    /// Warn-only caps currently over their limit (each warns once per excursion).
    var capsOverLimit: [RuleKind] = []

    /// Starts the rules at `start`. `capital` nil takes the balance at the baseline; `last` (the
    /// latest observation known, if any) is the baseline, otherwise the next observation is.
    /// - Throws: `ArithmeticOverflow` when a limit or the baseline is outside the decimal range.
    public init(rules: RuleSet, capital: FixedDecimal?, start: BrokerTime, clock: TradingDayClock,
                last: EquityObservation?, openVolumes: [Int64: FixedDecimal]) throws(ArithmeticOverflow) {
        self.rules = rules
        self.startTime = start
        self.clock = clock.moved(to: start)
        self.startDay = self.clock.day
        self.lastActiveDay = self.clock.day
        self.configuredCapital = capital
        self.initialCapital = capital ?? .zero
        self.openPositions = openVolumes
        try resolveLimits()
        if let last { try setBaseline(last) }
    }

    /// The next phase on the same account: new rules from `start`, measured against `capital`,
    /// continuing from what `previous` knew of the account (figures, open positions, deposits).
    /// - Throws: `ArithmeticOverflow` when a figure of the new phase is outside the decimal range.
    public init(continuing previous: RuleBook, rules: RuleSet, capital: FixedDecimal, start: BrokerTime) throws(ArithmeticOverflow) {
        try self.init(rules: rules, capital: capital, start: start, clock: previous.clock, last: nil,
                      openVolumes: previous.openPositions)
        guard previous.hasBaseline else { return }
        hasBaseline = true
        // raw balance = previous.balance + previous.adjustment, and it must now read as `capital`.
        let rawBalance = try previous.balance.adding(previous.adjustment)
        adjustment = try rawBalance.subtracting(capital)
        balance = capital
        equity = try previous.equity.adding(previous.adjustment).subtracting(adjustment)
        floating = previous.floating
        highWaterMark = capital
        try resolveLimits()
        try startDay(balance: balance, equity: equity)
    }

    /// The time an input speaks for.
    public static func time(of input: RiskInput) -> BrokerTime {
        switch input {
        case .observation(let observation): observation.time
        case .deal(_, let deal): deal.time
        case .position(_, let update): update.time
        case .openPositions(_, _, let time): time
        case .time(_, let time): time
        }
    }

    /// The account an input is about.
    public static func account(of input: RiskInput) -> AccountID {
        switch input {
        case .observation(let observation): observation.account
        case .deal(let account, _), .position(let account, _), .openPositions(let account, _, _), .time(let account, _): account
        }
    }

    /// Folds one input of this account; returns what broke, in time then rule order.
    ///
    /// When the input opens a new trading day and is not itself an observation (a heartbeat, a tick
    /// that moved nothing, a deal or position change), the account's current figures count as the
    /// day's first observation at the input's time: a loss carried over the day boundary is
    /// checked against the new day's limits at once, not only when equity next moves.
    /// - Throws: `ArithmeticOverflow` when a figure computed from the input is outside the
    ///   decimal range; the figures it would have changed keep their values.
    public mutating func apply(_ input: RiskInput) throws(ArithmeticOverflow) -> [RuleBreach] {
        let time = Self.time(of: input)
        let day = clock.day
        var breaches = try advance(to: time)
        if clock.day != day, hasBaseline {
            if case .observation = input {} else {
                breaches += try limitBreaches(equity: equity, highWaterMark: highWaterMark, at: time)
            }
        }
        switch input {
        case .observation(let observation):
            try observe(observation, into: &breaches)
        case .deal(_, let deal):
            try record(deal)
            if deal.type.isTrade { try checkCaps(at: deal.time, into: &breaches) }
        case .position(_, let update):
            switch update.change {
            case .opened:
                openPositions[update.position.ticket] = update.position.volume
                markPositionOpened()
            case .changed:
                openPositions[update.position.ticket] = update.position.volume
            case .closed:
                openPositions[update.position.ticket] = nil
            }
            try checkCaps(at: update.time, into: &breaches)
        case .openPositions(_, let positions, let time):
            openPositions = Dictionary(positions.map { ($0.ticket, $0.volume) }, uniquingKeysWith: { $1 })
            try checkCaps(at: time, into: &breaches)
        case .time:
            break
        }
        return breaches
    }

    /// Closes the trading days that ended before `time` and reports day-based breaches (time limit,
    /// inactivity) at the boundary where they happened.
    /// - Throws: `ArithmeticOverflow` when the closed day's result is outside the decimal range.
    public mutating func advance(to time: BrokerTime) throws(ArithmeticOverflow) -> [RuleBreach] {
        guard time >= clock.nextDayStart else { return [] }
        // The closed day's figures are checked before the clock moves, so a refused step leaves it.
        let closedDay = hasBaseline ? try closedDayFigures() : nil
        guard let leftDay = clock.advance(to: time) else { return [] }
        if let closedDay { closeDay(leftDay, closedDay) }
        var breaches: [RuleBreach] = []
        if let limit = rules.timeLimit {
            let deadlineDay = startDay + limit.days
            if clock.day >= deadlineDay {
                breaches.append(RuleBreach(rule: .timeLimit, brokerTime: clock.start(ofDay: deadlineDay),
                                           value: FixedDecimal(limit.days), limit: FixedDecimal(limit.days), isFatal: true))
            }
        }
        if let limit = rules.inactivity, clock.day - lastActiveDay - 1 > limit.days {
            // The (days + 1)-th whole day without a new position ended at this boundary.
            breaches.append(RuleBreach(rule: .inactivity, brokerTime: clock.start(ofDay: lastActiveDay + limit.days + 2),
                                       value: FixedDecimal(limit.days + 1), limit: FixedDecimal(limit.days), isFatal: true))
        }
        try startDay(balance: balance, equity: equity)
        breaches.sort { ($0.brokerTime, $0.rule) < ($1.brokerTime, $1.rule) }
        return breaches
    }

    // MARK: - Folding

    private mutating func setBaseline(_ observation: EquityObservation) throws(ArithmeticOverflow) {
        let capital = configuredCapital ?? observation.balance
        let adjustment = try observation.balance.subtracting(capital)
        let equity = try observation.equity.subtracting(observation.credit).subtracting(adjustment)
        hasBaseline = true
        initialCapital = capital
        self.adjustment = adjustment
        balance = initialCapital
        self.equity = equity
        floating = observation.floating
        highWaterMark = initialCapital
        try resolveLimits()
        try startDay(balance: balance, equity: equity)
    }

    private mutating func resolveLimits() throws(ArithmeticOverflow) {
        maxLossLimit = try rules.maxLoss?.limit.resolved(against: initialCapital) ?? .zero
        profitTargetAmount = try rules.profitTarget?.target.resolved(against: initialCapital) ?? .zero
        minEquityLevel = try rules.minEquity?.resolved(against: initialCapital) ?? .zero
    }

    private mutating func startDay(balance: FixedDecimal, equity: FixedDecimal) throws(ArithmeticOverflow) {
        dayStartBalance = balance
        dayStartEquity = equity
        guard let rule = rules.dailyLoss else { return }
        let base = rule.base == .balance ? balance : max(balance, equity)
        dailyLimit = try rule.limit.resolved(against: rule.percentOf == .initialCapital ? initialCapital : base)
        dailyBase = base
    }

    /// The day's closed result and whether it counts as a profitable day, before the day closes.
    private func closedDayFigures() throws(ArithmeticOverflow) -> (profit: FixedDecimal, profitable: Bool) {
        let profit = try balance.subtracting(dayStartBalance)
        guard let rule = rules.minProfitableDays else { return (profit, false) }
        return (profit, profit >= (try rule.threshold.resolved(against: initialCapital)))
    }

    private mutating func closeDay(_ day: Int, _ figures: (profit: FixedDecimal, profitable: Bool)) {
        let profit = figures.profit
        if figures.profitable {
            completedProfitableDays += 1
        }
        bestCompletedDayProfit = max(bestCompletedDayProfit ?? profit, profit)
        if let trailing = rules.maxLoss?.trailing, trailing.update == .endOfDay {
            highWaterMark = max(highWaterMark, trailing.source == .equity ? equity : balance)
        }
    }

    private mutating func observe(_ observation: EquityObservation, into breaches: inout [RuleBreach]) throws(ArithmeticOverflow) {
        if !hasBaseline { try setBaseline(observation) }
        // Every figure first, then the state: a refused observation changes nothing.
        let balance = try observation.balance.subtracting(adjustment)
        let equity = try observation.equity.subtracting(observation.credit).subtracting(adjustment)
        var highWaterMark = self.highWaterMark
        if let trailing = rules.maxLoss?.trailing, trailing.update == .intraday {
            highWaterMark = max(highWaterMark, trailing.source == .equity ? equity : balance)
        }
        let found = try limitBreaches(equity: equity, highWaterMark: highWaterMark, at: observation.time)
        self.balance = balance
        self.equity = equity
        self.highWaterMark = highWaterMark
        floating = observation.floating
        breaches += found
    }

    /// The equity limits (daily loss, max loss, min equity) that `equity` breaks, with the trailing
    /// reference at `highWaterMark`.
    private func limitBreaches(equity: FixedDecimal, highWaterMark: FixedDecimal,
                               at time: BrokerTime) throws(ArithmeticOverflow) -> [RuleBreach] {
        var found: [RuleBreach] = []
        if rules.dailyLoss != nil {
            let floor = try dailyBase.subtracting(dailyLimit)
            if equity < floor {
                found.append(RuleBreach(rule: .dailyLoss, brokerTime: time, value: try dailyBase.subtracting(equity),
                                        limit: dailyLimit, isFatal: true, floor: floor, equity: equity))
            }
        }
        if let rule = rules.maxLoss {
            let floor = try maxLossFloor(rule, highWaterMark: highWaterMark)
            if equity < floor {
                let reference = rule.trailing == nil ? initialCapital : highWaterMark
                found.append(RuleBreach(rule: .maxLoss, brokerTime: time, value: try reference.subtracting(equity),
                                        limit: try reference.subtracting(floor), isFatal: true, floor: floor, equity: equity))
            }
        }
        if rules.minEquity != nil, equity < minEquityLevel {
            found.append(RuleBreach(rule: .minEquity, brokerTime: time, value: equity, limit: minEquityLevel,
                                    isFatal: true, floor: minEquityLevel, equity: equity))
        }
        return found
    }

    private mutating func record(_ deal: Deal) throws(ArithmeticOverflow) {
        switch deal.type {
        case .balance, .bonus:
            // Money put in or taken out is not a result; the baseline already contains earlier ones.
            if hasBaseline { adjustment = try adjustment.adding(deal.profit) }
        case .buy, .sell:
            if rules.minTradingDays?.counting == .anyTradeDeal { countTradingDay() }
            // Deals and position updates may come in either order: both keep the open volumes, so
            // an opening deal never leaves the account looking flat.
            switch deal.entry {
            case .in:
                trades += 1
                markPositionOpened()
                if deal.positionID != 0, openPositions[deal.positionID] == nil {
                    openPositions[deal.positionID] = deal.volume
                }
            case .out, .outBy:
                if let volume = openPositions[deal.positionID] {
                    let left = try volume.subtracting(deal.volume)
                    openPositions[deal.positionID] = left > .zero ? left : nil
                }
            case .inOut:
                break  // netting only; netting accounts are refused
            }
        default:
            break  // credit is outside balance; charges, commissions, interest… are results.
        }
    }

    private mutating func markPositionOpened() {
        lastActiveDay = clock.day
        if rules.minTradingDays?.counting ?? .positionOpened == .positionOpened { countTradingDay() }
    }

    private mutating func countTradingDay() {
        guard lastTradingDay != clock.day else { return }
        lastTradingDay = clock.day
        tradingDays += 1
    }

    private mutating func checkCaps(at time: BrokerTime, into breaches: inout [RuleBreach]) throws(ArithmeticOverflow) {
        for (kind, cap) in [(RuleKind.maxLotsPerPosition, rules.maxLotsPerPosition),
                            (.maxOpenPositions, rules.maxOpenPositions), (.maxTotalLots, rules.maxTotalLots)] {
            guard let cap else { continue }
            let value = try capValue(kind)
            let wasOver = capsOverLimit.contains(kind)
            if value > cap.limit {
                if cap.action == .fail {
                    breaches.append(RuleBreach(rule: kind, brokerTime: time, value: value, limit: cap.limit, isFatal: true))
                } else if !wasOver {
                    capsOverLimit.append(kind)
                    breaches.append(RuleBreach(rule: kind, brokerTime: time, value: value, limit: cap.limit, isFatal: false))
                }
            } else if wasOver {
                capsOverLimit.removeAll { $0 == kind }
            }
        }
    }

    // MARK: - Queries

    private func capValue(_ kind: RuleKind) throws(ArithmeticOverflow) -> FixedDecimal {
        switch kind {
        case .maxLotsPerPosition: return openPositions.values.max() ?? .zero
        case .maxOpenPositions: return FixedDecimal(openPositions.count)
        default:
            var total = FixedDecimal.zero
            for volume in openPositions.values { total = try total.adding(volume) }
            return total
        }
    }

    private func maxLossFloor(_ rule: MaxLossRule, highWaterMark: FixedDecimal) throws(ArithmeticOverflow) -> FixedDecimal {
        guard let trailing = rule.trailing else { return try initialCapital.subtracting(maxLossLimit) }
        let floor = try highWaterMark.subtracting(maxLossLimit)
        return trailing.lockAtInitialCapital ? min(floor, initialCapital) : floor
    }

    /// No open position and no floating result.
    public var isFlat: Bool { openPositions.isEmpty && floating.isZero }

    /// The current day's closed result so far (read-outs clamp to the decimal range, see
    /// `FixedDecimal/init(clamping:)`: the fold refuses what would leave it).
    public var dayProfit: FixedDecimal { balance.subtractingClamped(dayStartBalance) }

    /// Every requirement present is met (and the baseline is known).
    public var requirementsMet: Bool {
        hasBaseline && rules.kinds.allSatisfy { !$0.isRequirement || evaluate($0).status == .satisfied }
    }

    /// A phase with these rules passes now: it has a profit target and every requirement is met.
    public var canPass: Bool {
        // The target first: it is cheap and usually unmet, and this runs on every tick.
        guard hasBaseline, rules.profitTarget != nil, evaluate(.profitTarget).status == .satisfied else { return false }
        return requirementsMet
    }

    /// Every rule present, in ``RuleKind`` order.
    public var progress: [RuleProgress] { rules.kinds.map(evaluate) }

    /// One rule's live state, or nil when the rule set does not have it.
    public func progress(of kind: RuleKind) -> RuleProgress? {
        rules.kinds.contains(kind) ? evaluate(kind) : nil
    }

    /// One rule's live state; `kind` must be present in ``rules``.
    private func evaluate(_ kind: RuleKind) -> RuleProgress {
        func limitRule(_ value: FixedDecimal, _ limit: FixedDecimal, headroom: FixedDecimal, floor: FixedDecimal? = nil) -> RuleProgress {
            RuleProgress(rule: kind, value: value, limit: limit, headroom: headroom,
                         status: headroom < .zero ? .breached : .satisfied, floor: floor)
        }
        func requirement(_ value: FixedDecimal, _ limit: FixedDecimal, met: Bool) -> RuleProgress {
            RuleProgress(rule: kind, value: value, limit: limit, headroom: max(.zero, limit.subtractingClamped(value)),
                         status: met ? .satisfied : .pending)
        }
        switch kind {
        case .dailyLoss:
            let floor = dailyBase.subtractingClamped(dailyLimit)
            return limitRule(max(.zero, dailyBase.subtractingClamped(equity)), dailyLimit,
                             headroom: equity.subtractingClamped(floor), floor: floor)
        case .maxLoss:
            let rule = rules.maxLoss!
            // The fold refused any step that would put the floor out of range; a clamp is only a guard.
            let floor = (try? maxLossFloor(rule, highWaterMark: highWaterMark)) ?? .leastFiniteValue
            let reference = rule.trailing == nil ? initialCapital : highWaterMark
            return limitRule(max(.zero, reference.subtractingClamped(equity)), reference.subtractingClamped(floor),
                             headroom: equity.subtractingClamped(floor), floor: floor)
        case .minEquity:
            return limitRule(equity, minEquityLevel, headroom: equity.subtractingClamped(minEquityLevel), floor: minEquityLevel)
        case .maxLotsPerPosition, .maxOpenPositions, .maxTotalLots:
            let cap = [rules.maxLotsPerPosition, rules.maxOpenPositions, rules.maxTotalLots][
                kind == .maxLotsPerPosition ? 0 : kind == .maxOpenPositions ? 1 : 2]!
            let value = (try? capValue(kind)) ?? .greatestFiniteMagnitude
            return limitRule(value, cap.limit, headroom: cap.limit.subtractingClamped(value))
        case .timeLimit:
            let days = rules.timeLimit!.days
            let used = clock.day - startDay + 1
            return limitRule(FixedDecimal(used), FixedDecimal(days), headroom: FixedDecimal(days - used))
        case .inactivity:
            let days = rules.inactivity!.days
            let idle = max(0, clock.day - lastActiveDay - 1)
            return limitRule(FixedDecimal(idle), FixedDecimal(days), headroom: FixedDecimal(days - idle))
        case .profitTarget:
            let rule = rules.profitTarget!
            let target = profitTargetAmount
            let profit = (rule.basis == .closed ? balance : equity).subtractingClamped(initialCapital)
            let met = hasBaseline && profit >= target && (rule.basis == .equity || isFlat)
            return requirement(profit, target, met: met)
        case .minTradingDays:
            let days = FixedDecimal(rules.minTradingDays!.days)
            return requirement(FixedDecimal(tradingDays), days, met: FixedDecimal(tradingDays) >= days)
        case .minProfitableDays:
            let rule = rules.minProfitableDays!
            let threshold = (try? rule.threshold.resolved(against: initialCapital)) ?? .greatestFiniteMagnitude
            let today = hasBaseline && dayProfit >= threshold ? 1 : 0
            let count = FixedDecimal(completedProfitableDays + today)
            return requirement(count, FixedDecimal(rule.days), met: count >= FixedDecimal(rule.days))
        case .minTrades:
            let count = FixedDecimal(trades)
            let needed = FixedDecimal(rules.minTrades!.trades)
            return requirement(count, needed, met: count >= needed)
        case .consistency:
            // value: the best day's closed result; limit: the share of the total closed result allowed.
            let best = max(bestCompletedDayProfit ?? dayProfit, dayProfit)
            let total = balance.subtractingClamped(initialCapital)
            // The percentage is positive (validated): beyond the range, the share is the range's end.
            let (share, overflow) = total.multipliedReportingOverflow(by: rules.consistency!.maxBestDayPercent, dividedBy: 100)
            let allowed = overflow ? (total.isNegative ? .leastFiniteValue : .greatestFiniteMagnitude) : share
            return RuleProgress(rule: kind, value: best, limit: allowed, headroom: max(.zero, best.subtractingClamped(allowed)),
                                status: best <= allowed ? .satisfied : .pending)
        }
    }
}

extension TradingDayClock {
    /// The same reset rules, placed on the day containing `time` (no validation: already done).
    public func moved(to time: BrokerTime) -> TradingDayClock {
        var copy = self
        copy.place(at: time)
        return copy
    }
}
