import Aggregation
import Events
import Testing

/// Computes the rows a rollup must answer straight from the raw events, and compares them with
/// what `CompiledView.rollup` answers from merged state.
struct RollupOracle {
    typealias Event = ViewFixture.Event

    /// An expected row: its window, its group (kept dimensions' values) and the events in it.
    struct Row {
        var time: Int64?
        var end: Int64?
        var group: [String?]
        var events: [Event]
    }

    /// A dimension filter written out by hand, next to its `Filter`.
    struct DimensionFilter: @unchecked Sendable {
        var name: String
        var filter: Filter
        var matches: (_ url: String?, _ country: String?) -> Bool
    }

    let events: [Event]
    let bucket: Int64 = ViewFixture.minute

    /// The rows for `request`, sorted by time, then group (absent values first).
    func rows(_ request: RollupRequest, _ dimensionFilter: DimensionFilter?) -> [Row] {
        var kept = request.groupBy
        if case .session(_, let key) = request.window, !kept.contains(key) { kept.insert(key, at: 0) }
        var cells: [[String?]: [Int64?: [Event]]] = [:]
        var sessionBuckets: [[String?]: [Int64: [Event]]] = [:]
        for event in events where event.passesViewFilter {
            let start = ViewFixture.floor(event.ts, bucket)
            guard start >= request.from, start < request.to else { continue }
            if let dimensionFilter, !dimensionFilter.matches(event.url, event.country) { continue }
            let group = kept.map(event.dimension)
            switch request.window {
            case .tumbling(let granularity):
                cells[group, default: [:]][granularity.map { ViewFixture.floor(start, $0) }, default: []].append(event)
            case .hopping(let size, let advance):
                var window = ViewFixture.floor(start, advance)
                while window > start - size {
                    if window >= request.from, window < request.to { cells[group, default: [:]][window, default: []].append(event) }
                    window -= advance
                }
            case .session:
                sessionBuckets[group, default: [:]][start, default: []].append(event)
            }
        }
        var rows: [Row] = []
        for (group, byTime) in cells {
            for (time, events) in byTime { rows.append(Row(time: time, end: nil, group: group, events: events)) }
        }
        if case .session(let gap, _) = request.window {
            for (group, byBucket) in sessionBuckets {
                var open: Row?
                for start in byBucket.keys.sorted() {
                    if var session = open, start - session.end! < gap {
                        session.end = start + bucket
                        session.events += byBucket[start]!
                        open = session
                    } else {
                        if let session = open { rows.append(session) }
                        open = Row(time: start, end: start + bucket, group: group, events: byBucket[start]!)
                    }
                }
                if let session = open { rows.append(session) }
            }
        }
        return rows.sorted { Self.precedes(($0.time, $0.group), ($1.time, $1.group)) }
    }

    /// Time (absent first), then group values (absent first, then string order).
    static func precedes(_ a: (Int64?, [String?]), _ b: (Int64?, [String?])) -> Bool {
        if a.0 != b.0 { return (a.0 ?? .min) < (b.0 ?? .min) }
        for (x, y) in zip(a.1, b.1) where x != y {
            guard let x else { return true }
            guard let y else { return false }
            return x < y
        }
        return false
    }

    /// The strings of a row's group values (every dimension of the fixture is a string).
    static func strings(_ group: [FieldValue?]) -> [String?] {
        group.map { value in
            guard let value else { return nil }
            if case .string(let text) = value { return text }
            Issue.record("non-string dimension value \(value)")
            return nil
        }
    }

    /// Compares `actual` with the expected rows, aggregate by aggregate.
    static func compare(_ actual: [RollupRow], _ expected: [Row], kept: [String], view: CompiledView, label: String) {
        #expect(actual.count == expected.count, "\(label): \(actual.count) rows, expected \(expected.count)")
        for (a, b) in zip(actual, actual.dropFirst()) {
            #expect(precedes((a.time, strings(a.group)), (b.time, strings(b.group))), "\(label): rows out of order")
        }
        for (row, want) in zip(actual, expected) {
            let where_ = "\(label) row at \(want.time.map(String.init) ?? "all") \(want.group)"
            guard row.time == want.time, strings(row.group) == want.group else {
                Issue.record("\(where_): got row at \(row.time.map(String.init) ?? "all") \(strings(row.group))")
                return
            }
            #expect(row.end == want.end, "\(where_): end")
            #expect(row.dimensions == kept, "\(where_): dimensions")
            compareAggregates(view.results(row.states), want.events, where_)
        }
    }

    static func compareAggregates(_ results: [AggregateValue], _ events: [Event], _ label: String) {
        let latencies = events.compactMap(\.latency)
        let bytes = events.compactMap(\.bytes)
        let users = Set(events.compactMap(\.user))
        #expect(results.count == ViewFixture.aggregates.count)
        guard results.count == 10 else { return }
        #expect(results[0] == .int(Int64(events.count)), "\(label): views")
        #expect(results[1] == .int(bytes.reduce(0, +)), "\(label): bytes_sum")
        #expect(results[2] == .double(latencies.reduce(0, +)), "\(label): lat_sum \(results[2])")
        #expect(results[3] == (latencies.min().map(AggregateValue.double) ?? .null), "\(label): lat_min")
        #expect(results[4] == (bytes.max().map(AggregateValue.int) ?? .null), "\(label): bytes_max")
        if latencies.isEmpty {
            #expect(results[5] == .null, "\(label): lat_avg")
        } else if case .double(let average) = results[5] {
            let exact = latencies.reduce(0, +) / Double(latencies.count)
            #expect(abs(average - exact) <= 1e-12 * abs(exact), "\(label): lat_avg \(average) vs \(exact)")
        } else {
            Issue.record("\(label): lat_avg answered \(results[5])")
        }
        if case .int(let estimate) = results[6] {
            let truth = Double(users.count)
            if users.count <= DistinctSketch.exactLimit {
                #expect(estimate == Int64(users.count), "\(label): users")
            } else {
                #expect(abs(Double(estimate) - truth) <= 4 * (1.04 / 64) * truth, "\(label): users \(estimate) vs \(truth)")
            }
        } else {
            Issue.record("\(label): users answered \(results[6])")
        }
        let sorted = latencies.sorted()
        func checkQuantile(_ q: Double, _ answer: AggregateValue) {
            guard !sorted.isEmpty else {
                #expect(answer == .null, "\(label): q \(q) of nothing")
                return
            }
            let exact = sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
            guard case .double(let value) = answer else {
                Issue.record("\(label): q \(q) answered \(answer)")
                return
            }
            #expect(abs(value - exact) <= 0.01 * abs(exact) + 1e-9, "\(label): q \(q) \(value) vs \(exact)")
        }
        checkQuantile(0.5, results[7])
        if case .object(let pairs) = results[8] {
            #expect(pairs.map(\.0) == ["0.5", "0.9"], "\(label): quantile keys")
            for (q, pair) in zip([0.5, 0.9], pairs) { checkQuantile(q, pair.1) }
        } else {
            Issue.record("\(label): lat_q answered \(results[8])")
        }
        #expect(results[9] == (events.map(\.ts).min().map { .string(Timestamp.format($0)) } ?? .null), "\(label): first_seen")
    }
}
