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
    public internal(set) var configuration: Configuration
    /// Counters since the engine was created.
    public internal(set) var statistics = Statistics()

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
        let index = Int(slot)
        switch message {
        case .hello:
            break
        case .snapshot(let snapshot):
            applySnapshot(snapshot, account: index, into: &outputs)
        case .symbol(let spec):
            applySymbol(spec, account: index, into: &outputs)
        case .ticks(let ticks):
            if let last = ticks.last { accounts[index].lastTime = max(accounts[index].lastTime, last.time.milliseconds) }
            applyTicks(ticks, feed: accounts[index].feed, into: &outputs)
        case .position(let update):
            applyPosition(update, account: index, into: &outputs)
        case .deal(let deal):
            try applyDeal(deal, account: index, into: &outputs)
        case .report(let report):
            accounts[index].lastTime = max(accounts[index].lastTime, report.time.milliseconds)
            reconcile(report, account: index, into: &outputs)
        case .heartbeat(let time):
            accounts[index].lastTime = max(accounts[index].lastTime, time.milliseconds)
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
        let index = Int(slot)
        clearPositions(account: index)
        let feed = Int(accounts[index].feed)
        if !feedIsShared[feed], !feedHasSymbols[feed] {
            // An account that never got a quote (a HELLO alone) leaves nothing behind but its id's slot.
            feeds[FeedKey(name: id.rawValue, isShared: false)] = nil
        }
        accounts[index].isActive = false
        accounts[index].symbols = [:]
        accounts[index].conversions = [:]
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
            let index = Int(slot)
            // A reconnect of the same account keeps tracking until its snapshot replaces the state;
            // anything that changes how money is counted starts over.
            let record = accounts[index]
            if record.platform == hello.platform, record.currency == currency, record.step == step, record.feed == feed {
                return
            }
            clearPositions(account: index)
            accounts[index] = AccountRecord(id: id, platform: hello.platform, currency: currency,
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
}
