import TidemarkProtocol

/// A tracker's period, with MetaApi's names.
///
/// - Rolling periods (`day`, `week`, `month`, `quarter`, `year`) start at the tracker's start time
///   and follow each other back to back. `day` and `week` are exactly 24 h and 7 × 24 h of broker
///   time. `month`, `quarter` and `year` are 1, 3 and 12 calendar months: period *k* starts at the
///   start time plus *k*·n months, counted from the original start (never from the previous
///   period), with the day of month clamped to the month's length and the time of day kept. A
///   tracker started on 31 January therefore runs 31 Jan → 28 Feb (29 in leap years) → 31 Mar →
///   30 Apr → 31 May …: no period is skipped or doubled, and there is no drift after a short month.
/// - Calendar periods (`date`, `week-to-date`, `month-to-date`, `quarter-to-date`, `year-to-date`)
///   run from the first to the last millisecond of the calendar unit in broker time; weeks start on
///   Sunday 00:00, quarters on 1 January, April, July and October. A tracker starting inside a unit
///   reports the unit's own bounds for that first period, and tracks from its start.
/// - `lifetime` starts at the tracker's start and ends at its end (if any).
///
/// Every period's `endBrokerTime` is its last millisecond (inclusive), as MetaApi reports it.
public enum TrackerPeriod: String, Hashable, Sendable, Codable, CaseIterable {
    case day
    case date
    case week
    case weekToDate = "week-to-date"
    case month
    case monthToDate = "month-to-date"
    case quarter
    case quarterToDate = "quarter-to-date"
    case year
    case yearToDate = "year-to-date"
    case lifetime

    static let millisecondsPerDay: Int64 = 86_400_000

    /// The bounds of the period that contains `time`, for a tracker anchored at `anchor` (its start)
    /// and ending at `trackerEnd`. Rolling periods expect `time >= anchor`.
    public func bounds(containing time: BrokerTime, anchor: BrokerTime, trackerEnd: BrokerTime?) -> PeriodBounds {
        let day = Self.millisecondsPerDay
        switch self {
        case .lifetime:
            return PeriodBounds(start: anchor, end: trackerEnd)
        case .day:
            return Self.fixed(containing: time, anchor: anchor, length: day)
        case .week:
            return Self.fixed(containing: time, anchor: anchor, length: 7 * day)
        case .month:
            return Self.rolling(containing: time, anchor: anchor, months: 1)
        case .quarter:
            return Self.rolling(containing: time, anchor: anchor, months: 3)
        case .year:
            return Self.rolling(containing: time, anchor: anchor, months: 12)
        case .date:
            let start = RiskMath.floorDivide(time.milliseconds, day) * day
            return PeriodBounds(start: BrokerTime(milliseconds: start), end: BrokerTime(milliseconds: start + day - 1))
        case .weekToDate:
            let civil = CivilTime(time)
            let sunday = Int64(civil.daysSinceEpoch - civil.weekday) * day
            return PeriodBounds(start: BrokerTime(milliseconds: sunday), end: BrokerTime(milliseconds: sunday + 7 * day - 1))
        case .monthToDate:
            return Self.calendar(containing: time, months: 1)
        case .quarterToDate:
            return Self.calendar(containing: time, months: 3)
        case .yearToDate:
            return Self.calendar(containing: time, months: 12)
        }
    }

    private static func fixed(containing time: BrokerTime, anchor: BrokerTime, length: Int64) -> PeriodBounds {
        let index = RiskMath.floorDivide(time.milliseconds - anchor.milliseconds, length)
        let start = anchor.milliseconds + index * length
        return PeriodBounds(start: BrokerTime(milliseconds: start), end: BrokerTime(milliseconds: start + length - 1))
    }

    private static func rolling(containing time: BrokerTime, anchor: BrokerTime, months step: Int) -> PeriodBounds {
        let anchorFields = CivilTime(anchor)
        let timeFields = CivilTime(time)
        let monthsApart = (timeFields.year * 12 + timeFields.month) - (anchorFields.year * 12 + anchorFields.month)
        var index = Int(RiskMath.floorDivide(Int64(monthsApart), Int64(step)))
        // The estimate is off by at most one period (day-of-month and time of day decide).
        while adding(months: index * step, to: anchorFields) > time { index -= 1 }
        while adding(months: (index + 1) * step, to: anchorFields) <= time { index += 1 }
        let start = adding(months: index * step, to: anchorFields)
        let next = adding(months: (index + 1) * step, to: anchorFields)
        return PeriodBounds(start: start, end: BrokerTime(milliseconds: next.milliseconds - 1))
    }

    /// `anchor` plus `months` calendar months, the day clamped to the target month's length.
    static func adding(months: Int, to anchor: CivilTime) -> BrokerTime {
        let total = anchor.year * 12 + (anchor.month - 1) + months
        let year = Int(RiskMath.floorDivide(Int64(total), 12))
        let month = total - year * 12 + 1
        let day = min(anchor.day, CivilTime.daysIn(month: month, year: year))
        return CivilTime(year: year, month: month, day: day, hour: anchor.hour, minute: anchor.minute,
                         second: anchor.second, millisecond: anchor.millisecond).brokerTime
    }

    private static func calendar(containing time: BrokerTime, months: Int) -> PeriodBounds {
        let fields = CivilTime(time)
        let firstMonth = (fields.month - 1) / months * months + 1
        let start = CivilTime(year: fields.year, month: firstMonth, day: 1)
        let next = adding(months: months, to: start)
        return PeriodBounds(start: start.brokerTime, end: BrokerTime(milliseconds: next.milliseconds - 1))
    }
}

/// The first and last millisecond of one period (`end` nil: never ends).
public struct PeriodBounds: Hashable, Sendable, Codable {
    /// The period's first millisecond.
    public var start: BrokerTime
    /// Inclusive: the period's last millisecond.
    public var end: BrokerTime?

    /// A period from `start` to `end` (nil: open-ended).
    public init(start: BrokerTime, end: BrokerTime?) {
        self.start = start
        self.end = end
    }
}
