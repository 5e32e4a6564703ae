import EquityEngine
import Testing
import TidemarkProtocol

/// Where each platform puts commission, swap and closed profit; partial closes; close-by; balance
/// and credit operations.
@Suite struct PlatformTests {
    @Test func mt5ChargesEntryCommissionToBalanceAndKeepsSwapOnThePosition() throws {
        var h = try Harness(platform: .mt5)
        try h.snapshot(
            balance: 10_000, equity: 10_000, symbols: [Fixture.eurusd],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: "1.14500", ask: "1.14502")])
        // Entry deal: commission −3.50 and fee −0.50 go to balance at once: 10,000 − 3.50 − 0.50 = 9,996.00.
        let entry = try h.send(
            .deal(
                Fixture.deal(
                    100, 2_000, .buy, .in, symbol: "EURUSD", volume: 1, price: "1.14502",
                    commission: "-3.5", fee: "-0.5", positionID: 7)))
        #expect(h.balance == "9996")
        #expect(entry.observations.last?.equity == "9996")
        // The position opens at 1.14502; at bid 1.14500 its profit is (1.14500 − 1.14502) × 100,000 = −2.00.
        try h.send(
            .position(
                PositionUpdate(
                    change: .opened, time: BrokerTime(milliseconds: 2_000),
                    position: Fixture.position(7, "EURUSD", .buy, volume: 1, open: "1.14502"))))
        #expect(h.equity == "9994")  // 9,996 − 2
        // Overnight swap −2.10 accrues on the position, not the balance: equity 9,996 − 2 − 2.10 = 9,991.90.
        let swap = try h.send(
            .position(
                PositionUpdate(
                    change: .changed, time: BrokerTime(milliseconds: 3_000),
                    position: Fixture.position(7, "EURUSD", .buy, volume: 1, open: "1.14502", swap: "-2.1"))))
        #expect(h.balance == "9996")
        #expect(swap.observations.map(\.equity) == ["9991.9"])
        #expect(swap.observations.map(\.floating) == ["-4.1"])  // −2.00 − 2.10
        // Price rises to bid 1.14552: profit (1.14552 − 1.14502) × 100,000 = 50.00; equity 9,996 + 50 − 2.10 = 10,043.90.
        try h.ticks(Fixture.tick("EURUSD", 4_000, bid: "1.14552", ask: "1.14554"))
        #expect(h.equity == "10043.9")
        // Exit deal: profit 50 + swap −2.10 + commission −3.50 to balance: 9,996 + 50 − 2.10 − 3.50 = 10,040.40.
        try h.send(
            .deal(
                Fixture.deal(
                    101, 5_000, .sell, .out, symbol: "EURUSD", volume: 1, price: "1.14552", profit: 50,
                    commission: "-3.5", swap: "-2.1", positionID: 7)))
        try h.send(
            .position(
                PositionUpdate(
                    change: .closed, time: BrokerTime(milliseconds: 5_000),
                    position: Fixture.position(7, "EURUSD", .buy, volume: 1, open: "1.14502", swap: "-2.1"))))
        #expect(h.balance == "10040.4")
        #expect(h.equity == "10040.4")
        #expect(h.view.positions.isEmpty)
    }

    @Test func mt4KeepsCommissionAndSwapOnTheOrderUntilClose() throws {
        var h = try Harness(platform: .mt4)
        // Order: buy 1.00 at 1.14500, commission −7.00, swap −1.20; bid 1.14600.
        // OrderProfit = 0.001 × 100,000 = 100.00 (without swap and commission);
        // floating = 100 − 7 − 1.20 = 91.80; equity = 10,000 + 91.80 = 10,091.80.
        try h.snapshot(
            balance: 10_000, equity: "10091.8", symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "EURUSD", .buy, volume: 1, open: "1.145", swap: "-1.2", commission: -7)],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: "1.14600", ask: "1.14602")])
        #expect(h.profit(ticket: 1) == "100")
        #expect(h.equity == "10091.8")
        #expect(h.view.floating == "91.8")
        #expect(h.engine.statistics.drifts == 0)
        // An MT4 "in" deal carrying commission does not touch balance (the order holds it).
        try h.send(
            .deal(Fixture.deal(50, 1_500, .buy, .in, symbol: "EURUSD", volume: 1, commission: -7, positionID: 1)))
        #expect(h.balance == "10000")
        // Close: the order's profit + swap + commission hit balance: 10,000 + 100 − 1.20 − 7 = 10,091.80.
        let close = try h.send(
            .deal(
                Fixture.deal(
                    51, 2_000, .sell, .out, symbol: "EURUSD", volume: 1, price: "1.146",
                    profit: 100, commission: -7, swap: "-1.2", positionID: 1)))
        #expect(h.balance == "10091.8")
        // Equity does not move at the close: balance took what floating gave up.
        #expect(close.observations.map(\.equity) == ["10091.8"])
        #expect(close.observations.map(\.floating) == [.zero])
        let closed = try h.send(
            .position(
                PositionUpdate(
                    change: .closed, time: BrokerTime(milliseconds: 2_000),
                    position: Fixture.position(
                        1, "EURUSD", .buy, volume: 1, open: "1.145", swap: "-1.2", commission: -7))))
        #expect(closed.observations.isEmpty)  // nothing changed
    }

    /// A partial close reported deal first, then position; equity must not jump.
    @Test func partialCloseDealFirst() throws {
        var h = try Harness()
        // Buy 2.00 at 1.14500, bid 1.14600: 0.001 × 200,000 = 200.00; equity 10,200.
        try h.snapshot(
            balance: 10_000, equity: 10_200, symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "EURUSD", .buy, volume: 2, open: "1.145")],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: "1.146", ask: "1.14602")])
        // Close 0.50 at 1.14600: profit 0.001 × 50,000 = 50.00 to balance (10,050); the remaining 1.50 lots
        // float 0.001 × 150,000 = 150.00; equity stays 10,200.
        let deal = try h.send(
            .deal(
                Fixture.deal(
                    9, 2_000, .sell, .out, symbol: "EURUSD", volume: "0.5", price: "1.146",
                    profit: 50, positionID: 1)))
        #expect(deal.observations.map(\.equity) == ["10200"])
        #expect(deal.observations.map(\.balance) == ["10050"])
        #expect(h.profit(ticket: 1) == "150")
        let update = try h.send(
            .position(
                PositionUpdate(
                    change: .changed, time: BrokerTime(milliseconds: 2_000),
                    position: Fixture.position(1, "EURUSD", .buy, volume: "1.5", open: "1.145"))))
        #expect(update.observations.isEmpty)
        #expect(h.view.pendingCloses == 0)
    }

    /// The same partial close reported position first: the part that left is held until its deal.
    @Test func partialClosePositionFirst() throws {
        var h = try Harness()
        try h.snapshot(
            balance: 10_000, equity: 10_200, symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "EURUSD", .buy, volume: 2, open: "1.145")],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: "1.146", ask: "1.14602")])
        // Volume drops to 1.50 (profit 150.00); the 50.00 that left waits for the deal: equity stays 10,200.
        let update = try h.send(
            .position(
                PositionUpdate(
                    change: .changed, time: BrokerTime(milliseconds: 2_000),
                    position: Fixture.position(1, "EURUSD", .buy, volume: "1.5", open: "1.145"))))
        #expect(update.observations.isEmpty)
        #expect(h.view.pendingCloses == 1)
        #expect(h.equity == "10200")
        // Price moves to 1.14700: remaining 1.50 lots float 0.002 × 150,000 = 300; held 50; equity 10,350.
        try h.ticks(Fixture.tick("EURUSD", 2_500, bid: "1.147", ask: "1.14702"))
        #expect(h.equity == "10350")
        // The deal books the 50.00: balance 10,050, floating 300, equity 10,350.
        let deal = try h.send(
            .deal(
                Fixture.deal(
                    9, 3_000, .sell, .out, symbol: "EURUSD", volume: "0.5", price: "1.146",
                    profit: 50, positionID: 1)))
        #expect(deal.observations.map(\.equity) == ["10350"])
        #expect(deal.observations.map(\.balance) == ["10050"])
        #expect(h.view.pendingCloses == 0)
        #expect(h.view.floating == "300")
    }

    /// Two partial closes reported before either deal: each deal releases its own share.
    @Test func twoPartialClosesBeforeTheirDeals() throws {
        var h = try Harness()
        // Buy 2.00 at 1.14500, bid 1.14600: 200.00; equity 10,200.
        try h.snapshot(
            balance: 10_000, equity: 10_200, symbols: [Fixture.eurusd],
            positions: [Fixture.position(1, "EURUSD", .buy, volume: 2, open: "1.145")],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: "1.146", ask: "1.14602")])
        // 2.00 → 1.50 → 1.00 lots: 1.00 lot (100.00) held; floating 100 + 100 = 200; equity 10,200.
        for (time, volume) in [(Int64(2_000), FixedDecimal("1.5")), (2_100, 1)] {
            try h.send(
                .position(
                    PositionUpdate(
                        change: .changed, time: BrokerTime(milliseconds: time),
                        position: Fixture.position(1, "EURUSD", .buy, volume: volume, open: "1.145"))))
        }
        #expect(h.equity == "10200")
        // First deal, 0.50 lots, profit 50: releases 100 × 0.5 ÷ 1.0 = 50 of the held value; balance 10,050,
        // floating 100 + 50 = 150; equity 10,200. The open position keeps its 1.00 lot.
        let first = try h.send(
            .deal(
                Fixture.deal(
                    31, 3_000, .sell, .out, symbol: "EURUSD", volume: "0.5", price: "1.146", profit: 50, positionID: 1))
        )
        #expect(first.observations.map(\.equity) == ["10200"])
        #expect(h.view.positions.map(\.position.volume) == [1])
        // Second deal releases the rest: balance 10,100, floating 100, equity 10,200, nothing held.
        let second = try h.send(
            .deal(
                Fixture.deal(
                    32, 3_100, .sell, .out, symbol: "EURUSD", volume: "0.5", price: "1.146", profit: 50, positionID: 1))
        )
        #expect(second.observations.map(\.equity) == ["10200"])
        #expect(h.view.floating == "100")
        #expect(h.view.pendingCloses == 0)
        #expect(h.view.positions.map(\.position.volume) == [1])
    }

    @Test func closeBy() throws {
        var h = try Harness()
        // Buy 1.00 at 1.14000 (ticket 1) and sell 1.00 at 1.14500 (ticket 2); bid 1.14300, ask 1.14302.
        // Buy: 0.003 × 100,000 = 300.00. Sell: (1.14500 − 1.14302) × 100,000 = 198.00. Equity 10,498.
        try h.snapshot(
            balance: 10_000, equity: 10_498, symbols: [Fixture.eurusd],
            positions: [
                Fixture.position(1, "EURUSD", .buy, volume: 1, open: "1.14"),
                Fixture.position(2, "EURUSD", .sell, volume: 1, open: "1.145"),
            ],
            quotes: [Fixture.tick("EURUSD", 1_000, bid: "1.143", ask: "1.14302")])
        #expect(h.equity == "10498")
        // Close-by at the sell's open price 1.14500: ticket 1 books (1.14500 − 1.14000) × 100,000 = 500.00,
        // ticket 2 books 0. Both positions go; balance 10,500 = equity (the spread is not paid).
        try h.send(
            .deal(
                Fixture.deal(
                    20, 2_000, .sell, .outBy, symbol: "EURUSD", volume: 1, price: "1.145", profit: 500, positionID: 1)))
        try h.send(
            .deal(
                Fixture.deal(
                    21, 2_000, .buy, .outBy, symbol: "EURUSD", volume: 1, price: "1.145", profit: 0, positionID: 2)))
        for ticket in [Int64(1), 2] {
            try h.send(
                .position(
                    PositionUpdate(
                        change: .closed, time: BrokerTime(milliseconds: 2_000),
                        position: Fixture.position(
                            ticket, "EURUSD", ticket == 1 ? .buy : .sell, volume: 1, open: "1.14"))))
        }
        #expect(h.balance == "10500")
        #expect(h.equity == "10500")
        #expect(h.view.positions.isEmpty)
        #expect(h.view.pendingCloses == 0)
    }

    @Test func depositsWithdrawalsAndCreditAreReportedApart() throws {
        var h = try Harness()
        try h.snapshot(balance: 1_000, equity: 1_000, symbols: [Fixture.eurusd])
        // Deposit 500: balance 1,500.
        let deposit = try h.send(.deal(Fixture.deal(1, 2_000, .balance, .in, profit: 500)))
        #expect(deposit.balanceOperations.map(\.category) == [.deposit])
        #expect(deposit.balanceOperations.map(\.balanceAfter) == ["1500"])
        #expect(deposit.observations.map(\.balance) == ["1500"])
        // Withdrawal −200: balance 1,300.
        let withdrawal = try h.send(.deal(Fixture.deal(2, 3_000, .balance, .in, profit: -200)))
        #expect(withdrawal.balanceOperations.map(\.category) == [.withdrawal])
        #expect(withdrawal.balanceOperations.first?.category.isCapitalFlow == true)
        // Credit 1,000: credit 1,000, balance unchanged 1,300, equity 2,300.
        let credit = try h.send(.deal(Fixture.deal(3, 4_000, .credit, .in, profit: 1_000)))
        #expect(credit.balanceOperations.map(\.category) == [.credit])
        #expect(credit.observations.map(\.credit) == ["1000"])
        #expect(credit.observations.map(\.balance) == ["1300"])
        #expect(credit.observations.map(\.equity) == ["2300"])
        // Credit out −400: credit 600, equity 1,900.
        let creditOut = try h.send(.deal(Fixture.deal(4, 5_000, .credit, .in, profit: -400)))
        #expect(creditOut.observations.map(\.equity) == ["1900"])
        // The same deal again is ignored.
        let duplicate = try h.send(.deal(Fixture.deal(4, 5_000, .credit, .in, profit: -400)))
        #expect(duplicate.isEmpty)
        #expect(h.engine.statistics.duplicateDeals == 1)
    }

    @Test func otherBalanceDealsAreClassifiedAndBooked() throws {
        var h = try Harness()
        try h.snapshot(balance: 1_000, equity: 1_000, symbols: [Fixture.eurusd])
        let cases: [(DealType, FixedDecimal, BalanceOperation.Category)] = [
            (.bonus, 100, .bonus), (.correction, -5, .correction), (.charge, -2, .charge),
            (.commission, "-1.5", .commission), (.commissionDaily, "-0.5", .commission),
            (.commissionMonthly, -1, .commission), (.commissionAgentDaily, "-0.25", .commission),
            (.commissionAgentMonthly, "-0.25", .commission), (.interest, "3.1", .interest),
            (.dividend, 4, .dividend), (.dividendFranked, 1, .dividend), (.tax, "-0.6", .tax),
        ]
        var categories: [BalanceOperation.Category] = []
        for (index, (type, amount, _)) in cases.enumerated() {
            let outputs = try h.send(
                .deal(Fixture.deal(Int64(100 + index), Int64(2_000 + index), type, .in, profit: amount)))
            categories += outputs.balanceOperations.map(\.category)
            #expect(outputs.balanceOperations.first?.category.isCapitalFlow == false)
        }
        #expect(categories == cases.map(\.2))
        // 1,000 + 100 − 5 − 2 − 1.5 − 0.5 − 1 − 0.25 − 0.25 + 3.1 + 4 + 1 − 0.6 = 1,097.00
        #expect(h.balance == "1097")
        // Trades and cancellations are not balance operations.
        let canceled = try h.send(.deal(Fixture.deal(200, 3_000, .buyCanceled, .in, symbol: "EURUSD", volume: 1)))
        #expect(canceled.isEmpty)
    }

    @Test func nettingAndExchangeAccountsAreRefused() throws {
        var engine = EquityEngine()
        let account = AccountID(server: "Demo", login: 5)
        #expect(throws: EquityEngineError.nettingAccount(account)) {
            try engine.apply(.hello(Fixture.hello(login: 5, marginMode: .retailNetting)), account: account)
        }
        #expect(throws: EquityEngineError.exchangeAccount(account)) {
            try engine.apply(.hello(Fixture.hello(login: 5, marginMode: .exchange)), account: account)
        }
        #expect(EquityEngineError.nettingAccount(account).description == "netting_account")
        // Nothing was registered: later messages are refused too, so they cannot be folded by mistake.
        #expect(throws: EquityEngineError.unknownAccount(account)) {
            try engine.apply(.ticks([Fixture.tick("EURUSD", 1, bid: 1, ask: 1)]), account: account)
        }
        #expect(engine.view(of: account) == nil)
        #expect(engine.statistics.refusedHellos == 2)
    }
}
