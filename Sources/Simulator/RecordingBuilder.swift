// Turns real ticks plus a small trade script into a recording (protocol/README.md, "make-recording"):
// a pure transformation, so that tests can build recordings without files and the CLI only does I/O.

import TidemarkProtocol

/// One quote from a tick file, in UTC.
public struct SourceTick: Hashable, Sendable {
    public var symbol: String
    /// Milliseconds since 1970-01-01 UTC.
    public var utcMilliseconds: Int64
    public var bid: FixedDecimal
    public var ask: FixedDecimal

    public init(symbol: String, utcMilliseconds: Int64, bid: FixedDecimal, ask: FixedDecimal) {
        self.symbol = symbol
        self.utcMilliseconds = utcMilliseconds
        self.bid = bid
        self.ask = ask
    }
}

/// Why a recording could not be built (a bad input file, script or action), with where.
public struct RecordingBuilderError: TidemarkError {
    private enum Code: String, Hashable, Sendable {
        case badTickLine = "bad_tick_line"
        case badScriptLine = "bad_script_line"
        case scriptOutOfOrder = "script_out_of_order"
        case noQuote = "no_quote"
        case unknownSymbol = "unknown_symbol"
        case unknownTicket = "unknown_ticket"
        case badVolume = "bad_volume"
        case unsupportedSymbol = "unsupported_symbol"
        case noTicks = "no_ticks"
    }

    private var codeValue: Code
    /// What and where: `line 3: …`.
    public private(set) var detail: String

    private init(_ code: Code, _ detail: String) {
        codeValue = code
        self.detail = detail
    }

    /// A short label (`bad_script_line`, `unknown_ticket`, …).
    public var code: String { codeValue.rawValue }

    static func badTickLine(_ detail: String) -> Self { Self(.badTickLine, detail) }
    static func badScriptLine(_ line: Int, _ detail: String) -> Self { Self(.badScriptLine, "line \(line): \(detail)") }
    static func scriptOutOfOrder(_ line: Int) -> Self { Self(.scriptOutOfOrder, "line \(line): actions must be in time order") }
    static func noQuote(_ line: Int, _ symbol: String) -> Self { Self(.noQuote, "line \(line): no \(symbol) quote yet") }
    static func unknownSymbol(_ line: Int, _ symbol: String) -> Self { Self(.unknownSymbol, "line \(line): no ticks for \(symbol)") }
    static func unknownTicket(_ line: Int, _ ticket: Int64) -> Self { Self(.unknownTicket, "line \(line): no open position \(ticket)") }
    static func badVolume(_ line: Int, _ detail: String) -> Self { Self(.badVolume, "line \(line): \(detail)") }
    static func unsupportedSymbol(_ detail: String) -> Self { Self(.unsupportedSymbol, detail) }
    /// No tick file had any tick.
    public static let noTicks = Self(.noTicks, "no ticks")
}

// MARK: - Tick files

/// Reads tick files shaped like `../shared/data/ticks/*.csv`: `time_utc_ms,bid,ask,bid_volume,ask_volume`.
public enum TickCSV {
    /// The symbol a tick file is for, from its name: `EURUSD-2019-02-04.csv` → `EURUSD`.
    public static func symbol(fromFileName name: String) -> String {
        let base = name.split(separator: "/").last.map(String.init) ?? name
        return String(base.prefix { $0 != "-" && $0 != "." && $0 != "_" })
    }

    /// Parses a whole file. A first line that does not start with a digit is a header and skipped;
    /// columns after `ask` are ignored.
    public static func parse(_ bytes: [UInt8], symbol: String) throws(RecordingBuilderError) -> [SourceTick] {
        var ticks: [SourceTick] = []
        ticks.reserveCapacity(bytes.count / 40)
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            defer { start = end + 1 }
            if lineEnd == start { continue }
            if lineNumber == 1, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[start]) { continue }
            let columns = bytes[start..<lineEnd].split(separator: UInt8(ascii: ","), maxSplits: 3, omittingEmptySubsequences: false)
            guard columns.count >= 3,
                  let time = Int64(String(decoding: columns[0], as: UTF8.self)), time >= 0,
                  let bid = FixedDecimal(ascii: columns[1]), let ask = FixedDecimal(ascii: columns[2]),
                  bid.units > 0, ask.units > 0
            else { throw .badTickLine("\(symbol) line \(lineNumber)") }
            ticks.append(SourceTick(symbol: symbol, utcMilliseconds: time, bid: bid, ask: ask))
        }
        return ticks
    }
}

// MARK: - Trade scripts

/// One timed action of a trade script.
public struct TradeScriptAction: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A balance deal (positive: deposit, negative: withdrawal).
        case balance(FixedDecimal)
        /// A credit deal.
        case credit(FixedDecimal)
        /// A market order at the current quote (buys at ask, sells at bid).
        case open(Side, lots: FixedDecimal, symbol: String?)
        /// Close a position, whole (`lots` nil) or partly.
        case close(ticket: Int64, lots: FixedDecimal?)
    }

    /// Broker time.
    public var time: BrokerTime
    public var kind: Kind
    /// The script line, for error messages.
    public var line: Int

    public init(time: BrokerTime, kind: Kind, line: Int = 0) {
        self.time = time
        self.kind = kind
        self.line = line
    }
}

/// A parsed trade script: settings and timed actions.
public struct TradeScript: Hashable, Sendable {
    /// Commission per lot and per side in the account currency (positive number, charged negative).
    /// MT5: on every entry and exit deal. MT4: both sides at once on the order when it opens.
    public var commissionPerLot: FixedDecimal = .zero
    /// The balance in the first snapshot.
    public var initialBalance: FixedDecimal = .zero
    public var actions: [TradeScriptAction] = []

    public init(commissionPerLot: FixedDecimal = .zero, initialBalance: FixedDecimal = .zero, actions: [TradeScriptAction] = []) {
        self.commissionPerLot = commissionPerLot
        self.initialBalance = initialBalance
        self.actions = actions
    }

    /// Parses the script text (format in protocol/README.md). Times are broker time.
    public static func parse(_ text: String) throws(RecordingBuilderError) -> TradeScript {
        var script = TradeScript()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let content = rawLine.prefix { $0 != "#" }
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = words.first else { continue }
            func decimal(_ word: String) throws(RecordingBuilderError) -> FixedDecimal {
                guard let value = FixedDecimal(word) else { throw .badScriptLine(lineNumber, "not a decimal: \(word)") }
                return value
            }
            // Settings: no time.
            if first == "commission" || first == "balance" {
                guard words.count == 2 else { throw .badScriptLine(lineNumber, "\(first) takes one amount") }
                let amount = try decimal(words[1])
                guard amount.units >= 0 else { throw .badScriptLine(lineNumber, "\(first) must be ≥ 0") }
                if first == "commission" { script.commissionPerLot = amount } else { script.initialBalance = amount }
                continue
            }
            guard words.count >= 3, let time = BrokerTime(formatted: words[0] + " " + words[1]) else {
                throw .badScriptLine(lineNumber, "expected `YYYY-MM-DD HH:MM:SS action …`")
            }
            let arguments = Array(words.dropFirst(3))
            let kind: TradeScriptAction.Kind
            switch words[2] {
            case "deposit", "withdraw", "credit":
                guard arguments.count == 1 else { throw .badScriptLine(lineNumber, "\(words[2]) takes one amount") }
                let amount = try decimal(arguments[0])
                guard amount.units > 0 else { throw .badScriptLine(lineNumber, "the amount must be > 0") }
                kind = words[2] == "deposit" ? .balance(amount) : words[2] == "withdraw" ? .balance(-amount) : .credit(amount)
            case "open":
                guard (2...3).contains(arguments.count), let side = Side(rawValue: arguments[0]) else {
                    throw .badScriptLine(lineNumber, "expected `open buy|sell LOTS [SYMBOL]`")
                }
                let lots = try decimal(arguments[1])
                guard lots.units > 0 else { throw .badScriptLine(lineNumber, "lots must be > 0") }
                kind = .open(side, lots: lots, symbol: arguments.count == 3 ? arguments[2] : nil)
            case "close":
                guard (1...2).contains(arguments.count), let ticket = Int64(arguments[0]) else {
                    throw .badScriptLine(lineNumber, "expected `close TICKET [LOTS]`")
                }
                let lots = arguments.count == 2 ? try decimal(arguments[1]) : nil
                if let lots, lots.units <= 0 { throw .badScriptLine(lineNumber, "lots must be > 0") }
                kind = .close(ticket: ticket, lots: lots)
            default:
                throw .badScriptLine(lineNumber, "unknown action \(words[2])")
            }
            if let last = script.actions.last, last.time > time { throw .scriptOutOfOrder(lineNumber) }
            script.actions.append(TradeScriptAction(time: time, kind: kind, line: lineNumber))
        }
        return script
    }
}

// MARK: - The builder

/// Builds a recording from ticks and a trade script.
///
/// The recording is one session: `hello`, `snapshot`, then ticks in batches with the script's actions
/// at their times, periodic `report`s with the terminal's equity computed exactly, and `bye`.
/// Actions execute at the last quote at or before their time: buys at ask, sells at bid.
/// Only symbols whose profit currency is the account currency can be traded (others may be streamed).
public struct RecordingBuilder: Sendable {
    /// Everything about the simulated terminal and account.
    public struct Configuration: Sendable {
        public var platform: Platform = .mt5
        public var server = "Tidemark-Sim"
        public var login: Int64 = 1_000_001
        public var company = "Tidemark Simulator"
        public var currency = "USD"
        public var leverage = 100
        /// Broker time − UTC.
        public var brokerOffsetHours = 2
        public var sessionID = "sim-1"
        /// At most this many quotes in one `ticks` message.
        public var ticksPerMessage = 50
        /// A `report` after every this many ticks (0: only the final one).
        public var reportEveryTicks = 1_000
        /// A `heartbeat` when the feed is silent this long (then 5 s after the last tick).
        public var heartbeatGapMilliseconds: Int64 = 10_000

        public init() {}
    }

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    /// The forex specification the builder assumes for a six-letter name (`EURUSD`, `USDJPY`):
    /// contract 100,000, 5 digits (3 when the quote currency is JPY).
    public static func forexSpec(_ name: String, accountCurrency: String) -> SymbolSpec {
        let letters = Array(name)
        let base = letters.count >= 6 ? String(letters[0..<3]) : name
        let quote = letters.count >= 6 ? String(letters[3..<6]) : name
        let digits = quote == "JPY" ? 3 : 5
        let tickSize = FixedDecimal(units: FixedDecimal.powersOfTen[FixedDecimal.fractionDigits - digits])
        let contract = FixedDecimal(100_000)
        // Tick value is informational for forex; known exactly only when profit is in the account currency.
        let tickValue = quote == accountCurrency ? tickSize.multiplied(by: contract) : .zero
        return SymbolSpec(name: name, digits: digits, calcMode: .forex, contractSize: contract, tickSize: tickSize,
                          tickValue: tickValue, profitCurrency: quote, marginCurrency: base, baseCurrency: base)
    }

    /// Builds the recording. `ticks` may mix symbols; each symbol's ticks must be in time order.
    public func build(ticks: [SourceTick], script: TradeScript) throws(RecordingBuilderError) -> [RecordingLine] {
        var state = BuildState(configuration: configuration, script: script)
        return try state.run(ticks: ticks)
    }
}

/// The simulated terminal while building.
private struct BuildState {
    let configuration: RecordingBuilder.Configuration
    let script: TradeScript
    var account: AccountID
    var lines: [RecordingLine] = []
    var sequence: UInt64 = 0
    var balance: FixedDecimal
    var credit = FixedDecimal.zero
    var specs: [String: SymbolSpec] = [:]
    /// Symbols in order of their first tick; the first is the default for `open`.
    var symbolOrder: [String] = []
    var quotes: [String: Tick] = [:]
    var positions: [Int64: Position] = [:]
    var positionOrder: [Int64] = []
    var nextPositionTicket: Int64 = 100_001
    var nextDealTicket: Int64 = 200_001
    var pendingTicks: [Tick] = []
    var ticksSinceReport = 0
    var now = BrokerTime(milliseconds: 0)
    let currencyDigits = 2

    init(configuration: RecordingBuilder.Configuration, script: TradeScript) {
        self.configuration = configuration
        self.script = script
        account = AccountID(server: configuration.server, login: configuration.login)
        balance = script.initialBalance
    }

    mutating func emit(_ message: TerminalMessage) {
        sequence += 1
        lines.append(.message(account: account, sessionID: configuration.sessionID, sequence: sequence, message))
    }

    mutating func flushTicks() {
        guard !pendingTicks.isEmpty else { return }
        emit(.ticks(pendingTicks))
        pendingTicks.removeAll(keepingCapacity: true)
    }

    mutating func run(ticks source: [SourceTick]) throws(RecordingBuilderError) -> [RecordingLine] {
        guard !source.isEmpty else { throw .noTicks }
        let offset = Int64(configuration.brokerOffsetHours) * 3_600_000
        // Merge symbols by time; the sort is stable, so each symbol keeps its own order.
        var ordered = source.enumerated().map { ($0.offset, $0.element) }
        ordered.sort { ($0.1.utcMilliseconds, $0.0) < ($1.1.utcMilliseconds, $1.0) }
        for (_, tick) in ordered where specs[tick.symbol] == nil {
            var spec = RecordingBuilder.forexSpec(tick.symbol, accountCurrency: configuration.currency)
            if spec.tickValue.isZero, spec.baseCurrency == configuration.currency {
                // USDJPY-like: one tick is worth tickSize × contract ÷ price in the account currency.
                spec.tickValue = spec.tickSize.multiplied(by: spec.contractSize).divided(by: tick.bid).rounded(toDigits: 5)
            }
            specs[tick.symbol] = spec
            symbolOrder.append(tick.symbol)
        }
        let start = BrokerTime(milliseconds: min(ordered[0].1.utcMilliseconds + offset,
                                                 script.actions.first?.time.milliseconds ?? .max))
        now = start
        emit(.hello(Hello(platform: configuration.platform, terminalBuild: configuration.platform == .mt5 ? 4755 : 1420,
                          login: configuration.login, server: configuration.server, company: configuration.company,
                          currency: configuration.currency, currencyDigits: currencyDigits, marginMode: .retailHedging,
                          leverage: configuration.leverage, eaVersion: "sim", brokerUTCOffsetSeconds: configuration.brokerOffsetHours * 3600,
                          sessionID: configuration.sessionID)))
        emit(.snapshot(Snapshot(account: report(), symbols: symbolOrder.map { specs[$0]! }, positions: [], quotes: [])))

        var actionIndex = 0
        for (_, source) in ordered {
            let tick = Tick(symbol: source.symbol, time: BrokerTime(milliseconds: source.utcMilliseconds + offset),
                            bid: source.bid, ask: source.ask)
            while actionIndex < script.actions.count, script.actions[actionIndex].time < tick.time {
                try perform(script.actions[actionIndex])
                actionIndex += 1
            }
            // `now` is the last tick's or action's time: a silent feed gets one heartbeat 5 s later.
            if tick.time.milliseconds - now.milliseconds >= configuration.heartbeatGapMilliseconds {
                flushTicks()
                emit(.heartbeat(BrokerTime(milliseconds: now.milliseconds + 5_000)))
            }
            now = max(now, tick.time)
            quotes[tick.symbol] = tick
            pendingTicks.append(tick)
            ticksSinceReport += 1
            if pendingTicks.count >= configuration.ticksPerMessage { flushTicks() }
            if configuration.reportEveryTicks > 0, ticksSinceReport >= configuration.reportEveryTicks {
                flushTicks()
                emit(.report(report()))
                ticksSinceReport = 0
            }
        }
        while actionIndex < script.actions.count {
            try perform(script.actions[actionIndex])
            actionIndex += 1
        }
        flushTicks()
        emit(.report(report()))
        emit(.bye(reason: "recording finished"))
        return lines
    }

    // MARK: actions

    mutating func perform(_ action: TradeScriptAction) throws(RecordingBuilderError) {
        flushTicks()
        now = max(now, action.time)
        switch action.kind {
        case .balance(let amount):
            balance += amount
            emit(.deal(Deal(ticket: takeDealTicket(), time: now, type: .balance, entry: .in, profit: amount,
                            comment: amount.isNegative ? "Withdrawal" : "Deposit")))
        case .credit(let amount):
            credit += amount
            emit(.deal(Deal(ticket: takeDealTicket(), time: now, type: .credit, entry: .in, profit: amount, comment: "Credit")))
        case .open(let side, let lots, let symbolName):
            let symbol = symbolName ?? symbolOrder[0]
            guard let spec = specs[symbol] else { throw .unknownSymbol(action.line, symbol) }
            guard spec.profitCurrency == configuration.currency else {
                throw .unsupportedSymbol("line \(action.line): \(symbol) profits in \(spec.profitCurrency), not \(configuration.currency)")
            }
            guard let quote = quotes[symbol] else { throw .noQuote(action.line, symbol) }
            let price = side == .buy ? quote.ask : quote.bid
            let ticket = nextPositionTicket
            nextPositionTicket += 1
            var position = Position(ticket: ticket, symbol: symbol, side: side, volume: lots, openPrice: price, openTime: now)
            switch configuration.platform {
            case .mt5:
                let commission = -script.commissionPerLot.multiplied(by: lots).rounded(toDigits: currencyDigits)
                balance += commission
                emit(.deal(Deal(ticket: takeDealTicket(), time: now, type: side == .buy ? .buy : .sell, entry: .in, symbol: symbol,
                                volume: lots, price: price, commission: commission, positionID: ticket)))
            case .mt4:
                // MT4 charges the round turn on the order and keeps it there until the close.
                position.commission = -(script.commissionPerLot + script.commissionPerLot).multiplied(by: lots).rounded(toDigits: currencyDigits)
            }
            positions[ticket] = position
            positionOrder.append(ticket)
            emit(.position(PositionUpdate(change: .opened, time: now, position: position)))
        case .close(let ticket, let requestedLots):
            guard let position = positions[ticket] else { throw .unknownTicket(action.line, ticket) }
            let lots = requestedLots ?? position.volume
            guard lots <= position.volume else {
                throw .badVolume(action.line, "closing \(lots) lots of a \(position.volume)-lot position")
            }
            guard let quote = quotes[position.symbol] else { throw .noQuote(action.line, position.symbol) }
            let spec = specs[position.symbol]!
            let price = position.side == .buy ? quote.bid : quote.ask
            let profit = Self.profit(position, at: price, lots: lots, spec: spec).rounded(toDigits: currencyDigits)
            let isFull = lots == position.volume
            let commission: FixedDecimal
            switch configuration.platform {
            case .mt5:
                commission = -script.commissionPerLot.multiplied(by: lots).rounded(toDigits: currencyDigits)
            case .mt4:
                commission = isFull ? position.commission
                    : position.commission.multiplied(by: lots, dividedBy: position.volume).rounded(toDigits: currencyDigits)
            }
            balance += profit + commission + (isFull ? position.swap : .zero)
            let dealTicket = configuration.platform == .mt4 ? ticket : takeDealTicket()
            emit(.deal(Deal(ticket: dealTicket, time: now, type: position.side == .buy ? .sell : .buy, entry: .out,
                            symbol: position.symbol, volume: lots, price: price, profit: profit, commission: commission,
                            swap: isFull ? position.swap : .zero, positionID: ticket)))
            if isFull {
                positions[ticket] = nil
                positionOrder.removeAll { $0 == ticket }
                emit(.position(PositionUpdate(change: .closed, time: now, position: position)))
            } else if configuration.platform == .mt5 {
                var remaining = position
                remaining.volume = position.volume - lots
                positions[ticket] = remaining
                emit(.position(PositionUpdate(change: .changed, time: now, position: remaining)))
            } else {
                // MT4: the old ticket closes, the remainder lives on under a new ticket.
                positions[ticket] = nil
                positionOrder.removeAll { $0 == ticket }
                emit(.position(PositionUpdate(change: .closed, time: now, position: position)))
                let newTicket = nextPositionTicket
                nextPositionTicket += 1
                var remaining = position
                remaining.ticket = newTicket
                remaining.volume = position.volume - lots
                remaining.commission = position.commission - commission
                positions[newTicket] = remaining
                positionOrder.append(newTicket)
                emit(.position(PositionUpdate(change: .opened, time: now, position: remaining)))
            }
        }
    }

    mutating func takeDealTicket() -> Int64 {
        if configuration.platform == .mt4 {
            // MT4 balance operations are orders: they share the order ticket sequence.
            defer { nextPositionTicket += 1 }
            return nextPositionTicket
        }
        defer { nextDealTicket += 1 }
        return nextDealTicket
    }

    /// (close − open) × contract × lots for a buy, (open − close) × contract × lots for a sell, unrounded.
    static func profit(_ position: Position, at price: FixedDecimal, lots: FixedDecimal, spec: SymbolSpec) -> FixedDecimal {
        let move = position.side == .buy ? price - position.openPrice : position.openPrice - price
        return move.multiplied(by: spec.contractSize).multiplied(by: lots)
    }

    /// The terminal's figures now: equity = balance + credit + Σ (profit rounded to the account's
    /// digits + swap + commission kept on the position); margin = lots × contract ÷ leverage in the
    /// account currency (through the symbol's ask when the margin currency is its base).
    func report() -> AccountReport {
        var equity = balance + credit
        var margin = FixedDecimal.zero
        for ticket in positionOrder {
            let position = positions[ticket]!
            let spec = specs[position.symbol]!
            if let quote = quotes[position.symbol] {
                let mark = position.side == .buy ? quote.bid : quote.ask
                equity += Self.profit(position, at: mark, lots: position.volume, spec: spec).rounded(toDigits: currencyDigits)
                let units = spec.contractSize.multiplied(by: position.volume).divided(by: FixedDecimal(configuration.leverage))
                if spec.marginCurrency == configuration.currency {
                    margin += units
                } else if spec.profitCurrency == configuration.currency {
                    margin += units.multiplied(by: quote.ask)
                }
            }
            equity += position.swap + position.commission
        }
        return AccountReport(time: now, balance: balance, credit: credit, equity: equity, margin: margin.rounded(toDigits: currencyDigits))
    }
}
