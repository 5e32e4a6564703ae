import TidemarkProtocol

extension EquityEngine {
    // MARK: - Deals

    mutating func applyDeal(_ deal: Deal, account accountIndex: Int, into outputs: inout [EquityOutput]) throws(EquityEngineError) {
        // Four wire values can sum beyond the range: refuse the deal before anything changes.
        let amountUnits = Int128(deal.profit.units) + Int128(deal.swap.units) + Int128(deal.commission.units)
            + Int128(deal.fee.units)
        guard let amount = FixedDecimal(wideUnits: amountUnits) else {
            statistics.outOfRangeDeals += 1
            throw .outOfRange(accounts[accountIndex].id, deal: deal.ticket)
        }
        let time = deal.time.milliseconds
        accounts[accountIndex].lastTime = max(accounts[accountIndex].lastTime, time)
        if deal.ticket != 0 {
            if accounts[accountIndex].recentDeals.contains(deal.ticket) {
                statistics.duplicateDeals += 1
                return
            }
            accounts[accountIndex].recentDeals.append(deal.ticket)
            if accounts[accountIndex].recentDeals.count > 64 { accounts[accountIndex].recentDeals.removeFirst() }
        }
        switch deal.type {
        case .buy, .sell:
            switch deal.entry {
            case .in:
                // MT5 books entry commission and fees to balance at the deal; MT4 keeps commission on
                // the open order (the position's `commission`) until it closes.
                if accounts[accountIndex].platform == .mt5 { accounts[accountIndex].balanceUnits += amountUnits }
            case .out, .outBy, .inOut:
                // Profit, swap, commission and fee of the closed part go to balance (MT5 exit deal;
                // MT4 close, which the EA reports as a deal with the order's figures).
                accounts[accountIndex].balanceUnits += amountUnits
                closeFromDeal(deal, account: accountIndex)
            }
        case .buyCanceled, .sellCanceled:
            break
        case .balance, .credit, .charge, .correction, .bonus, .commission, .commissionDaily, .commissionMonthly,
             .commissionAgentDaily, .commissionAgentMonthly, .interest, .dividend, .dividendFranked, .tax:
            if deal.type == .credit {
                accounts[accountIndex].creditUnits += amountUnits
            } else {
                accounts[accountIndex].balanceUnits += amountUnits
            }
            // When balance or credit left the range, the out-of-range notice of `settle` says so
            // instead (an operation must carry representable figures).
            if let balanceAfter = FixedDecimal(wideUnits: accounts[accountIndex].balanceUnits),
               let creditAfter = FixedDecimal(wideUnits: accounts[accountIndex].creditUnits) {
                outputs.append(.balanceOperation(BalanceOperation(
                    account: accounts[accountIndex].id, time: deal.time, category: Self.category(of: deal.type, amount: amount),
                    dealType: deal.type, amount: amount, dealTicket: deal.ticket, comment: deal.comment,
                    balanceAfter: balanceAfter, creditAfter: creditAfter)))
            }
        }
        settle(account: accountIndex, time: time, into: &outputs)
    }

    /// The position side of a closing deal: if the position messages already reported the close, the
    /// held-back value is released; otherwise the deal closes (or reduces) the position itself, and the
    /// position message that follows finds nothing left to do.
    ///
    /// Several closes of one position can be in flight (two partial closes reported before either
    /// deal): each deal releases the held value in proportion to its volume, and any volume beyond
    /// what is held comes off the open position.
    mutating func closeFromDeal(_ deal: Deal, account accountIndex: Int) {
        var volumeToClose = deal.volume
        if let i = accounts[accountIndex].pendingCloses.firstIndex(where: { $0.positionID == deal.positionID }) {
            let pending = accounts[accountIndex].pendingCloses[i]
            let take = deal.volume.units <= 0 ? pending.volumeUnits : min(Int128(deal.volume.units), pending.volumeUnits)
            // The share is rounded to the money step, so equity stays in whole cents.
            let step = accounts[accountIndex].step
            let released = take >= pending.volumeUnits
                ? pending.units
                : Self.share(of: pending.units, volume: take, of: pending.volumeUnits, step: step)
            accounts[accountIndex].floatingUnits -= released
            if take >= pending.volumeUnits {
                accounts[accountIndex].pendingCloses.remove(at: i)
            } else {
                accounts[accountIndex].pendingCloses[i].units -= released
                accounts[accountIndex].pendingCloses[i].volumeUnits -= take
            }
            // take ≤ the deal's volume here, so the rest is in 0…volume.
            volumeToClose = FixedDecimal(units: Int64(Int128(deal.volume.units) - min(take, Int128(deal.volume.units))))
        }
        guard volumeToClose.units > 0, let p = positionSlot(ticket: deal.positionID, account: accountIndex) else { return }
        var position = cold[p].position
        let remaining = position.volume - volumeToClose
        if remaining.units <= 0 {
            removePosition(p, account: accountIndex)
        } else {
            position.volume = remaining
            replace(p, with: position)
        }
    }

    /// `units × volume ÷ totalVolume` rounded half away from zero to a multiple of `step`, for
    /// 0 < volume < totalVolume. Exact whenever `units × volume` fits `Int128` (every real case:
    /// both come from a handful of wire values); beyond that, the quotient is taken first, which
    /// loses at most one `units ÷ totalVolume` (only sums of hundreds of extreme frames get there).
    static func share(of units: Int128, volume: Int128, of totalVolume: Int128, step: Int64) -> Int128 {
        let (product, productOverflow) = units.multipliedReportingOverflow(by: volume)
        let (denominator, denominatorOverflow) = totalVolume.multipliedReportingOverflow(by: Int128(step))
        if !productOverflow, !denominatorOverflow { return roundedQuotient(product, denominator) * Int128(step) }
        return roundedQuotient(units / totalVolume * volume, Int128(step)) * Int128(step)
    }

    static func category(of type: DealType, amount: FixedDecimal) -> BalanceOperation.Category {
        switch type {
        case .balance: amount.isNegative ? .withdrawal : .deposit
        case .credit: .credit
        case .bonus: .bonus
        case .correction: .correction
        case .charge: .charge
        case .commission, .commissionDaily, .commissionMonthly, .commissionAgentDaily, .commissionAgentMonthly: .commission
        case .interest: .interest
        case .dividend, .dividendFranked: .dividend
        case .tax: .tax
        case .buy, .sell, .buyCanceled, .sellCanceled: .correction  // not reached: trades are not balance operations
        }
    }
}
