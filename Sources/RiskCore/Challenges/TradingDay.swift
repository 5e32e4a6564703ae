// Broker time → UTC → a named time zone's wall clock, and the trading day that follows from a reset
// time. Foundation's TimeZone is used only here, for IANA rules (allowed in RiskCore for this alone).
import Foundation
import TidemarkProtocol

/// How the trade server's wall clock (`BrokerTime`) relates to UTC:
/// broker wall time = wall time in ``timeZone`` + ``offsetSeconds``.
///
/// - A fixed offset (`{"offsetSeconds": 7200}`, zone UTC): what `Hello.brokerUTCOffsetSeconds`
///   reports. Right only while the server does not change its offset (it is wrong across the server's
///   own DST switch).
/// - A zone plus a shift: most FX servers run "New York + 7 hours" (UTC+2 in the US winter, UTC+3 in
///   the US summer, so 17:00 New York is always broker midnight): `{"timeZone": "America/New_York",
///   "offsetSeconds": 25200}`. A server on EU rules is `{"timeZone": "Europe/Athens"}`.
public struct BrokerClock: Hashable, Sendable, Codable {
    /// IANA identifier; `UTC` for a fixed offset.
    public var timeZone: String
    /// Added to the zone's wall time to give broker time.
    public var offsetSeconds: Int

    /// Broker time = wall time in `timeZone` + `offsetSeconds`.
    public init(timeZone: String = "UTC", offsetSeconds: Int = 0) {
        self.timeZone = timeZone
        self.offsetSeconds = offsetSeconds
    }

    /// A server whose clock is UTC plus a fixed offset (what a terminal's hello reports).
    public static func fixed(utcOffsetSeconds: Int) -> Self { Self(timeZone: "UTC", offsetSeconds: utcOffsetSeconds) }

    /// The common FX server convention: New York time + 7 hours (17:00 New York = 00:00 broker).
    public static let newYorkPlusSeven = Self(timeZone: "America/New_York", offsetSeconds: 7 * 3600)

    private enum CodingKeys: String, CodingKey { case timeZone, offsetSeconds }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC"
        offsetSeconds = try container.decodeIfPresent(Int.self, forKey: .offsetSeconds) ?? 0
    }
}

/// When a challenge's day ends: a wall-clock time in a named IANA zone (firms reset at Prague
/// midnight or 17:00 New York), or in broker time when ``timeZone`` is nil.
/// JSON: `{"time": "17:00", "timeZone": "America/New_York"}`; `{}` is broker midnight.
public struct DayReset: Hashable, Sendable, Codable {
    /// `HH:mm` (24-hour).
    public var time: String
    /// IANA identifier, or nil for the broker's own wall clock.
    public var timeZone: String?

    /// Broker midnight by default.
    public init(time: String = "00:00", timeZone: String? = nil) {
        self.time = time
        self.timeZone = timeZone
    }

    /// Midnight on the broker's clock.
    public static let brokerMidnight = Self()
    /// Midnight in Prague (CET/CEST).
    public static let pragueMidnight = Self(time: "00:00", timeZone: "Europe/Prague")
    /// 17:00 in New York (EST/EDT), the FX day's end.
    public static let newYorkClose = Self(time: "17:00", timeZone: "America/New_York")

    private enum CodingKeys: String, CodingKey { case time, timeZone }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        time = try container.decodeIfPresent(String.self, forKey: .time) ?? "00:00"
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone)
    }

    /// Milliseconds after midnight, or nil when ``time`` is not `HH:mm`.
    var millisecondsAfterMidnight: Int64? {
        let parts = time.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let hour = Int64(parts[0]), let minute = Int64(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        return (hour * 60 + minute) * 60_000
    }
}

/// The trading day a moment belongs to, for every day-based rule (daily loss, trading days, profitable
/// days, end-of-day trailing, inactivity, time limit, best day). Days are numbered by the calendar
/// date on which they start (days since 1970-01-01 in the reset zone), so consecutive days have
/// consecutive numbers and a day that starts at 17:00 New York on 11 March is day "11 March".
///
/// It caches the current day's bounds in broker time, so the per-tick cost is one comparison;
/// time-zone arithmetic runs only when a day ends.
public struct TradingDayClock: Hashable, Sendable, Codable {
    /// When days end.
    public let reset: DayReset
    /// How broker time maps to UTC (needed for zoned resets).
    public let brokerClock: BrokerClock?
    /// The current day's number.
    public private(set) var day: Int
    /// Where the current day began, in broker time.
    public private(set) var dayStart: BrokerTime
    /// Where the next day begins, in broker time.
    public private(set) var nextDayStart: BrokerTime

    private static let millisecondsPerDay: Int64 = 86_400_000

    /// Checks the reset and clock and places the clock on the day containing `time`.
    public init(reset: DayReset, brokerClock: BrokerClock?, at time: BrokerTime) throws(RuleDefinitionError) {
        try Self.validate(reset: reset, brokerClock: brokerClock)
        self.reset = reset
        self.brokerClock = brokerClock
        day = 0
        dayStart = time
        nextDayStart = time
        place(at: time)
    }

    /// Puts the clock on the day containing `time`, forwards or backwards.
    mutating func place(at time: BrokerTime) {
        day = dayNumber(containing: time)
        while start(ofDay: day + 1) <= time { day += 1 }
        dayStart = start(ofDay: day)
        nextDayStart = start(ofDay: day + 1)
    }

    /// Refuses a malformed reset time, an unknown zone, or a zoned reset without a broker clock.
    public static func validate(reset: DayReset, brokerClock: BrokerClock?) throws(RuleDefinitionError) {
        guard reset.millisecondsAfterMidnight != nil else {
            throw .invalidResetTime("dayReset.time \(reset.time) is not HH:mm")
        }
        if let zone = reset.timeZone {
            guard TimeZone(identifier: zone) != nil else { throw .unknownTimeZone("dayReset.timeZone \(zone)") }
            guard brokerClock != nil else {
                throw .brokerClockRequired("dayReset.timeZone \(zone) needs brokerClock (or the terminal's offset)")
            }
        }
        if let clock = brokerClock, TimeZone(identifier: clock.timeZone) == nil {
            throw .unknownTimeZone("brokerClock.timeZone \(clock.timeZone)")
        }
    }

    /// Moves to the day containing `time` if a reset has passed; returns the number of the day that
    /// was left, or nil when still in the same day. Never moves backwards.
    public mutating func advance(to time: BrokerTime) -> Int? {
        guard time >= nextDayStart else { return nil }
        let left = day
        var next = max(dayNumber(containing: time), day + 1)
        // Around a DST fall-back, a reset time that happens twice can number an instant one day
        // back; walk forward until the bounds contain it.
        while start(ofDay: next + 1) <= time { next += 1 }
        day = next
        dayStart = start(ofDay: next)
        nextDayStart = start(ofDay: next + 1)
        return left
    }

    /// The number of the day containing `time` (see the type's comment).
    public func dayNumber(containing time: BrokerTime) -> Int {
        let resetMs = reset.millisecondsAfterMidnight ?? 0
        let wall: Int64
        if let zoneID = reset.timeZone, let clock = brokerClock {
            let utc = Self.utc(fromWall: time.milliseconds - Int64(clock.offsetSeconds) * 1000, zone: clock.timeZone)
            wall = Self.wall(fromUTC: utc, zone: zoneID)
        } else {
            wall = time.milliseconds
        }
        return Int(Self.floorDivide(wall - resetMs, Self.millisecondsPerDay))
    }

    /// The broker time at which day `number` begins.
    public func start(ofDay number: Int) -> BrokerTime {
        let resetMs = reset.millisecondsAfterMidnight ?? 0
        let wall = Int64(number) * Self.millisecondsPerDay + resetMs
        guard let zoneID = reset.timeZone, let clock = brokerClock else { return BrokerTime(milliseconds: wall) }
        let utc = Self.utc(fromWall: wall, zone: zoneID)
        return BrokerTime(milliseconds: Self.wall(fromUTC: utc, zone: clock.timeZone) + Int64(clock.offsetSeconds) * 1000)
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    private static func offsetMilliseconds(_ zone: TimeZone, atUTC utc: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utc) / 1000))) * 1000
    }

    /// Wall-clock milliseconds in `zoneID` at the UTC instant `utc`.
    static func wall(fromUTC utc: Int64, zone zoneID: String) -> Int64 {
        guard zoneID != "UTC", let zone = TimeZone(identifier: zoneID) else { return utc }
        return utc + offsetMilliseconds(zone, atUTC: utc)
    }

    /// The UTC instant of wall time `wall` in `zoneID`. A wall time that happens twice (DST ends)
    /// takes its first occurrence; one that never happens (DST starts) takes the instant the clocks
    /// jump, the first moment at or after it on the wall clock.
    static func utc(fromWall wall: Int64, zone zoneID: String) -> Int64 {
        guard zoneID != "UTC", let zone = TimeZone(identifier: zoneID) else { return wall }
        let earlierOffset = offsetMilliseconds(zone, atUTC: wall - millisecondsPerDay)
        let laterOffset = offsetMilliseconds(zone, atUTC: wall + millisecondsPerDay)
        let candidates = [wall - earlierOffset, wall - laterOffset].filter { candidate in
            candidate + offsetMilliseconds(zone, atUTC: candidate) == wall
        }
        if let first = candidates.min() { return first }
        // In the gap: the transition lies between the two readings.
        let before = min(wall - earlierOffset, wall - laterOffset)
        if let jump = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: Double(before) / 1000)) {
            return Int64((jump.timeIntervalSince1970 * 1000).rounded())
        }
        return max(wall - earlierOffset, wall - laterOffset)
    }
}
