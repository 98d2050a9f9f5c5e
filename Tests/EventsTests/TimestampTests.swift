import Events
import Testing

@Suite("Timestamp")
struct TimestampTests {
    @Test(
        "parses RFC 3339 with Z",
        arguments: [
            ("1970-01-01T00:00:00Z", Int64(0)),
            ("2026-11-20T00:00:01.250Z", 1_795_132_801_250),
            ("2024-02-29T12:00:00Z", 1_709_208_000_000),
            ("2000-02-29T23:59:59.999Z", 951_868_799_999),
            ("1600-02-29T00:00:00Z", -11_670_998_400_000),
            ("1900-03-01T00:00:00Z", -2_203_891_200_000),
            ("1969-07-20T20:17:40Z", -14_182_940_000),
            ("0001-01-01T00:00:00Z", -62_135_596_800_000),
            ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
            ("2026-11-20t00:00:01.250z", 1_795_132_801_250),
            ("2026-11-20 00:00:01.250Z", 1_795_132_801_250),
        ])
    func parsesZulu(text: String, millis: Int64) {
        #expect(Timestamp.parse(text) == millis)
    }

    @Test(
        "parses numeric offsets",
        arguments: [
            ("2026-01-01T05:30:00+05:30", Int64(1_767_225_600_000)),
            ("2025-12-31T19:00:00-05:00", 1_767_225_600_000),
            ("2026-01-01T00:00:00+00:00", 1_767_225_600_000),
            ("2026-01-01T00:00:00-00:00", 1_767_225_600_000),
            ("1970-01-01T00:00:00.001+23:59", -86_339_999),
            ("1969-12-31T23:00:00.500-01:00", 500),
        ])
    func parsesOffsets(text: String, millis: Int64) {
        #expect(Timestamp.parse(text) == millis)
    }

    @Test(
        "fractions of 1 to 9 digits keep milliseconds and truncate the rest",
        arguments: [
            (".5", Int64(500)), (".05", 50), (".123", 123), (".1234", 123), (".12345", 123),
            (".999999", 999), (".0000001", 0), (".98765432", 987), (".123456789", 123), (".000", 0), (".9", 900),
        ])
    func fractions(fraction: String, millis: Int64) {
        #expect(Timestamp.parse("2026-01-01T00:00:00\(fraction)Z") == 1_767_225_600_000 + millis)
        #expect(Timestamp.parse("2026-01-01T01:00:00\(fraction)+01:00") == 1_767_225_600_000 + millis)
    }

    @Test(
        "rejects malformed and impossible dates",
        arguments: [
            "", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.123",
            "2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
            "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
            "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:61Z",
            "2026-01-01X00:00:00Z", "2026/01/01T00:00:00Z", "2026-01-01T00-00-00Z", "26-01-01T00:00:00Z",
            "2026-01-01T00:00:00+0100", "2026-01-01T00:00:00+01", "2026-01-01T00:00:00+01:00:00",
            "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+01:60", "2026-01-01T00:00:00ZZ",
            "2026-01-01T00:00:00 Z", "2026-01-01T00:00:00Zx", " 2026-01-01T00:00:00Z", "2026-1-01T00:00:00Z",
            "20a6-01-01T00:00:00Z", "2026-01-01T00:00:00.1a2Z", "not a timestamp at all",
        ])
    func rejects(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test("a leap second is accepted")
    func leapSecond() {
        #expect(Timestamp.parse("2016-12-31T23:59:60Z") != nil)
    }

    @Test("the raw-bytes overload agrees with the String one")
    func rawBytes() {
        let text = "2026-11-20T00:00:01.250+02:00"
        let fromBytes = Array(text.utf8).withUnsafeBytes { Timestamp.parse($0) }
        #expect(fromBytes == Timestamp.parse(text))
        let expected: Int64 = 1_795_125_601_250  // 2026-11-19T22:00:01.250Z
        #expect(fromBytes == expected)
    }

    @Test(
        "formats epoch milliseconds",
        arguments: [
            (Int64(0), "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (-1000, "1969-12-31T23:59:59.000Z"),
            (-1001, "1969-12-31T23:59:58.999Z"),
            (-86_400_000, "1969-12-31T00:00:00.000Z"),
            (1_795_132_801_250, "2026-11-20T00:00:01.250Z"),
            (1_709_208_000_000, "2024-02-29T12:00:00.000Z"),
            (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (-14_182_940_000, "1969-07-20T20:17:40.000Z"),
        ])
    func formats(millis: Int64, text: String) {
        #expect(Timestamp.format(millis) == text)
    }

    @Test("format then parse round-trips, including before the epoch")
    func roundTrips() {
        var values: [Int64] = [
            0, 1, -1, 999, -999, 1000, -1000, 86_399_999, -86_400_001, 951_782_400_000, -62_167_219_200_000,
            253_402_300_799_999, -2_203_891_200_001, 1_767_225_600_000,
        ]
        var state: UInt64 = 0x1234_5678
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // anywhere in years 0000...9999
            values.append(-62_167_219_200_000 + Int64(state >> 1) % 315_569_520_000_000)
        }
        for millis in values {
            let text = Timestamp.format(millis)
            #expect(text.utf8.count == 24, "\(text)")
            #expect(Timestamp.parse(text) == millis, "\(millis) formats as \(text)")
        }
    }

    @Test("now is after 2020")
    func now() {
        #expect(Timestamp.now() > 1_577_836_800_000)
    }
}
