import Events
import Testing

@testable import BatchLayer

/// Which views the scheduler queues a job for, without a database or a clock.
@Suite("Schedule plan")
struct SchedulePlanTests {
    static let hourly = try! Schedule.parse("every 1h")
    static func time(_ text: String) -> Int64 { Timestamp.parse(text)! }

    @Test func aScheduleCountsFromWhenItsViewIsFirstSeen() {
        var plan = SchedulePlan()
        let view = SchedulePlan.View(name: "v", schedule: Self.hourly, overRowLimit: false, active: false)
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
        var plan = SchedulePlan()
        let now = Self.time("2026-11-20T10:00:00Z")
        let small = SchedulePlan.View(name: "small", schedule: nil, overRowLimit: false, active: false)
        let large = SchedulePlan.View(name: "large", schedule: nil, overRowLimit: true, active: false)
        let busy = SchedulePlan.View(name: "busy", schedule: nil, overRowLimit: true, active: true)
        let due = plan.due([small, large, busy], now: now)
        #expect(due.map(\.view) == ["large"])
        #expect(due.map(\.trigger) == ["size"])
    }

    @Test func aDueScheduleOfAnActiveViewIsNotQueuedTwice() {
        var plan = SchedulePlan()
        let start = Self.time("2026-11-20T10:00:00Z")
        _ = plan.due([SchedulePlan.View(name: "v", schedule: Self.hourly, overRowLimit: false, active: false)], now: start)
        let due = plan.due(
            [SchedulePlan.View(name: "v", schedule: Self.hourly, overRowLimit: false, active: true)], now: Self.time("2026-11-20T11:00:00Z"))
        #expect(due.isEmpty)
    }
}
