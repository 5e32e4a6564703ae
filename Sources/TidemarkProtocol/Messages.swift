// The message vocabulary between a Tidemark Expert Advisor and the agent. The same types are the
// wire protocol (see WireCodec.swift and protocol/SPEC.md), the recording format (JSON Lines) and
// the input of the equity engine and the risk core.

/// The newest protocol version this implementation speaks (protocol/SPEC.md §10). Version 2 is
/// version 1 plus the snapshot's `N` record; the agent's own frames stay version 1.
public let protocolVersion = 2

/// Every version the decoder reads; a frame of another version is rejected.
public let supportedProtocolVersions: ClosedRange<Int> = 1...2

/// Identifies one trading account on one trade server: `"<server>:<login>"`.
public struct AccountID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// `"<server>:<login>"`.
    public var rawValue: String
    /// An id from its `"<server>:<login>"` text.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// The id of `login` on `server`.
    public init(server: String, login: Int64) { self.rawValue = "\(server):\(login)" }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    /// Longest server name an account id may carry, in characters (MetaTrader's are far shorter).
    public static let maximumServerNameLength = 128
    /// What is wrong with `server` as the server part of an account id, or nil: it must be
    /// non-empty, at most ``maximumServerNameLength`` characters, and free of control characters
    /// (a NUL would cut the id short in C strings and SQLite's text functions).
    public static func problem(withServerName server: String) -> String? {
        if server.isEmpty { return "empty server name" }
        var count = 0
        for scalar in server.unicodeScalars {
            count += 1
            if count > maximumServerNameLength {
                return "server name longer than \(maximumServerNameLength) characters"
            }
            if scalar.value < 0x20 || scalar.value == 0x7F {
                return "control character U+\(String(scalar.value, radix: 16, uppercase: true)) in server name"
            }
        }
        return nil
    }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The terminal platform.
public enum Platform: String, Sendable, Codable, CaseIterable {
    case mt4, mt5
}

/// How the account holds positions: MQL5 `ACCOUNT_MARGIN_MODE`. MT4 accounts are always hedging.
/// Tidemark tracks hedging accounts only; netting and exchange accounts are rejected.
public enum MarginMode: String, Sendable, Codable, CaseIterable {
    /// `ACCOUNT_MARGIN_MODE_RETAIL_HEDGING`, and every MT4 account.
    case retailHedging = "retail_hedging"
    /// `ACCOUNT_MARGIN_MODE_RETAIL_NETTING`: one position per symbol.
    case retailNetting = "retail_netting"
    /// `ACCOUNT_MARGIN_MODE_EXCHANGE`: exchange netting.
    case exchange
}

/// The first message of a session: who the terminal and the account are.
public struct Hello: Hashable, Sendable, Codable {
    /// MT4 or MT5.
    public var platform: Platform
    /// `TERMINAL_BUILD`.
    public var terminalBuild: Int
    /// `ACCOUNT_LOGIN`.
    public var login: Int64
    /// `ACCOUNT_SERVER`.
    public var server: String
    /// `ACCOUNT_COMPANY`.
    public var company: String
    /// `ACCOUNT_CURRENCY`, e.g. `USD`.
    public var currency: String
    /// `ACCOUNT_CURRENCY_DIGITS` (MT4: 2): how money is rounded in this account.
    public var currencyDigits: Int
    /// `ACCOUNT_MARGIN_MODE`; only hedging accounts are accepted.
    public var marginMode: MarginMode
    /// `ACCOUNT_LEVERAGE`.
    public var leverage: Int
    /// The Expert Advisor's own version.
    public var eaVersion: String
    /// `TimeCurrent() − TimeGMT()` in seconds when the session started: broker time minus UTC.
    public var brokerUTCOffsetSeconds: Int
    /// Chosen by the EA for this connection; a reconnect starts a new session with a new id.
    public var sessionID: String

    /// A hello with every field given.
    public init(
        platform: Platform, terminalBuild: Int, login: Int64, server: String, company: String,
        currency: String, currencyDigits: Int, marginMode: MarginMode, leverage: Int,
        eaVersion: String, brokerUTCOffsetSeconds: Int, sessionID: String
    ) {
        self.platform = platform
        self.terminalBuild = terminalBuild
        self.login = login
        self.server = server
        self.company = company
        self.currency = currency
        self.currencyDigits = currencyDigits
        self.marginMode = marginMode
        self.leverage = leverage
        self.eaVersion = eaVersion
        self.brokerUTCOffsetSeconds = brokerUTCOffsetSeconds
        self.sessionID = sessionID
    }

    /// The account this hello speaks for.
    public var accountID: AccountID { AccountID(server: server, login: login) }
}

/// How a symbol's profit is calculated: MQL5 `ENUM_SYMBOL_CALC_MODE` (MT4 `MODE_PROFITCALCMODE`
/// 0 = forex, 1 = cfd, 2 = futures map onto the same cases).
public enum CalcMode: String, Sendable, Codable, CaseIterable {
    case forex
    case forexNoLeverage = "forex_no_leverage"
    case cfd
    case cfdIndex = "cfd_index"
    case cfdLeverage = "cfd_leverage"
    case futures
    case exchangeStocks = "exch_stocks"
    case exchangeFutures = "exch_futures"
    case exchangeFuturesForts = "exch_futures_forts"
    case exchangeOptions = "exch_options"
    case exchangeOptionsMargin = "exch_options_margin"
    case exchangeBonds = "exch_bonds"
    case exchangeStocksMOEX = "exch_stocks_moex"
    case exchangeBondsMOEX = "exch_bonds_moex"
    case serviceCollateral = "serv_collateral"
}

/// A symbol's specification, as far as profit and conversion need it.
public struct SymbolSpec: Hashable, Sendable, Codable {
    /// The broker's name, suffix included (`EURUSD.r`).
    public var name: String
    /// `SYMBOL_DIGITS`.
    public var digits: Int
    /// `SYMBOL_TRADE_CALC_MODE`: how profit is computed.
    public var calcMode: CalcMode
    /// `SYMBOL_TRADE_CONTRACT_SIZE`.
    public var contractSize: FixedDecimal
    /// `SYMBOL_TRADE_TICK_SIZE`.
    public var tickSize: FixedDecimal
    /// `SYMBOL_TRADE_TICK_VALUE`, in the account currency (informational except for futures modes).
    public var tickValue: FixedDecimal
    /// `SYMBOL_CURRENCY_PROFIT`.
    public var profitCurrency: String
    /// `SYMBOL_CURRENCY_MARGIN`.
    public var marginCurrency: String
    /// `SYMBOL_CURRENCY_BASE`.
    public var baseCurrency: String

    /// A specification with every field given.
    public init(
        name: String, digits: Int, calcMode: CalcMode, contractSize: FixedDecimal, tickSize: FixedDecimal,
        tickValue: FixedDecimal, profitCurrency: String, marginCurrency: String, baseCurrency: String
    ) {
        self.name = name
        self.digits = digits
        self.calcMode = calcMode
        self.contractSize = contractSize
        self.tickSize = tickSize
        self.tickValue = tickValue
        self.profitCurrency = profitCurrency
        self.marginCurrency = marginCurrency
        self.baseCurrency = baseCurrency
    }
}

/// One quote.
public struct Tick: Hashable, Sendable, Codable {
    /// The broker's symbol name.
    public var symbol: String
    /// `MqlTick.time_msc`.
    public var time: BrokerTime
    /// The bid price.
    public var bid: FixedDecimal
    /// The ask price.
    public var ask: FixedDecimal

    /// A quote of `symbol` at `time`.
    public init(symbol: String, time: BrokerTime, bid: FixedDecimal, ask: FixedDecimal) {
        self.symbol = symbol
        self.time = time
        self.bid = bid
        self.ask = ask
    }
}

extension Tick {
    /// How far a quote's bid may be above its ask, in percent of the ask (protocol/SPEC.md §4.1):
    /// a slightly crossed quote happens on thin markets and around rollovers and passes through;
    /// beyond this it is a broken number.
    public static let maximumCrossedPercent: Int64 = 1

    /// Whether `bid`/`ask` is a quote Tidemark folds: both positive and bid ≤ ask × 1.01, exactly
    /// (100 × bid ≤ 101 × ask, no rounding). The one definition the decoder, the bridge's
    /// validator and the equity engine share.
    @inlinable public static func isPlausibleQuote(bid: FixedDecimal, ask: FixedDecimal) -> Bool {
        bid.units > 0 && ask.units > 0
            && Int128(bid.units) * 100 <= Int128(ask.units) * Int128(100 + maximumCrossedPercent)
    }

    /// Whether this tick's prices pass ``isPlausibleQuote(bid:ask:)``.
    @inlinable public var isPlausibleQuote: Bool { Self.isPlausibleQuote(bid: bid, ask: ask) }
}

/// Buy or sell.
public enum Side: String, Sendable, Codable, CaseIterable {
    case buy, sell
}

/// An open position (MT5) or open market order (MT4).
public struct Position: Hashable, Sendable, Codable {
    /// MT5 `POSITION_TICKET` (= `POSITION_IDENTIFIER` on hedging accounts); MT4 `OrderTicket()`.
    public var ticket: Int64
    /// The broker's symbol name.
    public var symbol: String
    /// Buy or sell.
    public var side: Side
    /// Lots: MT5 `POSITION_VOLUME`, MT4 `OrderLots()`.
    public var volume: FixedDecimal
    /// `POSITION_PRICE_OPEN`.
    public var openPrice: FixedDecimal
    /// `POSITION_TIME_MSC`.
    public var openTime: BrokerTime
    /// Accumulated swap: MT5 `POSITION_SWAP`, MT4 `OrderSwap()`.
    public var swap: FixedDecimal
    /// MT4 `OrderCommission()`: charged at close, counted in equity meanwhile. Always 0 on MT5,
    /// where commission goes to balance through deals.
    public var commission: FixedDecimal

    /// A position with every field given.
    public init(
        ticket: Int64, symbol: String, side: Side, volume: FixedDecimal, openPrice: FixedDecimal,
        openTime: BrokerTime, swap: FixedDecimal = .zero, commission: FixedDecimal = .zero
    ) {
        self.ticket = ticket
        self.symbol = symbol
        self.side = side
        self.volume = volume
        self.openPrice = openPrice
        self.openTime = openTime
        self.swap = swap
        self.commission = commission
    }
}

/// What happened to a position.
public enum PositionChange: String, Sendable, Codable, CaseIterable {
    /// A new position (the deal that opened it comes as its own ``Deal``).
    case opened
    /// Volume (partial close), swap, commission or price changed; the message carries the new state.
    case changed
    /// Fully closed; the message carries the last state before closing.
    case closed
}

/// A position event.
public struct PositionUpdate: Hashable, Sendable, Codable {
    /// What happened to the position.
    public var change: PositionChange
    /// When it happened (broker time).
    public var time: BrokerTime
    /// The position after the change.
    public var position: Position

    /// An update of `position`.
    public init(change: PositionChange, time: BrokerTime, position: Position) {
        self.change = change
        self.time = time
        self.position = position
    }
}

/// MQL5 `ENUM_DEAL_TYPE` (MT4 order types 6 = balance and 7 = credit map onto `balance` and `credit`).
public enum DealType: String, Sendable, Codable, CaseIterable {
    case buy, sell
    /// Deposit (positive) or withdrawal (negative).
    case balance
    case credit
    case charge
    case correction
    case bonus
    case commission
    case commissionDaily = "commission_daily"
    case commissionMonthly = "commission_monthly"
    case commissionAgentDaily = "commission_agent_daily"
    case commissionAgentMonthly = "commission_agent_monthly"
    case interest
    case buyCanceled = "buy_canceled"
    case sellCanceled = "sell_canceled"
    case dividend
    case dividendFranked = "dividend_franked"
    case tax

    /// Buys and sells: the deals that trade.
    public var isTrade: Bool { self == .buy || self == .sell }
}

/// MQL5 `ENUM_DEAL_ENTRY`.
public enum DealEntry: String, Sendable, Codable, CaseIterable {
    case `in`
    case out
    /// A reversal (netting only).
    case inOut = "inout"
    /// Closed by an opposite position.
    case outBy = "out_by"
}

/// A deal from the account history (MT5 `HistoryDealSelect`; MT4 closed orders and balance operations
/// are reported in the same shape).
public struct Deal: Hashable, Sendable, Codable {
    /// `DEAL_TICKET`.
    public var ticket: Int64
    /// `DEAL_TIME_MSC`.
    public var time: BrokerTime
    /// `DEAL_TYPE`.
    public var type: DealType
    /// `DEAL_ENTRY`.
    public var entry: DealEntry
    /// Empty for balance operations.
    public var symbol: String
    /// `DEAL_VOLUME`, in lots.
    public var volume: FixedDecimal
    /// `DEAL_PRICE`.
    public var price: FixedDecimal
    /// `DEAL_PROFIT`: for balance operations, the amount.
    public var profit: FixedDecimal
    /// `DEAL_COMMISSION`, in the account currency.
    public var commission: FixedDecimal
    /// `DEAL_SWAP`, in the account currency.
    public var swap: FixedDecimal
    /// `DEAL_FEE`.
    public var fee: FixedDecimal
    /// `DEAL_POSITION_ID`: the position the deal opened, changed or closed; 0 for balance operations.
    public var positionID: Int64
    /// `DEAL_COMMENT`.
    public var comment: String

    /// A deal; trade fields default to empty or zero for balance and credit deals.
    public init(
        ticket: Int64, time: BrokerTime, type: DealType, entry: DealEntry, symbol: String = "",
        volume: FixedDecimal = .zero, price: FixedDecimal = .zero, profit: FixedDecimal = .zero,
        commission: FixedDecimal = .zero, swap: FixedDecimal = .zero, fee: FixedDecimal = .zero,
        positionID: Int64 = 0, comment: String = ""
    ) {
        self.ticket = ticket
        self.time = time
        self.type = type
        self.entry = entry
        self.symbol = symbol
        self.volume = volume
        self.price = price
        self.profit = profit
        self.commission = commission
        self.swap = swap
        self.fee = fee
        self.positionID = positionID
        self.comment = comment
    }
}

/// The account as the terminal itself reports it (in a snapshot and periodically, for reconciliation).
public struct AccountReport: Hashable, Sendable, Codable {
    /// When the figures were read (broker time).
    public var time: BrokerTime
    /// `ACCOUNT_BALANCE`.
    public var balance: FixedDecimal
    /// `ACCOUNT_CREDIT`.
    public var credit: FixedDecimal
    /// `ACCOUNT_EQUITY`, as the terminal computed it.
    public var equity: FixedDecimal
    /// `ACCOUNT_MARGIN`.
    public var margin: FixedDecimal

    /// A report with every figure given.
    public init(
        time: BrokerTime, balance: FixedDecimal, credit: FixedDecimal, equity: FixedDecimal, margin: FixedDecimal
    ) {
        self.time = time
        self.balance = balance
        self.credit = credit
        self.equity = equity
        self.margin = margin
    }
}

/// A command the agent asks the terminal to carry out.
public enum CommandKind: String, Sendable, Codable, CaseIterable {
    /// Close every open position of the account.
    case closeAllPositions = "close_all"
    /// Refuse new positions (the EA closes any that opens).
    case disableTrading = "disable_trading"
    /// Lift `disableTrading`.
    case enableTrading = "enable_trading"
}

/// A command from the agent.
public struct Command: Hashable, Sendable, Codable {
    /// Unique per agent; the EA echoes it in its acknowledgement.
    public var id: Int64
    /// What the terminal must do.
    public var kind: CommandKind
    /// Why (a rule breach, an operator), for the terminal's journal.
    public var reason: String

    /// A command `id` of `kind`, with a reason for the terminal's log.
    public init(id: Int64, kind: CommandKind, reason: String) {
        self.id = id
        self.kind = kind
        self.reason = reason
    }
}

/// The EA's answer to a ``Command``.
public struct CommandAcknowledgement: Hashable, Sendable, Codable {
    /// The ``Command/id`` answered.
    public var commandID: Int64
    /// When the terminal finished (broker time).
    public var time: BrokerTime
    /// Whether the terminal carried the command out.
    public var succeeded: Bool
    /// What the terminal said (e.g. the trade server's retcode text).
    public var detail: String

    /// An acknowledgement with every field given.
    public init(commandID: Int64, time: BrokerTime, succeeded: Bool, detail: String) {
        self.commandID = commandID
        self.time = time
        self.succeeded = succeeded
        self.detail = detail
    }
}

/// Why the agent refuses a session.
public enum RejectReason: String, Sendable, Codable, CaseIterable, Error {
    /// MT5 `ACCOUNT_MARGIN_MODE_RETAIL_NETTING`: equity rules assume hedging positions.
    case nettingAccount = "netting_account"
    /// MT5 `ACCOUNT_MARGIN_MODE_EXCHANGE`.
    case exchangeAccount = "exchange_account"
    /// The frame's protocol version is not one this agent speaks.
    case unsupportedVersion = "unsupported_version"
    /// The first message of a session was not a valid hello.
    case expectedHello = "expected_hello"
    /// The terminal's CURVE key is not on the allow-list, or may not speak for this account.
    case notAllowed = "not_allowed"
    /// The agent holds as many sessions, or took as many new accounts this minute, as it is
    /// configured to (per peer or in total); the message says which.
    case limitReached = "limit_reached"
    /// The session timed out or misbehaved beyond recovery.
    case protocolViolation = "protocol_violation"
}

/// From an EA to the agent.
///
/// The large, infrequent cases are `indirect` (boxed): without that every value of the enum is as
/// big as its largest payload (a `Hello` or a `Deal`, well over 100 bytes), and the per-tick path
/// copies it several times per frame (decode, envelope, delivery, handoff).
public enum TerminalMessage: Hashable, Sendable {
    indirect case hello(Hello)
    indirect case snapshot(Snapshot)
    indirect case symbol(SymbolSpec)
    /// A batch of quotes, in order.
    case ticks(TickBatch)
    indirect case position(PositionUpdate)
    indirect case deal(Deal)
    /// The terminal's own figures, for reconciliation.
    indirect case report(AccountReport)
    case heartbeat(BrokerTime)
    case bye(reason: String)
    indirect case commandAcknowledgement(CommandAcknowledgement)
}

extension TerminalMessage {
    /// A batch of quotes from an array (so code that builds batches as arrays reads as before).
    public static func ticks(_ ticks: [Tick]) -> TerminalMessage { .ticks(TickBatch(ticks)) }
}

/// From the agent to an EA.
public enum AgentMessage: Hashable, Sendable {
    /// The session is accepted; heartbeats are expected at this interval.
    case welcome(heartbeatIntervalMilliseconds: Int, agentVersion: String)
    case reject(RejectReason, message: String)
    /// Send a snapshot: the agent saw a gap after `lastSequence` (or lost its state).
    case resync(lastSequence: UInt64, reason: String)
    /// Everything up to and including `sequence` was received and processed.
    case acknowledge(sequence: UInt64)
    case command(Command)
    case heartbeat
}

/// One message with its session and sequence number, as it travels in one frame.
public struct Envelope<Message: Hashable & Sendable>: Hashable, Sendable {
    /// The EA's session id (from its hello).
    public var sessionID: String
    /// Per session and direction, from 1, increasing by one per message.
    public var sequence: UInt64
    /// The message itself.
    public var message: Message

    /// `message` as number `sequence` of session `sessionID`.
    public init(sessionID: String, sequence: UInt64, message: Message) {
        self.sessionID = sessionID
        self.sequence = sequence
        self.message = message
    }
}
