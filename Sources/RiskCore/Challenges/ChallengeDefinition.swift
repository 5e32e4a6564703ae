import TidemarkProtocol

/// Commands a challenge or competition may ask the agent to send the terminal, per situation.
/// Empty lists (the default) mean "tell, don't act". JSON: `{"onFailure": ["close_all", "disable_trading"]}`.
public struct EnforcementOptions: Hashable, Sendable, Codable {
    /// When a rule fails the challenge or disqualifies the account.
    public var onFailure: [CommandKind]
    /// When a warn-only cap goes over its limit.
    public var onWarning: [CommandKind]
    /// When a challenge phase passes (for example, disable trading while the next account is issued).
    public var onPhasePassed: [CommandKind]

    /// Report-only unless lists are given.
    public init(onFailure: [CommandKind] = [], onWarning: [CommandKind] = [], onPhasePassed: [CommandKind] = []) {
        self.onFailure = onFailure
        self.onWarning = onWarning
        self.onPhasePassed = onPhasePassed
    }
    private enum CodingKeys: String, CodingKey { case onFailure, onWarning, onPhasePassed }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        onFailure = try container.decodeIfPresent([CommandKind].self, forKey: .onFailure) ?? []
        onWarning = try container.decodeIfPresent([CommandKind].self, forKey: .onWarning) ?? []
        onPhasePassed = try container.decodeIfPresent([CommandKind].self, forKey: .onPhasePassed) ?? []
    }
}

/// The capital a phase measures against. JSON: `"initial"`, `"balance"` or a number.
public enum PhaseCapital: Hashable, Sendable, Codable {
    /// The definition's ``ChallengeDefinition/initialCapital`` (the default): each phase starts from
    /// the programme's notional capital, as when a firm issues a fresh account per phase.
    case initial
    /// The adjusted balance at the moment the previous phase passed (results carry over).
    case balance
    /// This amount.
    case amount(FixedDecimal)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            switch text {
            case "initial": self = .initial
            case "balance": self = .balance
            default:
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "capital: \"initial\", \"balance\" or a number")
            }
        } else {
            self = .amount(try container.decode(FixedDecimal.self))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .initial: try container.encode("initial")
        case .balance: try container.encode("balance")
        case .amount(let amount): try container.encode(amount)
        }
    }
}

/// One phase of a challenge (evaluation, verification, funded, …).
public struct ChallengePhase: Hashable, Sendable, Codable {
    /// Shown in events and progress (`evaluation`, `verification`, `funded`).
    public var name: String
    /// What the phase enforces and requires.
    public var rules: RuleSet
    /// Default ``PhaseCapital/initial``.
    public var capital: PhaseCapital

    /// A phase; capital defaults to the definition's initial capital.
    public init(name: String, rules: RuleSet, capital: PhaseCapital = .initial) {
        self.name = name
        self.rules = rules
        self.capital = capital
    }
    private enum CodingKeys: String, CodingKey { case name, rules, capital }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        rules = try container.decode(RuleSet.self, forKey: .rules)
        capital = try container.decodeIfPresent(PhaseCapital.self, forKey: .capital) ?? .initial
    }
}

/// A challenge: phases of rules applied to one account from a start time. See
/// deploy/challenge-templates/README.md for the JSON and the semantics.
public struct ChallengeDefinition: Hashable, Sendable, Codable {
    /// Unique among the agent's challenges.
    public var id: String
    /// Free text for people (what the programme is modelled on); ignored by the engine.
    public var description: String?
    /// The account the challenge applies to.
    public var account: AccountID
    /// The programme's notional capital (e.g. 100000): percentages are of it, and the balance at the
    /// start reads as it.
    public var initialCapital: FixedDecimal
    /// JSON: `"YYYY-MM-DD HH:mm:ss.SSS"` broker time (milliseconds since 1970 also accepted).
    public var startTime: BrokerTime
    /// When trading days end. Default broker midnight.
    public var dayReset: DayReset
    /// Needed when ``dayReset`` names a time zone. The risk engine may fill it from the terminal's
    /// hello (`.fixed(utcOffsetSeconds:)`) when the definition leaves it out.
    public var brokerClock: BrokerClock?
    /// Passed in order; passing the last passes the challenge. A phase with no profit target (funded)
    /// never passes: it stays active until a rule fails it.
    public var phases: [ChallengePhase]
    /// Commands requested on failure, warnings and passes (none by default).
    public var enforcement: EnforcementOptions

    /// A definition; call ``validate()`` (or ``Challenge/init(definition:)``) before use.
    public init(id: String, description: String? = nil, account: AccountID, initialCapital: FixedDecimal, startTime: BrokerTime,
                dayReset: DayReset = .brokerMidnight, brokerClock: BrokerClock? = nil,
                phases: [ChallengePhase], enforcement: EnforcementOptions = EnforcementOptions()) {
        self.id = id
        self.description = description
        self.account = account
        self.initialCapital = initialCapital
        self.startTime = startTime
        self.dayReset = dayReset
        self.brokerClock = brokerClock
        self.phases = phases
        self.enforcement = enforcement
    }

    /// Refuses what cannot run: no phases, non-positive capital or limits, a bad reset or zone.
    public func validate() throws(RuleDefinitionError) {
        guard !phases.isEmpty else { throw .noPhases("challenge \(id) has no phases") }
        guard initialCapital > .zero else { throw .invalidAmount("challenge \(id) initialCapital must be positive") }
        guard startTime.isInCalendarRange else { throw .emptyWindow("challenge \(id) starts outside years 0000–9999") }
        try TradingDayClock.validate(reset: dayReset, brokerClock: brokerClock)
        for (index, phase) in phases.enumerated() {
            try phase.rules.validate(context: "phases[\(index)].rules")
            if case .amount(let amount) = phase.capital, amount <= .zero {
                throw .invalidAmount("phases[\(index)].capital must be positive")
            }
        }
    }

    private enum CodingKeys: String, CodingKey {
        case id, description, account, initialCapital, startTime, dayReset, brokerClock, phases, enforcement
    }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        account = try container.decode(AccountID.self, forKey: .account)
        initialCapital = try container.decode(FixedDecimal.self, forKey: .initialCapital)
        startTime = try decodeBrokerTime(container, .startTime)
        dayReset = try container.decodeIfPresent(DayReset.self, forKey: .dayReset) ?? .brokerMidnight
        brokerClock = try container.decodeIfPresent(BrokerClock.self, forKey: .brokerClock)
        phases = try container.decode([ChallengePhase].self, forKey: .phases)
        enforcement = try container.decodeIfPresent(EnforcementOptions.self, forKey: .enforcement) ?? EnforcementOptions()
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encode(account, forKey: .account)
        try container.encode(initialCapital, forKey: .initialCapital)
        try container.encode(startTime.formatted, forKey: .startTime)
        try container.encode(dayReset, forKey: .dayReset)
        try container.encodeIfPresent(brokerClock, forKey: .brokerClock)
        try container.encode(phases, forKey: .phases)
        try container.encode(enforcement, forKey: .enforcement)
    }
}

/// Reads a broker time written as `"YYYY-MM-DD HH:mm:ss.SSS"` (people edit these files) or as
/// milliseconds.
func decodeBrokerTime<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> BrokerTime {
    if let text = try? container.decode(String.self, forKey: key) {
        guard let time = BrokerTime(formatted: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                   debugDescription: "expected YYYY-MM-DD HH:mm:ss.SSS, got \(text)")
        }
        return time
    }
    return BrokerTime(milliseconds: try container.decode(Int64.self, forKey: key))
}
