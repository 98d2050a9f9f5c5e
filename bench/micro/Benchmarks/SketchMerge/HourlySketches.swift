import Aggregation
import Events
import PageviewFixtures

/// Per hour bucket of the generated week: the distinct-users sketch and the latency sketch.
struct HourlySketches: Sendable {
    var users: [DistinctSketch]
    var latencies: [QuantileSketch]

    /// Built once per process, on first use (in a setup, outside any measurement).
    static let week = HourlySketches(PageviewStream.generate(count: 1_000_000))

    init(_ events: [Pageview]) {
        let first = PageviewStream.start / PageviewStream.hour
        let hours = Int((PageviewStream.end - 1) / PageviewStream.hour - first + 1)
        users = Array(repeating: DistinctSketch(precision: AggregateSpec.defaultPrecision), count: hours)
        latencies = Array(repeating: QuantileSketch(relativeAccuracy: AggregateSpec.defaultRelativeAccuracy), count: hours)
        for event in events {
            let hour = Int(event.time / PageviewStream.hour - first)
            users[hour].add(.string(event.userID))
            latencies[hour].add(event.latency)
        }
    }
}
