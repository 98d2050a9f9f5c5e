import Events
import Testing

/// Event bodies that used to be accepted and then killed the speed layer, or cost more than
/// linear time, are refused or parsed in one pass.
@Suite("Hostile events")
struct HostileEventTests {
    static let stream = StreamDefinition(
        name: "hostile", partitions: 1,
        fields: [
            FieldDefinition(name: "ts", type: .timestamp, required: true),
            FieldDefinition(name: "seen", type: .timestamp),
            FieldDefinition(name: "n", type: .int),
        ],
        timeField: "ts")

    static let unbounded = EventTimeBounds(maxAgeMilliseconds: nil, maxFutureMilliseconds: nil)

    @Test(
        "event times outside the supported range are refused even with no age or future bound",
        arguments: ["-9223372036854775808", "9223372036854775807", "-62135596800001", "253402300800000", "\"0000-12-31T23:59:59Z\""])
    func extremeEventTimes(time: String) {
        let run = parse("{\"ts\":\(time)}", Self.stream, bounds: Self.unbounded)
        #expect(run.codes == [.eventTimeOutOfBounds])
        #expect(run.issueFields == ["ts"])
        #expect(run.emitted.isEmpty)
    }

    @Test("the ends of the supported range are accepted")
    func rangeEnds() {
        let run = parse(
            #"[{"ts":"0001-01-01T00:00:00Z"},{"ts":"9999-12-31T23:59:59.999Z"},{"ts":-62135596800000},{"ts":253402300799999}]"#,
            Self.stream, bounds: Self.unbounded)
        #expect(run.codes.isEmpty)
        #expect(run.emitted.map(\.eventTime) == [-62_135_596_800_000, 253_402_300_799_999, -62_135_596_800_000, 253_402_300_799_999])
    }

    @Test("other timestamp fields are held to the same range")
    func timestampFields() {
        let run = parse(#"{"ts":0,"seen":-9223372036854775808}"#, Self.stream, bounds: Self.unbounded)
        #expect(run.codes == [.outOfRange])
        #expect(run.issueFields == ["seen"])
    }

    @Test("a configured range narrows the supported one")
    func configuredRange() {
        let bounds = EventTimeBounds(maxAgeMilliseconds: nil, maxFutureMilliseconds: nil, range: 0...1000)
        let run = parse(#"[{"ts":0},{"ts":1000},{"ts":-1},{"ts":1001}]"#, Self.stream, bounds: bounds)
        #expect(run.issueIndexes == [2, 3])
    }

    @Test("age and future bounds near Int64's range do not overflow")
    func hugeBounds() {
        let bounds = EventTimeBounds(maxAgeMilliseconds: .max, maxFutureMilliseconds: .max)
        let run = parse(#"[{"ts":0},{"ts":"9999-12-31T23:59:59Z"}]"#, Self.stream, bounds: bounds)
        #expect(run.codes.isEmpty)
    }

    @Test("integral spellings with many zeros parse exactly, in one pass")
    func manyZeros() {
        let zeros = String(repeating: "0", count: 9000)
        // 0.000…0001e9002 = 10 and 1000…000e-9000 = 1: each a long run of zeros.
        let body = "[{\"ts\":0,\"n\":0.\(zeros)1e9002},{\"ts\":0,\"n\":1\(zeros)e-9000}]"
        let run = parse(body, Self.stream, bounds: Self.unbounded)
        #expect(run.codes.isEmpty)
        #expect(run.emitted.map { $0.values[2] } == [.int(10), .int(1)])
    }
}

/// Inputs the fuzzers found, kept as regression tests.
@Suite("Fuzzer findings")
struct FuzzerFindingTests {
    /// FuzzRecordCodec: a record whose schema-version varint does not fit in an `Int` trapped in
    /// `RecordCodec.schemaVersion(of:)`.
    @Test func schemaVersionBeyondIntIsNil() {
        let crash: [UInt8] = [
            0x01, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0x09, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9,
            0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0x02, 0x09, 0x00, 0x00, 0x00,
        ]
        #expect(crash.withUnsafeBytes { RecordCodec.schemaVersion(of: $0) } == nil)
        var huge: [UInt8] = [0x01]
        Varint.append(UInt64.max, to: &huge)
        #expect(huge.withUnsafeBytes { RecordCodec.schemaVersion(of: $0) } == nil)
        #expect(throws: (any Error).self) { try huge.withUnsafeBytes { try RecordCodec.decode($0, definition: HostileEventTests.stream) } }
    }

    /// FuzzRecordCodec: a string length or a field count beyond `Int` trapped in
    /// `RecordCodec.forEachField`; the read path of the layers had the same conversion.
    @Test func hugeLengthsAndCountsAreRefused() {
        let crash: [UInt8] = [
            0x01, 0x03, 0x2d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x2d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0x61,
        ]
        var hugeCount: [UInt8] = [0x01, 0x01]
        Varint.append(UInt64.max, to: &hugeCount)
        var hugeLength: [UInt8] = [0x01, 0x01, 0x01, 0x01]
        Varint.append(UInt64(Int.max) + 2, to: &hugeLength)
        let stream = StreamDefinition(name: "s", partitions: 1, fields: [FieldDefinition(name: "a", type: .string)])
        for bytes in [crash, hugeCount, hugeLength] {
            #expect(throws: (any Error).self) { try bytes.withUnsafeBytes { try RecordCodec.decode($0, definition: stream) } }
            var values: [FieldValue?] = [nil]
            #expect(throws: (any Error).self) {
                try bytes.withUnsafeBytes { try RecordCodec.decode($0, fieldTypes: [.string], wanted: [true], into: &values) }
            }
        }
    }
}
