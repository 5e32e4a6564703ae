import Foundation
import Testing
import TidemarkProtocol

/// Parses through the string initializer (a bare literal would take the literal initializer).
private func parse(_ text: String) -> FixedDecimal? { FixedDecimal(text) }

@Suite struct FixedDecimalTests {
    @Test func parsesAndPrintsPlainDecimals() {
        #expect(parse("1.14512")?.units == 114_512_000)
        #expect(parse("-0.5")?.units == -50_000_000)
        #expect(parse("100")?.units == 10_000_000_000)
        #expect(parse(".5")?.units == 50_000_000)
        #expect(parse("1.14512")?.description == "1.14512")
        #expect(parse("-0.00000001")?.description == "-0.00000001")
        #expect(parse("100.0")?.description == "100")
    }

    @Test(arguments: ["", "-", ".", "1.", "1e5", "+1", "1.123456789", "12345678901234", "1,5", " 1", "NaN"])
    func rejectsMalformedOrOutOfRange(_ text: String) {
        #expect(FixedDecimal(text) == nil)
    }

    @Test func multipliesExactlyAndRoundsHalfAwayFromZero() {
        // 0.00123 price difference × 100,000 contract = 123.00 per lot; × 0.37 lots = 45.51.
        let perLot = FixedDecimal("0.00123").multiplied(by: 100_000)
        #expect(perLot == 123)
        #expect(perLot.multiplied(by: "0.37") == "45.51")
        // 2.345 → 2.35 and −2.345 → −2.35 at two digits (half away from zero, like NormalizeDouble).
        #expect(FixedDecimal("2.345").rounded(toDigits: 2) == "2.35")
        #expect(FixedDecimal("-2.345").rounded(toDigits: 2) == "-2.35")
        #expect(FixedDecimal("2.3449").rounded(toDigits: 2) == "2.34")
        // 10 ÷ 3 = 3.33333333 (eight digits); 20 ÷ 3 = 6.66666667.
        #expect(FixedDecimal(10).divided(by: 3) == "3.33333333")
        #expect(FixedDecimal(20).divided(by: 3) == "6.66666667")
        // Futures: 12.5 points × 2 lots × 12.50 tick value ÷ 0.25 tick size = 1,250.
        #expect(FixedDecimal("12.5").multiplied(by: 2).multiplied(by: "12.50", dividedBy: "0.25") == 1250)
    }

    @Test func readsJSONDoublesExactly() {
        #expect(FixedDecimal(exactly: 1.14512) == "1.14512")
        #expect(FixedDecimal(exactly: 0.1 + 0.2) == "0.3")
        #expect(FixedDecimal(exactly: .nan) == nil)
        #expect(FixedDecimal(exactly: 1e300) == nil)
    }
}

@Test("parsing eleven integer digits beyond the range returns nil instead of trapping")
func fixedDecimalParseOverflow() {
    // The largest value is 92,233,720,368.54775807 (Int64.max × 10⁻⁸).
    #expect(parse("92233720368.54775807")?.units == Int64.max)
    #expect(parse("92233720368.54775808") == nil)
    #expect(parse("99999999999") == nil)
    #expect(parse("-99999999999.9") == nil)
}

@Suite struct FixedDecimalJSONTests {
    @Test func roundTripsEveryValueExactlyThroughJSON() throws {
        // 1.14512 has 6 significant digits: a plain JSON number. 92,233,720,368.54775807 has 19:
        // a double would read it back as 92,233,720,368.54776, so it is written as a string.
        let values: [FixedDecimal] = ["1.14512", "-0.00000001", "92233720368.54775807", "12345678.12345678"]
        let data = try JSONEncoder().encode(values)
        #expect(
            String(decoding: data, as: UTF8.self) == #"[1.14512,-1e-08,"92233720368.54775807","12345678.12345678"]"#)
        #expect(try JSONDecoder().decode([FixedDecimal].self, from: data) == values)
    }
}
