import EquityEngine
import Testing
import TidemarkProtocol

/// The hostile frames of issue #12 at the engine: each in-range field whose sum left the range
/// trapped; now the account goes out of range (or the deal is refused) and a snapshot re-bases it.
@Suite struct OutOfRangeTests {
    static let max = FixedDecimal.greatestFiniteMagnitude

    /// 10,000 USD, no positions.
    func flat(balance: FixedDecimal = 10_000) throws -> Harness {
        var h = try Harness()
        try h.snapshot(
            balance: balance, equity: balance, symbols: [Fixture.eurusd],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: 1, ask: "1.00002")])
        return h
    }

    @Test func aDealOfTheLargestWireProfitTakesTheBalanceOutOfRangeUntilASnapshot() throws {
        var h = try flat()
        // 10,000 + 92,233,720,368.54775807 is beyond the range: no observation, one notice.
        let outputs = try h.send(.deal(Fixture.deal(1, 2_000, .balance, profit: Self.max)))
        #expect(outputs.observations.isEmpty)
        #expect(
            outputs == [
                .outOfRange(
                    AccountOutOfRange(
                        account: h.account, since: BrokerTime(milliseconds: 2_000),
                        figure: .balance))
            ])
        #expect(h.view.outOfRange == .balance)
        #expect(h.view.balance == Self.max)  // the view clamps
        #expect(h.view.equity == nil)
        // A withdrawal of the same brings it back: the sums were kept exact.
        let back = try h.send(.deal(Fixture.deal(2, 3_000, .balance, profit: -Self.max)))
        #expect(back.contains(.inRange(account: h.account, at: BrokerTime(milliseconds: 3_000))))
        #expect(back.observations.map(\.balance) == [10_000])
        // A report while out of range is skipped, not compared.
        try h.send(.deal(Fixture.deal(3, 4_000, .balance, profit: Self.max)))
        #expect(try h.send(.report(Fixture.report(5_000, balance: 1, equity: 1))).isEmpty)
        // The snapshot re-bases the account.
        let snapshot = try h.snapshot(6_000, balance: 500, equity: 500, symbols: [Fixture.eurusd])
        #expect(snapshot.first == .inRange(account: h.account, at: BrokerTime(milliseconds: 6_000)))
        #expect(snapshot.observations.map(\.equity) == [500])
        #expect(h.engine.statistics.outOfRangeTransitions == 2)
    }

    @Test func twoDepositsOfTheLargestWholeAmount() throws {
        var h = try flat(balance: .zero)
        #expect(
            try h.send(.deal(Fixture.deal(1, 2_000, .balance, profit: 92_233_720_368))).observations.map(\.balance)
                == [92_233_720_368])
        let second = try h.send(.deal(Fixture.deal(2, 3_000, .balance, profit: 92_233_720_368)))
        #expect(second.observations.isEmpty)
        #expect(h.view.outOfRange == .balance)
    }

    @Test func aDealWhoseAmountIsOutOfRangeIsRefusedWhole() throws {
        var h = try flat()
        // profit + swap: 2 × max.
        #expect(throws: EquityEngineError.outOfRange(h.account, deal: 1)) {
            try h.send(.deal(Fixture.deal(1, 2_000, .balance, profit: Self.max, swap: Self.max)))
        }
        #expect(h.balance == 10_000)
        #expect(h.engine.statistics.outOfRangeDeals == 1)
        // Not even its ticket was taken: the same ticket with a sane amount is folded.
        #expect(try h.send(.deal(Fixture.deal(1, 2_000, .balance, profit: 5))).observations.map(\.balance) == ["10005"])
    }

    @Test func aPositionOfTheLargestLotsMovedByATick() throws {
        var h = try Harness()
        try h.snapshot(
            balance: 10_000, equity: 10_000, symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "EURUSD", .buy, volume: 92_233_720_368, open: 1)],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: 1, ask: "1.00002")])
        #expect(h.equity == 10_000)
        // +0.00001 × 100,000 × 92,233,720,368 = 92,233,720,368.00: floating fits, equity does not.
        let outputs = try h.ticks(Fixture.tick("EURUSD", 2_000, bid: "1.00001", ask: "1.00003"))
        #expect(
            outputs == [
                .outOfRange(
                    AccountOutOfRange(
                        account: h.account, since: BrokerTime(milliseconds: 2_000),
                        figure: .equity))
            ])
        // Back to the open price: in range again, equity 10,000.
        let back = try h.ticks(Fixture.tick("EURUSD", 3_000, bid: 1, ask: "1.00002"))
        #expect(back.observations.map(\.equity) == [10_000])
        // A move of a whole unit is beyond what a position's profit can hold: that position is
        // out of range (equity unknown), not the account's sum.
        let far = try h.ticks(Fixture.tick("EURUSD", 4_000, bid: 2, ask: "2.00002"))
        #expect(far.unknowns.map(\.reason) == [.outOfRange(symbol: "EURUSD")])
    }

    @Test func swapAndCommissionAtTheEndsOfTheRangeSumWide() throws {
        var h = try Harness(platform: .mt4)
        // swap +max, commission +max on one order: the fixed part alone is 2 × max.
        try h.snapshot(
            balance: 0, equity: 0, symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "EURUSD", .buy, volume: 1, open: 1, swap: Self.max, commission: Self.max)],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: 1, ask: "1.00002")])
        #expect(h.view.outOfRange == .floating)
    }

    @Test func aReportOfPlusAndMinusTheLargestValueIsADriftNotATrap() throws {
        var h = try flat()
        let outputs = try h.send(.report(Fixture.report(2_000, balance: Self.max, equity: -Self.max)))
        let drift = try #require(outputs.drifts.first)
        #expect(drift.terminalBalance == Self.max)
        #expect(drift.reconstructedEquity == 10_000)
        // −max − 10,000 is below the range: no difference to show.
        #expect(drift.equityDifference == nil)
        #expect(try h.send(.report(Fixture.report(3_000, balance: -Self.max, equity: Self.max))).drifts.count == 1)
    }

    @Test func aCrossedQuoteWithinOnePercentIsFoldedAndJustOverIsNot() throws {
        var h = try Harness()
        try h.snapshot(
            balance: 10_000, equity: 10_000, symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "EURUSD", .buy, volume: 1, open: 1)],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: 1, ask: 1)])
        // bid 1.01 over ask 1.00: exactly 1 % crossed, folded; the buy marks at the bid:
        // 0.01 × 100,000 = 1,000.00 → equity 11,000.
        #expect(try h.ticks(Fixture.tick("EURUSD", 2_000, bid: "1.01", ask: 1)).observations.map(\.equity) == [11_000])
        // bid 1.01000001: over 1 %, dropped and counted.
        #expect(try h.ticks(Fixture.tick("EURUSD", 3_000, bid: "1.01000001", ask: 1)).isEmpty)
        #expect(h.engine.statistics.rejectedTicks == 1)
        #expect(h.equity == 11_000)
    }
}
