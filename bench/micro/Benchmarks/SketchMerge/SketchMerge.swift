import Aggregation
import Benchmark
import Events
import PageviewFixtures

/// Sketch merge: the hourly sketches of a week of pageviews (1M events, about 5,900 per hour,
/// 169 hour buckets) merged into one, as a query over the `hourly` view with `granularity: all`
/// merges them. One iteration is one week: 169 merges into a fresh sketch.
///
/// - Distinct users: HyperLogLog at the default precision (4,096 one-byte registers); every
///   hourly sketch is past the exact limit of 256 hashes, so each merge is a register-wise
///   maximum.
/// - p95 latency: DDSketch at the default 1 % accuracy (a few hundred bins each, lognormal
///   latencies); each merge adds bin counts.
let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2), maxIterations: 100_000)
    Benchmark("Sketch merge, distinct users (HLL, 4,096 registers), 169 hourly sketches", configuration: configuration) {
        benchmark, week in
        var total = DistinctSketch(precision: AggregateSpec.defaultPrecision)
        for sketch in week.users { total.merge(sketch) }
        blackHole(total)
    } setup: {
        HourlySketches.week
    }

    Benchmark("Sketch merge, p95 latency (DDSketch, 1 %), 169 hourly sketches", configuration: configuration) { benchmark, week in
        var total = QuantileSketch(relativeAccuracy: AggregateSpec.defaultRelativeAccuracy)
        for sketch in week.latencies { total.merge(sketch) }
        blackHole(total)
    } setup: {
        HourlySketches.week
    }
}
