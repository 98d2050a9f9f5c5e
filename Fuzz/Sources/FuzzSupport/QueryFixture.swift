import Aggregation
import Events

/// A view over ``StreamFixture/stream`` with two dimensions and several aggregates, and a small
/// in-memory state built from fixed events: what the query target rolls up.
public enum QueryFixture {
    /// The first event's time: ``StreamFixture/ingestTime``.
    public static let base = StreamFixture.ingestTime

    /// Per-minute buckets by url and status; no view filter, so that every event is in the state.
    public static let definition = ViewDefinition(
        name: "fuzz_minutely",
        stream: StreamFixture.stream.name,
        dimensions: ["url", "status"],
        bucketMilliseconds: 60_000,
        aggregates: [
            ("views", AggregateSpec(.count)),
            ("bytes_sum", AggregateSpec(.sum, field: "bytes")),
            ("latency_avg", AggregateSpec(.avg, field: "latency")),
            ("users", AggregateSpec(.distinct, field: "user")),
            ("latency_q", AggregateSpec(.quantile, field: "latency", quantiles: [0.5, 0.99], quantilesAsList: true)),
            ("first_seen", AggregateSpec(.min, field: "ts")),
        ]
    )

    /// The compiled view.
    public static let view: CompiledView = {
        do { return try CompiledView(definition, stream: StreamFixture.stream) } catch { fatalError("the query fixture does not compile: \(error)") }
    }()

    /// How many events the state holds.
    public static let eventCount = 50

    /// The first and last millisecond RFC 3339 can write (years 0001 and 9999): two events lie
    /// there, so that window arithmetic meets the extremes of the times ingest accepts.
    public static let extremeTimes: [Int64] = [-62_135_596_800_000, 253_402_300_799_999]

    /// The state: 48 events over about three hours, and two at ``extremeTimes``, with absent
    /// values here and there.
    public static let state: ViewState = {
        var state = ViewState()
        for i in 0..<eventCount {
            let time = i < extremeTimes.count ? extremeTimes[i] : base + Int64(i) * 217_000
            let urls: [String?] = ["/", "/a", "/b", nil]
            let statuses: [Int64?] = [200, 404, 500, 200, nil]
            let values: [FieldValue?] = [
                .timestamp(time),
                .string("u\(i % 7)"),
                urls[i % urls.count].map(FieldValue.string),
                .string(i % 3 == 0 ? "US" : "DE"),
                statuses[i % statuses.count].map(FieldValue.int),
                .int(Int64(i * i * 13 % 5000)),
                i % 9 == 0 ? nil : .double(Double(i * 37 % 1000) / 8),
                .bool(i % 2 == 0),
                nil,
            ]
            view.apply(values: values, eventTime: time, to: &state)
        }
        return state
    }()
}
