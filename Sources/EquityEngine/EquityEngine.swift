import TidemarkProtocol

/// Reconstructs the balance and equity of many MT4 and MT5 hedging accounts, tick by tick, from the
/// bridge's messages. Pure: messages in, ``EquityOutput``s out; no clock, no I/O.
///
/// Every account has a balance, a credit, open positions, the symbol specifications of its snapshot
/// and a quote feed. By default an account's feed is its own (its ticks move only it); accounts whose
/// server is mapped in ``Configuration/sharedFeedByServer`` read a shared feed instead, which one
/// price-source terminal can drive for all of them through ``applyTicks(_:feed:into:)``.
///
/// Equity = balance + credit + Σ over open positions of (profit + swap + commission), each profit
/// rounded to the account's currency digits. Commission is always 0 on MT5 positions (MT5 books it to
/// balance through deals); MT4 keeps it on the open order until the order closes.
///
/// Incremental: every symbol of every feed keeps the list of positions whose price or conversion
/// rate it is, so a tick costs O(positions it moves); each position keeps its profit factor as an
/// exact fraction, and each account its floating sum, adjusted by the difference of the one
/// position that changed.
public struct EquityEngine: Sendable {
    /// How far the terminal's reported equity may stray from the reconstruction before it is a drift.
    public enum DriftTolerance: Hashable, Sendable {
        /// `steps` of the account's smallest money unit (0.01 for 2 currency digits) per open
        /// position, plus `plus` such units.
        case perOpenPosition(steps: Int, plus: Int)
        /// A fixed amount in the account currency.
        case fixed(FixedDecimal)

        /// One money step per open position, plus one. Why: the reconstruction rounds every
        /// position's profit to the money step, half away from zero; if the terminal sums unrounded
        /// profits and rounds once, the two differ by at most half a step per position, and the
        /// final rounding adds at most half a step more. A step per position (plus one) covers that
        /// with room for the other rounding conventions MetaTrader builds use, while a real error —
        /// a wrong rate side (≈ the cross's spread × profit), a missed swap or commission, a wrong
        /// contract size — is at least several steps on any position worth tracking.
        public static let `default` = DriftTolerance.perOpenPosition(steps: 1, plus: 1)

        func units(openPositions: Int, step: Int64) -> Int64 {
            switch self {
            case .perOpenPosition(let steps, let plus): Int64(steps * openPositions + plus) * step
            case .fixed(let amount): amount.magnitude.units
            }
        }
    }

    /// Engine settings.
    public struct Configuration: Hashable, Sendable {
        /// How far a terminal report may differ before it is a ``Drift``.
        public var driftTolerance: DriftTolerance
        /// Trade server name → shared feed name. Accounts on a listed server read quotes from that
        /// shared feed (their own ticks update it too); others read their own feed.
        public var sharedFeedByServer: [String: String]

        /// A configuration; by default the standard drift tolerance and no shared feeds.
        public init(driftTolerance: DriftTolerance = .default, sharedFeedByServer: [String: String] = [:]) {
            self.driftTolerance = driftTolerance
            self.sharedFeedByServer = sharedFeedByServer
        }
    }

    /// Counters, for metrics.
    public struct Statistics: Hashable, Sendable {
        /// Ticks that updated a quote.
        public var ticks = 0
        /// Ticks older than the quote already held (ignored).
        public var staleTicks = 0
        /// Ticks with a non-positive bid or an ask below the bid (ignored).
        public var rejectedTicks = 0
        /// Position revaluations on ticks.
        public var revaluations = 0
        /// Observations emitted.
        public var observations = 0
        /// Reports compared with the reconstruction.
        public var reconciliations = 0
        /// Reports not compared because equity was unknown.
        public var reconciliationsSkipped = 0
        /// Reports beyond tolerance.
        public var drifts = 0
        /// Transitions of an account into unknown equity.
        public var unknownTransitions = 0
        /// Deals seen twice (ignored).
        public var duplicateDeals = 0
        /// Hellos refused (netting, exchange, invalid).
        public var refusedHellos = 0
        /// Messages for accounts without an accepted hello.
        public var messagesForUnknownAccounts = 0
        /// Transitions of an account out of the decimal range.
        public var outOfRangeTransitions = 0
        /// Deals refused because their amount is outside the decimal range.
        public var outOfRangeDeals = 0

        /// All counters at zero.
        public init() {}
    }

    /// The settings the engine was created with.
    public private(set) var configuration: Configuration
    /// Counters since the engine was created.
    public private(set) var statistics = Statistics()

    var accounts = ContiguousArray<AccountRecord>()
    var accountIndex: [AccountID: Int32] = [:]
    var feeds: [FeedKey: Int32] = [:]
    /// Per feed id: whether it is a shared price source.
    var feedIsShared: [Bool] = []
    /// Per feed id: whether any symbol was quoted on it (a private feed without one is forgotten
    /// with its account).
    var feedHasSymbols: [Bool] = []
    var symbolIndex: [SymbolKey: Int32] = [:]
    var symbolNames = ContiguousArray<String>()
    var quotes = ContiguousArray<Quote>()
    var dependents = ContiguousArray<ContiguousArray<UInt32>>()
    var hot = ContiguousArray<HotPosition>()
    var cold = ContiguousArray<ColdPosition>()
    var freePositions: [Int32] = []
    var freeAccounts: [Int32] = []
    var epoch: UInt64 = 0
    var touched: [Int32] = []

    /// An engine with no accounts yet.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: - Messages

    /// Folds one message of `account` into the state and returns the outputs it caused.
    public mutating func apply(_ message: TerminalMessage, account: AccountID) throws(EquityEngineError) -> [EquityOutput] {
        var outputs: [EquityOutput] = []
        try apply(message, account: account, into: &outputs)
        return outputs
    }

    /// Folds one message of `account` into the state, appending its outputs to `outputs` (lets a
    /// caller reuse one buffer).
    ///
    /// - Throws: for a hello of a netting or exchange account, a hello whose server and login are not
    ///   `account`, any other message of an account without an accepted hello, or a deal whose
    ///   amount is outside the decimal range. Nothing changes then.
    public mutating func apply(_ message: TerminalMessage, account id: AccountID,
                               into outputs: inout [EquityOutput]) throws(EquityEngineError) {
        if case .hello(let hello) = message {
            try register(hello, as: id, into: &outputs)
            return
        }
        guard let slot = accountIndex[id] else {
            statistics.messagesForUnknownAccounts += 1
            throw .unknownAccount(id)
        }
        let a = Int(slot)
        switch message {
        case .hello:
            break
        case .snapshot(let snapshot):
            applySnapshot(snapshot, account: a, into: &outputs)
        case .symbol(let spec):
            applySymbol(spec, account: a, into: &outputs)
        case .ticks(let ticks):
            if let last = ticks.last { accounts[a].lastTime = max(accounts[a].lastTime, last.time.milliseconds) }
            applyTicks(ticks, feed: accounts[a].feed, into: &outputs)
        case .position(let update):
            applyPosition(update, account: a, into: &outputs)
        case .deal(let deal):
            try applyDeal(deal, account: a, into: &outputs)
        case .report(let report):
            accounts[a].lastTime = max(accounts[a].lastTime, report.time.milliseconds)
            reconcile(report, account: a, into: &outputs)
        case .heartbeat(let time):
            accounts[a].lastTime = max(accounts[a].lastTime, time.milliseconds)
        case .bye, .commandAcknowledgement:
            break
        }
    }

    /// Applies quotes from a shared price source to every account reading feed `feed` (see
    /// ``Configuration/sharedFeedByServer``), appending its outputs to `outputs`.
    public mutating func applyTicks(_ ticks: [Tick], feed: String, into outputs: inout [EquityOutput]) {
        applyTicks(TickBatch(ticks), feed: feedID(FeedKey(name: feed, isShared: true)), into: &outputs)
    }

    /// Applies quotes from a shared price source; see ``applyTicks(_:feed:into:)``.
    public mutating func applyTicks(_ ticks: [Tick], feed: String) -> [EquityOutput] {
        var outputs: [EquityOutput] = []
        applyTicks(ticks, feed: feed, into: &outputs)
        return outputs
    }

    /// Forgets an account (the agent stopped tracking it). Its private feed's quotes are kept, so a
    /// later hello of the same account reuses them.
    public mutating func remove(account id: AccountID) {
        guard let slot = accountIndex.removeValue(forKey: id) else { return }
        let a = Int(slot)
        clearPositions(account: a)
        let feed = Int(accounts[a].feed)
        if !feedIsShared[feed], !feedHasSymbols[feed] {
            // An account that never got a quote (a HELLO alone) leaves nothing behind but its id's slot.
            feeds[FeedKey(name: id.rawValue, isShared: false)] = nil
        }
        accounts[a].isActive = false
        accounts[a].symbols = [:]
        accounts[a].conversions = [:]
        freeAccounts.append(slot)
    }

    // MARK: - Hello

    mutating func register(_ hello: Hello, as id: AccountID, into outputs: inout [EquityOutput]) throws(EquityEngineError) {
        guard hello.accountID == id else {
            statistics.refusedHellos += 1
            throw .accountMismatch(id)
        }
        switch hello.marginMode {
        case .retailHedging: break
        case .retailNetting:
            statistics.refusedHellos += 1
            throw .nettingAccount(id)
        case .exchange:
            statistics.refusedHellos += 1
            throw .exchangeAccount(id)
        }
        guard (0...FixedDecimal.fractionDigits).contains(hello.currencyDigits) else {
            statistics.refusedHellos += 1
            throw .invalidCurrencyDigits(id)
        }
        let feedKey = configuration.sharedFeedByServer[hello.server].map { FeedKey(name: $0, isShared: true) }
            ?? FeedKey(name: id.rawValue, isShared: false)
        let feed = feedID(feedKey)
        let step = FixedDecimal.powersOfTen[FixedDecimal.fractionDigits - hello.currencyDigits]
        let currency = hello.currency.uppercased()
        if let slot = accountIndex[id] {
            let a = Int(slot)
            // A reconnect of the same account keeps tracking until its snapshot replaces the state;
            // anything that changes how money is counted starts over.
            let record = accounts[a]
            if record.platform == hello.platform, record.currency == currency, record.step == step, record.feed == feed {
                return
            }
            clearPositions(account: a)
            accounts[a] = AccountRecord(id: id, platform: hello.platform, currency: currency,
                                        digits: hello.currencyDigits, step: step, feed: feed)
            return
        }
        let record = AccountRecord(id: id, platform: hello.platform, currency: currency,
                                   digits: hello.currencyDigits, step: step, feed: feed)
        if let slot = freeAccounts.popLast() {
            accounts[Int(slot)] = record
            accountIndex[id] = slot
        } else {
            accountIndex[id] = Int32(accounts.count)
            accounts.append(record)
        }
    }

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

    // MARK: - Deals

    mutating func applyDeal(_ deal: Deal, account a: Int, into outputs: inout [EquityOutput]) throws(EquityEngineError) {
        // Four wire values can sum beyond the range: refuse the deal before anything changes.
        let amountUnits = Int128(deal.profit.units) + Int128(deal.swap.units) + Int128(deal.commission.units)
            + Int128(deal.fee.units)
        guard let amount = FixedDecimal(wideUnits: amountUnits) else {
            statistics.outOfRangeDeals += 1
            throw .outOfRange(accounts[a].id, deal: deal.ticket)
        }
        let time = deal.time.milliseconds
        accounts[a].lastTime = max(accounts[a].lastTime, time)
        if deal.ticket != 0 {
            if accounts[a].recentDeals.contains(deal.ticket) {
                statistics.duplicateDeals += 1
                return
            }
            accounts[a].recentDeals.append(deal.ticket)
            if accounts[a].recentDeals.count > 64 { accounts[a].recentDeals.removeFirst() }
        }
        switch deal.type {
        case .buy, .sell:
            switch deal.entry {
            case .in:
                // MT5 books entry commission and fees to balance at the deal; MT4 keeps commission on
                // the open order (the position's `commission`) until it closes.
                if accounts[a].platform == .mt5 { accounts[a].balanceUnits += amountUnits }
            case .out, .outBy, .inOut:
                // Profit, swap, commission and fee of the closed part go to balance (MT5 exit deal;
                // MT4 close, which the EA reports as a deal with the order's figures).
                accounts[a].balanceUnits += amountUnits
                closeFromDeal(deal, account: a)
            }
        case .buyCanceled, .sellCanceled:
            break
        case .balance, .credit, .charge, .correction, .bonus, .commission, .commissionDaily, .commissionMonthly,
             .commissionAgentDaily, .commissionAgentMonthly, .interest, .dividend, .dividendFranked, .tax:
            if deal.type == .credit {
                accounts[a].creditUnits += amountUnits
            } else {
                accounts[a].balanceUnits += amountUnits
            }
            // When balance or credit left the range, the out-of-range notice of `settle` says so
            // instead (an operation must carry representable figures).
            if let balanceAfter = FixedDecimal(wideUnits: accounts[a].balanceUnits),
               let creditAfter = FixedDecimal(wideUnits: accounts[a].creditUnits) {
                outputs.append(.balanceOperation(BalanceOperation(
                    account: accounts[a].id, time: deal.time, category: Self.category(of: deal.type, amount: amount),
                    dealType: deal.type, amount: amount, dealTicket: deal.ticket, comment: deal.comment,
                    balanceAfter: balanceAfter, creditAfter: creditAfter)))
            }
        }
        settle(account: a, time: time, into: &outputs)
    }

    /// The position side of a closing deal: if the position messages already reported the close, the
    /// held-back value is released; otherwise the deal closes (or reduces) the position itself, and the
    /// position message that follows finds nothing left to do.
    ///
    /// Several closes of one position can be in flight (two partial closes reported before either
    /// deal): each deal releases the held value in proportion to its volume, and any volume beyond
    /// what is held comes off the open position.
    mutating func closeFromDeal(_ deal: Deal, account a: Int) {
        var volumeToClose = deal.volume
        if let i = accounts[a].pendingCloses.firstIndex(where: { $0.positionID == deal.positionID }) {
            let pending = accounts[a].pendingCloses[i]
            let take = deal.volume.units <= 0 ? pending.volumeUnits : min(Int128(deal.volume.units), pending.volumeUnits)
            // The share is rounded to the money step, so equity stays in whole cents.
            let step = accounts[a].step
            let released = take >= pending.volumeUnits
                ? pending.units
                : Self.share(of: pending.units, volume: take, of: pending.volumeUnits, step: step)
            accounts[a].floatingUnits -= released
            if take >= pending.volumeUnits {
                accounts[a].pendingCloses.remove(at: i)
            } else {
                accounts[a].pendingCloses[i].units -= released
                accounts[a].pendingCloses[i].volumeUnits -= take
            }
            // take ≤ the deal's volume here, so the rest is in 0…volume.
            volumeToClose = FixedDecimal(units: Int64(Int128(deal.volume.units) - min(take, Int128(deal.volume.units))))
        }
        guard volumeToClose.units > 0, let p = positionSlot(ticket: deal.positionID, account: a) else { return }
        var position = cold[p].position
        let remaining = position.volume - volumeToClose
        if remaining.units <= 0 {
            removePosition(p, account: a)
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

    // MARK: - Reconciliation

    mutating func reconcile(_ report: AccountReport, account a: Int, into outputs: inout [EquityOutput]) {
        guard accounts[a].isKnown else {
            statistics.reconciliationsSkipped += 1
            return
        }
        // Out of range: no figure to compare with (the out-of-range notice stands for the drift).
        guard let reconstructed = FixedDecimal(wideUnits: accounts[a].equityUnits),
              let balance = FixedDecimal(wideUnits: accounts[a].balanceUnits),
              let credit = FixedDecimal(wideUnits: accounts[a].creditUnits)
        else {
            statistics.reconciliationsSkipped += 1
            return
        }
        statistics.reconciliations += 1
        let tolerance = configuration.driftTolerance.units(openPositions: accounts[a].positions.count, step: accounts[a].step)
        // Two in-range values of opposite sign can differ by twice the range: compare wide.
        let difference = Int128(report.equity.units) - Int128(reconstructed.units)
        guard difference.magnitude > Int128(tolerance).magnitude
            || report.balance != balance
            || report.credit != credit
        else { return }
        statistics.drifts += 1
        accounts[a].drifts += 1
        outputs.append(.drift(Drift(
            account: accounts[a].id, time: report.time, terminalEquity: report.equity,
            reconstructedEquity: reconstructed, terminalBalance: report.balance,
            reconstructedBalance: balance, terminalCredit: report.credit,
            reconstructedCredit: credit, tolerance: FixedDecimal(units: tolerance))))
    }

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

    /// Revalues every position priced or converted by symbol `s`, then settles the accounts touched.
    mutating func revalueDependents(of s: Int, time: Int64, into outputs: inout [EquityOutput]) {
        let list = dependents[s]
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
    mutating func revalue(_ p: Int) {
        let position = hot[p]
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
        hot[p].status = status
        hot[p].profitUnits = profit
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

    /// Emits the outputs of account `a` after a message at `time`.
    mutating func settle(account a: Int, time: Int64, into outputs: inout [EquityOutput]) {
        guard accounts[a].hasSnapshot else { return }
        // The one place the wide sums narrow: every figure emitted is representable.
        guard let balance = FixedDecimal(wideUnits: accounts[a].balanceUnits),
              let credit = FixedDecimal(wideUnits: accounts[a].creditUnits),
              let floating = FixedDecimal(wideUnits: accounts[a].floatingUnits),
              let equity = FixedDecimal(wideUnits: accounts[a].equityUnits)
        else {
            guard accounts[a].outOfRange == nil else { return }
            let figure = accounts[a].figureOutOfRange ?? .equity
            accounts[a].outOfRange = figure
            statistics.outOfRangeTransitions += 1
            outputs.append(.outOfRange(AccountOutOfRange(account: accounts[a].id, since: BrokerTime(milliseconds: time),
                                                         figure: figure)))
            return
        }
        if accounts[a].outOfRange != nil {
            accounts[a].outOfRange = nil
            outputs.append(.inRange(account: accounts[a].id, at: BrokerTime(milliseconds: time)))
            accounts[a].hasEmitted = false  // always follow with an observation (or an unknown notice)
            accounts[a].reportedUnknown = false
        }
        if accounts[a].unknownPositions > 0 {
            guard !accounts[a].reportedUnknown else { return }
            accounts[a].reportedUnknown = true
            accounts[a].unknownSince = time
            statistics.unknownTransitions += 1
            outputs.append(.equityUnknown(EquityUnknown(
                account: accounts[a].id, since: BrokerTime(milliseconds: time), reason: unknownReason(account: a),
                balance: balance, credit: credit)))
            return
        }
        if accounts[a].reportedUnknown {
            accounts[a].reportedUnknown = false
            accounts[a].unknownSince = nil
            outputs.append(.equityKnown(account: accounts[a].id, at: BrokerTime(milliseconds: time)))
            accounts[a].hasEmitted = false  // always follow with an observation
        }
        if accounts[a].hasEmitted, accounts[a].lastBalance == balance.units, accounts[a].lastCredit == credit.units,
           accounts[a].lastEquity == equity.units {
            return
        }
        accounts[a].hasEmitted = true
        accounts[a].lastBalance = balance.units
        accounts[a].lastCredit = credit.units
        accounts[a].lastEquity = equity.units
        statistics.observations += 1
        outputs.append(.observation(EquityObservation(
            account: accounts[a].id, time: BrokerTime(milliseconds: time), balance: balance,
            credit: credit, equity: equity, floating: floating)))
    }

    func unknownReason(account a: Int) -> EquityUnknownReason {
        guard accounts[a].hasSnapshot else { return .awaitingSnapshot }
        for slot in accounts[a].positions {
            let p = Int(slot)
            let symbol = cold[p].position.symbol
            switch hot[p].status {
            case .known, .free: continue
            case .noQuote: return .noQuote(symbol: symbol)
            case .noConversionRate: return .noConversionRate(symbol: cold[p].conversionSymbolName)
            case .outOfRange: return .outOfRange(symbol: symbol)
            case .unknownSymbol: return .unknownSymbol(symbol)
            case .unsupportedCalcMode:
                return .unsupportedCalcMode(symbol: symbol, accounts[a].symbols[symbol]?.calcMode ?? .exchangeOptions)
            case .invalidSpecification: return .invalidSymbolSpecification(symbol)
            case .noConversionSymbol: return .noConversionSymbol(from: cold[p].profitCurrency, to: accounts[a].currency)
            }
        }
        return .awaitingSnapshot
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
