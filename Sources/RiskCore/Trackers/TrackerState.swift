import TidemarkProtocol

/// What the account looked like just before the input being applied: a period that begins now
/// takes its initial balance from here.
struct AccountFacts {
    var balanceKnown: Bool
    var balance: FixedDecimal
}

/// One tracker's live state: its definition and its open period.
///
/// Inputs arrive through ``reach(_:facts:sink:)`` (which starts, rolls over and ends periods),
/// then ``observe(time:balance:equity:sink:)`` or ``apply(deal:sink:)``.
struct TrackerState: Hashable, Sendable, Codable {
    var definition: TrackerDefinition
    /// The start of tracking, once known (see ``TrackerDefinition/startBrokerTime``).
    var anchor: BrokerTime?
    /// True once the tracker's end has passed; it then ignores everything.
    var finished = false
    var open: OpenPeriod?
    /// The last millisecond at which the open period and the tracker both still run
    /// (`Int64.min` while no period is open): the fast-path test of ``reach(_:facts:sink:)``.
    var openUntil: Int64 = .min

    init(definition: TrackerDefinition) {
        self.definition = definition
        self.anchor = definition.startBrokerTime ?? definition.createdBrokerTime
    }

    /// Brings the tracker to `time`: closes the open period if `time` is past its end, ends the
    /// tracker past its end, opens the period containing `time`. Returns false when the tracker
    /// does not track at `time` (not started, or finished).
    @inline(__always)
    mutating func reach(_ time: BrokerTime, facts: AccountFacts, sink: inout OutputSink) -> Bool {
        // Fast path, taken by almost every tick: inside the open period and before the tracker's end.
        if time.milliseconds <= openUntil { return true }
        return reachSlowly(time, facts: facts, sink: &sink)
    }

    private mutating func reachSlowly(_ time: BrokerTime, facts: AccountFacts, sink: inout OutputSink) -> Bool {
        if finished { return false }
        let start: BrokerTime
        if let anchor {
            start = anchor
        } else {
            start = time
            anchor = time
        }
        if time < start { return false }
        if let end = definition.endBrokerTime, time > end {
            closeOpenPeriod(sink: &sink)
            finished = true
            return false
        }
        if let end = open?.end, time > end {
            closeOpenPeriod(sink: &sink)
        }
        if open == nil {
            let bounds = definition.period.bounds(containing: time, anchor: start, trackerEnd: definition.endBrokerTime)
            open = OpenPeriod(bounds: bounds, facts: facts)
            openUntil = min(bounds.end?.milliseconds ?? .max, definition.endBrokerTime?.milliseconds ?? .max)
        }
        return true
    }

    private mutating func closeOpenPeriod(sink: inout OutputSink) {
        guard let period = open else { return }
        sink.outputs.append(.periodStatistics(accountId: definition.accountId, trackerId: definition.id,
                                              statistics: period.statistics(definition.period)))
        open = nil
        openUntil = .min
    }

    /// Folds one balance/equity observation into the open period (after ``reach(_:facts:sink:)``).
    /// - Throws: ``ArithmeticOverflow`` when the period's figures would leave the decimal range
    ///   (the period keeps its figures).
    @inline(__always)
    mutating func observe(time: BrokerTime, balance: FixedDecimal, equity: FixedDecimal,
                          sink: inout OutputSink) throws(ArithmeticOverflow) {
        // Optional chaining mutates the open period in place (no copy out and back).
        try open?.observe(time: time, balance: balance, equity: equity, definition: definition, sink: &sink)
    }

    /// Folds a deal into the open period (after ``reach(_:facts:sink:)``): balance and credit
    /// operations adjust equity; trades count trading days.
    /// - Throws: ``ArithmeticOverflow`` when the adjustment would leave the decimal range.
    mutating func apply(deal: Deal) throws(ArithmeticOverflow) {
        guard open != nil else { return }
        switch deal.type {
        case .balance, .credit:
            // Charged to the period open when the deal arrives: that is where its balance change shows.
            open!.balanceAdjustment = try open!.balanceAdjustment.adding(deal.profit)
        case .buy, .sell:
            guard deal.time >= open!.start else { return }  // a late deal of an earlier period
            open!.countTradeDay(CivilTime(deal.time).daysSinceEpoch)
        default:
            break
        }
    }

    /// The open period's statistics ("realTime").
    var currentStatistics: PeriodStatistics? { open?.statistics(definition.period) }
}

/// The figures of one open period.
struct OpenPeriod: Hashable, Sendable, Codable {
    var start: BrokerTime
    var end: BrokerTime?
    var initialBalanceKnown: Bool
    var initialBalance: FixedDecimal
    var balanceAdjustment: FixedDecimal = .zero
    var maxAbsoluteDrawdown: FixedDecimal = .zero
    var maxRelativeDrawdown: FixedDecimal = .zero
    var maxDrawdownTime: BrokerTime?
    var maxAbsoluteProfit: FixedDecimal = .zero
    var maxRelativeProfit: FixedDecimal = .zero
    var maxProfitTime: BrokerTime?
    /// Set when the period's one event fired; the drawdown/profit figures are frozen from then on.
    var exceeded: ExceededThresholdType?
    /// Days since 1970 of the trade days seen, ascending.
    var tradeDays: [Int] = []

    init(bounds: PeriodBounds, facts: AccountFacts) {
        start = bounds.start
        end = bounds.end
        initialBalanceKnown = facts.balanceKnown
        initialBalance = facts.balanceKnown ? facts.balance : .zero
    }

    mutating func observe(time: BrokerTime, balance: FixedDecimal, equity: FixedDecimal,
                          definition: TrackerDefinition, sink: inout OutputSink) throws(ArithmeticOverflow) {
        if !initialBalanceKnown {
            initialBalanceKnown = true
            initialBalance = balance
        }
        guard exceeded == nil else { return }  // frozen after its one event
        // Checked before anything changes: three in-range figures can differ beyond the range.
        let adjustedEquity = try equity.subtracting(balanceAdjustment)
        let initial = initialBalance
        let drawdown = try initial.subtracting(adjustedEquity)
        let profit = -drawdown  // in range: the checked difference never yields Int64.min
        if drawdown > maxAbsoluteDrawdown {
            maxAbsoluteDrawdown = drawdown
            maxRelativeDrawdown = RiskMath.relative(drawdown, to: initial)
            maxDrawdownTime = time
            if Self.exceeds(drawdown, absolute: definition.absoluteDrawdownThreshold,
                            relative: definition.relativeDrawdownThreshold, initial: initial) {
                fire(.drawdown, time: time, drawdown: drawdown, profit: .zero, definition: definition, sink: &sink)
            }
            return
        }
        if profit > maxAbsoluteProfit {
            maxAbsoluteProfit = profit
            maxRelativeProfit = RiskMath.relative(profit, to: initial)
            maxProfitTime = time
            if Self.exceeds(profit, absolute: definition.absoluteProfitThreshold,
                            relative: definition.relativeProfitThreshold, initial: initial) {
                fire(.profit, time: time, drawdown: .zero, profit: profit, definition: definition, sink: &sink)
            }
        }
    }

    /// Strictly greater than an absolute threshold, or than a relative one × initial balance.
    private static func exceeds(_ amount: FixedDecimal, absolute: FixedDecimal?, relative: FixedDecimal?,
                                initial: FixedDecimal) -> Bool {
        if let absolute, amount > absolute { return true }
        if let relative, initial.units > 0, RiskMath.exceeds(amount, fraction: relative, of: initial) { return true }
        return false
    }

    private mutating func fire(_ type: ExceededThresholdType, time: BrokerTime, drawdown: FixedDecimal,
                               profit: FixedDecimal, definition: TrackerDefinition, sink: inout OutputSink) {
        exceeded = type
        let initial = initialBalance
        sink.outputs.append(.trackerEvent(TrackerEvent(
            sequenceNumber: sink.takeSequenceNumber(), accountId: definition.accountId, trackerId: definition.id,
            startBrokerTime: start, endBrokerTime: end, period: definition.period, brokerTime: time,
            absoluteDrawdown: drawdown, relativeDrawdown: RiskMath.relative(drawdown, to: initial),
            absoluteProfit: profit, relativeProfit: RiskMath.relative(profit, to: initial),
            exceededThresholdType: type,
            absoluteDrawdownThreshold: definition.absoluteDrawdownThreshold,
            relativeDrawdownThreshold: definition.relativeDrawdownThreshold,
            absoluteProfitThreshold: definition.absoluteProfitThreshold,
            relativeProfitThreshold: definition.relativeProfitThreshold)))
    }

    mutating func countTradeDay(_ day: Int) {
        if let last = tradeDays.last, day <= last {
            // Deals usually come in time order; an out-of-order one is inserted in place.
            if day == last || tradeDays.contains(day) { return }
            let index = tradeDays.firstIndex(where: { $0 > day }) ?? tradeDays.endIndex
            tradeDays.insert(day, at: index)
        } else {
            tradeDays.append(day)
        }
    }

    func statistics(_ period: TrackerPeriod) -> PeriodStatistics {
        PeriodStatistics(startBrokerTime: start, endBrokerTime: end, period: period, initialBalance: initialBalance,
                         maxDrawdownTime: maxDrawdownTime, maxAbsoluteDrawdown: maxAbsoluteDrawdown,
                         maxRelativeDrawdown: maxRelativeDrawdown, maxProfitTime: maxProfitTime,
                         maxAbsoluteProfit: maxAbsoluteProfit, maxRelativeProfit: maxRelativeProfit,
                         thresholdExceeded: exceeded != nil, exceededThresholdType: exceeded,
                         balanceAdjustment: balanceAdjustment, tradeDayCount: tradeDays.count)
    }
}
