import EquityEngine
import Testing
import TidemarkProtocol

/// Builders for messages, so each test states only the figures it checks.
enum Fixture {
    static func hello(
        server: String = "Demo", login: Int64 = 1, platform: Platform = .mt5, currency: String = "USD",
        digits: Int = 2, marginMode: MarginMode = .retailHedging
    ) -> Hello {
        Hello(
            platform: platform, terminalBuild: 4000, login: login, server: server, company: "Test Broker",
            currency: currency, currencyDigits: digits, marginMode: marginMode, leverage: 100, eaVersion: "1.0",
            brokerUTCOffsetSeconds: 7200, sessionID: "s-\(login)")
    }

    static func spec(
        _ name: String, calcMode: CalcMode = .forex, contractSize: FixedDecimal = 100_000,
        tickSize: FixedDecimal = "0.00001", tickValue: FixedDecimal = 1, base: String, profit: String,
        digits: Int = 5
    ) -> SymbolSpec {
        SymbolSpec(
            name: name, digits: digits, calcMode: calcMode, contractSize: contractSize, tickSize: tickSize,
            tickValue: tickValue, profitCurrency: profit, marginCurrency: base, baseCurrency: base)
    }

    static func tick(_ symbol: String, _ milliseconds: Int64, bid: FixedDecimal, ask: FixedDecimal) -> Tick {
        Tick(symbol: symbol, time: BrokerTime(milliseconds: milliseconds), bid: bid, ask: ask)
    }

    static func position(
        _ ticket: Int64, _ symbol: String, _ side: Side, volume: FixedDecimal, open: FixedDecimal,
        swap: FixedDecimal = .zero, commission: FixedDecimal = .zero
    ) -> Position {
        Position(
            ticket: ticket, symbol: symbol, side: side, volume: volume, openPrice: open,
            openTime: BrokerTime(milliseconds: 1_000), swap: swap, commission: commission)
    }

    static func report(
        _ milliseconds: Int64, balance: FixedDecimal, credit: FixedDecimal = .zero,
        equity: FixedDecimal
    ) -> AccountReport {
        AccountReport(
            time: BrokerTime(milliseconds: milliseconds), balance: balance, credit: credit, equity: equity,
            margin: .zero)
    }

    static func deal(
        _ ticket: Int64, _ milliseconds: Int64, _ type: DealType, _ entry: DealEntry = .in, symbol: String = "",
        volume: FixedDecimal = .zero, price: FixedDecimal = .zero, profit: FixedDecimal = .zero,
        commission: FixedDecimal = .zero, swap: FixedDecimal = .zero, fee: FixedDecimal = .zero,
        positionID: Int64 = 0
    ) -> Deal {
        Deal(
            ticket: ticket, time: BrokerTime(milliseconds: milliseconds), type: type, entry: entry, symbol: symbol,
            volume: volume, price: price, profit: profit, commission: commission, swap: swap, fee: fee,
            positionID: positionID, comment: "")
    }

    static let eurusd = spec("EURUSD", base: "EUR", profit: "USD")
}

/// One account in one engine.
struct Harness {
    var engine: EquityEngine
    let account: AccountID

    init(
        server: String = "Demo", login: Int64 = 1, platform: Platform = .mt5, currency: String = "USD", digits: Int = 2,
        configuration: EquityEngine.Configuration = .init()
    ) throws {
        engine = EquityEngine(configuration: configuration)
        account = AccountID(server: server, login: login)
        _ = try engine.apply(
            .hello(
                Fixture.hello(
                    server: server, login: login, platform: platform, currency: currency,
                    digits: digits)), account: account)
    }

    /// Sends a snapshot whose terminal equity is `equity` (worked by hand in the test).
    @discardableResult
    mutating func snapshot(
        _ milliseconds: Int64 = 1_000, balance: FixedDecimal, credit: FixedDecimal = .zero,
        equity: FixedDecimal, symbols: [SymbolSpec], positions: [Position] = [],
        quotes: [Tick] = []
    ) throws -> [EquityOutput] {
        let snapshot = Snapshot(
            account: Fixture.report(milliseconds, balance: balance, credit: credit, equity: equity),
            symbols: symbols, positions: positions, quotes: quotes)
        return try engine.apply(.snapshot(snapshot), account: account)
    }

    @discardableResult
    mutating func send(_ message: TerminalMessage) throws -> [EquityOutput] {
        try engine.apply(message, account: account)
    }

    @discardableResult
    mutating func ticks(_ ticks: Tick...) throws -> [EquityOutput] {
        try engine.apply(.ticks(ticks), account: account)
    }

    var view: AccountView { engine.view(of: account)! }
    var equity: FixedDecimal? { view.equity }
    var balance: FixedDecimal { view.balance }
    func profit(ticket: Int64) -> FixedDecimal? {
        view.positions.first { $0.position.ticket == ticket }?.profit
    }
}

extension Array where Element == EquityOutput {
    var observations: [EquityObservation] {
        compactMap { if case .observation(let observation) = $0 { observation } else { nil } }
    }
    var balanceOperations: [BalanceOperation] {
        compactMap { if case .balanceOperation(let operation) = $0 { operation } else { nil } }
    }
    var unknowns: [EquityUnknown] {
        compactMap { if case .equityUnknown(let unknown) = $0 { unknown } else { nil } }
    }
    var drifts: [Drift] {
        compactMap { if case .drift(let drift) = $0 { drift } else { nil } }
    }
}
