import EquityEngine
import Testing
import TidemarkProtocol

/// Reconciliation, shared feeds, and "nothing changed, nothing said".
@Suite struct EngineTests {
    /// Buy 1.00 EURUSD at 1.14500 on 10,000; bid 1.14600 → profit 100.00, equity 10,100.
    func oneBuy() throws -> Harness {
        var h = try Harness()
        try h.snapshot(
            balance: 10_000, equity: 10_100, symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "EURUSD", .buy, volume: 1, open: "1.145")],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: "1.146", ask: "1.14602")])
        return h
    }

    @Test func reportWithinToleranceIsNotADrift() throws {
        var h = try oneBuy()
        // Default tolerance: one cent per open position plus one = (1 × 1 + 1) × 0.01 = 0.02.
        // Terminal 10,100.02 vs reconstruction 10,100.00: difference 0.02, not beyond → nothing.
        #expect(try h.send(.report(Fixture.report(2_000, balance: 10_000, equity: "10100.02"))).isEmpty)
        #expect(h.engine.statistics.reconciliations == 2)  // the snapshot and this report
        #expect(h.engine.statistics.drifts == 0)
    }

    @Test func reportBeyondToleranceIsADriftAndNeverOverwrites() throws {
        var h = try oneBuy()
        // Terminal 10,100.03 vs 10,100.00: 0.03 > 0.02 → a drift carrying both numbers.
        let outputs = try h.send(.report(Fixture.report(2_000, balance: 10_000, equity: "10100.03")))
        #expect(outputs.drifts.count == 1)
        let drift = try #require(outputs.drifts.first)
        #expect(drift.terminalEquity == "10100.03")
        #expect(drift.reconstructedEquity == "10100")
        #expect(drift.equityDifference == "0.03")
        #expect(drift.tolerance == "0.02")
        #expect(h.engine.statistics.drifts == 1)
        #expect(h.view.drifts == 1)
        // The reconstruction stands.
        #expect(h.equity == "10100")
        // A balance that differs at all is a drift (a missed deal), even with equity in tolerance.
        let balance = try h.send(.report(Fixture.report(3_000, balance: "9999.99", equity: "10100")))
        #expect(balance.drifts.map(\.terminalBalance) == ["9999.99"])
        #expect(balance.drifts.map(\.reconstructedBalance) == ["10000"])
        #expect(h.engine.statistics.drifts == 2)
    }

    @Test func fixedToleranceIsConfigurable() throws {
        var h = try Harness(configuration: .init(driftTolerance: .fixed("0.5")))
        try h.snapshot(
            balance: 10_000, equity: "10100.4", symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "EURUSD", .buy, volume: 1, open: "1.145")],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: "1.146", ask: "1.14602")])
        // |10,100.40 − 10,100.00| = 0.40 ≤ 0.50.
        #expect(h.engine.statistics.drifts == 0)
        // |10,100.51 − 10,100.00| = 0.51 > 0.50.
        #expect(try h.send(.report(Fixture.report(2_000, balance: 10_000, equity: "10100.51"))).drifts.count == 1)
    }

    @Test func noObservationWhenNothingChanged() throws {
        var h = try oneBuy()
        // Only the ask moves: a buy is marked at the bid, so nothing changes.
        #expect(try h.ticks(Fixture.tick("EURUSD", 2_000, bid: "1.146", ask: "1.14605")).isEmpty)
        // A symbol no position depends on.
        #expect(try h.ticks(Fixture.tick("GBPUSD", 2_100, bid: "1.3", ask: "1.3002")).isEmpty)
        // A repeated quote.
        #expect(try h.ticks(Fixture.tick("EURUSD", 2_200, bid: "1.146", ask: "1.14605")).isEmpty)
        // The bid moves 0.00001: 1 × 100,000 × 0.00001 = 1.00 → equity 10,101.
        let moved = try h.ticks(Fixture.tick("EURUSD", 2_300, bid: "1.14601", ask: "1.14605"))
        #expect(moved.observations.map(\.equity) == ["10101"])
        #expect(moved.observations.map(\.time) == [BrokerTime(milliseconds: 2_300)])
        #expect(moved.observations.map(\.floating) == ["101"])
    }

    @Test func staleAndImpossibleTicksAreIgnoredAndCounted() throws {
        var h = try oneBuy()
        try h.ticks(Fixture.tick("EURUSD", 5_000, bid: "1.147", ask: "1.14702"))  // profit 200 → 10,200
        // Older than the quote held.
        #expect(try h.ticks(Fixture.tick("EURUSD", 4_000, bid: "1.15", ask: "1.15002")).isEmpty)
        // Bid above the ask by more than 1 % of it (1.15 > 1.13 × 1.01 = 1.1413), zero bid.
        #expect(try h.ticks(Fixture.tick("EURUSD", 6_000, bid: "1.15", ask: "1.13")).isEmpty)
        #expect(try h.ticks(Fixture.tick("EURUSD", 6_000, bid: 0, ask: "1.149")).isEmpty)
        #expect(h.equity == "10200")
        #expect(h.engine.statistics.staleTicks == 1)
        #expect(h.engine.statistics.rejectedTicks == 2)
    }

    @Test func oneSharedFeedDrivesEveryAccountOnIt() throws {
        let configuration = EquityEngine.Configuration(sharedFeedByServer: ["Live": "live-prices"])
        var engine = EquityEngine(configuration: configuration)
        let first = AccountID(server: "Live", login: 1)
        let second = AccountID(server: "Live", login: 2)
        let other = AccountID(server: "Other", login: 3)
        for (login, server) in [(Int64(1), "Live"), (2, "Live"), (3, "Other")] {
            _ = try engine.apply(
                .hello(Fixture.hello(server: server, login: login)), account: AccountID(server: server, login: login))
        }
        // Account 1: buy 1.00 at 1.14500; account 2: sell 0.10 at 1.14700; account 3 (own feed): buy 1.00 at 1.14500.
        // All snapshots at bid 1.14600 / ask 1.14602:
        //   1: 0.001 × 100,000 = 100.00 → 10,100;  2: (1.147 − 1.14602) × 10,000 = 9.80 → 10,009.80;  3: 10,100.
        let quote = [Fixture.tick("EURUSD", 1_000, bid: "1.146", ask: "1.14602")]
        for (account, position, equity) in [
            (first, Fixture.position(1, "EURUSD", .buy, volume: 1, open: "1.145"), FixedDecimal(10_100)),
            (second, Fixture.position(2, "EURUSD", .sell, volume: "0.1", open: "1.147"), "10009.8"),
            (other, Fixture.position(3, "EURUSD", .buy, volume: 1, open: "1.145"), 10_100),
        ] {
            let snapshot = Snapshot(
                account: Fixture.report(1_000, balance: 10_000, equity: equity), symbols: [Fixture.eurusd],
                positions: [position], quotes: quote)
            _ = try engine.apply(.snapshot(snapshot), account: account)
        }
        // The price source ticks bid 1.14650 / ask 1.14652:
        //   1: 0.0015 × 100,000 = 150.00 → 10,150;  2: (1.147 − 1.14652) × 10,000 = 4.80 → 10,004.80;  3: untouched.
        let outputs = engine.applyTicks(
            [Fixture.tick("EURUSD", 2_000, bid: "1.1465", ask: "1.14652")], feed: "live-prices")
        let byAccount = Dictionary(uniqueKeysWithValues: outputs.observations.map { ($0.account, $0.equity) })
        #expect(byAccount == [first: "10150", second: "10004.8"])
        #expect(engine.view(of: other)?.equity == "10100")
        // An account's own ticks on a shared feed move the others too: account 2 sends bid 1.14600 / ask 1.14602.
        let own = try engine.apply(
            .ticks([Fixture.tick("EURUSD", 3_000, bid: "1.146", ask: "1.14602")]), account: second)
        #expect(Set(own.observations.map(\.account)) == [first, second])
    }

    @Test func aTickRevaluesOnlyThePositionsItMoves() throws {
        var h = try Harness()
        let gbpusd = Fixture.spec("GBPUSD", base: "GBP", profit: "USD")
        let eurgbp = Fixture.spec("EURGBP", base: "EUR", profit: "GBP")
        // EURUSD: buy 1.00 at 1.14500 and sell 0.10 at 1.14700 → 100.00 and (1.147 − 1.14602) × 10,000 = 9.80.
        // GBPUSD: buy 0.10 at 1.29000, bid 1.30000 → 0.01 × 10,000 = 100.00.
        // EURGBP: buy 0.10 at 0.87000, bid 0.87100 → 0.001 × 10,000 = 10 GBP × bid 1.30000 = 13.00.
        // Equity 10,000 + 100 + 9.80 + 100 + 13 = 10,222.80.
        try h.snapshot(
            balance: 10_000, equity: "10222.8", symbols: [Fixture.eurusd, gbpusd, eurgbp],
            positions: [
                Fixture.position(1, "EURUSD", .buy, volume: 1, open: "1.145"),
                Fixture.position(2, "EURUSD", .sell, volume: "0.1", open: "1.147"),
                Fixture.position(3, "GBPUSD", .buy, volume: "0.1", open: "1.29"),
                Fixture.position(4, "EURGBP", .buy, volume: "0.1", open: "0.87"),
            ],
            quotes: [
                Fixture.tick("EURUSD", 1_000, bid: "1.146", ask: "1.14602"),
                Fixture.tick("GBPUSD", 1_000, bid: "1.3", ask: "1.3002"),
                Fixture.tick("EURGBP", 1_000, bid: "0.871", ask: "0.87102"),
            ])
        #expect(h.equity == "10222.8")
        // A EURUSD tick revalues the two EURUSD positions only.
        try h.ticks(Fixture.tick("EURUSD", 2_000, bid: "1.1461", ask: "1.14612"))
        #expect(h.engine.statistics.revaluations == 2)
        // A GBPUSD tick revalues the GBPUSD position and the EURGBP position it converts: 2 more.
        // GBPUSD bid 1.31000: 0.02 × 10,000 = 200.00; EURGBP 10 GBP × 1.31 = 13.10.
        try h.ticks(Fixture.tick("GBPUSD", 3_000, bid: "1.31", ask: "1.3102"))
        #expect(h.engine.statistics.revaluations == 4)
        // The incremental sum equals the sum of the positions: EURUSD 110.00 (0.0011 × 100,000) and
        // (1.147 − 1.14612) × 10,000 = 8.80; 10,000 + 110 + 8.80 + 200 + 13.10 = 10,331.90.
        #expect(h.equity == "10331.9")
        let sum = h.view.positions.reduce(FixedDecimal.zero) { $0 + $1.profit! }
        #expect(h.equity == h.balance + sum)
    }

    @Test func futuresTickValueIsAlreadyInTheAccountCurrency() throws {
        var h = try Harness()
        // FDAX on a USD account: profit currency EUR, but MQL reports the tick value in the account currency
        // (27.50 USD per 0.5 point), so no cross is needed or looked up.
        // Buy 1 at 11,000.0, bid 11,010.0: 10 × 1 × 27.50 ÷ 0.5 = 550.00 USD.
        let fdax = Fixture.spec(
            "FDAX", calcMode: .futures, contractSize: 25, tickSize: "0.5", tickValue: "27.5",
            base: "EUR", profit: "EUR", digits: 1)
        try h.snapshot(
            balance: 10_000, equity: 10_550, symbols: [fdax],
            positions: [Fixture.position(1, "FDAX", .buy, volume: 1, open: 11_000)],
            quotes: [Fixture.tick("FDAX", 1_000, bid: 11_010, ask: "11010.5")])
        #expect(h.profit(ticket: 1) == "550")
        #expect(h.equity == "10550")
    }

    @Test func removedAccountsStopReceivingTicks() throws {
        var h = try oneBuy()
        h.engine.remove(account: h.account)
        #expect(h.engine.view(of: h.account) == nil)
        #expect(h.engine.openPositionCount == 0)
        #expect(throws: EquityEngineError.unknownAccount(h.account)) {
            try h.engine.apply(
                .ticks([Fixture.tick("EURUSD", 2_000, bid: "1.147", ask: "1.14702")]), account: h.account)
        }
    }

    @Test func snapshotReplacesEverything() throws {
        var h = try oneBuy()
        // A new snapshot: balance 5,000, credit 100, one sell 0.20 at 1.14800 at ask 1.14702:
        // (1.148 − 1.14702) × 20,000 = 19.60 → equity 5,000 + 100 + 19.60 = 5,119.60.
        let outputs = try h.snapshot(
            9_000, balance: 5_000, credit: 100, equity: "5119.6", symbols: [Fixture.eurusd],
            positions: [Fixture.position(9, "EURUSD", .sell, volume: "0.2", open: "1.148")],
            quotes: [Fixture.tick("EURUSD", 9_000, bid: "1.147", ask: "1.14702")])
        #expect(outputs.observations.map(\.equity) == ["5119.6"])
        #expect(h.view.positions.map(\.position.ticket) == [9])
        #expect(h.engine.openPositionCount == 1)
        #expect(h.engine.statistics.drifts == 0)
    }

    @Test func symbolWithoutSpecificationIsUnknown() throws {
        var h = try Harness()
        let outputs = try h.snapshot(
            7_000, balance: 100, equity: 100, symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "NOPE", .buy, volume: 1, open: 1)])
        #expect(outputs.unknowns.map(\.reason) == [.unknownSymbol("NOPE")])
        // Its specification arrives: F = 100,000; still no quote → unknown (no new output); the quote
        // bid 1.00010 → 0.0001 × 100,000 = 10.00 → equity 110, known again.
        try h.send(.symbol(Fixture.spec("NOPE", base: "XXX", profit: "USD")))
        #expect(h.view.unknownReason == .noQuote(symbol: "NOPE"))
        let quote = try h.ticks(Fixture.tick("NOPE", 8_000, bid: "1.0001", ask: "1.0002"))
        #expect(quote.observations.map(\.equity) == ["110"])
    }

    @Test func positionOpenedAndClosedWithoutDealIsHeldThenReleased() throws {
        var h = try Harness()
        try h.snapshot(
            balance: 1_000, equity: 1_000, symbols: [Fixture.eurusd],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: "1.146", ask: "1.14602")])
        // Opened: sell 0.10 at 1.14700, ask 1.14602 → 0.00098 × 10,000 = 9.80 → equity 1,009.80.
        try h.send(
            .position(
                PositionUpdate(
                    change: .opened, time: BrokerTime(milliseconds: 2_000),
                    position: Fixture.position(4, "EURUSD", .sell, volume: "0.1", open: "1.147"))))
        #expect(h.equity == "1009.8")
        // Closed before its deal: the 9.80 is held; equity still 1,009.80.
        try h.send(
            .position(
                PositionUpdate(
                    change: .closed, time: BrokerTime(milliseconds: 3_000),
                    position: Fixture.position(4, "EURUSD", .sell, volume: "0.1", open: "1.147"))))
        #expect(h.equity == "1009.8")
        #expect(h.view.pendingCloses == 1)
        // The deal books 9.80: balance 1,009.80, nothing held.
        try h.send(
            .deal(Fixture.deal(70, 3_000, .buy, .out, symbol: "EURUSD", volume: "0.1", profit: "9.8", positionID: 4)))
        #expect(h.balance == "1009.8")
        #expect(h.equity == "1009.8")
        #expect(h.view.pendingCloses == 0)
    }
}
