import Aggregation
import Events
import Testing

@Suite("Lateness")
struct LatenessTests {
    @Test("a record is late when it is more than the delay behind the partition's largest earlier event time")
    func rule() {
        var rule = Lateness(delay: 5_000)
        // The first record has no watermark yet; one exactly the delay behind is on the
        // watermark, not behind it; 100,000 is behind once 120,000 arrived.
        let flags = [100_000, 95_000, 94_999, 120_000, 100_000].map { rule.admit($0) }
        #expect(flags == [false, false, true, false, true])
        #expect(rule.maxEventTime == 120_000)
    }

    @Test("a poison event time neither is late nor moves the maximum")
    func poisonTimes() {
        var rule = Lateness(delay: 0, maxEventTime: 1_000)
        let beyond = rule.admit(Timestamp.supportedRange.upperBound + 1)
        #expect(!beyond)
        #expect(rule.maxEventTime == 1_000)
        let before = rule.admit(Timestamp.supportedRange.lowerBound - 1)
        let late = rule.admit(999)
        #expect(!before && late)
    }

    @Test("a delay past the least event time leaves nothing late, and does not trap")
    func hugeDelay() {
        var rule = Lateness(delay: .max, maxEventTime: -1_000)
        let flags = [Timestamp.supportedRange.lowerBound, -2_000].map { rule.admit($0) }
        #expect(flags == [false, false])
    }

    @Test("a rule started from a stored maximum judges as one that saw the records before")
    func continuation() {
        var random = (0..<2_000).map { Int64(($0 * 7_919) % 3_600) * 1_000 }
        random.shuffle()
        var whole = Lateness(delay: 5_000)
        let flags = random.map { whole.admit($0) }
        var first = Lateness(delay: 5_000)
        let head = random.prefix(700).map { first.admit($0) }
        var rest = Lateness(delay: 5_000, maxEventTime: first.maxEventTime)
        let tail = random.dropFirst(700).map { rest.admit($0) }
        #expect(head + tail == flags)
        #expect(flags.contains(true) && flags.contains(false))
    }
}
