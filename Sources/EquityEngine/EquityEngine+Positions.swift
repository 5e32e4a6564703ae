import TidemarkProtocol

extension EquityEngine {
    // MARK: - Positions

    mutating func applyPosition(_ update: PositionUpdate, account a: Int, into outputs: inout [EquityOutput]) {
        let time = update.time.milliseconds
        accounts[a].lastTime = max(accounts[a].lastTime, time)
        let position = update.position
        if let p = positionSlot(ticket: position.ticket, account: a) {
            let oldVolume = cold[p].position.volume
            let oldValue = valueIfKnown(p)
            switch update.change {
            case .opened, .changed:
                replace(p, with: position)
                // Volume left the position before its closing deal arrived: keep the part that left
                // in the floating sum until the deal books it to balance.
                if position.volume < oldVolume, let oldValue, let newValue = valueIfKnown(p) {
                    // Both volumes are positive: the difference fits.
                    addPendingClose(positionID: position.ticket, volume: oldVolume - position.volume,
                                    units: oldValue - newValue, account: a)
                }
            case .closed:
                removePosition(p, account: a)
                if let oldValue {
                    addPendingClose(positionID: position.ticket, volume: oldVolume, units: oldValue, account: a)
                }
            }
        } else if update.change != .closed {
            addPosition(position, account: a)
        }
        // A `closed` for a position not held: its deal already closed it.
        settle(account: a, time: time, into: &outputs)
    }

    mutating func addPendingClose(positionID: Int64, volume: FixedDecimal, units: Int128, account a: Int) {
        accounts[a].floatingUnits += units
        if let i = accounts[a].pendingCloses.firstIndex(where: { $0.positionID == positionID }) {
            accounts[a].pendingCloses[i].units += units
            accounts[a].pendingCloses[i].volumeUnits += Int128(volume.units)
        } else {
            accounts[a].pendingCloses.append(PendingClose(positionID: positionID, volumeUnits: Int128(volume.units), units: units))
        }
    }

    // MARK: - Binding positions

    mutating func addPosition(_ position: Position, account a: Int) {
        let hotRecord = HotPosition(openUnits: 0, numerator: 0, denominatorTimesStep: 1, step: 1, profitUnits: 0,
                                    account: Int32(a), priceSymbol: -1, conversionSymbol: -1, isBuy: true,
                                    conversion: .none, status: .free)
        let coldRecord = ColdPosition(position: position, fixedUnits: 0, priceDependentIndex: -1,
                                      conversionDependentIndex: -1, profitCurrency: "", conversionSymbolName: "")
        let p: Int
        if let free = freePositions.popLast() {
            p = Int(free)
            hot[p] = hotRecord
            cold[p] = coldRecord
        } else {
            p = hot.count
            hot.append(hotRecord)
            cold.append(coldRecord)
        }
        bind(p)
        attach(p)
        accounts[a].positions.append(Int32(p))
    }

    mutating func removePosition(_ p: Int, account a: Int) {
        detach(p)
        unbind(p)
        hot[p].status = .free
        freePositions.append(Int32(p))
        if let i = accounts[a].positions.firstIndex(of: Int32(p)) {
            accounts[a].positions.remove(at: i)
        }
    }

    mutating func replace(_ p: Int, with position: Position) {
        detach(p)
        unbind(p)
        cold[p].position = position
        bind(p)
        attach(p)
    }

    mutating func rebind(_ p: Int) {
        detach(p)
        unbind(p)
        bind(p)
        attach(p)
    }

    mutating func clearPositions(account a: Int) {
        for slot in accounts[a].positions {
            let p = Int(slot)
            detach(p)
            unbind(p)
            hot[p].status = .free
            freePositions.append(slot)
        }
        accounts[a].positions = []
    }

    /// The position's floating value (swap + commission + profit) when known.
    func valueIfKnown(_ p: Int) -> Int128? {
        hot[p].status == .known ? cold[p].fixedUnits + Int128(hot[p].profitUnits) : nil
    }

    /// Adds the position's value to its account's sums.
    mutating func attach(_ p: Int) {
        let a = Int(hot[p].account)
        accounts[a].floatingUnits += cold[p].fixedUnits
        if hot[p].status == .known {
            accounts[a].floatingUnits += Int128(hot[p].profitUnits)
        } else {
            accounts[a].unknownPositions += 1
        }
    }

    /// Takes the position's value out of its account's sums.
    mutating func detach(_ p: Int) {
        let a = Int(hot[p].account)
        accounts[a].floatingUnits -= cold[p].fixedUnits
        if hot[p].status == .known {
            accounts[a].floatingUnits -= Int128(hot[p].profitUnits)
        } else {
            accounts[a].unknownPositions -= 1
        }
    }

    /// Computes the position's factor and conversion from its account's symbols, subscribes it to its
    /// symbols and values it. Does not touch the account's sums (see ``attach(_:)``).
    mutating func bind(_ p: Int) {
        let a = Int(hot[p].account)
        let position = cold[p].position
        let step = accounts[a].step
        hot[p].openUnits = position.openPrice.units
        hot[p].isBuy = position.side == .buy
        hot[p].step = step
        hot[p].profitUnits = 0
        hot[p].conversion = .none
        hot[p].priceSymbol = -1
        hot[p].conversionSymbol = -1
        cold[p].fixedUnits = Int128(position.swap.units) + Int128(position.commission.units)
        cold[p].profitCurrency = ""
        cold[p].conversionSymbolName = ""
        guard let spec = accounts[a].symbols[position.symbol] else {
            hot[p].status = .unknownSymbol
            return
        }
        let formula = ProfitFormula(spec.calcMode)
        guard formula != .unsupported else {
            hot[p].status = .unsupportedCalcMode
            return
        }
        guard let factor = ProfitFactor(formula: formula, volume: position.volume, spec: spec) else {
            hot[p].status = .invalidSpecification
            return
        }
        let (denominatorTimesStep, overflow) = factor.denominator.multipliedReportingOverflow(by: step)
        guard !overflow else {
            hot[p].status = .invalidSpecification
            return
        }
        hot[p].numerator = factor.numerator
        hot[p].denominatorTimesStep = denominatorTimesStep
        cold[p].profitCurrency = spec.profitCurrency.uppercased()
        let feed = accounts[a].feed
        if formula == .contract, cold[p].profitCurrency != accounts[a].currency {
            guard let choice = conversion(account: a, profitCurrency: cold[p].profitCurrency, positionSymbol: position.symbol) else {
                hot[p].status = .noConversionSymbol
                return
            }
            hot[p].conversion = choice.kind
            hot[p].conversionSymbol = Int32(symbolSlot(feed: feed, name: choice.symbol))
            cold[p].conversionSymbolName = choice.symbol
        }
        let priceSymbol = symbolSlot(feed: feed, name: position.symbol)
        hot[p].priceSymbol = Int32(priceSymbol)
        cold[p].priceDependentIndex = Int32(dependents[priceSymbol].count)
        dependents[priceSymbol].append(UInt32(p) << 1)
        let conversionSymbol = Int(hot[p].conversionSymbol)
        if conversionSymbol >= 0, conversionSymbol != priceSymbol {
            cold[p].conversionDependentIndex = Int32(dependents[conversionSymbol].count)
            dependents[conversionSymbol].append(UInt32(p) << 1 | 1)
        }
        let (status, profit) = valuation(of: hot[p])
        hot[p].status = status
        hot[p].profitUnits = profit
    }

    /// Unsubscribes the position from its symbols (O(1) each: the last entry takes its place).
    mutating func unbind(_ p: Int) {
        let priceSymbol = Int(hot[p].priceSymbol)
        let conversionSymbol = Int(hot[p].conversionSymbol)
        if priceSymbol >= 0 {
            removeDependent(symbol: priceSymbol, at: Int(cold[p].priceDependentIndex))
        }
        if conversionSymbol >= 0, conversionSymbol != priceSymbol {
            removeDependent(symbol: conversionSymbol, at: Int(cold[p].conversionDependentIndex))
        }
        hot[p].priceSymbol = -1
        hot[p].conversionSymbol = -1
    }

    mutating func removeDependent(symbol s: Int, at index: Int) {
        let last = dependents[s].removeLast()
        guard index < dependents[s].count else { return }
        dependents[s][index] = last
        let moved = Int(last >> 1)
        if last & 1 == 0 {
            cold[moved].priceDependentIndex = Int32(index)
        } else {
            cold[moved].conversionDependentIndex = Int32(index)
        }
    }

    mutating func conversion(account a: Int, profitCurrency: String, positionSymbol: String) -> ConversionChoice? {
        let key = profitCurrency + "\u{1}" + positionSymbol
        if let cached = accounts[a].conversions[key] { return cached.choice }
        let choice = ConversionResolver.resolve(profitCurrency: profitCurrency, accountCurrency: accounts[a].currency,
                                                positionSymbol: positionSymbol, symbols: accounts[a].symbols)
        accounts[a].conversions[key] = CachedConversion(choice: choice)
        return choice
    }

    func positionSlot(ticket: Int64, account a: Int) -> Int? {
        for slot in accounts[a].positions where cold[Int(slot)].position.ticket == ticket {
            return Int(slot)
        }
        return nil
    }
}
