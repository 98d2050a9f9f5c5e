import Events
import Testing

@Suite("Names and durations")
struct NamesAndDurationTests {
    @Test("valid names", arguments: ["a", "orders", "page_views", "a1", "z_9_", "a" + String(repeating: "b", count: 62)])
    func validNames(name: String) {
        #expect(Names.isValid(name))
    }

    @Test(
        "invalid names",
        arguments: [
            "", "A", "Orders", "_a", "1a", "9", "a-b", "a b", "a.b", "a/b", "é", "aé", "a\u{0}", "ａ",
            "a" + String(repeating: "b", count: 63), "orders\n",
        ])
    func invalidNames(name: String) {
        #expect(!Names.isValid(name))
    }

    @Test("names are at most 63 bytes")
    func maxLength() {
        #expect(Names.maxLength == 63)
        #expect(Names.isValid(String(repeating: "x", count: 63)))
        #expect(!Names.isValid(String(repeating: "x", count: 64)))
    }

    @Test(
        "parses durations",
        arguments: [
            ("500ms", Int64(500)), ("1ms", 1), ("30s", 30_000), ("5m", 300_000), ("1h", 3_600_000), ("1d", 86_400_000),
            ("90s", 90_000), ("36h", 129_600_000), ("7d", 604_800_000),
        ])
    func parsesDurations(text: String, millis: Int64) {
        #expect(DurationText.milliseconds(text) == millis)
    }

    @Test(
        "rejects malformed, zero, negative and overflowing durations",
        arguments: [
            "", "ms", "s", "0s", "0ms", "-5s", "5", "5x", "1.5s", "5 s", " 5s", "s5", "5sec", "5M", "5S", "5H", "1w",
            "9223372036854775807d", "99999999999999999999ms", "٣s", "5mss",
        ])
    func rejectsDurations(text: String) {
        #expect(DurationText.milliseconds(text) == nil)
    }

    @Test(
        "formats with the largest exact unit",
        arguments: [
            (Int64(500), "500ms"), (1, "1ms"), (1000, "1s"), (1500, "1500ms"), (30_000, "30s"), (60_000, "1m"),
            (90_000, "90s"), (3_600_000, "1h"), (5_400_000, "90m"), (86_400_000, "1d"), (172_800_000, "2d"), (129_600_000, "36h"),
        ])
    func formats(millis: Int64, text: String) {
        #expect(DurationText.format(milliseconds: millis) == text)
    }

    @Test("format then parse round-trips")
    func roundTrip() {
        for millis: Int64 in [1, 7, 999, 1000, 1001, 59_999, 60_000, 61_000, 3_599_000, 3_600_000, 86_400_000, 90_061_001, 604_800_000] {
            #expect(DurationText.milliseconds(DurationText.format(milliseconds: millis)) == millis)
        }
    }
}
