import Aggregation
import Events
import TandemTestSupport
import Testing

/// Events applied to several partial view states (partitions, cut segments), merged in random
/// order and rolled up, must answer exactly what a brute-force pass over the raw events answers.
@Suite("Rollup against a brute-force oracle")
struct RollupOracleTests {
    typealias Event = ViewFixture.Event
    static let minute = ViewFixture.minute
    static let hour = ViewFixture.hour

    /// An unaligned base after 1970, and one before it (buckets of negative times).
    static let bases: [Int64] = [1_763_596_800_000 + 7_431, -5_400_000 - 2_999]

    static let dimensionFilters: [RollupOracle.DimensionFilter] = [
        .init(
            name: "US or a listed url",
            filter: .or([ViewFixture.compare("country", .equal, .string("US")), ViewFixture.compare("url", .in, .string("/a"), .string("/rare/1"))]),
            matches: { url, country in country == "US" || url == "/a" || url == "/rare/1" }),
        .init(name: "no country", filter: .not(ViewFixture.compare("country", .exists)), matches: { _, country in country == nil }),
        .init(
            name: "not health and country >= DE",
            filter: .and([ViewFixture.compare("url", .notEqual, .string("/health")), ViewFixture.compare("country", .greaterOrEqual, .string("DE"))]),
            matches: { url, country in url != "/health" && (country.map { $0 >= "DE" } ?? false) }),
    ]

    /// Builds the view state the way the layers do: a random assignment of events to partial
    /// states, merged in random order.
    static func state(_ view: CompiledView, _ events: [Event], _ random: inout SplitMix64) -> ViewState {
        var parts = [ViewState](repeating: ViewState(), count: 7)
        for event in events { view.apply(values: event.values, eventTime: event.ts, to: &parts[random.int(0...parts.count - 1)]) }
        var merged = ViewState()
        for part in random.shuffled(parts) { merged.merge(part) }
        return merged
    }

    static func requests(base: Int64) -> [(RollupRequest, RollupOracle.DimensionFilter?)] {
        let ranges: [(Int64, Int64)] = [(base + 17 * minute + 12_345, base + 2 * hour + 41 * minute + 7), (base - hour, base + 5 * hour)]
        var requests: [(RollupRequest, RollupOracle.DimensionFilter?)] = []
        for (from, to) in ranges {
            for granularity in [minute, hour, nil] as [Int64?] {
                for groupBy in [[], ["url"], ["url", "country"], ["country"]] {
                    for filter in [nil] + dimensionFilters {
                        requests.append(
                            (
                                RollupRequest(
                                    from: from, to: to, groupBy: groupBy, filter: filter?.filter, window: .tumbling(granularity: granularity)), filter
                            ))
                    }
                }
            }
            for groupBy in [[], ["url"], ["country", "url"]] {
                for filter in [nil, dimensionFilters[0]] {
                    let hopping = WindowShape.hopping(size: 15 * minute, advance: 5 * minute)
                    requests.append((RollupRequest(from: from, to: to, groupBy: groupBy, filter: filter?.filter, window: hopping), filter))
                }
            }
            for groupBy in [[], ["url"], ["country"], ["country", "url"]] {
                for filter in [nil, dimensionFilters[0], dimensionFilters[2]] {
                    let session = WindowShape.session(gap: 10 * minute, key: "url")
                    requests.append((RollupRequest(from: from, to: to, groupBy: groupBy, filter: filter?.filter, window: session), filter))
                }
            }
        }
        // Sliding windows (advance = bucket) and a 1h gap.
        requests.append((RollupRequest(from: base, to: base + 3 * hour, groupBy: ["url"], window: .hopping(size: 10 * minute, advance: minute)), nil))
        requests.append((RollupRequest(from: base, to: base + 3 * hour, window: .session(gap: hour, key: "country")), nil))
        return requests
    }

    @Test("rollups of merged partial states match the oracle", arguments: bases)
    func oracle(base: Int64) throws {
        var random = SplitMix64(seed: UInt64(bitPattern: base) ^ 0x0AC1E)
        let events = ViewFixture.events(count: 4000, base: base, &random)
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        let state = Self.state(view, events, &random)
        let oracle = RollupOracle(events: events)
        var largestDistinct = 0, splitSessions = 0, nilGroups = 0, compared = 0
        for (request, filter) in Self.requests(base: base) {
            try view.check(request)
            let label = "\(request.window) \(request.groupBy) from \(request.from - base) to \(request.to - base) filter \(filter?.name ?? "none")"
            var kept = request.groupBy
            if case .session(_, let key) = request.window, !kept.contains(key) { kept.insert(key, at: 0) }
            let expected = oracle.rows(request, filter)
            RollupOracle.compare(view.rollup(state, request), expected, kept: kept, view: view, label: label)
            compared += expected.count
            largestDistinct = max(largestDistinct, expected.map { Set($0.events.compactMap(\.user)).count }.max() ?? 0)
            nilGroups += expected.filter { $0.group.contains(nil) }.count
            if case .session = request.window { splitSessions += expected.count - Set(expected.map(\.group)).count }
        }
        // The data exercise what they should: dense sketches, absent dimensions, gaps in sessions.
        #expect(largestDistinct > 4 * DistinctSketch.exactLimit)
        #expect(nilGroups > 100)
        #expect(splitSessions > 20)
        #expect(compared > 20_000)
    }

    @Test("merged partial states equal the state built in one pass, and hold one row per bucket and group", arguments: bases)
    func mergedEqualsSequential(base: Int64) throws {
        var random = SplitMix64(seed: 0x5E0 ^ UInt64(bitPattern: base))
        let events = ViewFixture.events(count: 3000, base: base, &random)
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        var sequential = ViewState()
        for event in events { view.apply(values: event.values, eventTime: event.ts, to: &sequential) }
        let merged = Self.state(view, random.shuffled(events), &random)
        #expect(merged == sequential)
        struct Key: Hashable {
            var bucket: Int64
            var url: String?
            var country: String?
        }
        let keys = Set(events.filter(\.passesViewFilter).map { Key(bucket: ViewFixture.floor($0.ts, Self.minute), url: $0.url, country: $0.country) })
        #expect(merged.count == keys.count)
        for key in merged.rows.keys {
            #expect(key.bucket % Self.minute == 0)
            let values = RollupOracle.strings(key.group.values)
            #expect(keys.contains(Key(bucket: key.bucket, url: values[0], country: values[1])))
        }
        // Encoding every state and decoding it back changes nothing.
        for (key, row) in merged.rows {
            let decoded = try row.map { try AggregateState.decode($0.encoded) }
            #expect(decoded == row, "row \(key)")
        }
    }

    @Test("buckets are floored, also before 1970")
    func bucketFloor() throws {
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        for (time, bucket) in [(0, 0), (59_999, 0), (60_000, 60_000), (-1, -60_000), (-60_000, -60_000), (-60_001, -120_000)] as [(Int64, Int64)] {
            #expect(view.bucket(of: time) == bucket, "\(time)")
            #expect(CompiledView.floor(time, to: 60_000) == bucket)
        }
    }
}
