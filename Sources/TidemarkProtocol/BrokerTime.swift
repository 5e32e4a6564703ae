/// A moment on the trade server's wall clock, in milliseconds since 1970-01-01 00:00:00 of that
/// clock — MetaTrader's own convention for `TimeCurrent()`, `MqlTick.time_msc` and deal times.
///
/// Broker time is not UTC: most servers run at UTC+2 in winter and UTC+3 in summer. Everything a
/// terminal reports is in broker time, so the engine and the risk core work in it and convert only
/// where a rule names another time zone (with the offset the terminal reports in ``Hello``).
public struct BrokerTime: Hashable, Comparable, Sendable, Codable {
    /// Milliseconds since the broker clock's 1970-01-01 00:00:00.000.
    public var milliseconds: Int64

    /// A time `milliseconds` after 1970-01-01 00:00:00.000 on the broker's wall clock.
    @inlinable public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    @inlinable public static func < (lhs: Self, rhs: Self) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// 0000-01-01 00:00:00.000 through 9999-12-31 23:59:59.999: the times the calendar (periods,
    /// trading days, chart hours, ``formatted``) works with. Any step from one of them by a few
    /// years stays far inside `Int64`, so the risk core refuses a time outside this range and
    /// computes inside it without overflow.
    public static let calendarRange = BrokerTime(milliseconds: -62_167_219_200_000)...BrokerTime(milliseconds: 253_402_300_799_999)

    /// Whether the time is in ``calendarRange``.
    @inlinable public var isInCalendarRange: Bool { Self.calendarRange.contains(self) }

    /// The time `milliseconds` later (earlier when negative), and whether that is outside `Int64`.
    @inlinable public func advancedReportingOverflow(by milliseconds: Int64) -> (partialValue: Self, overflow: Bool) {
        let (result, overflow) = self.milliseconds.addingReportingOverflow(milliseconds)
        return (Self(milliseconds: result), overflow)
    }

    /// The time `milliseconds` later (earlier when negative).
    /// - Throws: ``ArithmeticOverflow`` (`time_step`) when that is outside `Int64`.
    @inlinable public func advanced(by milliseconds: Int64) throws(ArithmeticOverflow) -> Self {
        let (result, overflow) = advancedReportingOverflow(by: milliseconds)
        guard !overflow else { throw ArithmeticOverflow(.timeStep) }
        return result
    }

    /// Integer milliseconds; `"YYYY-MM-DD HH:mm:ss.SSS"` only when the decoder's `userInfo` sets
    /// ``formattedCodingKey`` (the REST API: one form for broker times, in and out).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if decoder.userInfo[Self.formattedCodingKey] as? Bool == true {
            guard let text = try? container.decode(String.self), let time = BrokerTime(formatted: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "Expected a broker time, YYYY-MM-DD HH:mm:ss.SSS")
            }
            self = time
            return
        }
        milliseconds = try container.decode(Int64.self)
    }

    /// Integer milliseconds (checkpoints, recordings); `"YYYY-MM-DD HH:mm:ss.SSS"` when the
    /// encoder's `userInfo` sets ``formattedCodingKey`` (the REST API).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if encoder.userInfo[Self.formattedCodingKey] as? Bool == true {
            try container.encode(formatted)
        } else {
            try container.encode(milliseconds)
        }
    }
}

extension BrokerTime: CustomStringConvertible {
    /// `YYYY-MM-DD HH:mm:ss.SSS`, the form MetaApi uses for broker times.
    public var description: String { formatted }

    /// `YYYY-MM-DD HH:mm:ss.SSS`, the form MetaApi uses for broker times.
    public var formatted: String {
        let fields = CivilTime(self)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(fields.year, 4))-\(pad(fields.month, 2))-\(pad(fields.day, 2)) "
            + "\(pad(fields.hour, 2)):\(pad(fields.minute, 2)):\(pad(fields.second, 2)).\(pad(fields.millisecond, 3))"
    }

    /// Parses `YYYY-MM-DD HH:mm:ss.SSS`; the time part, the seconds and the milliseconds may be left out.
    public init?(formatted text: String) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                let digit = Int(byte) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              (1...12).contains(month), (1...CivilTime.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0, millisecond = 0
        if bytes.count > 10 {
            guard bytes.count >= 16, bytes[10] == UInt8(ascii: " ") || bytes[10] == UInt8(ascii: "T"),
                  bytes[13] == UInt8(ascii: ":"), let h = number(11..<13), let m = number(14..<16),
                  h < 24, m < 60
            else { return nil }
            hour = h
            minute = m
            if bytes.count > 16 {
                guard bytes.count >= 19, bytes[16] == UInt8(ascii: ":"), let s = number(17..<19), s < 60 else { return nil }
                second = s
                if bytes.count > 19 {
                    guard bytes.count == 23, bytes[19] == UInt8(ascii: "."), let ms = number(20..<23) else { return nil }
                    millisecond = ms
                }
            }
        }
        self = CivilTime(year: year, month: month, day: day, hour: hour, minute: minute,
                         second: second, millisecond: millisecond).brokerTime
    }
}

/// Calendar fields of a ``BrokerTime`` (proleptic Gregorian, no time zone: broker time is already
/// the server's wall clock).
public struct CivilTime: Hashable, Sendable {
    /// The calendar date.
    public var year: Int, month: Int, day: Int
    /// The time of day.
    public var hour: Int, minute: Int, second: Int, millisecond: Int

    /// The given calendar fields (no validation: use only valid dates).
    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.millisecond = millisecond
    }

    /// Splits a broker time into its calendar fields.
    public init(_ time: BrokerTime) {
        let millisecondsPerDay: Int64 = 86_400_000
        var days = time.milliseconds / millisecondsPerDay
        var rest = time.milliseconds % millisecondsPerDay
        if rest < 0 {
            rest += millisecondsPerDay
            days -= 1
        }
        (year, month, day) = Self.civilDate(daysSinceEpoch: Int(days))
        let restInt = Int(rest)
        hour = restInt / 3_600_000
        minute = restInt / 60_000 % 60
        second = restInt / 1000 % 60
        millisecond = restInt % 1000
    }

    /// Days since 1970-01-01 of this date.
    public var daysSinceEpoch: Int { Self.daysSinceEpoch(year: year, month: month, day: day) }

    /// 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday).
    public var weekday: Int { ((daysSinceEpoch % 7) + 11) % 7 }

    /// The broker time of these fields.
    public var brokerTime: BrokerTime {
        let dayMs = Int64(daysSinceEpoch) * 86_400_000
        let timeMs = Int64(((hour * 60 + minute) * 60 + second) * 1000 + millisecond)
        return BrokerTime(milliseconds: dayMs + timeMs)
    }

    /// Whether `year` is a Gregorian leap year.
    public static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    /// The number of days in `month` (1…12) of `year`.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's civil-calendar algorithms ("chrono-Compatible Low-Level Date Algorithms").
    /// Days from 1970-01-01 to the given proleptic Gregorian date (negative before 1970).
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `days` days after 1970-01-01.
    public static func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
