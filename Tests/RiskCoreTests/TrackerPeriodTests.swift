import RiskCore
import Testing
import TidemarkProtocol

/// Period bounds for every period kind, across month, quarter and year boundaries, leap years and
/// Sunday week starts. Each row's expectation is worked out by hand from a calendar.
struct TrackerPeriodTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var period: TrackerPeriod
        var anchor: String
        var time: String
        var start: String
        var end: String?
        var why: String
        var testDescription: String { "\(period.rawValue) @ \(time): \(why)" }
    }

    static let rows: [Row] = [
        // Rolling day: 24 h from the start time, back to back.
        Row(
            period: .day, anchor: "2024-01-31 10:00:00.000", time: "2024-02-01 09:59:59.999",
            start: "2024-01-31 10:00:00.000", end: "2024-02-01 09:59:59.999", why: "last ms of the first day"),
        Row(
            period: .day, anchor: "2024-01-31 10:00:00.000", time: "2024-03-01 10:00:00.000",
            start: "2024-03-01 10:00:00.000", end: "2024-03-02 09:59:59.999", why: "30 days later, across leap Feb 29"),
        // Rolling week: 7 × 24 h from a Monday start, not from Sunday.
        Row(
            period: .week, anchor: "2024-02-26 00:00:00.000", time: "2024-03-04 00:00:00.000",
            start: "2024-03-04 00:00:00.000", end: "2024-03-10 23:59:59.999", why: "second week starts Monday"),
        // Rolling month from 31 Jan (leap 2024): Jan 31 + 1 month clamps to Feb 29.
        Row(
            period: .month, anchor: "2024-01-31 00:00:00.000", time: "2024-02-15 12:00:00.000",
            start: "2024-01-31 00:00:00.000", end: "2024-02-28 23:59:59.999", why: "first period ends before Feb 29"),
        Row(
            period: .month, anchor: "2024-01-31 00:00:00.000", time: "2024-02-29 12:00:00.000",
            start: "2024-02-29 00:00:00.000", end: "2024-03-30 23:59:59.999",
            why: "Feb 29 → next is Mar 31 (anchored, no drift)"),
        Row(
            period: .month, anchor: "2024-01-31 00:00:00.000", time: "2024-04-30 00:00:00.000",
            start: "2024-04-30 00:00:00.000", end: "2024-05-30 23:59:59.999", why: "Apr has 30 days → Apr 30 … May 30"),
        // Non-leap 2023: Jan 31 + 1 month clamps to Feb 28.
        Row(
            period: .month, anchor: "2023-01-31 00:00:00.000", time: "2023-03-01 00:00:00.000",
            start: "2023-02-28 00:00:00.000", end: "2023-03-30 23:59:59.999", why: "non-leap Feb 28 → Mar 31"),
        // Rolling quarter from 30 Nov 12:00 across the year end; +3 months = Feb 29 2024 (leap).
        Row(
            period: .quarter, anchor: "2023-11-30 12:00:00.000", time: "2024-01-01 00:00:00.000",
            start: "2023-11-30 12:00:00.000", end: "2024-02-29 11:59:59.999", why: "quarter across new year"),
        Row(
            period: .quarter, anchor: "2023-11-30 12:00:00.000", time: "2024-03-01 00:00:00.000",
            start: "2024-02-29 12:00:00.000", end: "2024-05-30 11:59:59.999", why: "second quarter from Feb 29 → May 30"
        ),
        // Rolling year from Feb 29: non-leap years clamp to Feb 28, leap years return to Feb 29.
        Row(
            period: .year, anchor: "2024-02-29 00:00:00.000", time: "2025-03-01 00:00:00.000",
            start: "2025-02-28 00:00:00.000", end: "2026-02-27 23:59:59.999", why: "2025 has no Feb 29"),
        Row(
            period: .year, anchor: "2024-02-29 00:00:00.000", time: "2028-02-29 00:00:00.000",
            start: "2028-02-29 00:00:00.000", end: "2029-02-27 23:59:59.999", why: "2028 is leap again"),
        Row(
            period: .year, anchor: "2024-02-29 00:00:00.000", time: "2028-02-28 23:59:59.999",
            start: "2027-02-28 00:00:00.000", end: "2028-02-28 23:59:59.999", why: "last ms before the leap anniversary"
        ),
        // Calendar date.
        Row(
            period: .date, anchor: "2024-01-01 00:00:00.000", time: "2024-02-29 23:59:59.999",
            start: "2024-02-29 00:00:00.000", end: "2024-02-29 23:59:59.999", why: "leap day"),
        // Week-to-date: 2024-03-02 is a Saturday (2024-01-01 was a Monday; Feb 1 Thu; Mar 1 Fri).
        Row(
            period: .weekToDate, anchor: "2024-01-01 00:00:00.000", time: "2024-03-02 15:00:00.000",
            start: "2024-02-25 00:00:00.000", end: "2024-03-02 23:59:59.999", why: "Saturday is the week's last day"),
        Row(
            period: .weekToDate, anchor: "2024-01-01 00:00:00.000", time: "2024-03-03 00:00:00.000",
            start: "2024-03-03 00:00:00.000", end: "2024-03-09 23:59:59.999", why: "Sunday 00:00 starts a week"),
        // 2025-01-01 is a Wednesday (2024 has 366 days: Monday + 2): the week began Sunday 2024-12-29.
        Row(
            period: .weekToDate, anchor: "2024-01-01 00:00:00.000", time: "2025-01-01 08:00:00.000",
            start: "2024-12-29 00:00:00.000", end: "2025-01-04 23:59:59.999", why: "week across the year end"),
        // Month-to-date.
        Row(
            period: .monthToDate, anchor: "2024-01-01 00:00:00.000", time: "2024-02-29 12:00:00.000",
            start: "2024-02-01 00:00:00.000", end: "2024-02-29 23:59:59.999", why: "leap February"),
        Row(
            period: .monthToDate, anchor: "2023-01-01 00:00:00.000", time: "2023-02-15 00:00:00.000",
            start: "2023-02-01 00:00:00.000", end: "2023-02-28 23:59:59.999", why: "non-leap February"),
        // Quarter-to-date: quarters start Jan, Apr, Jul, Oct.
        Row(
            period: .quarterToDate, anchor: "2024-01-01 00:00:00.000", time: "2024-12-31 23:59:59.999",
            start: "2024-10-01 00:00:00.000", end: "2024-12-31 23:59:59.999", why: "last ms of Q4"),
        Row(
            period: .quarterToDate, anchor: "2024-01-01 00:00:00.000", time: "2025-01-01 00:00:00.000",
            start: "2025-01-01 00:00:00.000", end: "2025-03-31 23:59:59.999", why: "Q1 of the next year"),
        Row(
            period: .quarterToDate, anchor: "2024-01-01 00:00:00.000", time: "2024-05-15 00:00:00.000",
            start: "2024-04-01 00:00:00.000", end: "2024-06-30 23:59:59.999", why: "Q2"),
        // Year-to-date.
        Row(
            period: .yearToDate, anchor: "2024-01-01 00:00:00.000", time: "2024-07-01 00:00:00.000",
            start: "2024-01-01 00:00:00.000", end: "2024-12-31 23:59:59.999", why: "mid-year"),
        // Lifetime: the tracker's start, no end.
        Row(
            period: .lifetime, anchor: "2024-01-05 09:30:00.000", time: "2030-01-01 00:00:00.000",
            start: "2024-01-05 09:30:00.000", end: nil, why: "never ends"),
    ]

    @Test(arguments: rows)
    func bounds(_ row: Row) {
        let bounds = row.period.bounds(containing: at(row.time), anchor: at(row.anchor), trackerEnd: nil)
        #expect(bounds.start.formatted == row.start)
        #expect(bounds.end?.formatted == row.end)
    }

    @Test func lifetimeEndsWithTheTracker() {
        let bounds = TrackerPeriod.lifetime.bounds(
            containing: at("2024-02-01"), anchor: at("2024-01-01"),
            trackerEnd: at("2024-03-01 00:00:00.000"))
        #expect(bounds.end == at("2024-03-01 00:00:00.000"))
    }

    /// Every rolling period kind, walked over three years from awkward anchors: consecutive periods
    /// must touch (end + 1 ms = next start), never overlap or leave a gap.
    @Test(arguments: [TrackerPeriod.day, .week, .month, .quarter, .year])
    func rollingPeriodsAreBackToBack(_ period: TrackerPeriod) {
        for anchorText in ["2024-01-31 23:30:00.000", "2023-02-28 00:00:00.000", "2024-02-29 12:00:00.000"] {
            let anchor = at(anchorText)
            var bounds = period.bounds(containing: anchor, anchor: anchor, trackerEnd: nil)
            #expect(bounds.start == anchor)
            for _ in 0..<40 {
                guard let end = bounds.end else {
                    Issue.record("rolling period without end")
                    return
                }
                let next = period.bounds(
                    containing: BrokerTime(milliseconds: end.milliseconds + 1), anchor: anchor, trackerEnd: nil)
                #expect(next.start.milliseconds == end.milliseconds + 1)
                #expect(period.bounds(containing: end, anchor: anchor, trackerEnd: nil) == bounds)
                bounds = next
            }
        }
    }
}
