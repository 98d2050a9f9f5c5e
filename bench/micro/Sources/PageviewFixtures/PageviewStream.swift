import Aggregation
import Events
import Foundation

/// The pageview stream of issue 10's benchmark, at micro-benchmark size: 7 days, 10,000 urls
/// drawn by Zipf (s = 1.1), 1M users, 50 countries, lognormal latency (median 80 ms, σ 0.7),
/// 5% of events up to 10 minutes late. The same shape as `bench/serving` (times, url and user
/// names), plus the country the issue names.
public enum PageviewStream {
    /// One hour, in milliseconds.
    public static let hour: Int64 = 3_600_000
    /// One day, in milliseconds.
    public static let day: Int64 = 24 * hour
    /// The end of the generated week: 2026-11-22T00:30:00Z (not on the hour, so events touch
    /// 169 hour buckets).
    public static let end: Int64 = 1_795_307_400_000
    /// The start of the generated week.
    public static let start: Int64 = end - 7 * day
    /// Where the batch layer's version ends: the first six days are in it, the seventh only in
    /// the speed layer.
    public static let cut: Int64 = start + 6 * day
    /// The hour-aligned range that holds every generated event: 2026-11-15T00:00:00Z to
    /// 2026-11-22T01:00:00Z, 169 hours.
    public static let seriesStart: Int64 = start / hour * hour
    public static let seriesEnd: Int64 = (end + hour - 1) / hour * hour
    /// Distinct urls.
    public static let urls = 10_000
    /// Distinct users.
    public static let users = 1_000_000
    /// Fraction of events that arrive late, and by how much at most.
    public static let lateFraction = 0.05
    public static let maxLateness: Int64 = 10 * 60_000

    /// The stream: partitioned by user, timed by `ts`.
    public static func definition(partitions: Int = 2) -> StreamDefinition {
        StreamDefinition(
            name: "pageviews", partitions: partitions,
            fields: [
                FieldDefinition(name: "ts", type: .timestamp, required: true),
                FieldDefinition(name: "url", type: .string, required: true),
                FieldDefinition(name: "user_id", type: .string),
                FieldDefinition(name: "country", type: .string),
                FieldDefinition(name: "latency_ms", type: .double),
            ],
            timeField: "ts", keyField: "user_id")
    }

    /// Views per url and hour: `views` (count).
    public static let urlHourly = ViewDefinition(
        name: "url_hourly", stream: "pageviews", dimensions: ["url"], bucketMilliseconds: hour,
        aggregates: [("views", AggregateSpec(.count))])

    /// Per hour: `views` (count), `users` (distinct, HyperLogLog) and `p95` (latency, DDSketch).
    public static let hourly = ViewDefinition(
        name: "hourly", stream: "pageviews", dimensions: [], bucketMilliseconds: hour,
        aggregates: [
            ("views", AggregateSpec(.count)),
            ("users", AggregateSpec(.distinct, field: "user_id")),
            ("p95", AggregateSpec(.quantile, field: "latency_ms", quantiles: [0.95])),
        ])

    private static let countryCodes = [
        "US", "DE", "FR", "GB", "BR", "IN", "JP", "CN", "CA", "AU", "ES", "IT", "NL", "SE", "PL", "MX", "AR", "KR", "ID", "TR",
        "RU", "ZA", "NG", "EG", "SA", "AE", "IL", "CH", "AT", "BE", "DK", "NO", "FI", "IE", "PT", "GR", "CZ", "HU", "RO", "UA",
        "TH", "VN", "PH", "MY", "SG", "NZ", "CL", "CO", "PE", "KE",
    ]
    private static let urlRanks = ZipfDistribution(count: urls, exponent: 1.1)
    private static let countryRanks = ZipfDistribution(count: countryCodes.count, exponent: 1.0)

    /// `count` pageviews with event times in `[from, to)`, in the order they arrive (event time
    /// plus any lateness), the same for the same seed.
    public static func generate(count: Int, from: Int64 = start, to: Int64 = end, seed: UInt64 = 42) -> [Pageview] {
        var generator = SeededGenerator(seed: seed)
        let span = UInt64(to - from)
        var events: [(arrival: Int64, event: Pageview)] = []
        events.reserveCapacity(count)
        for _ in 0..<count {
            let time = from + Int64(generator.next() % span)
            let late = generator.unit() < lateFraction ? 1 + Int64(generator.next() % UInt64(maxLateness)) : 0
            let latency = (exp(log(80.0) + 0.7 * generator.normal()) * 10).rounded() / 10
            let event = Pageview(
                time: time, url: "/page/\(urlRanks.sample(&generator))", userID: "u\(generator.next() % UInt64(users))",
                country: countryCodes[countryRanks.sample(&generator) - 1], latency: latency)
            events.append((time + late, event))
        }
        // Stable: events that arrive in the same millisecond keep their drawing order.
        return events.enumerated().sorted { ($0.element.arrival, $0.offset) < ($1.element.arrival, $1.offset) }.map(\.element.event)
    }
}
