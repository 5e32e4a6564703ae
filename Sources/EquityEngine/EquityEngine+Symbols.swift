import TidemarkProtocol

extension EquityEngine {
    // MARK: - Snapshot and symbols

    mutating func applySnapshot(_ snapshot: Snapshot, account a: Int, into outputs: inout [EquityOutput]) {
        clearPositions(account: a)
        let time = snapshot.account.time.milliseconds
        accounts[a].lastTime = max(accounts[a].lastTime, time)
        accounts[a].balanceUnits = Int128(snapshot.account.balance.units)
        accounts[a].creditUnits = Int128(snapshot.account.credit.units)
        accounts[a].floatingUnits = 0
        accounts[a].unknownPositions = 0
        accounts[a].pendingCloses = []
        accounts[a].recentDeals = []
        accounts[a].conversions = [:]
        var symbols: [String: SymbolSpec] = [:]
        symbols.reserveCapacity(snapshot.symbols.count)
        for spec in snapshot.symbols { symbols[spec.name] = spec }
        accounts[a].symbols = symbols
        // Quotes first (other accounts of a shared feed may move), then the positions.
        applyTicks(TickBatch(snapshot.quotes), feed: accounts[a].feed, into: &outputs)
        for position in snapshot.positions {
            addPosition(position, account: a)
        }
        accounts[a].hasSnapshot = true
        settle(account: a, time: time, into: &outputs)
        // A private feed's quotes are exactly the snapshot's, so the terminal's equity must match;
        // a shared feed may already hold newer quotes, so the first report is the comparison there.
        if !feedIsShared[Int(accounts[a].feed)] {
            reconcile(snapshot.account, account: a, into: &outputs)
        }
    }

    mutating func applySymbol(_ spec: SymbolSpec, account a: Int, into outputs: inout [EquityOutput]) {
        accounts[a].symbols[spec.name] = spec
        accounts[a].conversions = [:]
        // A new or changed specification can change any position's factor or conversion.
        for slot in accounts[a].positions {
            rebind(Int(slot))
        }
        settle(account: a, time: accounts[a].lastTime, into: &outputs)
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
