import TidemarkProtocol

extension EquityEngine {
    // MARK: - Positions

    mutating func applyPosition(_ update: PositionUpdate, account accountIndex: Int, into outputs: inout [EquityOutput]) {
        let time = update.time.milliseconds
        accounts[accountIndex].lastTime = max(accounts[accountIndex].lastTime, time)
        let position = update.position
        if let p = positionSlot(ticket: position.ticket, account: accountIndex) {
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
                                    units: oldValue - newValue, account: accountIndex)
                }
            case .closed:
                removePosition(p, account: accountIndex)
                if let oldValue {
                    addPendingClose(positionID: position.ticket, volume: oldVolume, units: oldValue, account: accountIndex)
                }
            }
        } else if update.change != .closed {
            addPosition(position, account: accountIndex)
        }
        // A `closed` for a position not held: its deal already closed it.
        settle(account: accountIndex, time: time, into: &outputs)
    }

    mutating func addPendingClose(positionID: Int64, volume: FixedDecimal, units: Int128, account accountIndex: Int) {
        accounts[accountIndex].floatingUnits += units
        if let i = accounts[accountIndex].pendingCloses.firstIndex(where: { $0.positionID == positionID }) {
            accounts[accountIndex].pendingCloses[i].units += units
            accounts[accountIndex].pendingCloses[i].volumeUnits += Int128(volume.units)
        } else {
            accounts[accountIndex].pendingCloses.append(PendingClose(positionID: positionID, volumeUnits: Int128(volume.units), units: units))
        }
    }

    // MARK: - Binding positions

    mutating func addPosition(_ position: Position, account accountIndex: Int) {
        let hotRecord = HotPosition(openUnits: 0, numerator: 0, denominatorTimesStep: 1, step: 1, profitUnits: 0,
                                    account: Int32(accountIndex), priceSymbol: -1, conversionSymbol: -1, isBuy: true,
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
        accounts[accountIndex].positions.append(Int32(p))
    }

    mutating func removePosition(_ positionIndex: Int, account accountIndex: Int) {
        detach(positionIndex)
        unbind(positionIndex)
        hot[positionIndex].status = .free
        freePositions.append(Int32(positionIndex))
        if let i = accounts[accountIndex].positions.firstIndex(of: Int32(positionIndex)) {
            accounts[accountIndex].positions.remove(at: i)
        }
    }

    mutating func replace(_ positionIndex: Int, with position: Position) {
        detach(positionIndex)
        unbind(positionIndex)
        cold[positionIndex].position = position
        bind(positionIndex)
        attach(positionIndex)
    }

    mutating func rebind(_ positionIndex: Int) {
        detach(positionIndex)
        unbind(positionIndex)
        bind(positionIndex)
        attach(positionIndex)
    }

    mutating func clearPositions(account accountIndex: Int) {
        for slot in accounts[accountIndex].positions {
            let p = Int(slot)
            detach(p)
            unbind(p)
            hot[p].status = .free
            freePositions.append(slot)
        }
        accounts[accountIndex].positions = []
    }

    /// The position's floating value (swap + commission + profit) when known.
    func valueIfKnown(_ positionIndex: Int) -> Int128? {
        hot[positionIndex].status == .known ? cold[positionIndex].fixedUnits + Int128(hot[positionIndex].profitUnits) : nil
    }

    /// Adds the position's value to its account's sums.
    mutating func attach(_ positionIndex: Int) {
        let a = Int(hot[positionIndex].account)
        accounts[a].floatingUnits += cold[positionIndex].fixedUnits
        if hot[positionIndex].status == .known {
            accounts[a].floatingUnits += Int128(hot[positionIndex].profitUnits)
        } else {
            accounts[a].unknownPositions += 1
        }
    }

    /// Takes the position's value out of its account's sums.
    mutating func detach(_ positionIndex: Int) {
        let a = Int(hot[positionIndex].account)
        accounts[a].floatingUnits -= cold[positionIndex].fixedUnits
        if hot[positionIndex].status == .known {
            accounts[a].floatingUnits -= Int128(hot[positionIndex].profitUnits)
        } else {
            accounts[a].unknownPositions -= 1
        }
    }

    /// Computes the position's factor and conversion from its account's symbols, subscribes it to its
    /// symbols and values it. Does not touch the account's sums (see ``attach(_:)``).
    mutating func bind(_ positionIndex: Int) {
        let a = Int(hot[positionIndex].account)
        let position = cold[positionIndex].position
        let step = accounts[a].step
        hot[positionIndex].openUnits = position.openPrice.units
        hot[positionIndex].isBuy = position.side == .buy
        hot[positionIndex].step = step
        hot[positionIndex].profitUnits = 0
        hot[positionIndex].conversion = .none
        hot[positionIndex].priceSymbol = -1
        hot[positionIndex].conversionSymbol = -1
        cold[positionIndex].fixedUnits = Int128(position.swap.units) + Int128(position.commission.units)
        cold[positionIndex].profitCurrency = ""
        cold[positionIndex].conversionSymbolName = ""
        guard let spec = accounts[a].symbols[position.symbol] else {
            hot[positionIndex].status = .unknownSymbol
            return
        }
        let formula = ProfitFormula(spec.calcMode)
        guard formula != .unsupported else {
            hot[positionIndex].status = .unsupportedCalcMode
            return
        }
        guard let factor = ProfitFactor(formula: formula, volume: position.volume, spec: spec) else {
            hot[positionIndex].status = .invalidSpecification
            return
        }
        let (denominatorTimesStep, overflow) = factor.denominator.multipliedReportingOverflow(by: step)
        guard !overflow else {
            hot[positionIndex].status = .invalidSpecification
            return
        }
        hot[positionIndex].numerator = factor.numerator
        hot[positionIndex].denominatorTimesStep = denominatorTimesStep
        cold[positionIndex].profitCurrency = spec.profitCurrency.uppercased()
        let feed = accounts[a].feed
        if formula == .contract, cold[positionIndex].profitCurrency != accounts[a].currency {
            guard let choice = conversion(account: a, profitCurrency: cold[positionIndex].profitCurrency, positionSymbol: position.symbol) else {
                hot[positionIndex].status = .noConversionSymbol
                return
            }
            hot[positionIndex].conversion = choice.kind
            hot[positionIndex].conversionSymbol = Int32(symbolSlot(feed: feed, name: choice.symbol))
            cold[positionIndex].conversionSymbolName = choice.symbol
        }
        let priceSymbol = symbolSlot(feed: feed, name: position.symbol)
        hot[positionIndex].priceSymbol = Int32(priceSymbol)
        cold[positionIndex].priceDependentIndex = Int32(dependents[priceSymbol].count)
        dependents[priceSymbol].append(UInt32(positionIndex) << 1)
        let conversionSymbol = Int(hot[positionIndex].conversionSymbol)
        if conversionSymbol >= 0, conversionSymbol != priceSymbol {
            cold[positionIndex].conversionDependentIndex = Int32(dependents[conversionSymbol].count)
            dependents[conversionSymbol].append(UInt32(positionIndex) << 1 | 1)
        }
        let (status, profit) = valuation(of: hot[positionIndex])
        hot[positionIndex].status = status
        hot[positionIndex].profitUnits = profit
    }

    /// Unsubscribes the position from its symbols (O(1) each: the last entry takes its place).
    mutating func unbind(_ positionIndex: Int) {
        let priceSymbol = Int(hot[positionIndex].priceSymbol)
        let conversionSymbol = Int(hot[positionIndex].conversionSymbol)
        if priceSymbol >= 0 {
            removeDependent(symbol: priceSymbol, at: Int(cold[positionIndex].priceDependentIndex))
        }
        if conversionSymbol >= 0, conversionSymbol != priceSymbol {
            removeDependent(symbol: conversionSymbol, at: Int(cold[positionIndex].conversionDependentIndex))
        }
        hot[positionIndex].priceSymbol = -1
        hot[positionIndex].conversionSymbol = -1
    }

    mutating func removeDependent(symbol symbolIndex: Int, at index: Int) {
        let last = dependents[symbolIndex].removeLast()
        guard index < dependents[symbolIndex].count else { return }
        dependents[symbolIndex][index] = last
        let moved = Int(last >> 1)
        if last & 1 == 0 {
            cold[moved].priceDependentIndex = Int32(index)
        } else {
            cold[moved].conversionDependentIndex = Int32(index)
        }
    }

    mutating func conversion(account accountIndex: Int, profitCurrency: String, positionSymbol: String) -> ConversionChoice? {
        let key = profitCurrency + "\u{1}" + positionSymbol
        if let cached = accounts[accountIndex].conversions[key] { return cached.choice }
        let choice = ConversionResolver.resolve(profitCurrency: profitCurrency, accountCurrency: accounts[accountIndex].currency,
                                                positionSymbol: positionSymbol, symbols: accounts[accountIndex].symbols)
        accounts[accountIndex].conversions[key] = CachedConversion(choice: choice)
        return choice
    }

    func positionSlot(ticket: Int64, account accountIndex: Int) -> Int? {
        for slot in accounts[accountIndex].positions where cold[Int(slot)].position.ticket == ticket {
            return Int(slot)
        }
        return nil
    }
}
