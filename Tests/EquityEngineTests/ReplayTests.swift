import EquityEngine
import Testing
import TidemarkProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A day of real EURUSD ticks (2019-02-04) through the engine with three open positions on a USD
/// account of 10,000.00:
///   A: buy 1.00 at 1.14500   B: sell 0.30 at 1.14600   C: buy 0.05 at 1.14000
/// equity = 10,000 + (bid − 1.14500) × 100,000 + (1.14600 − ask) × 30,000 + (bid − 1.14000) × 5,000.
@Suite struct ReplayTests {
    struct Row {
        var time: Int64
        /// Prices in points (10⁻⁵): every row of the file has five decimals.
        var bidPoints: Int64
        var askPoints: Int64
    }

    /// The CSV's rows (header skipped). Fails the test, never skips it, when the file is missing.
    static func loadRows() throws -> [Row] {
        let path = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        let file = "/" + path + "/../shared/data/ticks/EURUSD-2019-02-04.csv"
        guard let handle = fopen(file, "r") else {
            Issue.record(
                "The tick file \(file) is missing: the replay test needs /work/shared/data/ticks/EURUSD-2019-02-04.csv")
            throw ReplayError.missingFile
        }
        defer { fclose(handle) }
        var rows: [Row] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        var first = true
        while getline(&line, &capacity, handle) > 0 {
            let text = String(cString: line!)
            if first {
                first = false
                continue
            }
            let fields = text.split(separator: ",")
            guard fields.count >= 3, let time = Int64(fields[0]) else { continue }
            rows.append(Row(time: time, bidPoints: Self.points(fields[1]), askPoints: Self.points(fields[2])))
        }
        free(line)
        return rows
    }

    enum ReplayError: Error { case missingFile }

    /// "1.14543" → 114543 (independent of FixedDecimal's parser).
    static func points(_ text: Substring) -> Int64 {
        Int64(text.filter { $0 != "." })!
    }

    /// The oracle: equity in cents by the direct formula, with integer point arithmetic.
    /// A: (bid − 114500) points × 100,000 × 0.00001 = 1 USD a point = 100 cents.
    /// B: (114600 − ask) points × 30,000 × 0.00001 = 0.30 USD a point = 30 cents.
    /// C: (bid − 114000) points × 5,000 × 0.00001 = 0.05 USD a point = 5 cents.
    static func oracleCents(_ row: Row) -> Int64 {
        1_000_000 + (row.bidPoints - 114_500) * 100 + (114_600 - row.askPoints) * 30 + (row.bidPoints - 114_000) * 5
    }

    static func cents(_ value: FixedDecimal) -> Int64 { value.units / 1_000_000 }

    @Test func replayOfADayMatchesTheFormula() throws {
        let rows = try Self.loadRows()
        #expect(rows.count == 136_741)
        var h = try Harness()
        try h.snapshot(
            1_549_238_400_000, balance: 10_000, equity: 10_000, symbols: [Fixture.eurusd],
            positions: [
                Fixture.position(1, "EURUSD", .buy, volume: 1, open: "1.145"),
                Fixture.position(2, "EURUSD", .sell, volume: "0.3", open: "1.146"),
                Fixture.position(3, "EURUSD", .buy, volume: "0.05", open: "1.14"),
            ])
        // The snapshot had no quote: unknown until the first tick.
        #expect(h.equity == nil)

        var equityAfterRow: [Int64] = []  // cents, from the observation stream
        equityAfterRow.reserveCapacity(rows.count)
        var current: Int64 = -1
        var observationCount = 0
        var batch: [Tick] = []
        for row in rows {
            batch = [
                Tick(
                    symbol: "EURUSD", time: BrokerTime(milliseconds: row.time),
                    bid: FixedDecimal(units: row.bidPoints * 1_000), ask: FixedDecimal(units: row.askPoints * 1_000))
            ]
            for output in try h.send(.ticks(batch)) {
                if case .observation(let observation) = output {
                    current = Self.cents(observation.equity)
                    observationCount += 1
                }
            }
            equityAfterRow.append(current)
        }
        #expect(observationCount > 100_000)

        // Hand-checked rows (file line numbers; line 1 is the header):
        // line 2: bid 1.14543, ask 1.14545: A 43.00 + B (1.14600 − 1.14545) × 30,000 = 16.50 + C 0.00543 × 5,000 = 27.15
        //         = 86.65 → 10,086.65
        #expect(equityAfterRow[0] == 1_008_665)
        // line 1000: bid 1.14571, ask 1.14574: A 71.00 + B 0.00026 × 30,000 = 7.80 + C 0.00571 × 5,000 = 28.55
        //            = 107.35 → 10,107.35
        #expect(equityAfterRow[998] == 1_010_735)
        // line 50001: bid 1.14411, ask 1.14415: A −89.00 + B 0.00185 × 30,000 = 55.50 + C 0.00411 × 5,000 = 20.55
        //             = −12.95 → 9,987.05
        #expect(equityAfterRow[49_999] == 998_705)
        // line 136742 (the last): bid 1.14349, ask 1.14355: A −151.00 + B 0.00245 × 30,000 = 73.50
        //             + C 0.00349 × 5,000 = 17.45 = −60.05 → 9,939.95
        #expect(equityAfterRow[136_740] == 993_995)
        #expect(h.equity == "9939.95")

        // Every row against the oracle, and the day's extremes.
        var mismatches = 0
        for (index, row) in rows.enumerated() where equityAfterRow[index] != Self.oracleCents(row) {
            mismatches += 1
        }
        #expect(mismatches == 0)
        let oracle = rows.map(Self.oracleCents)
        // Max, hand-checked: line 7476, bid 1.14603, ask 1.14604: A 103.00 + B (1.14600 − 1.14604) × 30,000 = −1.20
        // + C 0.00603 × 5,000 = 30.15 = 131.95 → 10,131.95.
        #expect(oracle.max() == 1_013_195)
        #expect(equityAfterRow.max() == 1_013_195)
        // Min, hand-checked: line 100660, bid 1.14244, ask 1.14248: A −256.00 + B 0.00352 × 30,000 = 105.60
        // + C 0.00244 × 5,000 = 12.20 = −138.20 → 9,861.80.
        #expect(oracle.min() == 986_180)
        #expect(equityAfterRow.min() == 986_180)
    }
}
