import Testing
import TidemarkProtocol

/// The checked operations everything computed from wire values goes through, at the ends of the
/// range, and the one crossed-quote rule of SPEC §4.1.
@Suite struct CheckedArithmeticTests {
    static let max = FixedDecimal.greatestFiniteMagnitude
    static let min = FixedDecimal.leastFiniteValue

    @Test("sums and differences report leaving the range instead of trapping")
    func sumsAndDifferences() throws {
        #expect(Self.max == "92233720368.54775807")
        #expect(Self.max.addingReportingOverflow(FixedDecimal(units: 1)).overflow)
        #expect(!Self.max.addingReportingOverflow(Self.min).overflow)
        #expect(Self.max.addingReportingOverflow(Self.min).partialValue == .zero)
        #expect(Self.min.subtractingReportingOverflow(FixedDecimal(units: 1)).overflow)  // Int64.min is outside
        #expect(Self.max.subtractingReportingOverflow(Self.min).overflow)
        #expect(throws: ArithmeticOverflow(.sum)) { try Self.max.adding(Self.max) }
        #expect(throws: ArithmeticOverflow(.difference)) { try Self.min.subtracting(Self.max) }
        // Two deposits of 92,233,720,368 on nothing: the first fits, the second does not.
        let first = try FixedDecimal.zero.adding(92_233_720_368)
        #expect(first == 92_233_720_368)
        #expect(throws: ArithmeticOverflow.self) { try first.adding(92_233_720_368) }
        #expect(try FixedDecimal("1.5").adding("-0.25") == "1.25")
    }

    @Test("products and quotients narrow through a check; a zero divisor is reported, not trapped")
    func productsAndQuotients() {
        // 92,233,720,368 lots × 100,000 units: 9.2 × 10¹⁵, beyond the range.
        #expect(FixedDecimal(92_233_720_368).multipliedReportingOverflow(by: 100_000).overflow)
        #expect(FixedDecimal("1.5").multipliedReportingOverflow(by: "2.5") == ("3.75", false))
        #expect(FixedDecimal(1).dividedReportingOverflow(by: .zero).overflow)
        #expect(Self.max.dividedReportingOverflow(by: FixedDecimal(units: 1)).overflow)
        #expect(FixedDecimal(10).multipliedReportingOverflow(by: 100, dividedBy: 3) == ("333.33333333", false))
        #expect(FixedDecimal(wideUnits: Int128(Int64.max) + 1) == nil)
        #expect(FixedDecimal(wideUnits: -Int128(Int64.max)) == Self.min)
        #expect(FixedDecimal(clamping: Int128(Int64.max) * 4) == Self.max)
        #expect(Self.min.subtractingClamped(Self.max) == Self.min)
    }

    @Test("time steps report leaving Int64; the calendar range is years 0000…9999")
    func timeSteps() throws {
        let last = BrokerTime(milliseconds: .max)
        #expect(last.advancedReportingOverflow(by: 1).overflow)
        #expect(throws: ArithmeticOverflow(.timeStep)) { try last.advanced(by: 3_600_000) }
        #expect(try BrokerTime(milliseconds: 1_000).advanced(by: -1_000) == BrokerTime(milliseconds: 0))
        #expect(!last.isInCalendarRange)
        #expect(BrokerTime.calendarRange.upperBound.formatted == "9999-12-31 23:59:59.999")
        #expect(BrokerTime.calendarRange.lowerBound.formatted == "0000-01-01 00:00:00.000")
        #expect(BrokerTime(milliseconds: 0).isInCalendarRange)
    }

    @Test("a bid up to 1 % above the ask passes, exactly; a hair more is absurd (decoder and rule agree)")
    func crossedQuoteBoundary() throws {
        // ask 1.00000: the largest bid is 1.01 (100 × 1.01 = 101 × 1), 1.01000001 is over.
        #expect(Tick.isPlausibleQuote(bid: "1.01", ask: 1))
        #expect(!Tick.isPlausibleQuote(bid: "1.01000001", ask: 1))
        #expect(Tick.isPlausibleQuote(bid: "1.00999999", ask: 1))
        #expect(!Tick.isPlausibleQuote(bid: .zero, ask: 1))
        // 1 % of an ask that does not divide evenly: ask 1.13 → limit 1.1413.
        #expect(Tick.isPlausibleQuote(bid: "1.1413", ask: "1.13"))
        #expect(!Tick.isPlausibleQuote(bid: "1.14130001", ask: "1.13"))
        #expect(Tick.isPlausibleQuote(bid: Self.max, ask: Self.max))
        let atLimit = try WireDecoder.decodeTerminal(Array("TM1\tTICKS\ts\t3\nQ\tEURUSD\t5\t1.01\t1\n".utf8))
        guard case .ticks(let ticks) = atLimit.message else {
            Issue.record("not ticks")
            return
        }
        #expect(ticks.map(\.bid) == ["1.01"])
        #expect(throws: WireDecodingError.self) {
            try WireDecoder.decodeTerminal(Array("TM1\tTICKS\ts\t3\nQ\tEURUSD\t5\t1.01000001\t1\n".utf8))
        }
    }
}
