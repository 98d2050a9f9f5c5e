import Aggregation
import Events
import Foundation
import FuzzSupport

/// The entry point: libFuzzer's driver on ``fuzzQuery(_:_:)``.
@main
enum FuzzQueryMain {
    static func main() { runLibFuzzer(fuzzQuery) }
}

/// Rollup queries on arbitrary JSON against a fixed view and state.
///
/// The input is a ``Query``. A query that ``CompiledView/check(_:limits:)`` accepts with the
/// server's default limits is rolled up, and every row must answer. Rows must carry the kept
/// dimensions, hopping windows must start inside the range, sessions must end after they start,
/// and for tumbling and session windows the rows' counts must add up to the events in range that
/// pass the filter.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQuery(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    guard let query = try? JSONDecoder().decode(Query.self, from: Data(input)), let request = query.request() else { return 0 }
    let view = QueryFixture.view
    // The server's limits: a query whose cost they refuse is not rolled up, and a roll-up may
    // still stop at `maxRows`. No deadline: slowness is libFuzzer's -timeout to report.
    let limits = RollupLimits()
    guard (try? view.check(request, limits: limits)) != nil, let rows = try? view.rollup(QueryFixture.state, request, limits: limits) else {
        return 0
    }
    var total: Int64 = 0
    for row in rows {
        fuzzCheck(row.dimensions == request.keptDimensions && row.group.count == row.dimensions.count, "row \(row) for \(request)")
        _ = view.results(row.states)
        if case .count(let n) = row.states[0] { total += n }
        if case .hopping = request.window, let time = row.time {
            fuzzCheck(time >= request.from && time < request.to, "hopping window at \(time) outside [\(request.from), \(request.to))")
        }
        if let time = row.time, let end = row.end { fuzzCheck(time < end, "session from \(time) to \(end)") }
    }
    switch request.window {
    case .hopping: break  // an event counts once per window its bucket falls in
    case .tumbling, .session:
        let expected = expectedCount(request)
        fuzzCheck(total == expected, "rows count \(total) events, the state has \(expected) in range for \(request)")
    }
    return 0
}

/// The events of the fixture state in the request's range that pass its filter: an independent
/// sum over the state's rows.
func expectedCount(_ request: RollupRequest) -> Int64 {
    let view = QueryFixture.view
    let dimensions = view.definition.dimensions.map { name in (name: name, type: view.stream.fields[view.stream.fieldIndex(name)!].type) }
    let filter = request.filter.map { try! CompiledFilter($0, fields: dimensions) }
    var total: Int64 = 0
    for (key, row) in QueryFixture.state.rows where key.bucket >= request.from && key.bucket < request.to {
        if let filter, !filter.matches(key.group.values) { continue }
        if case .count(let n) = row[0] { total += n }
    }
    return total
}

/// The fuzzed query: the parts of `POST /v1/query` that shape a rollup, with times as epoch
/// milliseconds and durations as text (`15m`), as in the API.
struct Query: Decodable {
    struct Window: Decodable {
        var type: String
        var size: String?
        var advance: String?
        var gap: String?
        var key: String?
    }

    var from: Int64
    var to: Int64
    var groupBy: [String]?
    var filter: Filter?
    var window: Window?
    var granularity: String?

    enum CodingKeys: String, CodingKey {
        case from, to, filter, window, granularity
        case groupBy = "group_by"
    }

    /// The rollup the serving layer would ask for, or `nil` where it would refuse the query
    /// before checking it (a malformed duration, an unknown window type).
    func request() -> RollupRequest? {
        let bucket = QueryFixture.definition.bucketMilliseconds
        func duration(_ text: String?) -> Int64?? { text.map(DurationText.milliseconds) }
        let shape: WindowShape
        switch window?.type ?? "tumbling" {
        case "tumbling":
            switch granularity {
            case nil: shape = .tumbling(granularity: bucket)
            case "all"?: shape = .tumbling(granularity: nil)
            case let text?:
                guard let step = DurationText.milliseconds(text) else { return nil }
                shape = .tumbling(granularity: step)
            }
        case "hopping", "sliding":
            guard let size = duration(window?.size), let size, let advance = duration(window?.advance) ?? bucket else { return nil }
            shape = .hopping(size: size, advance: advance)
        case "session":
            guard let gap = duration(window?.gap), let gap, let key = window?.key else { return nil }
            shape = .session(gap: gap, key: key)
        default:
            return nil
        }
        return RollupRequest(from: from, to: to, groupBy: groupBy ?? [], filter: filter, window: shape)
    }
}
