import Aggregation
import Events
import Testing

/// Client-provided numbers never trap: each case here crashed the process or ran without bound
/// before, and now is refused with a stable code or computed without overflow.
@Suite("Hostile input in views and queries")
struct HostileInputTests {
    static let view = ViewFixture.view
    static let stream = ViewFixture.stream

    static func compiled() throws -> CompiledView { try CompiledView(view, stream: stream) }

    @Test("bucket flooring at the ends of Int64 does not trap", arguments: [Int64.min, Int64.min + 1, -1, 0, Int64.max - 1, Int64.max])
    func floorNeverTraps(time: Int64) {
        for step: Int64 in [1, 1000, 60_000, 86_400_000, Int64.max] {
            let floored = CompiledView.floor(time, to: step)
            #expect(floored <= time)
        }
    }

    @Test("a stored record with an event time outside the supported range is a poison record, not a crash")
    func poisonEventTime() throws {
        let view = try Self.compiled()
        var state = ViewState()
        var scratch = view.makeScratch()
        var payload: [UInt8] = []
        RecordCodec.encode(
            ViewFixture.Event(ts: 0, url: "/", country: "US", user: "u", latency: 1, bytes: 1).values, schemaVersion: 1, into: &payload)
        for time in [Int64.min, Timestamp.supportedRange.lowerBound - 1, Timestamp.supportedRange.upperBound + 1, Int64.max] {
            #expect(throws: PoisonRecord.eventTimeOutOfRange(time)) {
                try payload.withUnsafeBytes { _ = try view.apply(payload: $0, eventTime: time, to: &state, scratch: &scratch) }
            }
        }
        #expect(state.count == 0)
        try payload.withUnsafeBytes { _ = try view.apply(payload: $0, eventTime: Timestamp.supportedRange.upperBound, to: &state, scratch: &scratch) }
        #expect(state.count == 1)
    }

    @Test("quantile accuracies outside the documented range are refused", arguments: [1e-300, 1e-5, 0.6, 0.99, -0.1, 0])
    func quantileAccuracy(accuracy: Double) {
        var view = Self.view
        view.aggregates = [("p", AggregateSpec(.quantile, field: "latency", quantiles: [0.5], relativeAccuracy: accuracy))]
        #expect(throws: ViewError.self) { try CompiledView(view, stream: Self.stream) }
        view.aggregates = [("p", AggregateSpec(.quantile, field: "latency", quantiles: [0.5], relativeAccuracy: 0.0001))]
        #expect(throws: Never.self) { try CompiledView(view, stream: Self.stream) }
    }

    @Test("the finest accuracy allowed survives extreme values")
    func finestAccuracyExtremes() {
        var sketch = QuantileSketch(relativeAccuracy: ViewDefinition.relativeAccuracyRange.lowerBound)
        for value in [Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude, 1e-8, Double.leastNonzeroMagnitude, 0] { sketch.add(value) }
        #expect(sketch.count == 5)
        #expect(sketch.quantile(1) == Double.greatestFiniteMagnitude)
    }

    @Test(
        "filter literals that do not fit their field are refused",
        arguments: [
            ("ts", FilterValue.number(1e19)), ("ts", .number(-1e19)), ("ts", .number(.infinity)), ("ts", .number(1e300)),
            ("bytes", .number(1e19)), ("bytes", .number(9.3e18)), ("bytes", .number(.nan)), ("latency", .number(.infinity)),
        ])
    func filterLiterals(field: String, value: FilterValue) {
        var view = Self.view
        view.filter = .compare(field: field, op: .greater, values: [value])
        #expect(throws: ViewError.self) { try CompiledView(view, stream: Self.stream) }
    }

    @Test("filters nested too deep or too wide are refused")
    func filterShape() {
        var deep = Filter.compare(field: "url", op: .exists, values: [])
        for _ in 0..<40 { deep = .not(deep) }
        var view = Self.view
        view.filter = deep
        #expect(throws: ViewError(.invalidFilter, "the filter is nested deeper than 32 levels", field: "filter")) {
            try CompiledView(view, stream: Self.stream)
        }
        view.filter = .compare(field: "url", op: .in, values: (0..<10_001).map { .string("/\($0)") })
        #expect(throws: ViewError.self) { try CompiledView(view, stream: Self.stream) }
    }

    static let day: Int64 = 86_400_000

    @Test(
        "queries whose cost is unbounded are refused before any work",
        arguments: [
            ("hopping 100000000d every 1h", WindowShape.hopping(size: 100_000_000 * day, advance: 3_600_000), Int64(0), 7 * day),
            ("hopping near Int64.max", .hopping(size: Int64.max / 60_000 * 60_000, advance: 60_000), 0, day),
            ("1m windows over 2000 years", .tumbling(granularity: 60_000), 0, 2000 * 365 * day),
            ("hopping advancing 1m over 100 years", .hopping(size: 3_600_000, advance: 60_000), 0, 36_500 * day),
        ])
    func costBound(label: String, window: WindowShape, from: Int64, to: Int64) throws {
        let view = try Self.compiled()
        let request = RollupRequest(from: from, to: to, window: window)
        #expect(throws: ViewError.self, "\(label)") { try view.check(request, limits: RollupLimits()) }
        do {
            try view.check(request, limits: RollupLimits())
        } catch {
            #expect(error.code == .queryTooLarge, "\(label)")
        }
    }

    @Test(
        "window steps longer than the supported times are refused",
        arguments: [
            WindowShape.hopping(size: Int64.max / 60_000 * 60_000, advance: Int64.max / 60_000 * 60_000),
            .hopping(size: 60_000, advance: Int64.max / 60_000 * 60_000), .tumbling(granularity: Int64.max / 60_000 * 60_000),
            .session(gap: Int64.max, key: "url"),
            // FuzzQuery: size = advance = 106751991167d passed the cost bound and overflowed.
            .hopping(size: 106_751_991_167 * 86_400_000, advance: 106_751_991_167 * 86_400_000),
        ])
    func hugeSteps(window: WindowShape) throws {
        let view = try Self.compiled()
        let request = RollupRequest(from: Timestamp.supportedRange.lowerBound, to: 0, window: window)
        #expect(throws: ViewError.self) { try view.check(request, limits: RollupLimits()) }
        // And with no check at all, the roll-up itself still does not trap, even over any range
        // and with buckets at both ends of the supported times.
        var state = try Self.state(groups: 2)
        for time in [Timestamp.supportedRange.lowerBound, Timestamp.supportedRange.upperBound] {
            try Self.compiled().apply(values: ViewFixture.Event(ts: time, url: "/", user: "u").values, eventTime: time, to: &state)
        }
        _ = view.rollup(state, request)
        _ = view.rollup(state, RollupRequest(from: .min, to: .max, window: window))
    }

    @Test(
        "query ranges outside the supported times are refused",
        arguments: [(Int64.min, Int64(0)), (Int64(0), Int64.max), (Int64.min, Int64.max)] as [(Int64, Int64)])
    func absurdRange(from: Int64, to: Int64) throws {
        let view = try Self.compiled()
        #expect(throws: ViewError.self) { try view.check(RollupRequest(from: from, to: to), limits: RollupLimits()) }
    }

    /// A state with `groups` urls in one bucket.
    static func state(groups: Int) throws -> ViewState {
        let view = try compiled()
        var state = ViewState()
        for index in 0..<groups {
            view.apply(values: ViewFixture.Event(ts: 0, url: "/rare/\(index)", user: "u1", latency: 1, bytes: 1).values, eventTime: 0, to: &state)
        }
        return state
    }

    @Test("max_groups stops the roll-up while it is built")
    func maxGroupsWhileBuilding() throws {
        let view = try Self.compiled()
        let state = try Self.state(groups: 50)
        let request = RollupRequest(from: 0, to: 60_000, groupBy: ["url"])
        #expect(throws: ViewError.self) { try view.rollup(state, request, limits: RollupLimits(maxRows: 10)) }
        #expect(try view.rollup(state, request, limits: RollupLimits(maxRows: 50)).count == 50)
        let sessions = RollupRequest(from: 0, to: 60_000, window: .session(gap: 60_000, key: "url"))
        #expect(throws: ViewError.self) { try view.rollup(state, sessions, limits: RollupLimits(maxRows: 10)) }
    }

    @Test("a roll-up past its deadline stops with query_timeout")
    func deadline() throws {
        let view = try Self.compiled()
        let state = try Self.state(groups: 10_000)
        let request = RollupRequest(from: 0, to: 60_000, groupBy: ["url"])
        let limits = RollupLimits(deadline: .now - .seconds(1))
        #expect(throws: ViewError.self) { try view.rollup(state, request, limits: limits) }
    }

    @Test("hopping windows far wider than the data give the same rows as before, cheaply")
    func wideHopping() throws {
        let view = try Self.compiled()
        let state = try Self.state(groups: 3)
        let rows = try view.rollup(
            state, RollupRequest(from: -3 * Self.day, to: Self.day, window: .hopping(size: 3 * Self.day, advance: Self.day)),
            limits: RollupLimits())
        // Windows start at -2d, -1d and 0: each holds the bucket at 0.
        #expect(rows.map(\.time) == [-2 * Self.day, -Self.day, 0])
    }
}

/// Integer sums widen instead of wrapping.
@Suite("Integer sums beyond 64 bits")
struct IntegerSumTests {
    static let spec = AggregateSpec(.sum, field: "bytes")

    @Test func sumsWidenAndStayExact() throws {
        var state = AggregateState.empty(Self.spec, fieldType: .int)
        state.add(.int(.max))
        state.add(.int(.max))
        state.add(.int(2))
        #expect(state.result(Self.spec, fieldType: .int) == .wideInt(Int128(Int64.max) * 2 + 2))
        let decoded = try AggregateState.decode(state.encoded)
        #expect(decoded == state)
        var negative = AggregateState.empty(Self.spec, fieldType: .int)
        negative.add(.int(.min))
        negative.add(.int(.min))
        var merged = state
        merged.merge(negative)
        // max + max + 2 + min + min = 0
        #expect(merged.result(Self.spec, fieldType: .int) == .int(0))
        #expect(try AggregateState.decode(merged.encoded) == merged)
    }

    @Test func narrowSumsKeepTheirEncoding() {
        var state = AggregateState.empty(Self.spec, fieldType: .int)
        state.add(.int(-5))
        #expect(state.encoded == [AggregateState.encodingVersion, 2, 9])
        #expect(state.result(Self.spec, fieldType: .int) == .int(-5))
    }

    @Test func forgedCountsAreRefused() {
        // version 1, count, zigzag varint of -1 (1) and of 2^62 (2^63 as a varint).
        #expect(throws: (any Error).self) { try AggregateState.decode([1, 1, 1]) }
        var bytes: [UInt8] = [1, 1]
        Varint.append(UInt64(1) << 63, to: &bytes)
        #expect(throws: (any Error).self) { try AggregateState.decode(bytes) }
    }
}

/// Inputs the fuzzers found in the state decoders, kept as regression tests.
@Suite("Fuzzer findings in state decoding")
struct StateFuzzerFindingTests {
    /// FuzzRecordCodec: a state length near `Int.max` overflowed `ByteReader.take`.
    /// A stored quantile state with an accuracy no view may have is refused; a sketch made with
    /// one anyway clamps its bins instead of trapping.
    @Test func quantileStatesWithAbsurdAccuracy() {
        var sketch = QuantileSketch(relativeAccuracy: 1e-300)
        for value in [1e300, 1e-300, -1e300, 1] { sketch.add(value) }
        #expect(sketch.count == 4)
        #expect(throws: (any Error).self) { try AggregateState.decode(AggregateState.quantile(sketch).encoded) }
    }

    /// A hand-made distinct state with registers past any possible rank overflowed `estimate`.
    @Test func distinctRegistersPastAnyRankAreRefused() {
        let crash: [UInt8] = [0x01, 0x09, 0x04, 0x01] + [UInt8](repeating: 0x3f, count: 16)
        #expect(throws: (any Error).self) { try AggregateState.decode(crash) }
        // The largest legal ranks (64 - p + 1) decode and estimate without trapping.
        let legal: [UInt8] = [0x01, 0x09, 0x04, 0x01] + [UInt8](repeating: 61, count: 16)
        let state = try? AggregateState.decode(legal)
        #expect(state != nil)
        _ = state?.result(AggregateSpec(.distinct, field: "user", precision: 4), fieldType: .string)
    }

    @Test func hugeLengthsAreRefused() {
        let crash: [UInt8] = [0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0xbf, 0xbf]
        #expect(throws: (any Error).self) { try RowCoding.decodeRow(crash) }
        var key: [UInt8] = [0x01, 0x01, 0x01]
        Varint.append(UInt64(Int.max), to: &key)
        #expect(throws: (any Error).self) { try RowCoding.decodeKey(key) }
    }
}
