import EquityEngine
import Testing
import TidemarkProtocol

/// Profit in another currency than the account's: direct and inverse crosses, the side of the cross
/// (gain at the side that gives less, loss at the side that costs more), broker suffixes, and the
/// unknown cases.
@Suite struct ConversionTests {
    static let eurgbp = Fixture.spec("EURGBP", base: "EUR", profit: "GBP")
    static let gbpusd = Fixture.spec("GBPUSD", base: "GBP", profit: "USD")
    static let eurjpy = Fixture.spec("EURJPY", tickSize: "0.001", base: "EUR", profit: "JPY", digits: 3)
    static let usdjpy = Fixture.spec("USDJPY", tickSize: "0.001", base: "USD", profit: "JPY", digits: 3)

    @Test func directCrossGainAtBidLossAtAsk() throws {
        var h = try Harness()
        // GBPUSD quotes GBP in USD: direct. Bid 1.30000, ask 1.30020.
        // Ticket 1, buy EURGBP 1.00 at 0.87000, bid 0.87100: 0.001 × 100,000 = 100 GBP, a gain → × bid 1.30000 = 130.00 USD.
        // Ticket 2, sell EURGBP 1.00 at 0.87000, ask 0.87102: −0.00102 × 100,000 = −102 GBP, a loss → × ask 1.30020
        //   = −132.6204 → −132.62 USD.
        // Equity 10,000 + 130 − 132.62 = 9,997.38.
        try h.snapshot(
            balance: 10_000, equity: "9997.38", symbols: [Self.eurgbp, Self.gbpusd],
            positions: [
                Fixture.position(1, "EURGBP", .buy, volume: 1, open: "0.87"),
                Fixture.position(2, "EURGBP", .sell, volume: 1, open: "0.87"),
            ],
            quotes: [
                Fixture.tick("EURGBP", 1_000, bid: "0.871", ask: "0.87102"),
                Fixture.tick("GBPUSD", 1_000, bid: "1.3", ask: "1.3002"),
            ])
        #expect(h.profit(ticket: 1) == "130")
        #expect(h.profit(ticket: 2) == "-132.62")
        #expect(h.equity == "9997.38")
        // A tick of the cross alone revalues both: bid 1.31000, ask 1.31020.
        // 100 × 1.31 = 131.00; −102 × 1.3102 = −133.6404 → −133.64; equity 10,000 + 131 − 133.64 = 9,997.36.
        let outputs = try h.ticks(Fixture.tick("GBPUSD", 2_000, bid: "1.31", ask: "1.3102"))
        #expect(outputs.observations.map(\.equity) == ["9997.36"])
    }

    @Test func inverseCrossGainAtAskLossAtBid() throws {
        var h = try Harness()
        // USDJPY quotes USD in JPY: inverse for a JPY profit on a USD account. Bid 109.990, ask 110.010.
        // Ticket 1, buy EURJPY 1.00 at 125.000, bid 125.500: 0.5 × 100,000 = 50,000 JPY, a gain → ÷ ask 110.01
        //   = 454.504… (110.01 × 454.50 = 49,999.545, remainder 0.455 < 55.005) → 454.50 USD.
        // Ticket 2, sell EURJPY 1.00 at 125.300, ask 125.602: −0.302 × 100,000 = −30,200 JPY, a loss → ÷ bid 109.99
        //   = −274.570… (109.99 × 274.57 = 30,199.8043, remainder 0.1957) → −274.57 USD.
        // Equity 10,000 + 454.50 − 274.57 = 10,179.93.
        try h.snapshot(
            balance: 10_000, equity: "10179.93", symbols: [Self.eurjpy, Self.usdjpy],
            positions: [
                Fixture.position(1, "EURJPY", .buy, volume: 1, open: 125),
                Fixture.position(2, "EURJPY", .sell, volume: 1, open: "125.3"),
            ],
            quotes: [
                Fixture.tick("EURJPY", 1_000, bid: "125.5", ask: "125.602"),
                Fixture.tick("USDJPY", 1_000, bid: "109.99", ask: "110.01"),
            ])
        #expect(h.profit(ticket: 1) == "454.5")
        #expect(h.profit(ticket: 2) == "-274.57")
        #expect(h.equity == "10179.93")
        #expect(h.engine.statistics.drifts == 0)
    }

    @Test func positionOnTheCrossItselfConvertsThroughItsOwnQuote() throws {
        var h = try Harness()
        // Buy USDJPY 1.00 at 110.000; bid 110.500, ask 110.520: 0.5 × 100,000 = 50,000 JPY, a gain → ÷ ask 110.52
        // = 452.4068… (110.52 × 452.40 = 49,999.248; the remaining 0.752 JPY is 0.0068 USD ≥ half a cent) → 452.41 USD.
        try h.snapshot(
            balance: 10_000, equity: "10452.41", symbols: [Self.usdjpy],
            positions: [Fixture.position(1, "USDJPY", .buy, volume: 1, open: 110)],
            quotes: [Fixture.tick("USDJPY", 1_000, bid: "110.5", ask: "110.52")])
        #expect(h.profit(ticket: 1) == "452.41")
        // One tick moves price and rate together: bid 110.200, ask 110.220 → 0.2 × 100,000 = 20,000 JPY ÷ 110.22
        // = 181.455… (110.22 × 181.45 = 19,999.419; remainder 0.581 ÷ 110.22 = 0.0053 ≥ 0.005) → 181.46.
        try h.ticks(Fixture.tick("USDJPY", 2_000, bid: "110.2", ask: "110.22"))
        #expect(h.profit(ticket: 1) == "181.46")
    }

    @Test func brokerSuffixesPreferTheSameDecoration() throws {
        var h = try Harness()
        // Three USDJPY quotes; a position on EURJPY.pro must convert through USDJPY.pro.
        let symbols = [
            Fixture.spec("EURJPY.pro", tickSize: "0.001", base: "EUR", profit: "JPY", digits: 3),
            Fixture.spec("USDJPY", tickSize: "0.001", base: "USD", profit: "JPY", digits: 3),
            Fixture.spec("USDJPY.r", tickSize: "0.001", base: "USD", profit: "JPY", digits: 3),
            Fixture.spec("USDJPY.pro", tickSize: "0.001", base: "USD", profit: "JPY", digits: 3),
        ]
        // Buy EURJPY.pro 1.00 at 125.000, bid 126.000: 100,000 JPY. Through USDJPY.pro (ask 100.000): 1,000.00 USD;
        // USDJPY (ask 125) would give 800.00, USDJPY.r (ask 200) 500.00.
        try h.snapshot(
            balance: 0, equity: 1_000, symbols: symbols,
            positions: [Fixture.position(1, "EURJPY.pro", .buy, volume: 1, open: 125)],
            quotes: [
                Fixture.tick("EURJPY.pro", 1_000, bid: 126, ask: "126.01"),
                Fixture.tick("USDJPY", 1_000, bid: "124.99", ask: 125),
                Fixture.tick("USDJPY.r", 1_000, bid: "199.99", ask: 200),
                Fixture.tick("USDJPY.pro", 1_000, bid: "99.99", ask: 100),
            ])
        #expect(h.profit(ticket: 1) == "1000")
    }

    @Test func suffixWithoutSeparatorAndPlainFallback() throws {
        var h = try Harness()
        // Position on GBPJPYm: USDJPYm fits the decoration "m"; USDJPY.r does not. Then a position on plain
        // EURGBP converts GBP through the only GBP cross, GBPUSDm (no plain one exists).
        let symbols = [
            Fixture.spec("GBPJPYm", tickSize: "0.001", base: "GBP", profit: "JPY", digits: 3),
            Fixture.spec("USDJPYm", tickSize: "0.001", base: "USD", profit: "JPY", digits: 3),
            Fixture.spec("USDJPY.r", tickSize: "0.001", base: "USD", profit: "JPY", digits: 3),
            Fixture.spec("EURGBP", base: "EUR", profit: "GBP"),
            Fixture.spec("GBPUSDm", base: "GBP", profit: "USD"),
        ]
        // GBPJPYm buy 0.10 at 150.000, bid 151.000: 1 × 10,000 = 10,000 JPY ÷ ask 100 (USDJPYm) = 100.00 USD.
        // EURGBP buy 0.10 at 0.87000, bid 0.87500: 0.005 × 10,000 = 50 GBP × bid 1.20000 = 60.00 USD.
        try h.snapshot(
            balance: 0, equity: 160, symbols: symbols,
            positions: [
                Fixture.position(1, "GBPJPYm", .buy, volume: "0.1", open: 150),
                Fixture.position(2, "EURGBP", .buy, volume: "0.1", open: "0.87"),
            ],
            quotes: [
                Fixture.tick("GBPJPYm", 1_000, bid: 151, ask: "151.01"),
                Fixture.tick("USDJPYm", 1_000, bid: "99.99", ask: 100),
                Fixture.tick("USDJPY.r", 1_000, bid: "49.99", ask: 50),
                Fixture.tick("EURGBP", 1_000, bid: "0.875", ask: "0.87502"),
                Fixture.tick("GBPUSDm", 1_000, bid: "1.2", ask: "1.2002"),
            ])
        #expect(h.profit(ticket: 1) == "100")
        #expect(h.profit(ticket: 2) == "60")
    }

    @Test func profitCurrencyWithNoQuotedPairIsUnknownUntilOneArrives() throws {
        var h = try Harness()
        let eursek = Fixture.spec("EURSEK", base: "EUR", profit: "SEK")
        // Buy EURSEK 1.00 at 10.50000; no SEK cross at all: equity unknown since the snapshot (3,000), not a guess.
        let snapshot = try h.snapshot(
            3_000, balance: 10_000, equity: 10_000, symbols: [eursek],
            positions: [Fixture.position(1, "EURSEK", .buy, volume: 1, open: "10.5")],
            quotes: [Fixture.tick("EURSEK", 3_000, bid: "10.6", ask: "10.6005")])
        #expect(snapshot.observations.isEmpty)
        #expect(snapshot.unknowns.map(\.reason) == [.noConversionSymbol(from: "SEK", to: "USD")])
        #expect(snapshot.unknowns.map(\.since) == [BrokerTime(milliseconds: 3_000)])
        #expect(h.view.unknownSince == BrokerTime(milliseconds: 3_000))
        // Ticks do not make it known, nor emit anything.
        #expect(try h.ticks(Fixture.tick("EURSEK", 4_000, bid: "10.61", ask: "10.6105")).isEmpty)
        // USDSEK is added (inverse cross) but has no quote yet: still unknown, now for the rate.
        let symbol = try h.send(.symbol(Fixture.spec("USDSEK", base: "USD", profit: "SEK")))
        #expect(symbol.isEmpty)
        #expect(h.view.unknownReason == .noConversionRate(symbol: "USDSEK"))
        // Its first quote, bid 9.99900 ask 10.00000: (10.61 − 10.5) × 100,000 = 11,000 SEK ÷ ask 10 = 1,100.00 USD.
        let quote = try h.ticks(Fixture.tick("USDSEK", 5_000, bid: "9.999", ask: 10))
        #expect(quote.first == .equityKnown(account: h.account, at: BrokerTime(milliseconds: 5_000)))
        #expect(quote.observations.map(\.equity) == ["11100"])
        #expect(h.view.unknownSince == nil)
    }

    @Test func unknownRateUntilTheCrossIsQuoted() throws {
        var h = try Harness()
        // GBPUSD is specified but has no quote in the snapshot: the EURGBP position cannot be valued.
        let snapshot = try h.snapshot(
            2_000, balance: 10_000, equity: 10_130, symbols: [Self.eurgbp, Self.gbpusd],
            positions: [Fixture.position(1, "EURGBP", .buy, volume: 1, open: "0.87")],
            quotes: [Fixture.tick("EURGBP", 2_000, bid: "0.871", ask: "0.87102")])
        #expect(snapshot.unknowns.map(\.reason) == [.noConversionRate(symbol: "GBPUSD")])
        #expect(h.equity == nil)
        // The report cannot be compared while unknown (no drift, counted as skipped).
        #expect(try h.send(.report(Fixture.report(2_500, balance: 10_000, equity: 10_130))).isEmpty)
        #expect(h.engine.statistics.reconciliationsSkipped == 2)  // the snapshot's own figures and this report
        // GBPUSD quoted at 6,000: 100 GBP × bid 1.30000 = 130.00; equity 10,130, known again at 6,000.
        let quote = try h.ticks(Fixture.tick("GBPUSD", 6_000, bid: "1.3", ask: "1.3002"))
        #expect(quote.count == 2)
        #expect(quote.first == .equityKnown(account: h.account, at: BrokerTime(milliseconds: 6_000)))
        #expect(quote.observations.map(\.equity) == ["10130"])
        #expect(quote.observations.map(\.time) == [BrokerTime(milliseconds: 6_000)])
    }
}
