import BatchLayer
import Events
import Testing

@Suite("Schedules")
struct ScheduleTests {
    static func time(_ text: String) -> Int64 { Timestamp.parse(text)! }

    @Test func everyFiresOnMultiplesOfTheInterval() throws {
        let schedule = try Schedule.parse("every 1h")
        #expect(schedule == .every(milliseconds: 3_600_000))
        #expect(schedule.next(after: Self.time("2026-11-20T10:15:00Z")) == Self.time("2026-11-20T11:00:00Z"))
        #expect(schedule.next(after: Self.time("2026-11-20T11:00:00Z")) == Self.time("2026-11-20T12:00:00Z"))
    }

    @Test(arguments: [
        ("*/15 * * * *", "2026-11-20T10:07:30Z", "2026-11-20T10:15:00Z"),
        ("0 3 * * *", "2026-11-20T03:00:00Z", "2026-11-21T03:00:00Z"),
        ("30 2 1 * *", "2026-11-20T00:00:00Z", "2026-12-01T02:30:00Z"),
        ("0 0 * * 1", "2026-11-20T00:00:00Z", "2026-11-23T00:00:00Z"),  // 2026-11-23 is a Monday
        ("0 0 * * 7", "2026-11-20T00:00:00Z", "2026-11-22T00:00:00Z"),  // 7 is Sunday too
        ("5,10 9-10 * * *", "2026-11-20T09:07:00Z", "2026-11-20T09:10:00Z"),
        ("0 12 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T12:00:00Z"),
        ("0 12 29 2 *", "2097-03-01T00:00:00Z", "2104-02-29T12:00:00Z"),  // 2100 is not a leap year
        ("59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"),
        ("0 0 31 2,3 *", "2026-01-01T00:00:00Z", "2026-03-31T00:00:00Z"),
        ("0 0 13 * 5", "2026-11-20T00:00:01Z", "2026-11-27T00:00:00Z"),  // day 13 or a Friday
    ])
    func cronFindsTheNextMatchingMinute(expression: String, after: String, expected: String) throws {
        #expect(try Schedule.parse(expression).next(after: Self.time(after)) == Self.time(expected))
    }

    @Test(arguments: [
        "", "every", "every 10ms", "every soon", "* * * *", "61 * * * *", "* 24 * * *", "*/0 * * * *", "a b c d e", "5-1 * * * *", "0 0 30 2 *",
        "0 0 31 4,6,9,11 *", "0 0 30-31 2 *",
    ])
    func badSchedulesAreRefused(text: String) {
        #expect(throws: Schedule.ParseError.self) { try Schedule.parse(text) }
    }
}
