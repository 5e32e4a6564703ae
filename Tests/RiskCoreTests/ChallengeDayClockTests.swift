import RiskCore
import Testing
import TidemarkProtocol

/// The trading day: where it starts and ends in broker time, across DST switches of the reset zone
/// and of the broker's own clock. Every expected boundary is worked by hand in the comment beside it.
@Suite struct ChallengeDayClockTests {
    struct Row: Sendable, CustomStringConvertible {
        var name: String
        var reset: DayReset
        var clock: BrokerClock?
        var time: String
        var dayStart: String
        var nextDayStart: String
        var description: String { name }
    }

    static let fixedPlusTwo = BrokerClock.fixed(utcOffsetSeconds: 7200)

    static let rows: [Row] = [
        // 17:00 New York, broker UTC+2 fixed. US DST 2024: starts Sun 10 Mar 02:00, ends Sun 3 Nov 02:00.
        // Fri 8 Mar: the day began 17:00 EST Thu 7 Mar = 22:00Z = 00:00 broker 8 Mar; ends 17:00 EST 8 Mar = 00:00 broker 9 Mar.
        Row(
            name: "NY close, winter", reset: .newYorkClose, clock: fixedPlusTwo, time: "2024-03-08 12:00",
            dayStart: "2024-03-08 00:00:00.000", nextDayStart: "2024-03-09 00:00:00.000"),
        // Sun 10 Mar: began 17:00 EST Sat 9 Mar = 22:00Z = 00:00 broker 10 Mar; ends 17:00 EDT 10 Mar = 21:00Z = 23:00 broker (a 23 h day).
        Row(
            name: "NY close, March switch day", reset: .newYorkClose, clock: fixedPlusTwo, time: "2024-03-10 12:00",
            dayStart: "2024-03-10 00:00:00.000", nextDayStart: "2024-03-10 23:00:00.000"),
        // Mon 11 Mar 23:30 broker is after 17:00 EDT 11 Mar = 21:00Z = 23:00 broker: the next day already.
        Row(
            name: "NY close, after March switch", reset: .newYorkClose, clock: fixedPlusTwo, time: "2024-03-11 23:30",
            dayStart: "2024-03-11 23:00:00.000", nextDayStart: "2024-03-12 23:00:00.000"),
        // Sun 3 Nov: began 17:00 EDT Sat 2 Nov = 21:00Z = 23:00 broker 2 Nov; ends 17:00 EST 3 Nov = 22:00Z = 00:00 broker 4 Nov (25 h).
        Row(
            name: "NY close, November switch day", reset: .newYorkClose, clock: fixedPlusTwo, time: "2024-11-03 12:00",
            dayStart: "2024-11-02 23:00:00.000", nextDayStart: "2024-11-04 00:00:00.000"),
        // Mon 4 Nov: back to broker midnight (17:00 EST = 22:00Z = 00:00 broker).
        Row(
            name: "NY close, after November switch", reset: .newYorkClose, clock: fixedPlusTwo,
            time: "2024-11-04 12:00",
            dayStart: "2024-11-04 00:00:00.000", nextDayStart: "2024-11-05 00:00:00.000"),
        // Broker = New York + 7 h: 17:00 EDT 10 Mar + 7 h = 00:00 broker 11 Mar; always broker midnight.
        Row(
            name: "NY close on a NY+7 server", reset: .newYorkClose, clock: .newYorkPlusSeven, time: "2024-03-11 23:30",
            dayStart: "2024-03-11 00:00:00.000", nextDayStart: "2024-03-12 00:00:00.000"),
        // Prague midnight, broker UTC+2 fixed. EU DST 2024: starts Sun 31 Mar 02:00 CET, ends Sun 27 Oct 03:00 CEST.
        // Sat 30 Mar: 00:00 CET = 23:00Z 29 Mar = 01:00 broker 30 Mar; next 00:00 CET 31 Mar = 23:00Z 30 Mar = 01:00 broker 31 Mar.
        Row(
            name: "Prague midnight, winter", reset: .pragueMidnight, clock: fixedPlusTwo, time: "2024-03-30 12:00",
            dayStart: "2024-03-30 01:00:00.000", nextDayStart: "2024-03-31 01:00:00.000"),
        // Sun 31 Mar: began 01:00 broker; ends 00:00 CEST 1 Apr = 22:00Z 31 Mar = 00:00 broker 1 Apr (23 h).
        Row(
            name: "Prague midnight, March switch day", reset: .pragueMidnight, clock: fixedPlusTwo,
            time: "2024-03-31 12:00",
            dayStart: "2024-03-31 01:00:00.000", nextDayStart: "2024-04-01 00:00:00.000"),
        // Sun 27 Oct: began 00:00 CEST = 22:00Z 26 Oct = 00:00 broker 27 Oct; ends 00:00 CET 28 Oct = 23:00Z = 01:00 broker 28 Oct (25 h).
        Row(
            name: "Prague midnight, October switch day", reset: .pragueMidnight, clock: fixedPlusTwo,
            time: "2024-10-27 12:00",
            dayStart: "2024-10-27 00:00:00.000", nextDayStart: "2024-10-28 01:00:00.000"),
        // Prague midnight on a NY+7 server on Tue 12 Mar: broker is UTC+3 (US summer), Prague UTC+1:
        // 00:00 CET 12 Mar = 23:00Z 11 Mar = 02:00 broker 12 Mar.
        Row(
            name: "Prague midnight on a NY+7 server between the US and EU switches", reset: .pragueMidnight,
            clock: .newYorkPlusSeven, time: "2024-03-12 12:00",
            dayStart: "2024-03-12 02:00:00.000", nextDayStart: "2024-03-13 02:00:00.000"),
        // Broker-time resets ignore time zones.
        Row(
            name: "broker midnight", reset: .brokerMidnight, clock: nil, time: "2024-03-10 12:00",
            dayStart: "2024-03-10 00:00:00.000", nextDayStart: "2024-03-11 00:00:00.000"),
        Row(
            name: "broker 22:00, after", reset: DayReset(time: "22:00"), clock: nil, time: "2024-03-10 23:30",
            dayStart: "2024-03-10 22:00:00.000", nextDayStart: "2024-03-11 22:00:00.000"),
        Row(
            name: "broker 22:00, before", reset: DayReset(time: "22:00"), clock: nil, time: "2024-03-10 21:59",
            dayStart: "2024-03-09 22:00:00.000", nextDayStart: "2024-03-10 22:00:00.000"),
        // A reset inside the skipped hour: 02:30 New York does not exist on 10 Mar; the day starts when
        // the clocks jump, 03:00 EDT = 07:00Z (broker = UTC here). Next: 02:30 EDT 11 Mar = 06:30Z.
        Row(
            name: "reset in the spring-forward gap", reset: DayReset(time: "02:30", timeZone: "America/New_York"),
            clock: .fixed(utcOffsetSeconds: 0), time: "2024-03-10 07:10",
            dayStart: "2024-03-10 07:00:00.000", nextDayStart: "2024-03-11 06:30:00.000"),
    ]

    @Test(arguments: rows)
    func dayBounds(_ row: Row) throws {
        let clock = try TradingDayClock(reset: row.reset, brokerClock: row.clock, at: at(row.time))
        #expect(clock.dayStart.formatted == row.dayStart)
        #expect(clock.nextDayStart.formatted == row.nextDayStart)
    }

    @Test func advancesOnlyForwardAcrossTheMarchSwitch() throws {
        var clock = try TradingDayClock(
            reset: .newYorkClose, brokerClock: Self.fixedPlusTwo, at: at("2024-03-08 12:00"))
        // Fri 8 Mar 12:00 broker lies in the day that began 17:00 EST Thu 7 Mar: day "7 Mar".
        let thursday = clock.day
        #expect(thursday == CivilTime(year: 2024, month: 3, day: 7).daysSinceEpoch)
        #expect(clock.advance(to: at("2024-03-08 23:59")) == nil)
        // 23:30 broker on Sun 10 Mar is past that day's 23:00 reset (17:00 EDT): days "8 Mar" (began
        // Fri 17:00), "9 Mar" (Sat 17:00) and "10 Mar" (Sun 17:00) have begun: three on.
        #expect(clock.advance(to: at("2024-03-10 23:30")) == thursday)
        #expect(clock.day == thursday + 3)
        #expect(clock.dayStart.formatted == "2024-03-10 23:00:00.000")
        #expect(clock.advance(to: at("2024-03-10 12:00")) == nil)  // never backwards
        #expect(clock.day == thursday + 3)
    }

    @Test func refusesBadResets() {
        #expect(throws: RuleDefinitionError.unknownTimeZone("dayReset.timeZone Mars/Olympus")) {
            try TradingDayClock(
                reset: DayReset(time: "00:00", timeZone: "Mars/Olympus"), brokerClock: .newYorkPlusSeven,
                at: at("2024-03-04 00:00"))
        }
        #expect(throws: RuleDefinitionError.self) {
            try TradingDayClock(reset: .pragueMidnight, brokerClock: nil, at: at("2024-03-04 00:00"))
        }
        #expect(throws: RuleDefinitionError.self) {
            try TradingDayClock(reset: DayReset(time: "24:00"), brokerClock: nil, at: at("2024-03-04 00:00"))
        }
        #expect(RuleDefinitionError.brokerClockRequired("x").description == "broker_clock_required")
    }

    /// Daily loss with a 17:00 New York reset on a fixed UTC+2 server: the same evening drop is a
    /// breach before the US switch (the day still runs to broker midnight) and not after it (the new
    /// day began at 23:00 broker from a lower base).
    @Test(arguments: [
        // Thu 7 Mar (winter): the day runs 00:00–24:00 broker. Balance 96,000 after a closed loss of 4,000
        // at 10:00; at 23:30 equity 92,000: still the same day, base 100,000, floor 100,000 − 5,000 = 95,000;
        // 92,000 < 95,000 → breach, loss 100,000 − 92,000 = 8,000.
        ("2024-03-07", true),
        // Mon 11 Mar (summer): the day ends 23:00 broker. At 23:30 a new day began with base 96,000,
        // floor 91,000; 92,000 ≥ 91,000 → no breach.
        ("2024-03-11", false),
    ])
    func dailyLossAcrossTheUSSwitch(date: String, breaches: Bool) throws {
        var subject = try challenge(
            RuleSet(dailyLoss: DailyLossRule(limit: .percent(5))),
            dayReset: .newYorkClose, brokerClock: Self.fixedPlusTwo)
        var events = try run(&subject, [flat("2024-03-04 00:00", 100_000)])
        events += try run(
            &subject,
            [
                flat("\(date) 10:00", 96_000),
                observation("\(date) 23:30", balance: 96_000, equity: 92_000),
            ])
        let failed = events.first { $0.kind == .challengeFailed }
        if breaches {
            #expect(failed?.breach?.rule == .dailyLoss)
            #expect(failed?.breach?.value == 8_000)
            #expect(failed?.brokerTime == at("\(date) 23:30"))
        } else {
            #expect(failed == nil)
            #expect(rule(.dailyLoss, in: subject)?.value == 4_000)  // 96,000 − 92,000
            #expect(rule(.dailyLoss, in: subject)?.floor == 91_000)
        }
    }
}
