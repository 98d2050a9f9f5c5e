import Aggregation
import Events
import Testing

@testable import BatchLayer

@Suite("Typed columns")
struct TypedColumnsTests {
    static let stream = StreamDefinition(
        name: "s",
        fields: [
            FieldDefinition(name: "ts", type: .timestamp, required: true), FieldDefinition(name: "bucket_start", type: .string),
            FieldDefinition(name: "lat", type: .double),
        ],
        timeField: "ts")

    @Test("every column of the SQL view has its own name, within PostgreSQL's 63 bytes")
    func namesAreUnique() throws {
        let long = String(repeating: "q", count: 60)
        let view = try CompiledView(
            ViewDefinition(
                name: "v", stream: "s", dimensions: ["bucket_start"], bucketMilliseconds: 60_000,
                aggregates: [
                    ("lat", AggregateSpec(.avg, field: "lat")), ("lat_sum", AggregateSpec(.sum, field: "lat")),
                    (long, AggregateSpec(.quantile, field: "lat", quantiles: [0.5, 0.9], quantilesAsList: true)),
                    (long + "_q", AggregateSpec(.count)),
                ]),
            stream: Self.stream)
        let statements = TypedColumns(view).viewStatements(table: "tandem_vv_1", version: 1, cut: [5])
        let create = try #require(statements.first { $0.hasPrefix("CREATE VIEW") })
        let aliases = create.split(separator: " AS \"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(aliases.count == 1 + 1 + 3 + 1 + 2 + 1)
        #expect(Set(aliases).count == aliases.count, "\(aliases)")
        #expect(aliases.allSatisfy { $0.utf8.count <= 63 })
        #expect(aliases.contains("bucket_start"))
        #expect(aliases.contains("bucket_start_2"))
        #expect(aliases.contains("lat_sum_2"))
    }
}
