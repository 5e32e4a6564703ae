import TidemarkProtocol

/// The account state a terminal would know, folded from the messages a recording sends, so the
/// simulator can answer a RESYNC with a fresh snapshot and a `close_all` command with closing deals.
///
/// Deliberately small: balance and credit follow deals exactly (a deal moves the balance by
/// profit + commission + swap + fee; `credit` deals move the credit); equity and margin are the
/// terminal's own last reported figures (from the last snapshot or report), because recomputing
/// them is the equity engine's job, not the simulator's.
public struct SimulatedAccount: Hashable, Sendable {
    /// Who the account is (currency and digits matter for closing deals).
    public private(set) var hello: Hello
    /// Balance, credit, equity and margin as currently known.
    public private(set) var account: AccountReport
    /// Symbol specifications by name.
    public private(set) var symbols: [String: SymbolSpec] = [:]
    /// Open positions by ticket.
    public private(set) var positions: [Int64: Position] = [:]
    /// The last quote of each symbol.
    public private(set) var quotes: [String: Tick] = [:]
    /// The latest broker time seen in any message.
    public private(set) var time: BrokerTime
    // Symbol order as first seen, so rebuilt snapshots are deterministic.
    private var symbolOrder: [String] = []

    /// An account that starts from `snapshot`.
    public init(hello: Hello, snapshot: Snapshot) {
        self.hello = hello
        self.account = snapshot.account
        self.time = snapshot.account.time
        reset(to: snapshot)
    }

    /// Folds one message the terminal sends into the state.
    public mutating func apply(_ message: TerminalMessage) {
        switch message {
        case .hello(let hello):
            self.hello = hello
        case .snapshot(let snapshot):
            reset(to: snapshot)
        case .symbol(let spec):
            record(spec)
        case .ticks(let ticks):
            // Only each symbol's last quote stays, and a batch is mostly one symbol: then one
            // dictionary write (one hash of the name) per batch instead of one per tick.
            guard let first = ticks.first else { break }
            var latest = first.time
            var oneSymbol = true
            for tick in ticks {
                if tick.time > latest { latest = tick.time }
                if oneSymbol, tick.symbol != first.symbol { oneSymbol = false }
            }
            if oneSymbol, let last = ticks.last {
                quotes[first.symbol] = last
            } else {
                for tick in ticks { quotes[tick.symbol] = tick }
            }
            advance(to: latest)
        case .position(let update):
            switch update.change {
            case .opened, .changed: positions[update.position.ticket] = update.position
            case .closed: positions[update.position.ticket] = nil
            }
            advance(to: update.time)
        case .deal(let deal):
            let amount = deal.profit + deal.commission + deal.swap + deal.fee
            if deal.type == .credit {
                account.credit += amount
            } else {
                account.balance += amount
            }
            advance(to: deal.time)
        case .report(let report):
            account = report
            advance(to: report.time)
        case .heartbeat(let time):
            advance(to: time)
        case .bye, .commandAcknowledgement:
            break
        }
    }

    /// A snapshot of the state now, as a terminal would send after a RESYNC.
    public func snapshot() -> Snapshot {
        var report = account
        report.time = time
        return Snapshot(
            account: report,
            symbols: symbolOrder.compactMap { symbols[$0] },
            positions: positions.values.sorted { $0.ticket < $1.ticket },
            quotes: symbolOrder.compactMap { quotes[$0] }
        )
    }

    /// Closes every open position at the last quote (buys at bid, sells at ask), as a terminal
    /// carrying out `close_all` would, and returns what it would report: per position (by ticket)
    /// an exit deal followed by the position's `closed` update. Applies them to the state.
    ///
    /// Profit is (close − open) × contract size × volume for the contract-size calculation modes
    /// and (close − open) / tick size × tick value × volume for futures modes, negated for sells,
    /// converted to the account currency through a quote of `PROFITACCOUNT` (× bid) or
    /// `ACCOUNTPROFIT` (÷ ask), rounded to the account's currency digits. A position whose symbol
    /// has no quote, no specification or no conversion quote is closed at its open price with zero
    /// profit, and the deal's comment says why.
    /// - Parameters:
    ///   - firstDealTicket: the ticket of the first deal; the following deals count up from it.
    ///   - comment: the deals' comment when a position closes at its price (`close_all`).
    public mutating func closeAllPositions(firstDealTicket: Int64, comment: String = "close_all") -> [TerminalMessage] {
        var messages: [TerminalMessage] = []
        var ticket = firstDealTicket
        for position in positions.values.sorted(by: { $0.ticket < $1.ticket }) {
            let (price, profit, note) = closing(position)
            let deal = Deal(
                ticket: ticket, time: time, type: position.side == .buy ? .sell : .buy, entry: .out,
                symbol: position.symbol, volume: position.volume, price: price, profit: profit,
                commission: position.commission, swap: position.swap, fee: .zero,
                positionID: position.ticket, comment: note.map { "\(comment): \($0)" } ?? comment
            )
            ticket += 1
            let closed = TerminalMessage.position(PositionUpdate(change: .closed, time: time, position: position))
            messages.append(.deal(deal))
            messages.append(closed)
        }
        for message in messages { apply(message) }
        return messages
    }

    private func closing(_ position: Position) -> (price: FixedDecimal, profit: FixedDecimal, note: String?) {
        guard let quote = quotes[position.symbol] else { return (position.openPrice, .zero, "no quote") }
        let price = position.side == .buy ? quote.bid : quote.ask
        guard let spec = symbols[position.symbol] else { return (price, .zero, "no symbol specification") }
        let move = position.side == .buy ? price - position.openPrice : position.openPrice - price
        let inProfitCurrency: FixedDecimal
        switch spec.calcMode {
        case .futures, .exchangeFutures, .exchangeFuturesForts:
            guard !spec.tickSize.isZero else { return (price, .zero, "zero tick size") }
            inProfitCurrency = move.multiplied(by: spec.tickValue, dividedBy: spec.tickSize).multiplied(by: position.volume)
        default:
            inProfitCurrency = move.multiplied(by: spec.contractSize).multiplied(by: position.volume)
        }
        guard let converted = convert(inProfitCurrency, from: spec.profitCurrency) else {
            return (price, .zero, "no \(spec.profitCurrency)\(hello.currency) quote")
        }
        return (price, converted.rounded(toDigits: min(max(hello.currencyDigits, 0), 8)), nil)
    }

    private func convert(_ amount: FixedDecimal, from currency: String) -> FixedDecimal? {
        let accountCurrency = hello.currency
        if currency == accountCurrency { return amount }
        // Symbol names may carry a broker suffix (`GBPUSD.r`): match on the first six letters.
        for (name, quote) in quotes where name.count >= 6 {
            let pair = String(name.prefix(6))
            if pair == currency + accountCurrency { return amount.multiplied(by: quote.bid) }
            if pair == accountCurrency + currency, !quote.ask.isZero { return amount.divided(by: quote.ask) }
        }
        return nil
    }

    private mutating func reset(to snapshot: Snapshot) {
        account = snapshot.account
        positions = Dictionary(snapshot.positions.map { ($0.ticket, $0) }, uniquingKeysWith: { _, last in last })
        for spec in snapshot.symbols { record(spec) }
        for quote in snapshot.quotes { quotes[quote.symbol] = quote }
        advance(to: snapshot.account.time)
    }

    private mutating func record(_ spec: SymbolSpec) {
        if symbols[spec.name] == nil { symbolOrder.append(spec.name) }
        symbols[spec.name] = spec
    }

    private mutating func advance(to newTime: BrokerTime) {
        if newTime > time { time = newTime }
    }
}
