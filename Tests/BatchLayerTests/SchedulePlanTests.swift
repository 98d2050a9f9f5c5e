import Events
import Testing

@testable import BatchLayer

/// Which views the scheduler queues a job for, without a database or a clock.
@Suite("Schedule plan")
struct SchedulePlanTests {
    static let hourly = try! Schedule.parse("every 1h")
    static func time(_ text: String) -> Int64 { Timestamp.parse(text)! }

    @Test func aScheduleCountsFromWhenItsViewIsFirstSeen() {
        var plan = SchedulePlan(speedStateRowLimit: nil)
        let view = SchedulePlan.View(name: "v", schedule: Self.hourly, speedStateRows: 0, active: false)
        let first = plan.due([view], now: Self.time("2026-11-20T10:30:00Z"))
        #expect(first.isEmpty, "a view seen for the first time does not fire at once")
        let early = plan.due([view], now: Self.time("2026-11-20T10:59:59Z"))
        #expect(early.isEmpty)
        let onTime = plan.due([view], now: Self.time("2026-11-20T11:00:00Z"))
        #expect(onTime.map(\.view) == ["v"])
        #expect(onTime.map(\.trigger) == ["schedule"])
        let again = plan.due([view], now: Self.time("2026-11-20T11:00:01Z"))
        #expect(again.isEmpty, "a fired schedule counts from the time it fired")
    }

    @Test func aLargeSpeedStateGetsASizeJobUnlessOneIsActive() {
        var plan = SchedulePlan(speedStateRowLimit: 100)
        let now = Self.time("2026-11-20T10:00:00Z")
        let small = SchedulePlan.View(name: "small", schedule: nil, speedStateRows: 100, active: false)
        let large = SchedulePlan.View(name: "large", schedule: nil, speedStateRows: 101, active: false)
        let busy = SchedulePlan.View(name: "busy", schedule: nil, speedStateRows: 5000, active: true)
        let due = plan.due([small, large, busy], now: now)
        #expect(due.map(\.view) == ["large"])
        #expect(due.map(\.trigger) == ["size"])
        var unlimited = SchedulePlan(speedStateRowLimit: nil)
        let none = unlimited.due([large], now: now)
        #expect(none.isEmpty)
    }

    @Test func aDueScheduleOfAnActiveViewIsNotQueuedTwice() {
        var plan = SchedulePlan(speedStateRowLimit: nil)
        let start = Self.time("2026-11-20T10:00:00Z")
        _ = plan.due([SchedulePlan.View(name: "v", schedule: Self.hourly, speedStateRows: 0, active: false)], now: start)
        let due = plan.due(
            [SchedulePlan.View(name: "v", schedule: Self.hourly, speedStateRows: 0, active: true)], now: Self.time("2026-11-20T11:00:00Z"))
        #expect(due.isEmpty)
    }
}
