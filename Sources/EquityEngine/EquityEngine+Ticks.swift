import TidemarkProtocol

extension EquityEngine {
    // MARK: - Ticks

    mutating func applyTicks(_ ticks: TickBatch, feed: Int32, into outputs: inout [EquityOutput]) {
        for tick in ticks {
            // The one rule of SPEC §4.1: a slightly crossed quote (bid ≤ ask × 1.01) is folded.
            guard tick.isPlausibleQuote else {
                statistics.rejectedTicks += 1
                continue
            }
            let s = symbolSlot(feed: feed, name: tick.symbol)
            let old = quotes[s]
            if old.isKnown {
                guard tick.time.milliseconds >= old.time else {
                    statistics.staleTicks += 1
                    continue
                }
                if old.bid == tick.bid.units, old.ask == tick.ask.units {
                    quotes[s].time = tick.time.milliseconds
                    statistics.ticks += 1
                    continue
                }
            }
            quotes[s] = Quote(bid: tick.bid.units, ask: tick.ask.units, time: tick.time.milliseconds, isKnown: true)
            statistics.ticks += 1
            revalueDependents(of: s, time: tick.time.milliseconds, into: &outputs)
        }
    }

    /// Revalues every position priced or converted by symbol `symbolIndex`, then settles the accounts touched.
    mutating func revalueDependents(of symbolIndex: Int, time: Int64, into outputs: inout [EquityOutput]) {
        let list = dependents[symbolIndex]
        guard !list.isEmpty else { return }
        epoch &+= 1
        touched.removeAll(keepingCapacity: true)
        for entry in list {
            revalue(Int(entry >> 1))
        }
        statistics.revaluations += list.count
        for slot in touched {
            settle(account: Int(slot), time: time, into: &outputs)
        }
    }

    /// The per-tick path: recompute one position and move the difference into its account.
    @inline(__always)
    mutating func revalue(_ positionIndex: Int) {
        let position = hot[positionIndex]
        guard position.status.isTickDriven else { return }
        let (status, profit) = valuation(of: position)
        guard status != position.status || profit != position.profitUnits else { return }
        let a = Int(position.account)
        if position.status == .known {
            accounts[a].floatingUnits -= Int128(position.profitUnits)
        } else {
            accounts[a].unknownPositions -= 1
        }
        if status == .known {
            accounts[a].floatingUnits += Int128(profit)
        } else {
            accounts[a].unknownPositions += 1
        }
        hot[positionIndex].status = status
        hot[positionIndex].profitUnits = profit
        if accounts[a].touchEpoch != epoch {
            accounts[a].touchEpoch = epoch
            touched.append(Int32(a))
        }
    }

    /// A position's status and rounded profit (10⁻⁸ units of the account currency) at the current quotes.
    @inline(__always)
    func valuation(of position: HotPosition) -> (PositionStatus, Int64) {
        let price = quotes[Int(position.priceSymbol)]
        guard price.isKnown else { return (.noQuote, 0) }
        let difference = position.isBuy ? price.bid - position.openUnits : position.openUnits - price.ask
        let steps: Int64?
        switch position.conversion {
        case .none:
            steps = roundedProductQuotient(difference, position.numerator, 1, position.denominatorTimesStep, 1)
        case .direct:
            let cross = quotes[Int(position.conversionSymbol)]
            guard cross.isKnown else { return (.noConversionRate, 0) }
            let rate = difference >= 0 ? cross.bid : cross.ask
            steps = roundedProductQuotient(difference, position.numerator, rate,
                                           position.denominatorTimesStep, FixedDecimal.unitsPerOne)
        case .inverse:
            let cross = quotes[Int(position.conversionSymbol)]
            guard cross.isKnown else { return (.noConversionRate, 0) }
            let rate = difference >= 0 ? cross.ask : cross.bid
            steps = roundedProductQuotient(difference, position.numerator, FixedDecimal.unitsPerOne,
                                           position.denominatorTimesStep, rate)
        }
        guard let steps else { return (.outOfRange, 0) }
        let (units, overflow) = steps.multipliedReportingOverflow(by: position.step)
        guard !overflow else { return (.outOfRange, 0) }
        return (.known, units)
    }

    // MARK: - Observations

    /// Emits the outputs of account `accountIndex` after a message at `time`.
    mutating func settle(account accountIndex: Int, time: Int64, into outputs: inout [EquityOutput]) {
        guard accounts[accountIndex].hasSnapshot else { return }
        // The one place the wide sums narrow: every figure emitted is representable.
        guard let balance = FixedDecimal(wideUnits: accounts[accountIndex].balanceUnits),
              let credit = FixedDecimal(wideUnits: accounts[accountIndex].creditUnits),
              let floating = FixedDecimal(wideUnits: accounts[accountIndex].floatingUnits),
              let equity = FixedDecimal(wideUnits: accounts[accountIndex].equityUnits)
        else {
            guard accounts[accountIndex].outOfRange == nil else { return }
            let figure = accounts[accountIndex].figureOutOfRange ?? .equity
            accounts[accountIndex].outOfRange = figure
            statistics.outOfRangeTransitions += 1
            outputs.append(.outOfRange(AccountOutOfRange(account: accounts[accountIndex].id, since: BrokerTime(milliseconds: time),
                                                         figure: figure)))
            return
        }
        if accounts[accountIndex].outOfRange != nil {
            accounts[accountIndex].outOfRange = nil
            outputs.append(.inRange(account: accounts[accountIndex].id, at: BrokerTime(milliseconds: time)))
            accounts[accountIndex].hasEmitted = false  // always follow with an observation (or an unknown notice)
            accounts[accountIndex].reportedUnknown = false
        }
        if accounts[accountIndex].unknownPositions > 0 {
            guard !accounts[accountIndex].reportedUnknown else { return }
            accounts[accountIndex].reportedUnknown = true
            accounts[accountIndex].unknownSince = time
            statistics.unknownTransitions += 1
            outputs.append(.equityUnknown(EquityUnknown(
                account: accounts[accountIndex].id, since: BrokerTime(milliseconds: time), reason: unknownReason(account: accountIndex),
                balance: balance, credit: credit)))
            return
        }
        if accounts[accountIndex].reportedUnknown {
            accounts[accountIndex].reportedUnknown = false
            accounts[accountIndex].unknownSince = nil
            outputs.append(.equityKnown(account: accounts[accountIndex].id, at: BrokerTime(milliseconds: time)))
            accounts[accountIndex].hasEmitted = false  // always follow with an observation
        }
        if accounts[accountIndex].hasEmitted, accounts[accountIndex].lastBalance == balance.units, accounts[accountIndex].lastCredit == credit.units,
           accounts[accountIndex].lastEquity == equity.units {
            return
        }
        accounts[accountIndex].hasEmitted = true
        accounts[accountIndex].lastBalance = balance.units
        accounts[accountIndex].lastCredit = credit.units
        accounts[accountIndex].lastEquity = equity.units
        statistics.observations += 1
        outputs.append(.observation(EquityObservation(
            account: accounts[accountIndex].id, time: BrokerTime(milliseconds: time), balance: balance,
            credit: credit, equity: equity, floating: floating)))
    }

    func unknownReason(account accountIndex: Int) -> EquityUnknownReason {
        guard accounts[accountIndex].hasSnapshot else { return .awaitingSnapshot }
        for slot in accounts[accountIndex].positions {
            let p = Int(slot)
            let symbol = cold[p].position.symbol
            switch hot[p].status {
            case .known, .free: continue
            case .noQuote: return .noQuote(symbol: symbol)
            case .noConversionRate: return .noConversionRate(symbol: cold[p].conversionSymbolName)
            case .outOfRange: return .outOfRange(symbol: symbol)
            case .unknownSymbol: return .unknownSymbol(symbol)
            case .unsupportedCalcMode:
                return .unsupportedCalcMode(symbol: symbol, accounts[accountIndex].symbols[symbol]?.calcMode ?? .exchangeOptions)
            case .invalidSpecification: return .invalidSymbolSpecification(symbol)
            case .noConversionSymbol: return .noConversionSymbol(from: cold[p].profitCurrency, to: accounts[accountIndex].currency)
            }
        }
        return .awaitingSnapshot
    }
}
