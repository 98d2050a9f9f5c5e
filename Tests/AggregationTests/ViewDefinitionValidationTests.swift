import Aggregation
import Events
import Testing

/// `ViewDefinition.validate(against:)`: the first problem found, with a stable code and field.
@Suite("ViewDefinition validation")
struct ViewDefinitionValidationTests {
    static func view(
        name: String = "v", filter: Filter? = nil, dimensions: [String] = ["url"], bucket: Int64 = 60_000,
        aggregates: [(name: String, spec: AggregateSpec)] = [("n", AggregateSpec(.count))]
    ) -> ViewDefinition {
        ViewDefinition(name: name, stream: "pageviews", filter: filter, dimensions: dimensions, bucketMilliseconds: bucket, aggregates: aggregates)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var view: ViewDefinition
        var code: ViewError.Code
        var field: String?
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "capital letters in the name", view: view(name: "Bad"), code: .invalidView, field: "name"),
        Case(label: "dash in the name", view: view(name: "bad-name"), code: .invalidView, field: "name"),
        Case(label: "empty name", view: view(name: ""), code: .invalidView, field: "name"),
        Case(label: "name starting with a digit", view: view(name: "1v"), code: .invalidView, field: "name"),
        Case(label: "name of 64 bytes", view: view(name: String(repeating: "a", count: 64)), code: .invalidView, field: "name"),
        Case(label: "bucket of 500 ms", view: view(bucket: 500), code: .invalidView, field: "bucket"),
        Case(label: "bucket of 1.5 s", view: view(bucket: 1500), code: .invalidView, field: "bucket"),
        Case(label: "bucket of 2 days", view: view(bucket: 172_800_000), code: .invalidView, field: "bucket"),
        Case(label: "bucket of zero", view: view(bucket: 0), code: .invalidView, field: "bucket"),
        Case(label: "unknown dimension", view: view(dimensions: ["url", "browser"]), code: .unknownField, field: "dimensions"),
        Case(label: "duplicate dimension", view: view(dimensions: ["url", "country", "url"]), code: .invalidView, field: "dimensions"),
        Case(label: "filter on an unknown field", view: view(filter: ViewFixture.compare("browser", .exists)), code: .unknownField, field: "filter"),
        Case(
            label: "filter value of the wrong type", view: view(filter: ViewFixture.compare("bytes", .less, .string("x"))), code: .invalidFilter,
            field: "filter"),
        Case(
            label: "fractional int in a filter", view: view(filter: ViewFixture.compare("bytes", .equal, .number(1.5))), code: .invalidFilter,
            field: "filter"),
        Case(label: "no aggregate", view: view(aggregates: []), code: .invalidView, field: "aggregates"),
        Case(
            label: "sum over a string", view: view(aggregates: [("s", AggregateSpec(.sum, field: "url"))]), code: .invalidAggregate,
            field: "aggregates.s"),
        Case(
            label: "avg over a timestamp", view: view(aggregates: [("a", AggregateSpec(.avg, field: "ts"))]), code: .invalidAggregate,
            field: "aggregates.a"),
        Case(
            label: "min over a string", view: view(aggregates: [("m", AggregateSpec(.min, field: "user"))]), code: .invalidAggregate,
            field: "aggregates.m"),
        Case(label: "sum without a field", view: view(aggregates: [("s", AggregateSpec(.sum))]), code: .invalidAggregate, field: "aggregates.s"),
        Case(
            label: "sum over an unknown field", view: view(aggregates: [("s", AggregateSpec(.sum, field: "nope"))]), code: .unknownField,
            field: "aggregates.s"),
        Case(
            label: "quantile q above 1", view: view(aggregates: [("p", AggregateSpec(.quantile, field: "latency", quantiles: [1.5]))]),
            code: .invalidAggregate, field: "aggregates.p"),
        Case(
            label: "quantile q below 0 in a list",
            view: view(aggregates: [("p", AggregateSpec(.quantile, field: "latency", quantiles: [0.5, -0.1], quantilesAsList: true))]),
            code: .invalidAggregate, field: "aggregates.p"),
        Case(
            label: "quantile without q", view: view(aggregates: [("p", AggregateSpec(.quantile, field: "latency"))]), code: .invalidAggregate,
            field: "aggregates.p"),
        Case(
            label: "quantile accuracy 1",
            view: view(aggregates: [("p", AggregateSpec(.quantile, field: "latency", quantiles: [0.5], relativeAccuracy: 1))]),
            code: .invalidAggregate, field: "aggregates.p"),
        Case(
            label: "distinct precision 3", view: view(aggregates: [("d", AggregateSpec(.distinct, field: "user", precision: 3))]),
            code: .invalidAggregate, field: "aggregates.d"),
        Case(
            label: "distinct precision 17", view: view(aggregates: [("d", AggregateSpec(.distinct, field: "user", precision: 17))]),
            code: .invalidAggregate, field: "aggregates.d"),
        Case(
            label: "aggregate named like a dimension", view: view(aggregates: [("url", AggregateSpec(.count))]), code: .invalidAggregate,
            field: "aggregates.url"),
        Case(
            label: "aggregate named time", view: view(aggregates: [("time", AggregateSpec(.count))]), code: .invalidAggregate,
            field: "aggregates.time"),
        Case(
            label: "aggregate named end", view: view(aggregates: [("end", AggregateSpec(.count))]), code: .invalidAggregate, field: "aggregates.end"),
        Case(
            label: "aggregate declared twice", view: view(aggregates: [("n", AggregateSpec(.count)), ("n", AggregateSpec(.count))]),
            code: .invalidAggregate, field: "aggregates.n"),
    ]

    @Test("invalid views are rejected with their code and field", arguments: cases)
    func rejects(_ item: Case) {
        let error = #expect(throws: ViewError.self) { try item.view.validate(against: ViewFixture.stream) }
        #expect(error?.code == item.code, "\(String(describing: error))")
        #expect(error?.field == item.field, "\(String(describing: error))")
        #expect(throws: ViewError.self) { try CompiledView(item.view, stream: ViewFixture.stream) }
    }

    @Test("valid views pass")
    func accepts() {
        let valid: [ViewDefinition] = [
            ViewFixture.view,
            Self.view(dimensions: [], bucket: 1000),
            Self.view(bucket: 86_400_000),
            Self.view(name: "a" + String(repeating: "_9", count: 31)),
            Self.view(aggregates: [
                ("t_min", AggregateSpec(.min, field: "ts")), ("t_max", AggregateSpec(.max, field: "ts")),
                ("d4", AggregateSpec(.distinct, field: "bytes", precision: 4)), ("d16", AggregateSpec(.distinct, field: "ts", precision: 16)),
                ("q", AggregateSpec(.quantile, field: "bytes", quantiles: [0, 1], quantilesAsList: true)),
                ("n", AggregateSpec(.count, field: "url")),
            ]),
        ]
        for view in valid {
            #expect(throws: Never.self) { try view.validate(against: ViewFixture.stream) }
        }
    }
}
