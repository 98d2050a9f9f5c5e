import Aggregation
import Events
import TandemTestSupport
import Testing

/// The serving cache's columnar roll-up must answer exactly what rolling up the merged state
/// answers: for every window shape, group-by and filter the oracle suite uses, plus filters that
/// the posting lists narrow (equality, `in`, and conjunctions of them).
@Suite("Columnar roll-up against the state roll-up")
struct ColumnarRollupTests {
    static let minute = ViewFixture.minute
    static let hour = ViewFixture.hour

    static func requests(base: Int64) -> [RollupRequest] {
        let narrowing: [Filter] = [
            ViewFixture.compare("url", .equal, .string("/a")),
            ViewFixture.compare("url", .in, .string("/rare/1"), .string("/b"), .string("/missing"), .string("/b")),
            .and([ViewFixture.compare("url", .equal, .string("/products/1")), ViewFixture.compare("country", .notEqual, .string("US"))]),
            .and([ViewFixture.compare("country", .equal, .string("JP")), .not(ViewFixture.compare("url", .exists))]),
            ViewFixture.compare("url", .equal, .string("/never-seen")),
        ]
        var requests = RollupOracleTests.requests(base: base).map(\.0)
        for filter in narrowing {
            for groupBy in [[], ["url"], ["country"]] {
                for window: WindowShape in [
                    .tumbling(granularity: hour), .tumbling(granularity: nil), .hopping(size: 15 * minute, advance: 5 * minute),
                ] {
                    requests.append(RollupRequest(from: base, to: base + 3 * hour, groupBy: groupBy, filter: filter, window: window))
                }
            }
        }
        // A long range at a fine step: too many windows for the dense slot table.
        let year: Int64 = 365 * 24 * hour
        requests.append(RollupRequest(from: base - year, to: base + year, groupBy: ["url", "country"], window: .tumbling(granularity: minute)))
        requests.append(
            RollupRequest(from: base - year, to: base + year, groupBy: ["url"], filter: narrowing[1], window: .tumbling(granularity: minute)))
        return requests
    }

    @Test("published columns and speed segments rolled up together answer like the merged state", arguments: RollupOracleTests.bases)
    func matchesStateRollup(base: Int64) throws {
        var random = SplitMix64(seed: UInt64(bitPattern: base) ^ 0xC0_1A)
        let events = ViewFixture.events(count: 4000, base: base, &random)
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        // The batch layer holds the first 3,000 events, the speed layer the rest, spread over
        // three segments with dictionaries of their own (two indexed, as the speed layer keeps
        // them, one not).
        let published = RollupOracleTests.state(view, Array(events.prefix(3000)), &random)
        var segments = (0..<3).map { EncodedState(view: view, indexed: $0 != 1) }
        for event in events.dropFirst(3000) { view.apply(values: event.values, eventTime: event.ts, to: &segments[random.int(0...2)]) }
        var speed = ViewState()
        for segment in segments { segment.merge(into: &speed) }
        var merged = published
        merged.merge(speed)
        let columns = ColumnarState(published, view: view)
        #expect(columns.rowCount == published.count)
        #expect(columns.state(from: .min, to: .max) == published)
        #expect(columns.estimatedBytes > published.count * 8)
        var compared = 0, nonEmpty = 0
        for request in Self.requests(base: base) {
            try view.check(request)
            let expected = view.rollup(merged, request)
            let answered: [RollupRow]
            if CompiledView.columnarServes(request.window) {
                var accumulator = try RollupAccumulator(view, request, limits: .unlimited)
                try accumulator.add(segments[2])
                try accumulator.add(columns)
                try accumulator.add(segments[0])
                try accumulator.add(segments[1])
                answered = accumulator.rows()
                // Each segment rolled up on its own (as the speed layer's partitions are, in
                // parallel) and merged in: into the columns' roll-up, and into an empty one that
                // takes the columns last.
                let parts = try segments.map { segment in
                    var part = try RollupAccumulator(view, request, limits: .unlimited)
                    try part.add(segment)
                    return part
                }
                var merged = try RollupAccumulator(view, request, limits: .unlimited)
                try merged.add(columns)
                for part in parts { try merged.merge(part) }
                #expect(merged.rows() == expected, "merged parts, \(request)")
                var columnsLast = try RollupAccumulator(view, request, limits: .unlimited)
                for part in parts.reversed() { try columnsLast.merge(part) }
                try columnsLast.add(columns)
                #expect(columnsLast.rows() == expected, "columns last, \(request)")
                // The published columns alone answer like the published state.
                #expect(try view.rollup(columns, request, limits: .unlimited) == view.rollup(published, request), "\(request)")
            } else {
                var state = columns.state(from: request.from, to: request.to)
                state.merge(speed)
                answered = view.rollup(state, request)
            }
            #expect(answered == expected, "\(request)")
            compared += 1
            if !expected.isEmpty { nonEmpty += 1 }
        }
        #expect(compared > 100)
        #expect(nonEmpty > compared / 2, "most requests answer rows, so the comparison means something")
    }

    @Test("an encoded state holds what a state holds, for the same events", arguments: RollupOracleTests.bases)
    func encodedStateMatchesState(base: Int64) throws {
        var random = SplitMix64(seed: UInt64(bitPattern: base) ^ 0xE4C0)
        let events = ViewFixture.events(count: 3000, base: base, &random)
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        var state = ViewState()
        var encoded = EncodedState(view: view, indexed: true)
        for event in events {
            view.apply(values: event.values, eventTime: event.ts, to: &state)
            view.apply(values: event.values, eventTime: event.ts, to: &encoded)
        }
        #expect(encoded.count == state.count)
        #expect(encoded.viewState == state)
        // Split over three states (as the batch layer's partitions are) and merged: the same rows;
        // so are the columns built from it, and the state rebuilt from a ViewState.
        var parts = (0..<3).map { _ in EncodedState(view: view) }
        for (index, event) in events.enumerated() { view.apply(values: event.values, eventTime: event.ts, to: &parts[index % 3]) }
        var merged = parts[0]
        merged.merge(parts[1])
        merged.merge(parts[2])
        #expect(merged.viewState == state)
        #expect(ColumnarState(merged, view: view).state(from: .min, to: .max) == state)
        #expect(EncodedState(state, dimensions: 2, aggregates: view.stateWidth).viewState == state)
        var rebuilt = EncodedState(view: view)
        for slot in 0..<merged.count {
            let (key, row) = merged.row(at: slot)
            rebuilt.mergeRow(row, at: key)
        }
        #expect(rebuilt.viewState == state)
        // A narrowed read keeps exactly the rows of the values asked, from the postings.
        let values: [FieldValue?] = [.string("/a"), nil, .string("/never-seen"), .string("/a")]
        var narrowed = ViewState()
        encoded.merge(into: &narrowed, from: base, to: base + Self.hour, narrowing: DimensionNarrowing(dimension: 0, values: values))
        #expect(narrowed.rows == state.filtered(from: base, to: base + Self.hour).rows.filter { values.contains($0.key.group.values[0]) })
        #expect(!narrowed.rows.isEmpty)
    }

    @Test("an encoded state finds every row again after its slot table grows, with more than four dimensions too")
    func slotTableGrowth() {
        for dimensions in [1, 6] {
            var encoded = EncodedState(dimensions: dimensions, aggregates: 1)
            var expected = ViewState()
            for pass in 0..<2 {
                for index in 0..<20_000 {
                    // Keys that differ in one word only: neighbouring buckets and codes.
                    let values: [FieldValue?] = (0..<dimensions).map { $0 == dimensions - 1 ? .int(Int64(index % 97)) : .int(Int64(index / 97 + $0)) }
                    let key = StateKey(bucket: Int64(index % 3) * 60_000, group: GroupKey(values))
                    encoded.mergeRow([.count(1)], at: key)
                    if pass == 0 { expected.mergeRow([.count(2)], at: key) }
                }
            }
            #expect(encoded.count == expected.count, "\(dimensions) dimensions")
            #expect(encoded.viewState == expected, "\(dimensions) dimensions")
        }
    }

    @Test("the columnar roll-up stops at max_groups and at its deadline")
    func limits() throws {
        var random = SplitMix64(seed: 7)
        let base: Int64 = 1_763_596_800_000
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        let state = RollupOracleTests.state(view, ViewFixture.events(count: 3000, base: base, &random), &random)
        let columns = ColumnarState(state, view: view)
        let request = RollupRequest(from: base, to: base + 3 * Self.hour, groupBy: ["url", "country"], window: .tumbling(granularity: Self.minute))
        do {
            _ = try view.rollup(columns, request, limits: RollupLimits(maxRows: 10))
            Issue.record("passed max_groups")
        } catch {
            #expect(error.code == .tooManyGroups)
        }
        do {
            _ = try view.rollup(columns, request, limits: RollupLimits(deadline: .now - .seconds(1)))
            Issue.record("passed its deadline")
        } catch {
            #expect(error.code == .queryTimeout)
        }
        do {
            // Each source alone fits; together they pass the limit.
            let rows = try view.rollup(columns, request, limits: .unlimited).count
            var speed = EncodedState(view: view, indexed: true)
            for event in ViewFixture.events(count: 3000, base: base + 3 * Self.hour, &random) {
                view.apply(values: event.values, eventTime: event.ts, to: &speed)
            }
            let wider = RollupRequest(from: base, to: base + 6 * Self.hour, groupBy: ["url", "country"], window: .tumbling(granularity: Self.minute))
            var accumulator = try RollupAccumulator(view, wider, limits: RollupLimits(maxRows: rows + 1))
            try accumulator.add(columns)
            try accumulator.add(speed)
            Issue.record("a roll-up past max_groups was accepted")
        } catch {
            #expect(error.code == .tooManyGroups)
        }
    }
}
