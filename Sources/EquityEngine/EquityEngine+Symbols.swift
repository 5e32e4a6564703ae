import TidemarkProtocol

extension EquityEngine {
    // MARK: - Snapshot and symbols

    mutating func applySnapshot(_ snapshot: Snapshot, account accountIndex: Int, into outputs: inout [EquityOutput]) {
        clearPositions(account: accountIndex)
        let time = snapshot.account.time.milliseconds
        accounts[accountIndex].lastTime = max(accounts[accountIndex].lastTime, time)
        accounts[accountIndex].balanceUnits = Int128(snapshot.account.balance.units)
        accounts[accountIndex].creditUnits = Int128(snapshot.account.credit.units)
        accounts[accountIndex].floatingUnits = 0
        accounts[accountIndex].unknownPositions = 0
        accounts[accountIndex].pendingCloses = []
        accounts[accountIndex].recentDeals = []
        accounts[accountIndex].conversions = [:]
        var symbols: [String: SymbolSpec] = [:]
        symbols.reserveCapacity(snapshot.symbols.count)
        for spec in snapshot.symbols { symbols[spec.name] = spec }
        accounts[accountIndex].symbols = symbols
        // Quotes first (other accounts of a shared feed may move), then the positions.
        applyTicks(TickBatch(snapshot.quotes), feed: accounts[accountIndex].feed, into: &outputs)
        for position in snapshot.positions {
            addPosition(position, account: accountIndex)
        }
        accounts[accountIndex].hasSnapshot = true
        settle(account: accountIndex, time: time, into: &outputs)
        // A private feed's quotes are exactly the snapshot's, so the terminal's equity must match;
        // a shared feed may already hold newer quotes, so the first report is the comparison there.
        if !feedIsShared[Int(accounts[accountIndex].feed)] {
            reconcile(snapshot.account, account: accountIndex, into: &outputs)
        }
    }

    mutating func applySymbol(_ spec: SymbolSpec, account accountIndex: Int, into outputs: inout [EquityOutput]) {
        accounts[accountIndex].symbols[spec.name] = spec
        accounts[accountIndex].conversions = [:]
        // A new or changed specification can change any position's factor or conversion.
        for slot in accounts[accountIndex].positions {
            rebind(Int(slot))
        }
        settle(account: accountIndex, time: accounts[accountIndex].lastTime, into: &outputs)
    }

    // MARK: - Feeds and symbols

    mutating func feedID(_ key: FeedKey) -> Int32 {
        if let id = feeds[key] { return id }
        let id = Int32(feedIsShared.count)
        feeds[key] = id
        feedIsShared.append(key.isShared)
        feedHasSymbols.append(false)
        return id
    }

    mutating func symbolSlot(feed: Int32, name: String) -> Int {
        let key = SymbolKey(feed: feed, name: name)
        if let slot = symbolIndex[key] { return Int(slot) }
        let slot = quotes.count
        feedHasSymbols[Int(feed)] = true
        symbolIndex[key] = Int32(slot)
        symbolNames.append(name)
        quotes.append(Quote(bid: 0, ask: 0, time: 0, isKnown: false))
        dependents.append([])
        return slot
    }
}
