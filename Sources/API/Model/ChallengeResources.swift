import Foundation
import RiskCore
import TidemarkProtocol

// The API's own shapes of challenges and competitions, built from the risk core's values at the
// API's edge (the risk core's `Codable` forms are its checkpoints'). One convention throughout:
// references end in `Id`, broker times end in `BrokerTime` (or are `brokerTime`) and read
// `YYYY-MM-DD HH:mm:ss.SSS`, real instants end in `At` (ISO 8601, UTC), amounts are JSON numbers
// (``APIJSON``), and phases are numbered from 1, as sequence numbers and ranks are.

/// A challenge definition in the API's names: what `POST …/challenges` takes and what the
/// challenge resource shows. Phases, rules, the day reset, the broker clock and enforcement keep
/// the vocabulary of deploy/challenge-templates/README.md.
public struct ChallengeDefinitionResource: Codable, Hashable, Sendable {
    /// The challenge id.
    public var id: String
    /// Free text for people.
    public var description: String?
    /// The challenged account (`server:login`).
    public var accountId: AccountID
    /// The programme's notional capital.
    public var initialCapital: FixedDecimal
    /// When the first phase starts (broker time).
    public var startBrokerTime: BrokerTime
    /// When trading days end.
    public var dayReset: DayReset
    /// The broker's clock, when `dayReset` names a time zone.
    public var brokerClock: BrokerClock?
    /// The phases, passed in order.
    public var phases: [ChallengePhase]
    /// Commands requested on failure, warnings and passes.
    public var enforcement: EnforcementOptions

    /// The API's view of a declared challenge.
    public init(_ definition: ChallengeDefinition) {
        id = definition.id; description = definition.description; accountId = definition.account
        initialCapital = definition.initialCapital; startBrokerTime = definition.startTime
        dayReset = definition.dayReset; brokerClock = definition.brokerClock
        phases = definition.phases; enforcement = definition.enforcement
    }

    /// The declaration for the risk core.
    public var definition: ChallengeDefinition {
        ChallengeDefinition(id: id, description: description, account: accountId, initialCapital: initialCapital,
                            startTime: startBrokerTime, dayReset: dayReset, brokerClock: brokerClock,
                            phases: phases, enforcement: enforcement)
    }

    private enum CodingKeys: String, CodingKey {
        case id, description, accountId, initialCapital, startBrokerTime, dayReset, brokerClock, phases, enforcement
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        accountId = try container.decode(AccountID.self, forKey: .accountId)
        initialCapital = try container.decode(FixedDecimal.self, forKey: .initialCapital)
        startBrokerTime = try container.decode(BrokerTime.self, forKey: .startBrokerTime)
        dayReset = try container.decodeIfPresent(DayReset.self, forKey: .dayReset) ?? .brokerMidnight
        brokerClock = try container.decodeIfPresent(BrokerClock.self, forKey: .brokerClock)
        phases = try container.decode([ChallengePhase].self, forKey: .phases)
        enforcement = try container.decodeIfPresent(EnforcementOptions.self, forKey: .enforcement) ?? EnforcementOptions()
    }
}

/// A rule broken (or a warn-only cap exceeded).
public struct RuleBreachResource: Codable, Hashable, Sendable {
    /// Which rule.
    public var rule: RuleKind
    /// When.
    public var brokerTime: BrokerTime
    /// The measured value.
    public var value: FixedDecimal
    /// The limit it went over.
    public var limit: FixedDecimal
    /// Whether it fails the challenge (or disqualifies).
    public var isFatal: Bool
    /// For equity floors: the floor.
    public var floor: FixedDecimal?
    /// For equity floors: the adjusted equity that went below it.
    public var equity: FixedDecimal?

    /// The API's view of a breach.
    public init(_ breach: RuleBreach) {
        rule = breach.rule; brokerTime = breach.brokerTime; value = breach.value; limit = breach.limit
        isFatal = breach.isFatal; floor = breach.floor; equity = breach.equity
    }
}

/// One rule's standing.
public struct RuleProgressResource: Codable, Hashable, Sendable {
    /// Which rule.
    public var rule: RuleKind
    /// The measured value.
    public var value: FixedDecimal
    /// The limit or target.
    public var limit: FixedDecimal
    /// How far from the limit (from the target, for requirements).
    public var headroom: FixedDecimal
    /// Satisfied, pending or breached.
    public var status: RuleProgress.Status
    /// For equity floors: the floor now.
    public var floor: FixedDecimal?

    /// The API's view of a rule's progress.
    public init(_ progress: RuleProgress) {
        rule = progress.rule; value = progress.value; limit = progress.limit; headroom = progress.headroom
        status = progress.status; floor = progress.floor
    }
}

/// A challenge's live status (`GET …/challenges/{challengeId}/status`).
public struct ChallengeProgressResource: Codable, Hashable, Sendable {
    /// The challenge.
    public var challengeId: String
    /// The challenged account.
    public var accountId: AccountID
    /// Not started, active, passed or failed.
    public var status: ChallengeStatus
    /// The current (or deciding) phase, numbered from 1.
    public var phase: Int
    /// The phase's name.
    public var phaseName: String
    /// When the current phase began (broker time); absent before the start.
    public var phaseStartBrokerTime: BrokerTime?
    /// When the challenge passed or failed (broker time).
    public var decidedBrokerTime: BrokerTime?
    /// The breach that failed it.
    public var failure: RuleBreachResource?
    /// The capital the phase measures against.
    public var initialCapital: FixedDecimal
    /// The adjusted balance.
    public var balance: FixedDecimal
    /// The adjusted equity.
    public var equity: FixedDecimal
    /// When the current trading day began (broker time).
    public var tradingDayStartBrokerTime: BrokerTime?
    /// Every rule of the phase.
    public var rules: [RuleProgressResource]

    /// The API's view of a challenge's progress.
    public init(_ progress: ChallengeProgress) {
        challengeId = progress.challengeID; accountId = progress.account; status = progress.status
        phase = progress.phase + 1; phaseName = progress.phaseName
        phaseStartBrokerTime = progress.phaseStartTime; decidedBrokerTime = progress.decidedAt
        failure = progress.failure.map(RuleBreachResource.init); initialCapital = progress.initialCapital
        balance = progress.balance; equity = progress.equity; tradingDayStartBrokerTime = progress.tradingDayStart
        rules = progress.rules.map(RuleProgressResource.init)
    }
}

/// A challenge: its definition and its live status.
public struct ChallengeResource: Codable, Hashable, Sendable {
    /// The challenge id.
    public var id: String
    /// The challenged account.
    public var accountId: AccountID
    /// The definition, as declared (template expanded).
    public var definition: ChallengeDefinitionResource
    /// The live status.
    public var progress: ChallengeProgressResource?

    /// The API's view of a challenge record.
    public init(_ record: ChallengeRecord) {
        id = record.id; accountId = record.accountId
        definition = ChallengeDefinitionResource(record.definition)
        progress = record.progress.map(ChallengeProgressResource.init)
    }
}

/// A challenge event (`GET /users/current/challenge-events/…`, streams, webhooks).
public struct ChallengeEventResource: Codable, Hashable, Sendable {
    /// The risk core's global, gap-free sequence number.
    public var sequenceNumber: UInt64
    /// What happened.
    public var kind: ChallengeEvent.Kind
    /// The challenge.
    public var challengeId: String
    /// The challenged account.
    public var accountId: AccountID
    /// The phase, numbered from 1.
    public var phase: Int
    /// The phase's name.
    public var phaseName: String
    /// When (broker time).
    public var brokerTime: BrokerTime
    /// The breach, for failures and warnings.
    public var breach: RuleBreachResource?
    /// For `phaseStarted`: the capital the phase measures against.
    public var initialCapital: FixedDecimal?
    /// The commands sent to the terminal.
    public var enforcement: [CommandKind]

    /// The API's view of a challenge event.
    public init(sequenceNumber: UInt64, _ event: ChallengeEvent) {
        self.sequenceNumber = sequenceNumber; kind = event.kind; challengeId = event.challengeID; accountId = event.account
        phase = event.phase + 1; phaseName = event.phaseName; brokerTime = event.brokerTime
        breach = event.breach.map(RuleBreachResource.init); initialCapital = event.initialCapital; enforcement = event.enforcement
    }
}

/// A competition definition in the API's names: what `POST /users/current/competitions` takes.
public struct CompetitionDefinitionResource: Codable, Hashable, Sendable {
    /// The competition id.
    public var id: String
    /// Free text for people.
    public var description: String?
    /// The competing accounts.
    public var accountIds: [AccountID]
    /// When it starts (broker time of each account).
    public var startBrokerTime: BrokerTime
    /// When it ends (broker time of each account).
    public var endBrokerTime: BrokerTime
    /// What ranks the entrants.
    public var metric: CompetitionMetric
    /// Disqualification rules.
    public var rules: RuleSet
    /// When trading days end.
    public var dayReset: DayReset
    /// The broker's clock, when `dayReset` names a time zone.
    public var brokerClock: BrokerClock?
    /// Commands requested on disqualification.
    public var enforcement: EnforcementOptions
    /// The floor of the drawdown `gainToMaxDrawdown` divides by, in percent.
    public var minimumDrawdownPercent: FixedDecimal

    /// The API's view of a declared competition.
    public init(_ definition: CompetitionDefinition) {
        id = definition.id; description = definition.description; accountIds = definition.accounts
        startBrokerTime = definition.startTime; endBrokerTime = definition.endTime; metric = definition.metric
        rules = definition.rules; dayReset = definition.dayReset; brokerClock = definition.brokerClock
        enforcement = definition.enforcement; minimumDrawdownPercent = definition.minimumDrawdownPercent
    }

    private enum CodingKeys: String, CodingKey {
        case id, description, accountIds, startBrokerTime, endBrokerTime, metric, rules, dayReset, brokerClock, enforcement
        case minimumDrawdownPercent
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        accountIds = try container.decode([AccountID].self, forKey: .accountIds)
        startBrokerTime = try container.decode(BrokerTime.self, forKey: .startBrokerTime)
        endBrokerTime = try container.decode(BrokerTime.self, forKey: .endBrokerTime)
        metric = try container.decode(CompetitionMetric.self, forKey: .metric)
        rules = try container.decodeIfPresent(RuleSet.self, forKey: .rules) ?? RuleSet()
        dayReset = try container.decodeIfPresent(DayReset.self, forKey: .dayReset) ?? .brokerMidnight
        brokerClock = try container.decodeIfPresent(BrokerClock.self, forKey: .brokerClock)
        enforcement = try container.decodeIfPresent(EnforcementOptions.self, forKey: .enforcement) ?? EnforcementOptions()
        minimumDrawdownPercent = try container.decodeIfPresent(FixedDecimal.self, forKey: .minimumDrawdownPercent) ?? 1
    }

    /// The declaration for the risk core.
    public var definition: CompetitionDefinition {
        CompetitionDefinition(id: id, description: description, accounts: accountIds, startTime: startBrokerTime,
                              endTime: endBrokerTime, metric: metric, rules: rules, dayReset: dayReset,
                              brokerClock: brokerClock, enforcement: enforcement, minimumDrawdownPercent: minimumDrawdownPercent)
    }
}

/// A competition: its definition (the leaderboard is its own route).
public struct CompetitionResource: Codable, Hashable, Sendable {
    /// The competition id.
    public var id: String
    /// The competing accounts.
    public var accountIds: [AccountID]
    /// The definition, as declared.
    public var definition: CompetitionDefinitionResource

    /// The API's view of a competition record.
    public init(_ record: CompetitionRecord) {
        id = record.id; accountIds = record.definition.accounts
        definition = CompetitionDefinitionResource(record.definition)
    }
}

/// One line of a leaderboard.
public struct LeaderboardEntryResource: Codable, Hashable, Sendable {
    /// From 1; absent while unranked (disqualified, or no figures yet).
    public var rank: Int?
    /// The entrant.
    public var accountId: AccountID
    /// The ranking metric's value.
    public var value: FixedDecimal?
    /// Gain in percent of the initial capital.
    public var gainPercent: FixedDecimal?
    /// Profit in the account currency.
    public var profit: FixedDecimal?
    /// The largest drawdown so far, in percent.
    public var maxDrawdownPercent: FixedDecimal?
    /// The entrant's capital at the start.
    public var initialCapital: FixedDecimal?
    /// The adjusted equity now.
    public var equity: FixedDecimal?
    /// The breach that disqualified the entrant.
    public var disqualification: RuleBreachResource?

    /// The API's view of a leaderboard entry.
    public init(_ entry: LeaderboardEntry) {
        rank = entry.rank; accountId = entry.account; value = entry.value; gainPercent = entry.gainPercent
        profit = entry.profit; maxDrawdownPercent = entry.maxDrawdownPercent; initialCapital = entry.initialCapital
        equity = entry.equity; disqualification = entry.disqualification.map(RuleBreachResource.init)
    }
}

/// A competition event (`GET /users/current/competition-events/…`, streams, webhooks).
public struct CompetitionEventResource: Codable, Hashable, Sendable {
    /// The risk core's global, gap-free sequence number.
    public var sequenceNumber: UInt64
    /// What happened.
    public var kind: CompetitionEvent.Kind
    /// The competition.
    public var competitionId: String
    /// When (broker time).
    public var brokerTime: BrokerTime
    /// The entrant concerned; absent for the whole competition's events.
    public var accountId: AccountID?
    /// The rank before, for `rankChanged`.
    public var previousRank: Int?
    /// The rank now.
    public var rank: Int?
    /// The ranking metric's value.
    public var value: FixedDecimal?
    /// The breach, for `disqualified`.
    public var breach: RuleBreachResource?
    /// The commands sent to the terminal.
    public var enforcement: [CommandKind]

    /// The API's view of a competition event.
    public init(sequenceNumber: UInt64, _ event: CompetitionEvent) {
        self.sequenceNumber = sequenceNumber; kind = event.kind; competitionId = event.competitionID
        brokerTime = event.brokerTime; accountId = event.account; previousRank = event.previousRank; rank = event.rank
        value = event.value; breach = event.breach.map(RuleBreachResource.init); enforcement = event.enforcement
    }
}
