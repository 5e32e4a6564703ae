import TidemarkProtocol

/// What a competition ranks by (higher is better).
public enum CompetitionMetric: String, Hashable, Sendable, Codable, CaseIterable {
    /// (adjusted equity − capital at the start) × 100 ÷ capital at the start.
    case gainPercent
    /// Adjusted equity − capital at the start, in the account currency.
    case absoluteProfit
    /// gainPercent ÷ max(maximum drawdown %, ``CompetitionDefinition/minimumDrawdownPercent``),
    /// the drawdown measured from the peak adjusted equity: (peak − equity) × 100 ÷ peak.
    case gainToMaxDrawdown
}

/// A set of accounts ranked over a window of broker time, with disqualification rules. See
/// deploy/challenge-templates/README.md for the JSON.
///
/// All accounts are assumed to share one broker clock (one server or server group): the window
/// and any day reset are read on it.
public struct CompetitionDefinition: Hashable, Sendable, Codable {
    /// Unique among the agent's competitions.
    public var id: String
    /// Free text for people (what the programme is modelled on); ignored by the engine.
    public var description: String?
    /// Listed order is irrelevant to ranking.
    public var accounts: [AccountID]
    /// Broker time; JSON `"YYYY-MM-DD HH:mm:ss.SSS"` or milliseconds.
    public var startTime: BrokerTime
    /// Exclusive: inputs at or after it end the competition and are not counted.
    public var endTime: BrokerTime
    /// What ranks the accounts.
    public var metric: CompetitionMetric
    /// Disqualification rules, applied to each account from the start with the account's balance
    /// at the start as its initial capital. A broken limit disqualifies at once; a requirement
    /// (min trades, min trading days, …) still unmet at the end disqualifies at the end.
    public var rules: RuleSet
    /// For day-based rules. Default broker midnight.
    public var dayReset: DayReset
    /// Needed when ``dayReset`` names a time zone (as for challenges).
    public var brokerClock: BrokerClock?
    /// `onFailure` applies to disqualification.
    public var enforcement: EnforcementOptions
    /// The drawdown divisor's floor for ``CompetitionMetric/gainToMaxDrawdown`` (default 1 %), so an
    /// account that never drew down gets a finite ratio (its gain % itself, at the default).
    public var minimumDrawdownPercent: FixedDecimal

    /// A definition; ``Competition/init(definition:)`` validates it.
    public init(id: String, description: String? = nil, accounts: [AccountID], startTime: BrokerTime, endTime: BrokerTime,
                metric: CompetitionMetric, rules: RuleSet = RuleSet(), dayReset: DayReset = .brokerMidnight,
                brokerClock: BrokerClock? = nil, enforcement: EnforcementOptions = EnforcementOptions(),
                minimumDrawdownPercent: FixedDecimal = 1) {
        self.id = id
        self.description = description
        self.accounts = accounts
        self.startTime = startTime
        self.endTime = endTime
        self.metric = metric
        self.rules = rules
        self.dayReset = dayReset
        self.brokerClock = brokerClock
        self.enforcement = enforcement
        self.minimumDrawdownPercent = minimumDrawdownPercent
    }

    /// Refuses no or duplicate accounts, an empty window, bad rules or a bad reset.
    public func validate() throws(RuleDefinitionError) {
        guard !accounts.isEmpty else { throw .noAccounts("competition \(id) has no accounts") }
        guard Set(accounts).count == accounts.count else { throw .duplicateAccount("competition \(id) lists an account twice") }
        guard endTime > startTime else { throw .emptyWindow("competition \(id) ends at or before its start") }
        // Outside the calendar no input can reach the window, and its end's arithmetic would overflow.
        guard startTime.isInCalendarRange, endTime.isInCalendarRange else {
            throw .emptyWindow("competition \(id) starts or ends outside years 0000–9999")
        }
        guard minimumDrawdownPercent > .zero else { throw .invalidAmount("competition \(id) minimumDrawdownPercent must be positive") }
        try TradingDayClock.validate(reset: dayReset, brokerClock: brokerClock)
        try rules.validate(context: "rules")
    }

    private enum CodingKeys: String, CodingKey {
        case id, description, accounts, startTime, endTime, metric, rules, dayReset, brokerClock, enforcement, minimumDrawdownPercent
    }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        accounts = try container.decode([AccountID].self, forKey: .accounts)
        startTime = try decodeBrokerTime(container, .startTime)
        endTime = try decodeBrokerTime(container, .endTime)
        metric = try container.decode(CompetitionMetric.self, forKey: .metric)
        rules = try container.decodeIfPresent(RuleSet.self, forKey: .rules) ?? RuleSet()
        dayReset = try container.decodeIfPresent(DayReset.self, forKey: .dayReset) ?? .brokerMidnight
        brokerClock = try container.decodeIfPresent(BrokerClock.self, forKey: .brokerClock)
        enforcement = try container.decodeIfPresent(EnforcementOptions.self, forKey: .enforcement) ?? EnforcementOptions()
        minimumDrawdownPercent = try container.decodeIfPresent(FixedDecimal.self, forKey: .minimumDrawdownPercent) ?? 1
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encode(accounts, forKey: .accounts)
        try container.encode(startTime.formatted, forKey: .startTime)
        try container.encode(endTime.formatted, forKey: .endTime)
        try container.encode(metric, forKey: .metric)
        try container.encode(rules, forKey: .rules)
        try container.encode(dayReset, forKey: .dayReset)
        try container.encodeIfPresent(brokerClock, forKey: .brokerClock)
        try container.encode(enforcement, forKey: .enforcement)
        try container.encode(minimumDrawdownPercent, forKey: .minimumDrawdownPercent)
    }
}
