import Aggregation
import Events
import TandemTestSupport

/// A pageview-like stream, a view over it with a filter and every aggregate function, random
/// events, and a plain-Swift model of the view's filter: the ingredients of the brute-force oracle.
enum ViewFixture {
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000

    static let stream = StreamDefinition(
        name: "pageviews",
        partitions: 4,
        fields: [
            FieldDefinition(name: "ts", type: .timestamp, required: true),
            FieldDefinition(name: "url", type: .string),
            FieldDefinition(name: "country", type: .string),
            FieldDefinition(name: "user", type: .string),
            FieldDefinition(name: "latency", type: .double),
            FieldDefinition(name: "bytes", type: .int),
        ],
        timeField: "ts",
        keyField: "user"
    )

    static func compare(_ field: String, _ op: FilterOperator, _ values: FilterValue...) -> Filter {
        .compare(field: field, op: op, values: values)
    }

    /// `(country in [US, DE, FR] and not url = /health and latency <= 900)
    ///  or (not exists country and bytes >= 100)
    ///  or (url > "/rare" and user != "u7")`
    static let viewFilter: Filter = .or([
        .and([
            compare("country", .in, .string("US"), .string("DE"), .string("FR")),
            .not(compare("url", .equal, .string("/health"))),
            compare("latency", .lessOrEqual, .number(900)),
        ]),
        .and([.not(compare("country", .exists)), compare("bytes", .greaterOrEqual, .number(100))]),
        .and([compare("url", .greater, .string("/rare")), compare("user", .notEqual, .string("u7"))]),
    ])

    static let aggregates: [(name: String, spec: AggregateSpec)] = [
        ("views", AggregateSpec(.count)),
        ("bytes_sum", AggregateSpec(.sum, field: "bytes")),
        ("lat_sum", AggregateSpec(.sum, field: "latency")),
        ("lat_min", AggregateSpec(.min, field: "latency")),
        ("bytes_max", AggregateSpec(.max, field: "bytes")),
        ("lat_avg", AggregateSpec(.avg, field: "latency")),
        ("users", AggregateSpec(.distinct, field: "user")),
        ("lat_p50", AggregateSpec(.quantile, field: "latency", quantiles: [0.5])),
        ("lat_q", AggregateSpec(.quantile, field: "latency", quantiles: [0.5, 0.9], quantilesAsList: true)),
        ("first_seen", AggregateSpec(.min, field: "ts")),
    ]

    static let view = ViewDefinition(
        name: "url_minutely", stream: "pageviews", filter: viewFilter, dimensions: ["url", "country"], bucketMilliseconds: minute,
        aggregates: aggregates)

    /// One raw event.
    struct Event {
        var ts: Int64
        var url: String?
        var country: String?
        var user: String?
        var latency: Double?
        var bytes: Int64?

        /// One value per stream field, in schema order.
        var values: [FieldValue?] {
            [
                .timestamp(ts), url.map(FieldValue.string), country.map(FieldValue.string), user.map(FieldValue.string),
                latency.map(FieldValue.double), bytes.map(FieldValue.int),
            ]
        }

        /// The value of a dimension.
        func dimension(_ name: String) -> String? {
            switch name {
            case "url": url
            case "country": country
            default: nil
            }
        }

        /// The view's filter, written out by hand. An absent field fails every comparison except
        /// `!=` (and `exists` is false), as the compiled filter defines it.
        var passesViewFilter: Bool {
            let first = ["US", "DE", "FR"].contains(country ?? "") && country != nil && !(url == "/health") && (latency.map { $0 <= 900 } ?? false)
            let second = country == nil && (bytes.map { $0 >= 100 } ?? false)
            let third = (url.map { $0 > "/rare" } ?? false) && (user.map { $0 != "u7" } ?? true)
            return first || second || third
        }
    }

    /// `count` random events with times spread over three hours after `base`, in random order.
    static func events(count: Int, base: Int64, _ random: inout SplitMix64) -> [Event] {
        let common = ["/", "/a", "/b", "/health", "/products/1", "/products/2"]
        let rare = ["/rare/1", "/rare/2", "/rare/3", "/rare/4"]
        let countries = ["US", "DE", "FR", "JP", "BR"]
        return (0..<count).map { _ in
            let urlRoll = random.unit()
            let url: String? = urlRoll < 0.06 ? nil : urlRoll < 0.08 ? random.pick(rare) : random.pick(common)
            return Event(
                ts: base + random.int64(0...3 * hour - 1),
                url: url,
                country: random.chance(0.15) ? nil : random.pick(countries),
                user: random.chance(0.05) ? nil : random.chance(0.02) ? "u7" : "u\(random.int(0...1499))",
                latency: random.chance(0.1) ? nil : random.chance(0.03) ? 0 : Double(random.int(-16...8000)) / 8,
                bytes: random.chance(0.1) ? nil : random.int64(0...5000)
            )
        }
    }

    /// `time` rounded down to a multiple of `step`, also before 1970 (an independent formula).
    static func floor(_ time: Int64, _ step: Int64) -> Int64 {
        let quotient = time / step
        return (time % step != 0 && time < 0 ? quotient - 1 : quotient) * step
    }
}
