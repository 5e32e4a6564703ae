import Foundation
import RiskCore
import Testing
import TidemarkProtocol

struct EquityChartTests {
    /// One hour closed by the next hour's first observation. Weights start at the hour's first
    /// observation; the last value holds to the hour's end.
    @Test func hourIsTimeWeightedAndClosedByTheNextHour() throws {
        var engine = RiskEngine()
        let outputs = run(
            &engine,
            [
                observation("2024-03-01 10:00:00.000", balance: 1_000, equity: 1_000),
                observation("2024-03-01 10:15:00.000", balance: 1_000, equity: 1_010),
                observation("2024-03-01 10:45:00.000", balance: 1_005, equity: 990),
                observation("2024-03-01 11:30:00.000", balance: 1_005, equity: 1_020),
            ])
        let record = try #require(outputs.chartRecords.first)
        #expect(outputs.chartRecords.count == 1)
        #expect(record.startBrokerTime == at("2024-03-01 10:00:00.000"))
        #expect(record.endBrokerTime == at("2024-03-01 10:59:59.999"))
        // Equity: 1000 × 15 min + 1010 × 30 min + 990 × 15 min = 60150 / 60 = 1002.5
        #expect(record.averageEquity == "1002.5")
        // Balance: 1000 × 45 min + 1005 × 15 min = 60075 / 60 = 1001.25
        #expect(record.averageBalance == "1001.25")
        #expect(record.minEquity == 990 && record.maxEquity == 1_010)
        #expect(record.minBalance == 1_000 && record.maxBalance == 1_005)
        #expect(record.startBalance == 1_000 && record.startEquity == 1_000)
        #expect(record.lastBalance == 1_005 && record.lastEquity == 990)

        // The open hour ("realTime"): 1020 for 10 min then 1040 for 10 min up to the clock (11:50,
        // moved by a position update) = (10200 + 10400) / 20 = 1030.
        _ = run(
            &engine,
            [
                observation("2024-03-01 11:40:00.000", balance: 1_005, equity: 1_040),
                .position(
                    accountA,
                    PositionUpdate(
                        change: .changed, time: at("2024-03-01 11:50:00.000"),
                        position: Position(
                            ticket: 1, symbol: "EURUSD", side: .buy, volume: "0.1",
                            openPrice: "1.1", openTime: at("2024-03-01 09:00")))),
            ])
        let live = try #require(engine.currentEquityChartRecord(accountId: accountA))
        #expect(live.startBrokerTime == at("2024-03-01 11:00:00.000"))
        #expect(live.averageEquity == 1_030)
        #expect(live.startEquity == 1_020 && live.lastEquity == 1_040)
    }

    /// Averages round half away from zero at 8 digits: 1 for 1 ms then 2 for 3,599,999 ms
    /// = 7,199,999 / 3,600,000 = 1.99999972222… → 1.99999972. A heartbeat closes the hour and
    /// opens its own with the carried figures; hours without any input have no record.
    @Test func averageRoundingAndHeartbeatClose() throws {
        var engine = RiskEngine()
        _ = run(
            &engine,
            [
                observation("2024-03-01 10:00:00.000", balance: 1, equity: 1),
                observation("2024-03-01 10:00:00.001", balance: 1, equity: 2),
            ])
        let closed = engine.apply(.time(testAccount, at("2024-03-01 13:00:00.000")))
        let record = try #require(closed.chartRecords.first)
        #expect(closed.chartRecords.count == 1)
        #expect(record.averageEquity == "1.99999972")
        #expect(record.averageBalance == 1)
        // The heartbeat opens the 13:00 hour with the carried figures (hours 11 and 12 had no input).
        let open = try #require(engine.currentEquityChartRecord(accountId: accountA))
        #expect(open.startBrokerTime == at("2024-03-01 13:00:00.000"))
        #expect(open.startEquity == 2 && open.averageEquity == 2)
    }
}
