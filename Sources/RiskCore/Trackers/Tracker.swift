import TidemarkProtocol

/// Which kind of threshold a tracker event reports.
public enum ExceededThresholdType: String, Hashable, Sendable, Codable {
    case drawdown, profit
}

/// A profit/drawdown tracker as declared: MetaApi's `NewTracker` body plus the account, the id
/// (chosen by the caller, so the declaration is a deterministic input) and the broker time at which
/// it was declared.
///
/// JSON (MetaApi names, times as `YYYY-MM-DD HH:mm:ss.SSS`):
/// `{"id":"t1","accountId":"Server:123","name":"daily","period":"day","startBrokerTime":"2024-01-31 00:00:00.000",
///   "absoluteDrawdownThreshold":500,"relativeProfitThreshold":0.1}`; `createdBrokerTime`,
/// `startBrokerTime` and `endBrokerTime` may be left out. Thresholds may be numbers or decimal strings.
public struct TrackerDefinition: Hashable, Sendable, Codable {
    /// Unique across all accounts.
    public var id: String
    /// The tracked account.
    public var accountId: AccountID
    /// Unique per account; the only field that can change after creation.
    public var name: String
    /// Which periods the tracker measures.
    public var period: TrackerPeriod
    /// When tracking starts. Nil: at `createdBrokerTime`, or at the first input of the account
    /// after the declaration when that is nil too.
    public var startBrokerTime: BrokerTime?
    /// When tracking ends (inclusive); nil: never.
    public var endBrokerTime: BrokerTime?
    /// Absolute drawdown that fires an event when strictly exceeded (account currency, > 0).
    public var absoluteDrawdownThreshold: FixedDecimal?
    /// Relative drawdown, a fraction of the period's initial balance (> 0).
    public var relativeDrawdownThreshold: FixedDecimal?
    /// Absolute profit (account currency, > 0).
    public var absoluteProfitThreshold: FixedDecimal?
    /// Relative profit, a fraction of the period's initial balance (> 0).
    public var relativeProfitThreshold: FixedDecimal?
    /// The broker time the tracker was declared at (the start when `startBrokerTime` is nil).
    public var createdBrokerTime: BrokerTime?

    /// A definition; see the properties for what each field means.
    public init(id: String, accountId: AccountID, name: String, period: TrackerPeriod,
                startBrokerTime: BrokerTime? = nil, endBrokerTime: BrokerTime? = nil,
                absoluteDrawdownThreshold: FixedDecimal? = nil, relativeDrawdownThreshold: FixedDecimal? = nil,
                absoluteProfitThreshold: FixedDecimal? = nil, relativeProfitThreshold: FixedDecimal? = nil,
                createdBrokerTime: BrokerTime? = nil) {
        self.id = id
        self.accountId = accountId
        self.name = name
        self.period = period
        self.startBrokerTime = startBrokerTime
        self.endBrokerTime = endBrokerTime
        self.absoluteDrawdownThreshold = absoluteDrawdownThreshold
        self.relativeDrawdownThreshold = relativeDrawdownThreshold
        self.absoluteProfitThreshold = absoluteProfitThreshold
        self.relativeProfitThreshold = relativeProfitThreshold
        self.createdBrokerTime = createdBrokerTime
    }

    /// Checks MetaApi's rules: a name, at least one threshold, every threshold > 0, end after start.
    public func validate() throws(RiskCoreError) {
        guard !name.isEmpty else { throw RiskCoreError.invalidName.with(detail: "tracker \(id): empty name") }
        let thresholds = [absoluteDrawdownThreshold, relativeDrawdownThreshold, absoluteProfitThreshold, relativeProfitThreshold]
        guard thresholds.contains(where: { $0 != nil }) else {
            throw RiskCoreError.missingThreshold.with(detail: "tracker \(id)")
        }
        for case let threshold? in thresholds where threshold.units <= 0 || !threshold.isExactAsJSONNumber {
            throw RiskCoreError.invalidThreshold.with(detail: "tracker \(id): \(threshold)")
        }
        for time in [startBrokerTime, endBrokerTime, createdBrokerTime].compactMap({ $0 }) where !time.isInCalendarRange {
            throw RiskCoreError.invalidTimeRange.with(detail: "tracker \(id): \(time.milliseconds) ms is outside years 0000–9999")
        }
        // An end equal to the start is allowed (the tracker ends as it starts): MetaApi's own
        // createTracker example sends one (https://metaapi.cloud/docs/risk-management/restApi/api/createTracker/).
        if let start = startBrokerTime ?? createdBrokerTime, let end = endBrokerTime, end < start {
            throw RiskCoreError.invalidTimeRange.with(detail: "tracker \(id): \(end) is before \(start)")
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, accountId, name, period, startBrokerTime, endBrokerTime, absoluteDrawdownThreshold,
             relativeDrawdownThreshold, absoluteProfitThreshold, relativeProfitThreshold, createdBrokerTime
        /// MetaApi's `Tracker` responses name the id `_id`.
        case metaApiID = "_id"
    }

    public init(from decoder: any Decoder) throws {
        try self.init(from: decoder, idKey: .id)
    }

    public func encode(to encoder: any Encoder) throws {
        try encode(to: encoder, idKey: .id)
    }

    /// Decodes MetaApi's `Tracker` shape: the same fields, with the id under `_id`.
    public init(metaApiTrackerFrom decoder: any Decoder) throws {
        try self.init(from: decoder, idKey: .metaApiID)
    }

    /// Encodes MetaApi's `Tracker` shape: the same fields, with the id under `_id`
    /// (`createdBrokerTime` only when set).
    public func encodeAsMetaApiTracker(to encoder: any Encoder) throws {
        try encode(to: encoder, idKey: .metaApiID)
    }

    private init(from decoder: any Decoder, idKey: CodingKeys) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: idKey)
        accountId = try c.decode(AccountID.self, forKey: .accountId)
        name = try c.decode(String.self, forKey: .name)
        period = try c.decode(TrackerPeriod.self, forKey: .period)
        startBrokerTime = try c.decodeBrokerTimeIfPresent(forKey: .startBrokerTime)
        endBrokerTime = try c.decodeBrokerTimeIfPresent(forKey: .endBrokerTime)
        absoluteDrawdownThreshold = try c.decodeIfPresent(FixedDecimal.self, forKey: .absoluteDrawdownThreshold)
        relativeDrawdownThreshold = try c.decodeIfPresent(FixedDecimal.self, forKey: .relativeDrawdownThreshold)
        absoluteProfitThreshold = try c.decodeIfPresent(FixedDecimal.self, forKey: .absoluteProfitThreshold)
        relativeProfitThreshold = try c.decodeIfPresent(FixedDecimal.self, forKey: .relativeProfitThreshold)
        createdBrokerTime = try c.decodeBrokerTimeIfPresent(forKey: .createdBrokerTime)
    }

    private func encode(to encoder: any Encoder, idKey: CodingKeys) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: idKey)
        try c.encode(accountId, forKey: .accountId)
        try c.encode(name, forKey: .name)
        try c.encode(period, forKey: .period)
        try c.encodeBrokerTimeIfPresent(startBrokerTime, forKey: .startBrokerTime)
        try c.encodeBrokerTimeIfPresent(endBrokerTime, forKey: .endBrokerTime)
        try c.encodeIfPresent(absoluteDrawdownThreshold, forKey: .absoluteDrawdownThreshold)
        try c.encodeIfPresent(relativeDrawdownThreshold, forKey: .relativeDrawdownThreshold)
        try c.encodeIfPresent(absoluteProfitThreshold, forKey: .absoluteProfitThreshold)
        try c.encodeIfPresent(relativeProfitThreshold, forKey: .relativeProfitThreshold)
        try c.encodeBrokerTimeIfPresent(createdBrokerTime, forKey: .createdBrokerTime)
    }
}

/// A threshold was strictly exceeded: MetaApi's `TrackerEvent`, plus the thresholds that were set.
public struct TrackerEvent: Hashable, Sendable, Codable {
    /// Global across every event of the risk core (trackers, challenges, competitions): gap-free, from 1.
    public var sequenceNumber: UInt64
    /// The account the tracker watches.
    public var accountId: AccountID
    /// The tracker that fired.
    public var trackerId: String
    /// The period's first millisecond.
    public var startBrokerTime: BrokerTime
    /// The period's last millisecond; nil for a `lifetime` period without end.
    public var endBrokerTime: BrokerTime?
    /// The tracker's period type.
    public var period: TrackerPeriod
    /// When the threshold was exceeded.
    public var brokerTime: BrokerTime
    /// Drawdown from the period's initial balance at `brokerTime` (account currency).
    public var absoluteDrawdown: FixedDecimal
    /// `absoluteDrawdown` as a fraction of the initial balance.
    public var relativeDrawdown: FixedDecimal
    /// Profit over the period's initial balance at `brokerTime` (account currency).
    public var absoluteProfit: FixedDecimal
    /// `absoluteProfit` as a fraction of the initial balance.
    public var relativeProfit: FixedDecimal
    /// Whether a drawdown or a profit threshold was exceeded.
    public var exceededThresholdType: ExceededThresholdType
    /// The tracker's absolute drawdown threshold, when set.
    public var absoluteDrawdownThreshold: FixedDecimal?
    /// The tracker's relative drawdown threshold, when set.
    public var relativeDrawdownThreshold: FixedDecimal?
    /// The tracker's absolute profit threshold, when set.
    public var absoluteProfitThreshold: FixedDecimal?
    /// The tracker's relative profit threshold, when set.
    public var relativeProfitThreshold: FixedDecimal?

    /// An event with every field given.
    public init(sequenceNumber: UInt64, accountId: AccountID, trackerId: String, startBrokerTime: BrokerTime,
                endBrokerTime: BrokerTime?, period: TrackerPeriod, brokerTime: BrokerTime,
                absoluteDrawdown: FixedDecimal, relativeDrawdown: FixedDecimal, absoluteProfit: FixedDecimal,
                relativeProfit: FixedDecimal, exceededThresholdType: ExceededThresholdType,
                absoluteDrawdownThreshold: FixedDecimal? = nil, relativeDrawdownThreshold: FixedDecimal? = nil,
                absoluteProfitThreshold: FixedDecimal? = nil, relativeProfitThreshold: FixedDecimal? = nil) {
        self.sequenceNumber = sequenceNumber
        self.accountId = accountId
        self.trackerId = trackerId
        self.startBrokerTime = startBrokerTime
        self.endBrokerTime = endBrokerTime
        self.period = period
        self.brokerTime = brokerTime
        self.absoluteDrawdown = absoluteDrawdown
        self.relativeDrawdown = relativeDrawdown
        self.absoluteProfit = absoluteProfit
        self.relativeProfit = relativeProfit
        self.exceededThresholdType = exceededThresholdType
        self.absoluteDrawdownThreshold = absoluteDrawdownThreshold
        self.relativeDrawdownThreshold = relativeDrawdownThreshold
        self.absoluteProfitThreshold = absoluteProfitThreshold
        self.relativeProfitThreshold = relativeProfitThreshold
    }

    enum CodingKeys: String, CodingKey {
        case sequenceNumber, accountId, trackerId, startBrokerTime, endBrokerTime, period, brokerTime,
             absoluteDrawdown, relativeDrawdown, absoluteProfit, relativeProfit, exceededThresholdType,
             absoluteDrawdownThreshold, relativeDrawdownThreshold, absoluteProfitThreshold, relativeProfitThreshold
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sequenceNumber = try c.decode(UInt64.self, forKey: .sequenceNumber)
        accountId = try c.decode(AccountID.self, forKey: .accountId)
        trackerId = try c.decode(String.self, forKey: .trackerId)
        startBrokerTime = try c.decodeBrokerTime(forKey: .startBrokerTime)
        endBrokerTime = try c.decodeBrokerTimeIfPresent(forKey: .endBrokerTime)
        period = try c.decode(TrackerPeriod.self, forKey: .period)
        brokerTime = try c.decodeBrokerTime(forKey: .brokerTime)
        absoluteDrawdown = try c.decode(FixedDecimal.self, forKey: .absoluteDrawdown)
        relativeDrawdown = try c.decode(FixedDecimal.self, forKey: .relativeDrawdown)
        absoluteProfit = try c.decode(FixedDecimal.self, forKey: .absoluteProfit)
        relativeProfit = try c.decode(FixedDecimal.self, forKey: .relativeProfit)
        exceededThresholdType = try c.decode(ExceededThresholdType.self, forKey: .exceededThresholdType)
        absoluteDrawdownThreshold = try c.decodeIfPresent(FixedDecimal.self, forKey: .absoluteDrawdownThreshold)
        relativeDrawdownThreshold = try c.decodeIfPresent(FixedDecimal.self, forKey: .relativeDrawdownThreshold)
        absoluteProfitThreshold = try c.decodeIfPresent(FixedDecimal.self, forKey: .absoluteProfitThreshold)
        relativeProfitThreshold = try c.decodeIfPresent(FixedDecimal.self, forKey: .relativeProfitThreshold)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sequenceNumber, forKey: .sequenceNumber)
        try c.encode(accountId, forKey: .accountId)
        try c.encode(trackerId, forKey: .trackerId)
        try c.encodeBrokerTime(startBrokerTime, forKey: .startBrokerTime)
        try c.encodeBrokerTimeIfPresent(endBrokerTime, forKey: .endBrokerTime)
        try c.encode(period, forKey: .period)
        try c.encodeBrokerTime(brokerTime, forKey: .brokerTime)
        try c.encode(absoluteDrawdown, forKey: .absoluteDrawdown)
        try c.encode(relativeDrawdown, forKey: .relativeDrawdown)
        try c.encode(absoluteProfit, forKey: .absoluteProfit)
        try c.encode(relativeProfit, forKey: .relativeProfit)
        try c.encode(exceededThresholdType, forKey: .exceededThresholdType)
        try c.encodeIfPresent(absoluteDrawdownThreshold, forKey: .absoluteDrawdownThreshold)
        try c.encodeIfPresent(relativeDrawdownThreshold, forKey: .relativeDrawdownThreshold)
        try c.encodeIfPresent(absoluteProfitThreshold, forKey: .absoluteProfitThreshold)
        try c.encodeIfPresent(relativeProfitThreshold, forKey: .relativeProfitThreshold)
    }
}

/// One period of one tracker: MetaApi's `PeriodStatistics`. The open period is the "realTime"
/// record; a closed one is emitted once, when its period ends.
public struct PeriodStatistics: Hashable, Sendable, Codable {
    /// The period's first millisecond.
    public var startBrokerTime: BrokerTime
    /// Last millisecond of the period; nil for a `lifetime` period without end.
    public var endBrokerTime: BrokerTime?
    /// The tracker's period type.
    public var period: TrackerPeriod
    /// Balance when the period began (the last balance known before its first input).
    public var initialBalance: FixedDecimal
    /// When the largest drawdown was reached.
    public var maxDrawdownTime: BrokerTime?
    /// The largest drawdown from the initial balance (account currency).
    public var maxAbsoluteDrawdown: FixedDecimal
    /// `maxAbsoluteDrawdown` as a fraction of the initial balance.
    public var maxRelativeDrawdown: FixedDecimal
    /// When the largest profit was reached.
    public var maxProfitTime: BrokerTime?
    /// The largest profit over the initial balance (account currency).
    public var maxAbsoluteProfit: FixedDecimal
    /// `maxAbsoluteProfit` as a fraction of the initial balance.
    public var maxRelativeProfit: FixedDecimal
    /// Set once a threshold was strictly exceeded; from then on the drawdown and profit figures
    /// stay as they were at that moment.
    public var thresholdExceeded: Bool
    /// Which threshold was exceeded, once one was.
    public var exceededThresholdType: ExceededThresholdType?
    /// Σ of deposits and withdrawals (balance deals) and credit deals in the period, removed from
    /// equity before drawdown and profit are measured.
    public var balanceAdjustment: FixedDecimal
    /// Distinct broker dates with a trade (buy or sell) deal in the period.
    public var tradeDayCount: Int

    /// Statistics of a period; figures default to zero, as at its start.
    public init(startBrokerTime: BrokerTime, endBrokerTime: BrokerTime?, period: TrackerPeriod,
                initialBalance: FixedDecimal, maxDrawdownTime: BrokerTime? = nil, maxAbsoluteDrawdown: FixedDecimal = .zero,
                maxRelativeDrawdown: FixedDecimal = .zero, maxProfitTime: BrokerTime? = nil,
                maxAbsoluteProfit: FixedDecimal = .zero, maxRelativeProfit: FixedDecimal = .zero,
                thresholdExceeded: Bool = false, exceededThresholdType: ExceededThresholdType? = nil,
                balanceAdjustment: FixedDecimal = .zero, tradeDayCount: Int = 0) {
        self.startBrokerTime = startBrokerTime
        self.endBrokerTime = endBrokerTime
        self.period = period
        self.initialBalance = initialBalance
        self.maxDrawdownTime = maxDrawdownTime
        self.maxAbsoluteDrawdown = maxAbsoluteDrawdown
        self.maxRelativeDrawdown = maxRelativeDrawdown
        self.maxProfitTime = maxProfitTime
        self.maxAbsoluteProfit = maxAbsoluteProfit
        self.maxRelativeProfit = maxRelativeProfit
        self.thresholdExceeded = thresholdExceeded
        self.exceededThresholdType = exceededThresholdType
        self.balanceAdjustment = balanceAdjustment
        self.tradeDayCount = tradeDayCount
    }

    enum CodingKeys: String, CodingKey {
        case startBrokerTime, endBrokerTime, period, initialBalance, maxDrawdownTime, maxAbsoluteDrawdown,
             maxRelativeDrawdown, maxProfitTime, maxAbsoluteProfit, maxRelativeProfit, thresholdExceeded,
             exceededThresholdType, balanceAdjustment, tradeDayCount
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        startBrokerTime = try c.decodeBrokerTime(forKey: .startBrokerTime)
        endBrokerTime = try c.decodeBrokerTimeIfPresent(forKey: .endBrokerTime)
        period = try c.decode(TrackerPeriod.self, forKey: .period)
        initialBalance = try c.decode(FixedDecimal.self, forKey: .initialBalance)
        maxDrawdownTime = try c.decodeBrokerTimeIfPresent(forKey: .maxDrawdownTime)
        maxAbsoluteDrawdown = try c.decode(FixedDecimal.self, forKey: .maxAbsoluteDrawdown)
        maxRelativeDrawdown = try c.decode(FixedDecimal.self, forKey: .maxRelativeDrawdown)
        maxProfitTime = try c.decodeBrokerTimeIfPresent(forKey: .maxProfitTime)
        maxAbsoluteProfit = try c.decode(FixedDecimal.self, forKey: .maxAbsoluteProfit)
        maxRelativeProfit = try c.decode(FixedDecimal.self, forKey: .maxRelativeProfit)
        thresholdExceeded = try c.decode(Bool.self, forKey: .thresholdExceeded)
        exceededThresholdType = try c.decodeIfPresent(ExceededThresholdType.self, forKey: .exceededThresholdType)
        balanceAdjustment = try c.decode(FixedDecimal.self, forKey: .balanceAdjustment)
        tradeDayCount = try c.decode(Int.self, forKey: .tradeDayCount)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBrokerTime(startBrokerTime, forKey: .startBrokerTime)
        try c.encodeBrokerTimeIfPresent(endBrokerTime, forKey: .endBrokerTime)
        try c.encode(period, forKey: .period)
        try c.encode(initialBalance, forKey: .initialBalance)
        try c.encodeBrokerTimeIfPresent(maxDrawdownTime, forKey: .maxDrawdownTime)
        try c.encode(maxAbsoluteDrawdown, forKey: .maxAbsoluteDrawdown)
        try c.encode(maxRelativeDrawdown, forKey: .maxRelativeDrawdown)
        try c.encodeBrokerTimeIfPresent(maxProfitTime, forKey: .maxProfitTime)
        try c.encode(maxAbsoluteProfit, forKey: .maxAbsoluteProfit)
        try c.encode(maxRelativeProfit, forKey: .maxRelativeProfit)
        try c.encode(thresholdExceeded, forKey: .thresholdExceeded)
        try c.encodeIfPresent(exceededThresholdType, forKey: .exceededThresholdType)
        try c.encode(balanceAdjustment, forKey: .balanceAdjustment)
        try c.encode(tradeDayCount, forKey: .tradeDayCount)
    }
}
