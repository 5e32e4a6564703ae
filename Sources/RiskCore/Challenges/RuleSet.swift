import TidemarkProtocol

/// An amount of money given directly or as a percentage of a reference (the initial capital unless
/// the rule says otherwise). JSON: `{"percent": 5}` or `{"amount": 5000}`.
public enum RuleAmount: Hashable, Sendable, Codable {
    /// Percent (5 means 5 %) of the rule's reference.
    case percent(FixedDecimal)
    /// Money in the account currency.
    case amount(FixedDecimal)

    /// The money this amount stands for, given the reference a percentage applies to.
    /// - Throws: `ArithmeticOverflow` when that is outside the decimal range.
    public func resolved(against reference: FixedDecimal) throws(ArithmeticOverflow) -> FixedDecimal {
        switch self {
        case .percent(let percent):
            let (money, overflow) = reference.multipliedReportingOverflow(by: percent, dividedBy: 100)
            guard !overflow else { throw ArithmeticOverflow(.product) }
            return money
        case .amount(let amount):
            return amount
        }
    }

    var isPositive: Bool {
        switch self {
        case .percent(let value), .amount(let value): value > .zero
        }
    }

    private enum CodingKeys: String, CodingKey { case percent, amount }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let percent = try container.decodeIfPresent(FixedDecimal.self, forKey: .percent) {
            self = .percent(percent)
        } else if let amount = try container.decodeIfPresent(FixedDecimal.self, forKey: .amount) {
            self = .amount(amount)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "expected {\"percent\": …} or {\"amount\": …}"))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .percent(let value): try container.encode(value, forKey: .percent)
        case .amount(let value): try container.encode(value, forKey: .amount)
        }
    }
}

/// Every rule a challenge phase or a competition can carry. The declaration order is the order in
/// which rules are checked and reported: when several break on the same input, the first listed is
/// the one that fails the challenge. Raw values appear in JSON and events.
public enum RuleKind: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    case dailyLoss, maxLoss, minEquity
    case maxLotsPerPosition, maxOpenPositions, maxTotalLots
    case timeLimit, inactivity
    case profitTarget, minTradingDays, minProfitableDays, minTrades, consistency

    /// Rules that must be satisfied to pass (they never fail a challenge on their own; in a
    /// competition, an unmet one disqualifies at the window's end).
    public var isRequirement: Bool {
        switch self {
        case .profitTarget, .minTradingDays, .minProfitableDays, .minTrades, .consistency: true
        default: false
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Daily loss: adjusted equity must not fall more than the limit below the day's base.
/// JSON: `{"limit": {"percent": 5}, "percentOf": "initialCapital", "base": "balance"}`.
public struct DailyLossRule: Hashable, Sendable, Codable {
    /// What a percentage limit is a percentage of.
    public enum Reference: String, Hashable, Sendable, Codable {
        case initialCapital, dayBase
    }
    /// What the day's loss is measured from.
    public enum Base: String, Hashable, Sendable, Codable {
        /// The balance at the day's reset.
        case balance
        /// max(balance, equity) at the day's reset: floating profit carried over raises the base.
        case balanceOrEquity
    }
    /// The most the day may lose.
    public var limit: RuleAmount
    /// Default `initialCapital`.
    public var percentOf: Reference
    /// Default `balance`.
    public var base: Base

    /// A daily loss rule; defaults: percent of the initial capital, balance base.
    public init(limit: RuleAmount, percentOf: Reference = .initialCapital, base: Base = .balance) {
        self.limit = limit
        self.percentOf = percentOf
        self.base = base
    }
    private enum CodingKeys: String, CodingKey { case limit, percentOf, base }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        limit = try container.decode(RuleAmount.self, forKey: .limit)
        percentOf = try container.decodeIfPresent(Reference.self, forKey: .percentOf) ?? .initialCapital
        base = try container.decodeIfPresent(Base.self, forKey: .base) ?? .balance
    }
}

/// Maximum loss: adjusted equity must stay at or above a floor = reference − limit, the reference
/// being the initial capital (static) or a high-water mark (trailing). A percentage limit is of the
/// initial capital. JSON: `{"limit": {"percent": 10}}` (static) or `{"limit": {"percent": 6},
/// "trailing": {"source": "balance", "update": "endOfDay", "lockAtInitialCapital": true}}`.
public struct MaxLossRule: Hashable, Sendable, Codable {
    /// How the high-water mark moves.
    public struct Trailing: Hashable, Sendable, Codable {
        /// What the high-water mark follows.
        public enum Source: String, Hashable, Sendable, Codable { case equity, balance }
        /// When the high-water mark moves.
        public enum Update: String, Hashable, Sendable, Codable {
            /// On every observation.
            case intraday
            /// Once a day, with the value at the day's reset.
            case endOfDay
        }
        /// Default `equity`.
        public var source: Source
        /// Default `intraday`.
        public var update: Update
        /// Once the floor reaches the initial capital it stays there (default false).
        public var lockAtInitialCapital: Bool

        /// Defaults: equity, intraday, no lock.
        public init(source: Source = .equity, update: Update = .intraday, lockAtInitialCapital: Bool = false) {
            self.source = source
            self.update = update
            self.lockAtInitialCapital = lockAtInitialCapital
        }
        private enum CodingKeys: String, CodingKey { case source, update, lockAtInitialCapital }
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            source = try container.decodeIfPresent(Source.self, forKey: .source) ?? .equity
            update = try container.decodeIfPresent(Update.self, forKey: .update) ?? .intraday
            lockAtInitialCapital = try container.decodeIfPresent(Bool.self, forKey: .lockAtInitialCapital) ?? false
        }
    }
    /// The most the account may lose from its reference.
    public var limit: RuleAmount
    /// Nil: static, from the initial capital.
    public var trailing: Trailing?

    /// Static when `trailing` is nil.
    public init(limit: RuleAmount, trailing: Trailing? = nil) {
        self.limit = limit
        self.trailing = trailing
    }
}

/// Profit target. JSON: `{"target": {"percent": 10}, "basis": "closed"}`.
public struct ProfitTargetRule: Hashable, Sendable, Codable {
    /// What counts as profit.
    public enum Basis: String, Hashable, Sendable, Codable {
        /// Adjusted balance − initial capital, and no open position.
        case closed
        /// Adjusted equity − initial capital, open positions included.
        case equity
    }
    /// A percentage is of the initial capital.
    public var target: RuleAmount
    /// Default `closed`.
    public var basis: Basis

    /// Defaults to closed results.
    public init(target: RuleAmount, basis: Basis = .closed) {
        self.target = target
        self.basis = basis
    }
    private enum CodingKeys: String, CodingKey { case target, basis }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        target = try container.decode(RuleAmount.self, forKey: .target)
        basis = try container.decodeIfPresent(Basis.self, forKey: .basis) ?? .closed
    }
}

/// Minimum trading days. JSON: `{"days": 4, "counting": "positionOpened"}`.
public struct MinTradingDaysRule: Hashable, Sendable, Codable {
    /// Which days count.
    public enum Counting: String, Hashable, Sendable, Codable {
        /// A day counts when a position was opened in it.
        case positionOpened
        /// A day counts when any buy or sell deal (opening or closing) happened in it.
        case anyTradeDeal
    }
    /// Days needed.
    public var days: Int
    /// Default `positionOpened`.
    public var counting: Counting

    /// Defaults to days with a position opened.
    public init(days: Int, counting: Counting = .positionOpened) {
        self.days = days
        self.counting = counting
    }
    private enum CodingKeys: String, CodingKey { case days, counting }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        days = try container.decode(Int.self, forKey: .days)
        counting = try container.decodeIfPresent(Counting.self, forKey: .counting) ?? .positionOpened
    }
}

/// Minimum profitable days: days whose closed result (adjusted balance at the day's end − at its
/// start) is at least the threshold. JSON: `{"days": 3, "threshold": {"percent": 0.5}}`.
public struct MinProfitableDaysRule: Hashable, Sendable, Codable {
    /// Profitable days needed.
    public var days: Int
    /// A percentage is of the initial capital.
    public var threshold: RuleAmount
    /// Needs `days` days of at least `threshold` closed profit.
    public init(days: Int, threshold: RuleAmount) {
        self.days = days
        self.threshold = threshold
    }
}

/// A number of trading days (time limit, inactivity). JSON: `{"days": 30}`.
public struct DayCountRule: Hashable, Sendable, Codable {
    /// The number of days.
    public var days: Int
    /// A day count.
    public init(days: Int) { self.days = days }
}

/// Best-day consistency: the best day's closed result must be at most this percentage of the total
/// closed result. Blocks passing; never fails. JSON: `{"maxBestDayPercent": 50}`.
public struct ConsistencyRule: Hashable, Sendable, Codable {
    /// The largest share (percent) of the total profit one day may hold.
    public var maxBestDayPercent: FixedDecimal
    /// A best-day rule.
    public init(maxBestDayPercent: FixedDecimal) { self.maxBestDayPercent = maxBestDayPercent }
}

/// A cap on lots or positions. JSON: `{"limit": 20, "action": "fail"}`.
public struct CapRule: Hashable, Sendable, Codable {
    /// What going over does.
    public enum Action: String, Hashable, Sendable, Codable {
        /// Going over fails the challenge (disqualifies from a competition).
        case fail
        /// Going over emits a warning event (once per excursion) and nothing else.
        case warn
    }
    /// Lots, or positions for ``RuleSet/maxOpenPositions``; going strictly over breaks it.
    public var limit: FixedDecimal
    /// Default `fail`.
    public var action: Action

    /// A cap that fails by default.
    public init(limit: FixedDecimal, action: Action = .fail) {
        self.limit = limit
        self.action = action
    }
    private enum CodingKeys: String, CodingKey { case limit, action }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        limit = try container.decode(FixedDecimal.self, forKey: .limit)
        action = try container.decodeIfPresent(Action.self, forKey: .action) ?? .fail
    }
}

/// Minimum trades: positions opened (trade deals with entry `in`). JSON: `{"trades": 5}`.
public struct MinTradesRule: Hashable, Sendable, Codable {
    /// Trades needed.
    public var trades: Int
    /// A minimum-trades rule.
    public init(trades: Int) { self.trades = trades }
}

/// The rules of one challenge phase, or a competition's disqualification rules. Every rule is
/// optional; each kind appears at most once.
public struct RuleSet: Hashable, Sendable, Codable {
    /// See ``DailyLossRule``.
    public var dailyLoss: DailyLossRule?
    /// See ``MaxLossRule``.
    public var maxLoss: MaxLossRule?
    /// Adjusted equity must stay at or above this level (a percentage is of the initial capital).
    public var minEquity: RuleAmount?
    /// Largest open position, in lots.
    public var maxLotsPerPosition: CapRule?
    /// Number of open positions.
    public var maxOpenPositions: CapRule?
    /// Sum of open lots.
    public var maxTotalLots: CapRule?
    /// The phase must pass within this many days (calendar days cut at the reset time), the start
    /// day counting as the first.
    public var timeLimit: DayCountRule?
    /// Fails after more than this many whole days (calendar days cut at the reset time) in a row
    /// without a new position.
    public var inactivity: DayCountRule?
    /// See ``ProfitTargetRule``; a phase without one never passes.
    public var profitTarget: ProfitTargetRule?
    /// See ``MinTradingDaysRule``.
    public var minTradingDays: MinTradingDaysRule?
    /// See ``MinProfitableDaysRule``.
    public var minProfitableDays: MinProfitableDaysRule?
    /// See ``MinTradesRule``.
    public var minTrades: MinTradesRule?
    /// See ``ConsistencyRule``.
    public var consistency: ConsistencyRule?

    /// A rule set; every rule is optional.
    public init(dailyLoss: DailyLossRule? = nil, maxLoss: MaxLossRule? = nil, minEquity: RuleAmount? = nil,
                maxLotsPerPosition: CapRule? = nil, maxOpenPositions: CapRule? = nil, maxTotalLots: CapRule? = nil,
                timeLimit: DayCountRule? = nil, inactivity: DayCountRule? = nil,
                profitTarget: ProfitTargetRule? = nil, minTradingDays: MinTradingDaysRule? = nil,
                minProfitableDays: MinProfitableDaysRule? = nil, minTrades: MinTradesRule? = nil,
                consistency: ConsistencyRule? = nil) {
        self.dailyLoss = dailyLoss
        self.maxLoss = maxLoss
        self.minEquity = minEquity
        self.maxLotsPerPosition = maxLotsPerPosition
        self.maxOpenPositions = maxOpenPositions
        self.maxTotalLots = maxTotalLots
        self.timeLimit = timeLimit
        self.inactivity = inactivity
        self.profitTarget = profitTarget
        self.minTradingDays = minTradingDays
        self.minProfitableDays = minProfitableDays
        self.minTrades = minTrades
        self.consistency = consistency
    }

    /// The kinds present, in ``RuleKind`` order.
    public var kinds: [RuleKind] {
        RuleKind.allCases.filter { kind in
            switch kind {
            case .dailyLoss: dailyLoss != nil
            case .maxLoss: maxLoss != nil
            case .minEquity: minEquity != nil
            case .maxLotsPerPosition: maxLotsPerPosition != nil
            case .maxOpenPositions: maxOpenPositions != nil
            case .maxTotalLots: maxTotalLots != nil
            case .timeLimit: timeLimit != nil
            case .inactivity: inactivity != nil
            case .profitTarget: profitTarget != nil
            case .minTradingDays: minTradingDays != nil
            case .minProfitableDays: minProfitableDays != nil
            case .minTrades: minTrades != nil
            case .consistency: consistency != nil
            }
        }
    }

    /// Refuses non-positive limits and counts. `context` names the owner in the error's detail.
    public func validate(context: String) throws(RuleDefinitionError) {
        func amount(_ value: RuleAmount?, _ name: String) throws(RuleDefinitionError) {
            if let value, !value.isPositive { throw .invalidAmount("\(context).\(name) must be positive") }
        }
        func count(_ value: Int?, _ name: String) throws(RuleDefinitionError) {
            if let value, value <= 0 { throw .invalidCount("\(context).\(name) must be positive") }
        }
        try amount(dailyLoss?.limit, "dailyLoss.limit")
        try amount(maxLoss?.limit, "maxLoss.limit")
        try amount(minEquity, "minEquity")
        for (cap, name) in [(maxLotsPerPosition, "maxLotsPerPosition"), (maxOpenPositions, "maxOpenPositions"),
                            (maxTotalLots, "maxTotalLots")] {
            if let cap, cap.limit <= .zero { throw .invalidAmount("\(context).\(name).limit must be positive") }
        }
        try count(timeLimit?.days, "timeLimit.days")
        try count(inactivity?.days, "inactivity.days")
        try amount(profitTarget?.target, "profitTarget.target")
        try count(minTradingDays?.days, "minTradingDays.days")
        try count(minProfitableDays?.days, "minProfitableDays.days")
        try amount(minProfitableDays?.threshold, "minProfitableDays.threshold")
        try count(minTrades?.trades, "minTrades.trades")
        if let consistency, consistency.maxBestDayPercent <= .zero {
            throw .invalidAmount("\(context).consistency.maxBestDayPercent must be positive")
        }
    }
}

/// One rule's live state. For limits (daily loss, max loss, caps, …) ``headroom`` is how far the
/// value may still move before the rule breaks (negative once broken); for requirements (profit
/// target, minimum days, …) it is what is still missing (zero once met).
public struct RuleProgress: Hashable, Sendable, Codable {
    /// Where the rule stands.
    public enum Status: String, Hashable, Sendable, Codable {
        /// Within its limit, or requirement met.
        case satisfied
        /// A requirement not met yet.
        case pending
        /// A limit broken.
        case breached
    }
    /// Which rule.
    public var rule: RuleKind
    /// Money for money rules, a count for day/trade/position rules, lots for lot caps.
    public var value: FixedDecimal
    /// The limit or requirement, in the value's unit.
    public var limit: FixedDecimal
    /// See the type's comment.
    public var headroom: FixedDecimal
    /// Satisfied, pending or breached.
    public var status: Status
    /// For equity floors (daily loss, max loss, min equity): the adjusted equity below which the
    /// rule breaks.
    public var floor: FixedDecimal?

    /// A progress line.
    public init(rule: RuleKind, value: FixedDecimal, limit: FixedDecimal, headroom: FixedDecimal,
                status: Status, floor: FixedDecimal? = nil) {
        self.rule = rule
        self.value = value
        self.limit = limit
        self.headroom = headroom
        self.status = status
        self.floor = floor
    }
}

/// A broken rule: which, when, and the numbers.
public struct RuleBreach: Hashable, Sendable, Codable {
    /// Which rule broke.
    public var rule: RuleKind
    /// The broker time of the input that broke it, or of the day boundary for day-based rules.
    public var brokerTime: BrokerTime
    /// As in ``RuleProgress/value``.
    public var value: FixedDecimal
    /// The limit it went over.
    public var limit: FixedDecimal
    /// True when the breach fails the challenge (or disqualifies); false for warn-only caps.
    public var isFatal: Bool
    /// For equity floors: the floor and the adjusted equity that went below it.
    public var floor: FixedDecimal?
    /// The adjusted equity that went below it.
    public var equity: FixedDecimal?

    /// A breach.
    public init(rule: RuleKind, brokerTime: BrokerTime, value: FixedDecimal, limit: FixedDecimal, isFatal: Bool,
                floor: FixedDecimal? = nil, equity: FixedDecimal? = nil) {
        self.rule = rule
        self.brokerTime = brokerTime
        self.value = value
        self.limit = limit
        self.isFatal = isFatal
        self.floor = floor
        self.equity = equity
    }
}
