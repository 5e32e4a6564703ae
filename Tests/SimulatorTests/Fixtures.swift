import TidemarkProtocol

@testable import Simulator

/// A small MT5 hedging account on EURUSD, in USD, used by the simulator tests.
enum Fixture {
    static let hello = Hello(
        platform: .mt5, terminalBuild: 4755, login: 12345, server: "Demo-Server",
        company: "Demo Broker", currency: "USD", currencyDigits: 2,
        marginMode: .retailHedging, leverage: 100, eaVersion: "1.00",
        brokerUTCOffsetSeconds: 7200, sessionID: "recorded-session")
    static let eurusd = SymbolSpec(
        name: "EURUSD", digits: 5, calcMode: .forex, contractSize: 100_000,
        tickSize: "0.00001", tickValue: 1, profitCurrency: "USD",
        marginCurrency: "EUR", baseCurrency: "EUR")
    static let t0 = BrokerTime(milliseconds: 1_700_000_000_000)

    static func time(_ offsetMilliseconds: Int64) -> BrokerTime {
        BrokerTime(milliseconds: t0.milliseconds + offsetMilliseconds)
    }

    static let buy = Position(
        ticket: 501, symbol: "EURUSD", side: .buy, volume: 1, openPrice: "1.10000", openTime: time(-60_000))
    static let sell = Position(
        ticket: 502, symbol: "EURUSD", side: .sell, volume: "0.5", openPrice: "1.10500",
        openTime: time(-30_000), swap: "-1.25")

    static let snapshot = Snapshot(
        account: AccountReport(time: t0, balance: 10_000, credit: 0, equity: 10_000, margin: 0),
        symbols: [eurusd], positions: [buy, sell],
        quotes: [Tick(symbol: "EURUSD", time: t0, bid: "1.10000", ask: "1.10020")])

    static func tick(_ offset: Int64, bid: FixedDecimal, ask: FixedDecimal) -> TerminalMessage {
        .ticks([Tick(symbol: "EURUSD", time: time(offset), bid: bid, ask: ask)])
    }

    /// Three tick batches one second apart.
    static let stream: [TerminalMessage] = [
        tick(1_000, bid: "1.10100", ask: "1.10120"),
        tick(2_000, bid: "1.10200", ask: "1.10220"),
        tick(3_000, bid: "1.10250", ask: "1.10270"),
    ]

    static let script = TerminalScript(hello: hello, initialSnapshot: snapshot, stream: stream, byeReason: "deinit 1")
}
