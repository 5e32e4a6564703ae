import TidemarkProtocol

/// What the equity engine tells its caller after a message. Outputs come in the order they happened.
public enum EquityOutput: Hashable, Sendable {
    /// The account's balance, credit or equity changed. Never emitted while equity is unknown.
    case observation(EquityObservation)
    /// A non-trading deal moved balance or credit (deposit, withdrawal, credit, bonus, …). Trackers
    /// use these to tell money put in or taken out from trading results.
    case balanceOperation(BalanceOperation)
    /// The account's equity cannot be computed from what is known (a missing quote or conversion
    /// rate, an unsupported calculation mode, no snapshot yet). Emitted once, when it becomes unknown;
    /// no observations follow until ``equityKnown(account:at:)``.
    case equityUnknown(EquityUnknown)
    /// The account's equity is computable again; an observation with the new figures follows.
    case equityKnown(account: AccountID, at: BrokerTime)
    /// The terminal's own figures differ from the reconstruction by more than the tolerance.
    case drift(Drift)
    /// A sum of the account (balance, credit, floating or equity) left the decimal range: its
    /// figures are not representable. Emitted once, when it happens; no observations follow until
    /// ``inRange(account:at:)`` (the sums are kept exact meanwhile, so a snapshot, or a deal that
    /// brings them back, ends it).
    case outOfRange(AccountOutOfRange)
    /// Every figure of the account is representable again; an observation with them follows.
    case inRange(account: AccountID, at: BrokerTime)
}

/// A figure of an account.
public enum AccountFigure: String, Hashable, Sendable, CaseIterable {
    case balance, credit, floating, equity
}

/// An account whose figures left the decimal range (±92,233,720,368.54775807), and since when.
public struct AccountOutOfRange: Hashable, Sendable {
    /// The account.
    public var account: AccountID
    /// The broker time of the message that took it out of range.
    public var since: BrokerTime
    /// The first figure found outside the range.
    public var figure: AccountFigure

    /// A notice with every field given.
    public init(account: AccountID, since: BrokerTime, figure: AccountFigure) {
        self.account = account
        self.since = since
        self.figure = figure
    }
}

/// One balance or credit operation (a deal that is not a trade).
public struct BalanceOperation: Hashable, Sendable {
    /// What kind of money movement this is.
    public enum Category: String, Hashable, Sendable, CaseIterable {
        /// A balance deal with a positive amount: money paid in.
        case deposit
        /// A balance deal with a negative amount: money taken out.
        case withdrawal
        /// A credit deal (moves credit, not balance).
        case credit
        case bonus
        case correction
        case charge
        /// Any of the commission deal types (daily, monthly, agent, …).
        case commission
        case interest
        /// Dividend or franked dividend.
        case dividend
        case tax

        /// Deposits, withdrawals and credit: money moved in or out, not a trading result. Trackers
        /// adjust their start balances for these (MetaApi semantics); other categories are results.
        public var isCapitalFlow: Bool { self == .deposit || self == .withdrawal || self == .credit }
    }

    /// The account the deal belongs to.
    public var account: AccountID
    /// The deal's broker time.
    public var time: BrokerTime
    /// What kind of balance change it is.
    public var category: Category
    /// The deal type as reported.
    public var dealType: DealType
    /// The signed amount applied (profit + commission + swap + fee of the deal).
    public var amount: FixedDecimal
    /// `DEAL_TICKET`.
    public var dealTicket: Int64
    /// `DEAL_COMMENT`.
    public var comment: String
    /// The account's balance and credit after the operation.
    public var balanceAfter: FixedDecimal
    /// The account's credit after the operation.
    public var creditAfter: FixedDecimal

    /// An operation with every field given.
    public init(
        account: AccountID, time: BrokerTime, category: Category, dealType: DealType, amount: FixedDecimal,
        dealTicket: Int64, comment: String, balanceAfter: FixedDecimal, creditAfter: FixedDecimal
    ) {
        self.account = account
        self.time = time
        self.category = category
        self.dealType = dealType
        self.amount = amount
        self.dealTicket = dealTicket
        self.comment = comment
        self.balanceAfter = balanceAfter
        self.creditAfter = creditAfter
    }
}

/// Why an account's equity is unknown, and since when.
public struct EquityUnknown: Hashable, Sendable {
    /// The account whose equity is unknown.
    public var account: AccountID
    /// The broker time of the message that made it unknown.
    public var since: BrokerTime
    /// The first reason found (an account can have several).
    public var reason: EquityUnknownReason
    /// Balance and credit are still known.
    public var balance: FixedDecimal
    /// The account's credit, still known.
    public var credit: FixedDecimal

    /// A notice with every field given.
    public init(
        account: AccountID, since: BrokerTime, reason: EquityUnknownReason, balance: FixedDecimal, credit: FixedDecimal
    ) {
        self.account = account
        self.since = since
        self.reason = reason
        self.balance = balance
        self.credit = credit
    }
}

/// Why a position (and so its account's equity) cannot be valued.
public enum EquityUnknownReason: Hashable, Sendable {
    /// Hello seen, snapshot not yet.
    case awaitingSnapshot
    /// The position's symbol has no specification in the account's snapshot or symbol messages.
    case unknownSymbol(String)
    /// The symbol's calculation mode (options, bonds, collateral) is not modelled.
    case unsupportedCalcMode(symbol: String, CalcMode)
    /// The specification gives no usable number (zero tick size, values out of range).
    case invalidSymbolSpecification(String)
    /// No quote yet for the position's symbol.
    case noQuote(symbol: String)
    /// No symbol of the account converts the profit currency to the account currency.
    case noConversionSymbol(from: String, to: String)
    /// The conversion symbol has no quote yet.
    case noConversionRate(symbol: String)
    /// The profit does not fit the decimal range.
    case outOfRange(symbol: String)
}

/// The terminal's reported figures against the engine's reconstruction at the same quotes.
public struct Drift: Hashable, Sendable {
    /// The reporting account.
    public var account: AccountID
    /// The report's broker time.
    public var time: BrokerTime
    /// `ACCOUNT_EQUITY` as the terminal reported it.
    public var terminalEquity: FixedDecimal
    /// balance + credit + floating, as the engine holds it at the same quotes.
    public var reconstructedEquity: FixedDecimal
    /// `ACCOUNT_BALANCE` as the terminal reported it.
    public var terminalBalance: FixedDecimal
    /// The balance the engine reconstructed from deals.
    public var reconstructedBalance: FixedDecimal
    /// `ACCOUNT_CREDIT` as the terminal reported it.
    public var terminalCredit: FixedDecimal
    /// The credit the engine reconstructed from deals.
    public var reconstructedCredit: FixedDecimal
    /// The equity tolerance that was applied.
    public var tolerance: FixedDecimal

    /// terminal − reconstructed equity; nil when that is outside the decimal range (two figures of
    /// opposite sign near its ends).
    public var equityDifference: FixedDecimal? {
        let (difference, overflow) = terminalEquity.subtractingReportingOverflow(reconstructedEquity)
        return overflow ? nil : difference
    }

    /// A comparison with every figure given.
    public init(
        account: AccountID, time: BrokerTime, terminalEquity: FixedDecimal, reconstructedEquity: FixedDecimal,
        terminalBalance: FixedDecimal, reconstructedBalance: FixedDecimal, terminalCredit: FixedDecimal,
        reconstructedCredit: FixedDecimal, tolerance: FixedDecimal
    ) {
        self.account = account
        self.time = time
        self.terminalEquity = terminalEquity
        self.reconstructedEquity = reconstructedEquity
        self.terminalBalance = terminalBalance
        self.reconstructedBalance = reconstructedBalance
        self.terminalCredit = terminalCredit
        self.reconstructedCredit = reconstructedCredit
        self.tolerance = tolerance
    }
}

/// Why the engine refused a message.
public struct EquityEngineError: CodeComparedError {
    private enum Code: String, Hashable, Sendable {
        case nettingAccount = "netting_account"
        case exchangeAccount = "exchange_account"
        case unknownAccount = "unknown_account"
        case accountMismatch = "account_mismatch"
        case invalidCurrencyDigits = "invalid_currency_digits"
        case outOfRange = "out_of_range"
    }

    private let codeValue: Code
    /// What was refused, for logs.
    public var detail: String

    private init(_ code: Code, _ detail: String) {
        self.codeValue = code
        self.detail = detail
    }

    /// An MT5 netting account: its one-position-per-symbol bookkeeping is not modelled.
    public static func nettingAccount(_ account: AccountID) -> Self { Self(.nettingAccount, account.rawValue) }
    /// An MT5 exchange account.
    public static func exchangeAccount(_ account: AccountID) -> Self { Self(.exchangeAccount, account.rawValue) }
    /// A message for an account that sent no (accepted) hello.
    public static func unknownAccount(_ account: AccountID) -> Self { Self(.unknownAccount, account.rawValue) }
    /// A hello whose server and login do not name the account it was applied for.
    public static func accountMismatch(_ account: AccountID) -> Self { Self(.accountMismatch, account.rawValue) }
    /// A hello with currency digits outside 0…8.
    public static func invalidCurrencyDigits(_ account: AccountID) -> Self {
        Self(.invalidCurrencyDigits, account.rawValue)
    }

    /// A deal whose amount (profit + swap + commission + fee) is outside the decimal range.
    /// Nothing of it is folded.
    public static func outOfRange(_ account: AccountID, deal ticket: Int64) -> Self {
        Self(.outOfRange, "\(account.rawValue) deal \(ticket)")
    }

    /// Whether this is ``outOfRange(_:deal:)`` (the frame is refused as not representable, not
    /// because of the account's kind).
    public var isOutOfRange: Bool { codeValue == .outOfRange }

    /// A short, stable label usable in metrics (`netting_account`, …).
    public var code: String { codeValue.rawValue }

    /// The ``code`` alone (``detail`` is for logs).
    public var description: String { code }
}
