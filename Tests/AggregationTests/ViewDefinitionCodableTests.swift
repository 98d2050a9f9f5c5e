import Aggregation
import Events
import Foundation
import Testing

/// The JSON shapes of API.md: views, filters and aggregates decode as documented and survive an
/// encode/decode round trip.
@Suite("View JSON")
struct ViewDefinitionCodableTests {
    static let apiExample = """
        {"name": "url_hourly", "stream": "pageviews",
         "filter": {"and": [{"field": "country", "op": "in", "value": ["US", "DE"]},
                            {"not": {"field": "url", "op": "=", "value": "/health"}}]},
         "dimensions": ["url", "country"],
         "bucket": "1m",
         "aggregates": {"views":   {"fn": "count"},
                        "users":   {"fn": "distinct", "field": "user_id"},
                        "lat_sum": {"fn": "sum", "field": "latency_ms"},
                        "lat_min": {"fn": "min", "field": "latency_ms"},
                        "lat_max": {"fn": "max", "field": "latency_ms"},
                        "lat_avg": {"fn": "avg", "field": "latency_ms"},
                        "lat_p95": {"fn": "quantile", "field": "latency_ms", "q": 0.95}},
         "schedule": "every 1h"}
        """

    static let apiStream = StreamDefinition(
        name: "pageviews", partitions: 4,
        fields: [
            FieldDefinition(name: "ts", type: .timestamp, required: true), FieldDefinition(name: "event_id", type: .string),
            FieldDefinition(name: "url", type: .string, required: true), FieldDefinition(name: "user_id", type: .string),
            FieldDefinition(name: "country", type: .string), FieldDefinition(name: "latency_ms", type: .double),
        ],
        timeField: "ts", keyField: "user_id", idField: "event_id")

    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(json.utf8))
    }

    static func roundTrip<T: Codable>(_ value: T) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
    }

    static func object(_ value: some Encodable) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any])
    }

    @Test("the API.md view decodes as documented, validates and round-trips")
    func apiView() throws {
        let view = try Self.decode(ViewDefinition.self, Self.apiExample)
        #expect(view.name == "url_hourly")
        #expect(view.stream == "pageviews")
        #expect(view.dimensions == ["url", "country"])
        #expect(view.bucketMilliseconds == 60_000)
        #expect(view.schedule == "every 1h")
        #expect(
            view.filter
                == .and([
                    .compare(field: "country", op: .in, values: [.string("US"), .string("DE")]),
                    .not(.compare(field: "url", op: .equal, values: [.string("/health")])),
                ]))
        #expect(
            view.aggregates.map(\.name) == ["lat_avg", "lat_max", "lat_min", "lat_p95", "lat_sum", "users", "views"], "no aggregate_order: sorted")
        let p95 = try #require(view.aggregate("lat_p95"))
        #expect(p95 == AggregateSpec(.quantile, field: "latency_ms", quantiles: [0.95]))
        #expect(!p95.quantilesAsList)
        #expect(view.aggregate("users") == AggregateSpec(.distinct, field: "user_id", precision: 12))
        #expect(view.aggregate("views") == AggregateSpec(.count))
        #expect(throws: Never.self) { try view.validate(against: Self.apiStream) }
        #expect(try Self.roundTrip(view) == view)
        let json = try Self.object(view)
        #expect(json["bucket"] as? String == "1m")
        #expect(json["aggregate_order"] as? [String] == view.aggregates.map(\.name))
    }

    @Test("aggregate_order keeps the output order")
    func aggregateOrder() throws {
        var json = Self.apiExample
        json.removeLast()
        json += #", "aggregate_order": ["views", "users", "lat_sum", "lat_min", "lat_max", "lat_avg", "lat_p95"]}"#
        let view = try Self.decode(ViewDefinition.self, json)
        #expect(view.aggregates.map(\.name) == ["views", "users", "lat_sum", "lat_min", "lat_max", "lat_avg", "lat_p95"])
        #expect(try Self.roundTrip(view) == view)
        var bad = Self.apiExample
        bad.removeLast()
        #expect(throws: DecodingError.self) { try Self.decode(ViewDefinition.self, bad + #", "aggregate_order": ["views"]}"#) }
        #expect(throws: DecodingError.self) {
            try Self.decode(
                ViewDefinition.self, bad + #", "aggregate_order": ["views", "views", "lat_sum", "lat_min", "lat_max", "lat_avg", "lat_p95"]}"#)
        }
    }

    @Test("the fixture view, with every function, round-trips")
    func fixtureView() throws {
        #expect(try Self.roundTrip(ViewFixture.view) == ViewFixture.view)
        var hourly = ViewFixture.view
        hourly.bucketMilliseconds = 3_600_000
        hourly.schedule = "0 * * * *"
        hourly.filter = nil
        #expect(try Self.roundTrip(hourly) == hourly)
        #expect(try Self.object(hourly)["bucket"] as? String == "1h")
    }

    @Test(
        "q as a number and q as a list",
        arguments: [
            (#"{"fn": "quantile", "field": "x", "q": 0.95}"#, [0.95], false),
            (#"{"fn": "quantile", "field": "x", "q": [0.5, 0.9]}"#, [0.5, 0.9], true),
            (#"{"fn": "quantile", "field": "x", "q": [0.99]}"#, [0.99], true),
            (#"{"fn": "quantile", "field": "x", "q": 1}"#, [1], false),
        ])
    func quantileShapes(json: String, quantiles: [Double], asList: Bool) throws {
        let spec = try Self.decode(AggregateSpec.self, json)
        #expect(spec.function == .quantile)
        #expect(spec.quantiles == quantiles)
        #expect(spec.quantilesAsList == asList)
        #expect(spec.relativeAccuracy == 0.01)
        #expect(try Self.roundTrip(spec) == spec)
        let encoded = try Self.object(spec)
        if asList {
            #expect(encoded["q"] as? [Double] == quantiles)
        } else {
            #expect(encoded["q"] as? Double == quantiles[0])
            #expect(!(encoded["q"] is [Any]))
        }
    }

    @Test("aggregate options and defaults")
    func aggregateOptions() throws {
        let distinct = try Self.decode(AggregateSpec.self, #"{"fn": "distinct", "field": "u", "precision": 14}"#)
        #expect(distinct == AggregateSpec(.distinct, field: "u", precision: 14))
        #expect(try Self.roundTrip(distinct) == distinct)
        let quantile = try Self.decode(AggregateSpec.self, #"{"fn": "quantile", "field": "x", "q": 0.5, "relative_accuracy": 0.002}"#)
        #expect(quantile.relativeAccuracy == 0.002)
        #expect(try Self.roundTrip(quantile) == quantile)
        for function in AggregateFunction.allCases where function != .quantile {
            let spec = AggregateSpec(function, field: function == .count ? nil : "x")
            #expect(try Self.roundTrip(spec) == spec, "\(function)")
        }
        #expect(throws: DecodingError.self) { try Self.decode(AggregateSpec.self, #"{"fn": "median", "field": "x"}"#) }
        #expect(throws: DecodingError.self) { try Self.decode(AggregateSpec.self, #"{"field": "x"}"#) }
    }

    @Test("filters of every shape decode and round-trip")
    func filters() throws {
        let cases: [(String, Filter)] = [
            (#"{"field": "url", "op": "=", "value": "/a"}"#, .compare(field: "url", op: .equal, values: [.string("/a")])),
            (#"{"field": "bytes", "op": "!=", "value": 1}"#, .compare(field: "bytes", op: .notEqual, values: [.number(1)])),
            (#"{"field": "latency", "op": "<", "value": 2.5}"#, .compare(field: "latency", op: .less, values: [.number(2.5)])),
            (#"{"field": "latency", "op": "<=", "value": -3}"#, .compare(field: "latency", op: .lessOrEqual, values: [.number(-3)])),
            (#"{"field": "ok", "op": ">", "value": true}"#, .compare(field: "ok", op: .greater, values: [.bool(true)])),
            (#"{"field": "ok", "op": ">=", "value": false}"#, .compare(field: "ok", op: .greaterOrEqual, values: [.bool(false)])),
            (
                #"{"field": "c", "op": "in", "value": ["US", 2, true]}"#,
                .compare(field: "c", op: .in, values: [.string("US"), .number(2), .bool(true)])
            ),
            (#"{"field": "c", "op": "exists"}"#, .compare(field: "c", op: .exists, values: [])),
            (#"{"not": {"field": "c", "op": "exists"}}"#, .not(.compare(field: "c", op: .exists, values: []))),
            (#"{"or": []}"#, .or([])),
            (
                #"{"or": [{"and": [{"field": "a", "op": "=", "value": "x"}]}, {"not": {"or": [{"field": "b", "op": "in", "value": []}]}}]}"#,
                .or([.and([.compare(field: "a", op: .equal, values: [.string("x")])]), .not(.or([.compare(field: "b", op: .in, values: [])]))])
            ),
        ]
        for (json, expected) in cases {
            let filter = try Self.decode(Filter.self, json)
            #expect(filter == expected, "\(json)")
            #expect(try Self.roundTrip(filter) == expected, "\(json)")
        }
        #expect(try Self.roundTrip(ViewFixture.viewFilter) == ViewFixture.viewFilter)
        #expect(ViewFixture.viewFilter.fields.sorted() == ["bytes", "country", "country", "latency", "url", "url", "user"])
    }

    @Test(
        "malformed views and filters are rejected",
        arguments: [
            #"{"field": "url", "op": "=="  , "value": "/a"}"#,
            #"{"field": "url", "op": "="}"#,
            #"{"field": "url", "op": "in", "value": "/a"}"#,
            #"{"op": "=", "value": "/a"}"#,
            #"{"field": "url", "op": "=", "value": null}"#,
            #"{"field": "url", "op": "=", "value": {"a": 1}}"#,
        ])
    func badFilters(json: String) {
        #expect(throws: DecodingError.self) { try Self.decode(Filter.self, json) }
    }

    @Test("bad buckets are rejected while decoding", arguments: ["90x", "", "m", "-1m", "0s", "1.5h"])
    func badBuckets(bucket: String) {
        let json = #"{"name": "v", "stream": "s", "bucket": "\#(bucket)", "aggregates": {"n": {"fn": "count"}}}"#
        #expect(throws: DecodingError.self) { try Self.decode(ViewDefinition.self, json) }
    }

    @Test(
        "durations decode to milliseconds",
        arguments: [("1s", 1000), ("30s", 30_000), ("5m", 300_000), ("2h", 7_200_000), ("1d", 86_400_000), ("500ms", 500)] as [(String, Int64)])
    func buckets(text: String, milliseconds: Int64) throws {
        let json = #"{"name": "v", "stream": "s", "bucket": "\#(text)", "aggregates": {"n": {"fn": "count"}}}"#
        let view = try Self.decode(ViewDefinition.self, json)
        #expect(view.bucketMilliseconds == milliseconds)
        #expect(view.dimensions == [])
        #expect(view.filter == nil)
        #expect(try Self.roundTrip(view) == view)
    }
}
