import Testing
import TidemarkProtocol

@Suite struct BrokerTimeTests {
    @Test func formatsAndParsesMetaApiBrokerTimes() {
        // 2019-02-04 00:00:00 is 17,931 days after 1970-01-01: 17,931 × 86,400,000 ms.
        let midnight = BrokerTime(milliseconds: 1_549_238_400_000)
        #expect(midnight.formatted == "2019-02-04 00:00:00.000")
        #expect(BrokerTime(formatted: "2019-02-04 00:00:00.000") == midnight)
        #expect(BrokerTime(formatted: "2019-02-04") == midnight)
        // 13:07:05.042 = 13 × 3,600,000 + 7 × 60,000 + 5,042 = 47,225,042 ms after midnight.
        #expect(BrokerTime(formatted: "2019-02-04 13:07:05.042") == BrokerTime(milliseconds: 1_549_285_625_042))
        #expect(BrokerTime(formatted: "2019-02-29 00:00:00.000") == nil)
        #expect(BrokerTime(formatted: "2020-02-29 23:59:59.999") != nil)
        #expect(BrokerTime(milliseconds: -1).formatted == "1969-12-31 23:59:59.999")
    }

    @Test func knowsWeekdays() {
        #expect(CivilTime(BrokerTime(formatted: "2019-02-03")!).weekday == 0)  // a Sunday
        #expect(CivilTime(BrokerTime(formatted: "2019-02-04")!).weekday == 1)  // a Monday
    }
}
