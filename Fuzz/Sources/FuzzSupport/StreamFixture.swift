import Events

/// The stream every fuzz target works against: one field of each type, a time field, a key field,
/// and a second timestamp that is not the time field.
public enum StreamFixture {
    /// The ingest time the parser stamps, 2026-01-01T00:00:00Z.
    public static let ingestTime: Int64 = 1_767_225_600_000

    /// The schema. Its version is 2 so that a record's schema version is not the default.
    public static let stream = StreamDefinition(
        name: "fuzz_events",
        partitions: 4,
        fields: [
            FieldDefinition(name: "ts", type: .timestamp),
            FieldDefinition(name: "user", type: .string, required: true),
            FieldDefinition(name: "url", type: .string),
            FieldDefinition(name: "country", type: .string),
            FieldDefinition(name: "status", type: .int),
            FieldDefinition(name: "bytes", type: .int),
            FieldDefinition(name: "latency", type: .double),
            FieldDefinition(name: "ok", type: .bool),
            FieldDefinition(name: "seen", type: .timestamp),
        ],
        timeField: "ts",
        keyField: "user",
        idField: "url",
        version: 2
    )

    /// The field types, in schema order.
    public static let fieldTypes = stream.fields.map(\.type)
}
