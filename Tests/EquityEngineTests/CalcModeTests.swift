import EquityEngine
import Testing
import TidemarkProtocol

/// Floating profit by calculation mode, buys at bid and sells at ask, one position at a time.
/// Every expected number is worked out in the comment beside it.
@Suite struct CalcModeTests {
    /// Values one position on a fresh account and returns (profit, equity, drift count).
    func value(
        _ spec: SymbolSpec, _ position: Position, bid: FixedDecimal, ask: FixedDecimal, currency: String = "USD",
        balance: FixedDecimal = 10_000, terminalEquity: FixedDecimal
    ) throws -> (FixedDecimal?, FixedDecimal?, Int) {
        var harness = try Harness(currency: currency)
        try harness.snapshot(
            balance: balance, equity: terminalEquity, symbols: [spec], positions: [position],
            quotes: [Fixture.tick(spec.name, 1_000, bid: bid, ask: ask)])
        return (harness.profit(ticket: position.ticket), harness.equity, harness.engine.statistics.drifts)
    }

    @Test func forexBuyMarksAtBid() throws {
        // (1.14600 − 1.14500) × 100,000 × 1.00 = 0.001 × 100,000 = 100.00 USD; the ask 1.14602 is not used.
        let result = try value(
            Fixture.eurusd, Fixture.position(1, "EURUSD", .buy, volume: 1, open: "1.14500"),
            bid: "1.14600", ask: "1.14602", terminalEquity: "10100")
        #expect(result.0 == "100")
        #expect(result.1 == "10100")  // 10,000 + 100
        #expect(result.2 == 0)
    }

    @Test func forexSellMarksAtAsk() throws {
        // (1.14600 − 1.14652) × 100,000 × 0.50 = −0.00052 × 50,000 = −26.00 USD (the bid 1.14650 is not used).
        let result = try value(
            Fixture.eurusd, Fixture.position(2, "EURUSD", .sell, volume: "0.5", open: "1.14600"),
            bid: "1.14650", ask: "1.14652", terminalEquity: "9974")
        #expect(result.0 == "-26")
        #expect(result.1 == "9974")  // 10,000 − 26
    }

    @Test func forexNoLeverageUsesContractSize() throws {
        // (0.98800 − 0.98750) × 100,000 × 2.00 = 0.0005 × 200,000 = 100.00 CHF on a CHF account.
        let spec = Fixture.spec("USDCHF", calcMode: .forexNoLeverage, base: "USD", profit: "CHF")
        let result = try value(
            spec, Fixture.position(3, "USDCHF", .buy, volume: 2, open: "0.98750"),
            bid: "0.98800", ask: "0.98803", currency: "CHF", terminalEquity: "10100")
        #expect(result.0 == "100")
    }

    @Test func cfdRoundsHalfAwayFromZero() throws {
        // XAUUSD, contract 100, 0.01 lot: F = 1. Buy: (1300.005 − 1300.000) × 1 = 0.005 → 0.01 (half away
        // from zero). Sell: (1300.000 − 1300.005) × 1 = −0.005 → −0.01.
        let gold = Fixture.spec(
            "XAUUSD", calcMode: .cfd, contractSize: 100, tickSize: "0.001", base: "XAU", profit: "USD", digits: 3)
        let buy = try value(
            gold, Fixture.position(4, "XAUUSD", .buy, volume: "0.01", open: "1300"),
            bid: "1300.005", ask: "1300.2", terminalEquity: "10000.01")
        #expect(buy.0 == "0.01")
        let sell = try value(
            gold, Fixture.position(5, "XAUUSD", .sell, volume: "0.01", open: "1300"),
            bid: "1299.8", ask: "1300.005", terminalEquity: "9999.99")
        #expect(sell.0 == "-0.01")
        // (1300.004 − 1300) × 1 = 0.004 → 0.00 (below half).
        let below = try value(
            gold, Fixture.position(6, "XAUUSD", .buy, volume: "0.01", open: "1300"),
            bid: "1300.004", ask: "1300.2", terminalEquity: "10000")
        #expect(below.0 == .zero)
    }

    @Test func cfdIndex() throws {
        // US30, contract 1, buy 2 lots at 25,000.0, bid 25,012.5: 12.5 × 1 × 2 = 25.00 USD.
        let spec = Fixture.spec(
            "US30", calcMode: .cfdIndex, contractSize: 1, tickSize: "0.1", base: "USD", profit: "USD", digits: 1)
        let result = try value(
            spec, Fixture.position(7, "US30", .buy, volume: 2, open: "25000"),
            bid: "25012.5", ask: "25014", terminalEquity: "10025")
        #expect(result.0 == "25")
    }

    @Test func cfdLeverage() throws {
        // AAPL, contract 1, sell 10 lots at 171.00, ask 170.25: (171.00 − 170.25) × 1 × 10 = 7.50 USD.
        let spec = Fixture.spec(
            "AAPL", calcMode: .cfdLeverage, contractSize: 1, tickSize: "0.01", base: "USD", profit: "USD", digits: 2)
        let result = try value(
            spec, Fixture.position(8, "AAPL", .sell, volume: 10, open: "171"),
            bid: "170.2", ask: "170.25", terminalEquity: "10007.5")
        #expect(result.0 == "7.5")
    }

    @Test func exchangeStocks() throws {
        // SBER on a RUB account, contract 10, buy 3 lots at 250.10, bid 251.35: 1.25 × 10 × 3 = 37.50 RUB.
        let spec = Fixture.spec(
            "SBER", calcMode: .exchangeStocks, contractSize: 10, tickSize: "0.01", base: "RUB", profit: "RUB", digits: 2
        )
        let result = try value(
            spec, Fixture.position(9, "SBER", .buy, volume: 3, open: "250.10"),
            bid: "251.35", ask: "251.40", currency: "RUB", terminalEquity: "10037.5")
        #expect(result.0 == "37.5")
    }

    @Test func exchangeStocksMOEX() throws {
        // GAZP (MOEX mode), contract 10, sell 2 lots at 251.35, ask 250.10: 1.25 × 10 × 2 = 25.00 RUB.
        let spec = Fixture.spec(
            "GAZP", calcMode: .exchangeStocksMOEX, contractSize: 10, tickSize: "0.01", base: "RUB", profit: "RUB",
            digits: 2)
        let result = try value(
            spec, Fixture.position(10, "GAZP", .sell, volume: 2, open: "251.35"),
            bid: "250.05", ask: "250.10", currency: "RUB", terminalEquity: "10025")
        #expect(result.0 == "25")
    }

    @Test func futuresUseTickValueOverTickSize() throws {
        // ES: tick size 0.25, tick value 12.50 USD. Buy 2 at 4,000.00, bid 4,003.75:
        // 3.75 × 2 × 12.50 ÷ 0.25 = 3.75 × 100 = 375.00 USD. (The contract size 50 is not used.)
        let spec = Fixture.spec(
            "ES", calcMode: .futures, contractSize: 50, tickSize: "0.25", tickValue: "12.5", base: "USD", profit: "USD",
            digits: 2)
        let result = try value(
            spec, Fixture.position(11, "ES", .buy, volume: 2, open: "4000"),
            bid: "4003.75", ask: "4004", terminalEquity: "10375")
        #expect(result.0 == "375")
    }

    @Test func exchangeFutures() throws {
        // Si on a RUB account: tick size 1, tick value 1 RUB. Sell 3 at 90,000, ask 89,950:
        // (90,000 − 89,950) × 3 × 1 ÷ 1 = 150.00 RUB.
        let spec = Fixture.spec(
            "Si-12.26", calcMode: .exchangeFutures, contractSize: 1000, tickSize: 1, tickValue: 1, base: "USD",
            profit: "RUB", digits: 0)
        let result = try value(
            spec, Fixture.position(12, "Si-12.26", .sell, volume: 3, open: 90_000),
            bid: 89_949, ask: 89_950, currency: "RUB", terminalEquity: "10150")
        #expect(result.0 == "150")
    }

    @Test func fortsFuturesWithFractionalTickValue() throws {
        // RTS on a RUB account (FORTS): tick size 10, tick value 13.3417 RUB. Buy 1 at 110,000, bid 110,130:
        // 130 × 1 × 13.3417 ÷ 10 = 13 × 13.3417 = 173.4421 → 173.44 RUB.
        let spec = Fixture.spec(
            "RTS-12.26", calcMode: .exchangeFuturesForts, contractSize: 1, tickSize: 10, tickValue: "13.3417",
            base: "RUB", profit: "RUB", digits: 0)
        let result = try value(
            spec, Fixture.position(13, "RTS-12.26", .buy, volume: 1, open: 110_000),
            bid: 110_130, ask: 110_140, currency: "RUB", terminalEquity: "10173.44")
        #expect(result.0 == "173.44")
        #expect(result.1 == "10173.44")
    }

    @Test(arguments: [
        CalcMode.exchangeOptions, .exchangeOptionsMargin, .exchangeBonds, .exchangeBondsMOEX, .serviceCollateral,
    ])
    func unsupportedModesMakeEquityUnknown(mode: CalcMode) throws {
        var harness = try Harness()
        let spec = Fixture.spec(
            "OPT", calcMode: mode, contractSize: 100, tickSize: "0.01", base: "USD", profit: "USD", digits: 2)
        let outputs = try harness.snapshot(
            5_000, balance: 10_000, equity: 10_000, symbols: [spec],
            positions: [Fixture.position(14, "OPT", .buy, volume: 1, open: 5)],
            quotes: [Fixture.tick("OPT", 5_000, bid: 6, ask: "6.1")])
        // Not a wrong number: no observation, an unknown-since-5,000 with the reason, and a nil equity.
        #expect(outputs.observations.isEmpty)
        #expect(outputs.unknowns.map(\.reason) == [.unsupportedCalcMode(symbol: "OPT", mode)])
        #expect(outputs.unknowns.map(\.since) == [BrokerTime(milliseconds: 5_000)])
        #expect(harness.equity == nil)
        #expect(harness.profit(ticket: 14) == nil)
    }
}
