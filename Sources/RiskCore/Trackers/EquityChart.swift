import TidemarkProtocol

/// One broker-time hour of an account's balance and equity: MetaApi's `EquityChartItem`.
///
/// Averages are time-weighted: each observation's value counts for as long as it held within the
/// hour — from its own time to the next observation's, the last one up to the hour's end — and the
/// weights start at the hour's *first observation* (the value carried in from the previous hour
/// is not counted, so the average always lies between `min…` and `max…`). For the open hour the
/// last value counts up to the latest input time seen for the account. Averages are rounded to
/// eight decimals, half away from zero. Hours without any observation have no record (MetaApi
/// leaves such skips to the reader).
public struct EquityChartRecord: Hashable, Sendable, Codable {
    /// The hour's first millisecond.
    public var startBrokerTime: BrokerTime
    /// The hour's last millisecond.
    public var endBrokerTime: BrokerTime
    /// Time-weighted average balance over the hour.
    public var averageBalance: FixedDecimal
    /// Lowest balance in the hour.
    public var minBalance: FixedDecimal
    /// Highest balance in the hour.
    public var maxBalance: FixedDecimal
    /// Time-weighted average equity over the hour.
    public var averageEquity: FixedDecimal
    /// Lowest equity in the hour.
    public var minEquity: FixedDecimal
    /// Highest equity in the hour.
    public var maxEquity: FixedDecimal
    /// The first observation of the hour.
    public var startBalance: FixedDecimal
    /// Equity at the hour's first observation.
    public var startEquity: FixedDecimal
    /// The last observation of the hour.
    public var lastBalance: FixedDecimal
    /// Equity at the hour's last observation.
    public var lastEquity: FixedDecimal

    /// A chart hour with every figure given.
    public init(startBrokerTime: BrokerTime, endBrokerTime: BrokerTime, averageBalance: FixedDecimal,
                minBalance: FixedDecimal, maxBalance: FixedDecimal, averageEquity: FixedDecimal, minEquity: FixedDecimal,
                maxEquity: FixedDecimal, startBalance: FixedDecimal, startEquity: FixedDecimal,
                lastBalance: FixedDecimal, lastEquity: FixedDecimal) {
        self.startBrokerTime = startBrokerTime
        self.endBrokerTime = endBrokerTime
        self.averageBalance = averageBalance
        self.minBalance = minBalance
        self.maxBalance = maxBalance
        self.averageEquity = averageEquity
        self.minEquity = minEquity
        self.maxEquity = maxEquity
        self.startBalance = startBalance
        self.startEquity = startEquity
        self.lastBalance = lastBalance
        self.lastEquity = lastEquity
    }

    enum CodingKeys: String, CodingKey {
        case startBrokerTime, endBrokerTime, averageBalance, minBalance, maxBalance, averageEquity, minEquity,
             maxEquity, startBalance, startEquity, lastBalance, lastEquity
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        startBrokerTime = try c.decodeBrokerTime(forKey: .startBrokerTime)
        endBrokerTime = try c.decodeBrokerTime(forKey: .endBrokerTime)
        averageBalance = try c.decode(FixedDecimal.self, forKey: .averageBalance)
        minBalance = try c.decode(FixedDecimal.self, forKey: .minBalance)
        maxBalance = try c.decode(FixedDecimal.self, forKey: .maxBalance)
        averageEquity = try c.decode(FixedDecimal.self, forKey: .averageEquity)
        minEquity = try c.decode(FixedDecimal.self, forKey: .minEquity)
        maxEquity = try c.decode(FixedDecimal.self, forKey: .maxEquity)
        startBalance = try c.decode(FixedDecimal.self, forKey: .startBalance)
        startEquity = try c.decode(FixedDecimal.self, forKey: .startEquity)
        lastBalance = try c.decode(FixedDecimal.self, forKey: .lastBalance)
        lastEquity = try c.decode(FixedDecimal.self, forKey: .lastEquity)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeBrokerTime(startBrokerTime, forKey: .startBrokerTime)
        try c.encodeBrokerTime(endBrokerTime, forKey: .endBrokerTime)
        try c.encode(averageBalance, forKey: .averageBalance)
        try c.encode(minBalance, forKey: .minBalance)
        try c.encode(maxBalance, forKey: .maxBalance)
        try c.encode(averageEquity, forKey: .averageEquity)
        try c.encode(minEquity, forKey: .minEquity)
        try c.encode(maxEquity, forKey: .maxEquity)
        try c.encode(startBalance, forKey: .startBalance)
        try c.encode(startEquity, forKey: .startEquity)
        try c.encode(lastBalance, forKey: .lastBalance)
        try c.encode(lastEquity, forKey: .lastEquity)
    }
}

/// The open hour of an account's equity chart as MetaApi's `realTime` chart shows it: the record
/// so far plus the running sums its SDKs' chart stream continues from (metaapi-cloud-sdk,
/// `equity_chart_stream_manager.py`: `averageEquity = equitySum / duration`, and each new price
/// adds `milliseconds held × equity` to the sum).
public struct OpenEquityChartHour: Hashable, Sendable {
    /// The hour so far, averaged up to ``brokerTime``.
    public var record: EquityChartRecord
    /// The latest input time seen for the account: the averages run up to it.
    public var brokerTime: BrokerTime
    /// Milliseconds the averages weigh: from the hour's first observation to ``brokerTime``.
    public var durationMilliseconds: Int64
    /// Σ equity × milliseconds held over ``durationMilliseconds``, in 10⁻⁸ account-currency
    /// milliseconds (exact; beyond `FixedDecimal`'s range for an hour of any real account).
    public var equitySumUnits: Int128
    /// Σ balance × milliseconds held, in the same units.
    public var balanceSumUnits: Int128

    /// An open hour with every figure given.
    public init(record: EquityChartRecord, brokerTime: BrokerTime, durationMilliseconds: Int64,
                equitySumUnits: Int128, balanceSumUnits: Int128) {
        self.record = record
        self.brokerTime = brokerTime
        self.durationMilliseconds = durationMilliseconds
        self.equitySumUnits = equitySumUnits
        self.balanceSumUnits = balanceSumUnits
    }
}

/// The open hour of an account's equity chart.
struct EquityChartHour: Hashable, Sendable, Codable {
    static let millisecondsPerHour: Int64 = 3_600_000

    var start: BrokerTime
    var firstTime: BrokerTime
    var lastTime: BrokerTime
    var startBalance: FixedDecimal
    var startEquity: FixedDecimal
    var minBalance: FixedDecimal
    var maxBalance: FixedDecimal
    var minEquity: FixedDecimal
    var maxEquity: FixedDecimal
    var lastBalance: FixedDecimal
    var lastEquity: FixedDecimal
    /// Σ value.units × milliseconds held, from `firstTime` to `lastTime`.
    var balanceArea: Int128 = 0
    var equityArea: Int128 = 0

    init(time: BrokerTime, balance: FixedDecimal, equity: FixedDecimal) {
        start = BrokerTime(milliseconds: RiskMath.floorDivide(time.milliseconds, Self.millisecondsPerHour) * Self.millisecondsPerHour)
        firstTime = time
        lastTime = time
        startBalance = balance
        startEquity = equity
        minBalance = balance
        maxBalance = balance
        minEquity = equity
        maxEquity = equity
        lastBalance = balance
        lastEquity = equity
    }

    /// The first millisecond after the hour.
    var next: BrokerTime { BrokerTime(milliseconds: start.milliseconds + Self.millisecondsPerHour) }

    /// Adds an observation at `time` (within the hour, not before `lastTime`).
    mutating func observe(time: BrokerTime, balance: FixedDecimal, equity: FixedDecimal) {
        hold(until: time)
        if balance < minBalance { minBalance = balance }
        if balance > maxBalance { maxBalance = balance }
        if equity < minEquity { minEquity = equity }
        if equity > maxEquity { maxEquity = equity }
        lastBalance = balance
        lastEquity = equity
    }

    private mutating func hold(until time: BrokerTime) {
        let held = time.milliseconds - lastTime.milliseconds
        guard held > 0 else { return }
        balanceArea += Int128(lastBalance.units) * Int128(held)
        equityArea += Int128(lastEquity.units) * Int128(held)
        lastTime = time
    }

    /// The open hour with the last value held up to `until`, and the sums behind its averages.
    func open(until: BrokerTime) -> OpenEquityChartHour {
        var copy = self
        copy.hold(until: until)
        return OpenEquityChartHour(record: record(until: until), brokerTime: copy.lastTime,
                                   durationMilliseconds: copy.lastTime.milliseconds - firstTime.milliseconds,
                                   equitySumUnits: copy.equityArea, balanceSumUnits: copy.balanceArea)
    }

    /// The record with the last value held up to `until` (the hour's end when closing).
    func record(until: BrokerTime) -> EquityChartRecord {
        var copy = self
        copy.hold(until: until)
        let weight = Int128(copy.lastTime.milliseconds - firstTime.milliseconds)
        func average(_ area: Int128, last: FixedDecimal) -> FixedDecimal {
            weight > 0 ? FixedDecimal(units: Int64(FixedDecimal.divideRounded(area, by: weight))) : last
        }
        return EquityChartRecord(
            startBrokerTime: start, endBrokerTime: BrokerTime(milliseconds: next.milliseconds - 1),
            averageBalance: average(copy.balanceArea, last: lastBalance), minBalance: minBalance, maxBalance: maxBalance,
            averageEquity: average(copy.equityArea, last: lastEquity), minEquity: minEquity, maxEquity: maxEquity,
            startBalance: startBalance, startEquity: startEquity, lastBalance: lastBalance, lastEquity: lastEquity)
    }
}
