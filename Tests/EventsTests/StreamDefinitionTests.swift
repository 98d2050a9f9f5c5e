import Events
import Foundation
import Testing

/// The error a throwing definition check gives, or nil.
func schemaError(_ body: () throws -> Void) -> SchemaError? {
    do {
        try body()
        return nil
    } catch let error as SchemaError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

@Suite("StreamDefinition")
struct StreamDefinitionTests {
    static let base = StreamDefinition(
        name: "orders", partitions: 4,
        fields: [
            FieldDefinition(name: "ts", type: .timestamp, required: true),
            FieldDefinition(name: "user", type: .string),
            FieldDefinition(name: "amount", type: .double),
            FieldDefinition(name: "id", type: .string),
        ],
        timeField: "ts", keyField: "user", idField: "id")

    @Test("a well-formed definition validates")
    func validates() {
        #expect(schemaError { try Self.base.validate() } == nil)
        #expect(schemaError { try StreamDefinition(name: "s", fields: [FieldDefinition(name: "x", type: .bool)]).validate() } == nil)
        var maxed = Self.base
        maxed.partitions = StreamDefinition.maxPartitions
        #expect(schemaError { try maxed.validate() } == nil)
        var intKey = Self.base
        intKey.fields.append(FieldDefinition(name: "shard", type: .int))
        intKey.keyField = "shard"
        #expect(schemaError { try intKey.validate() } == nil)
        #expect(Self.base.fieldIndex("amount") == 2)
        #expect(Self.base.fieldIndex("nope") == nil)
        #expect(Self.base.timeFieldIndex == 0)
        #expect(Self.base.keyFieldIndex == 1)
        #expect(StreamDefinition(name: "s", fields: []).timeFieldIndex == nil)
    }

    static let invalid: [(String, @Sendable (inout StreamDefinition) -> Void, String)] = [
        ("uppercase name", { $0.name = "Orders" }, "name"),
        ("empty name", { $0.name = "" }, "name"),
        ("zero partitions", { $0.partitions = 0 }, "partitions"),
        ("negative partitions", { $0.partitions = -1 }, "partitions"),
        ("too many partitions", { $0.partitions = StreamDefinition.maxPartitions + 1 }, "partitions"),
        (
            "no fields",
            {
                $0.fields = []; $0.timeField = nil; $0.keyField = nil; $0.idField = nil
            }, "fields"
        ),
        ("bad field name", { $0.fields.append(FieldDefinition(name: "Bad", type: .int)) }, "fields"),
        ("duplicate field", { $0.fields.append(FieldDefinition(name: "amount", type: .int)) }, "fields.amount"),
        ("undeclared time field", { $0.timeField = "when" }, "time_field"),
        ("time field not a timestamp", { $0.timeField = "amount" }, "time_field"),
        ("undeclared key field", { $0.keyField = "who" }, "key_field"),
        ("double key field", { $0.keyField = "amount" }, "key_field"),
        ("timestamp key field", { $0.keyField = "ts" }, "key_field"),
        ("undeclared id field", { $0.idField = "uuid" }, "id_field"),
        ("version zero", { $0.version = 0 }, "version"),
    ]

    @Test("validation names the field at fault", arguments: invalid.indices)
    func invalidDefinitions(case index: Int) {
        let (label, change, field) = Self.invalid[index]
        var definition = Self.base
        change(&definition)
        let error = schemaError { try definition.validate() }
        #expect(error?.code == .invalidStream, "\(label)")
        #expect(error?.field == field, "\(label)")
        #expect(error?.description.hasPrefix("invalid_stream: ") == true)
    }

    @Test("evolving to the same definition changes nothing")
    func evolveIdentical() throws {
        let same = try Self.base.evolved(to: Self.base)
        #expect(same == Self.base)
        #expect(same.version == 1)
        // the field order of a request does not matter
        var shuffled = Self.base
        shuffled.fields.reverse()
        #expect(try Self.base.evolved(to: shuffled) == Self.base)
    }

    @Test("added fields are appended after the existing ones and raise the version")
    func evolveAddsFields() throws {
        var requested = Self.base
        requested.fields = [
            FieldDefinition(name: "country", type: .string),
            FieldDefinition(name: "id", type: .string),
            FieldDefinition(name: "amount", type: .double),
            FieldDefinition(name: "user", type: .string),
            FieldDefinition(name: "ts", type: .timestamp, required: true),
            FieldDefinition(name: "age", type: .int),
        ]
        let evolved = try Self.base.evolved(to: requested)
        #expect(evolved.version == 2)
        #expect(Array(evolved.fields.prefix(4)) == Self.base.fields)
        #expect(Set(evolved.fields.dropFirst(4).map(\.name)) == ["country", "age"])
        #expect(evolved.fields.count == 6)
        #expect(evolved.fields.first { $0.name == "age" }?.type == .int)
        #expect(evolved.name == "orders")
        #expect(evolved.partitions == 4)
        #expect(schemaError { try evolved.validate() } == nil)
        // evolving again from the evolved definition to the same request is a no-op
        #expect(try evolved.evolved(to: requested) == evolved)
        // a later addition raises the version again
        var later = requested
        later.fields.append(FieldDefinition(name: "zip", type: .string))
        let third = try evolved.evolved(to: later)
        #expect(third.version == 3)
        #expect(third.fields.last?.name == "zip")
        #expect(Array(third.fields.prefix(6)) == evolved.fields)
    }

    @Test("policies can change without a new version")
    func evolvePolicies() throws {
        var requested = Self.base
        requested.unknownFields = .drop
        requested.defaultTime = .ingest
        let evolved = try Self.base.evolved(to: requested)
        #expect(evolved.unknownFields == .drop)
        #expect(evolved.defaultTime == .ingest)
        #expect(evolved.fields == Self.base.fields)
        #expect(evolved.version == 1)
    }

    static let conflicts: [(String, @Sendable (inout StreamDefinition) -> Void, String)] = [
        ("type change", { $0.fields[2].type = .int }, "fields.amount"),
        ("removed field", { $0.fields.remove(at: 2) }, "fields.amount"),
        ("renamed field", { $0.fields[2].name = "total" }, "fields.amount"),
        ("more partitions", { $0.partitions = 8 }, "partitions"),
        ("fewer partitions", { $0.partitions = 1 }, "partitions"),
        (
            "time field change",
            {
                $0.fields.append(FieldDefinition(name: "t2", type: .timestamp)); $0.timeField = "t2"
            }, "time_field"
        ),
        ("time field removed", { $0.timeField = nil }, "time_field"),
        ("key field change", { $0.keyField = "id" }, "key_field"),
        ("key field removed", { $0.keyField = nil }, "key_field"),
    ]

    @Test("changes that would alter stored data are conflicts", arguments: conflicts.indices)
    func evolveConflicts(case index: Int) {
        let (label, change, field) = Self.conflicts[index]
        var requested = Self.base
        change(&requested)
        let error = schemaError { _ = try Self.base.evolved(to: requested) }
        #expect(error?.code == .streamConflict, "\(label)")
        #expect(error?.field == field, "\(label)")
    }

    @Test("an added field with a bad name is invalid")
    func evolveInvalidAddition() {
        var requested = Self.base
        requested.fields.append(FieldDefinition(name: "Bad Name", type: .int))
        #expect(schemaError { _ = try Self.base.evolved(to: requested) }?.code == .invalidStream)
    }

    // MARK: Codable

    @Test("JSON shape: fields is an object keyed by name, schema order in field_order")
    func encodesJSONShape() throws {
        var definition = Self.base
        definition.unknownFields = .drop
        definition.defaultTime = .ingest
        definition.version = 3
        let data = try JSONEncoder().encode(definition)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["name"] as? String == "orders")
        #expect(object["partitions"] as? Int == 4)
        #expect(object["time_field"] as? String == "ts")
        #expect(object["key_field"] as? String == "user")
        #expect(object["id_field"] as? String == "id")
        #expect(object["unknown_fields"] as? String == "drop")
        #expect(object["default_time"] as? String == "ingest")
        #expect(object["version"] as? Int == 3)
        #expect(object["field_order"] as? [String] == ["ts", "user", "amount", "id"])
        let fields = try #require(object["fields"] as? [String: Any])
        #expect(Set(fields.keys) == ["ts", "user", "amount", "id"])
        let ts = try #require(fields["ts"] as? [String: Any])
        #expect(ts["type"] as? String == "timestamp")
        #expect(ts["required"] as? Bool == true)
        let amount = try #require(fields["amount"] as? [String: Any])
        #expect(amount["type"] as? String == "double")
        #expect(amount["required"] as? Bool == false)
        // absent optionals are left out
        let minimal =
            try JSONSerialization.jsonObject(
                with: try JSONEncoder().encode(
                    StreamDefinition(name: "m", fields: [FieldDefinition(name: "x", type: .int)]))) as? [String: Any]
        #expect(minimal?["time_field"] == nil)
        #expect(minimal?["key_field"] == nil)
        #expect(minimal?["default_time"] == nil)
    }

    @Test("Codable round trip keeps everything, including field order")
    func codableRoundTrip() throws {
        var definition = Self.base
        definition.fields.append(FieldDefinition(name: "aaa", type: .bool))  // not in name order
        definition.version = 2
        for policy in [UnknownFieldPolicy.reject, .drop] {
            definition.unknownFields = policy
            let decoded = try JSONDecoder().decode(StreamDefinition.self, from: try JSONEncoder().encode(definition))
            #expect(decoded == definition)
        }
    }

    @Test("decoding fills defaults and uses name order without field_order")
    func decodesDefaults() throws {
        let json = #"{"name":"clicks","fields":{"url":{"type":"string","required":true},"at":{"type":"timestamp"},"n":{"type":"int"}}}"#
        let decoded = try JSONDecoder().decode(StreamDefinition.self, from: Data(json.utf8))
        #expect(decoded.name == "clicks")
        #expect(decoded.partitions == 1)
        #expect(decoded.version == 1)
        #expect(decoded.unknownFields == .reject)
        #expect(decoded.defaultTime == nil)
        #expect(decoded.timeField == nil)
        #expect(
            decoded.fields == [
                FieldDefinition(name: "at", type: .timestamp),
                FieldDefinition(name: "n", type: .int),
                FieldDefinition(name: "url", type: .string, required: true),
            ])
        let ordered = #"{"name":"clicks","fields":{"url":{"type":"string"},"at":{"type":"timestamp"}},"field_order":["url","at"]}"#
        #expect(try JSONDecoder().decode(StreamDefinition.self, from: Data(ordered.utf8)).fields.map(\.name) == ["url", "at"])
    }

    @Test(
        "decoding rejects a bad field_order or type",
        arguments: [
            #"{"name":"c","fields":{"a":{"type":"int"},"b":{"type":"int"}},"field_order":["a"]}"#,
            #"{"name":"c","fields":{"a":{"type":"int"}},"field_order":["a","a"]}"#,
            #"{"name":"c","fields":{"a":{"type":"int"}},"field_order":["b"]}"#,
            #"{"name":"c","fields":{"a":{"type":"integer"}}}"#,
            #"{"name":"c","fields":[{"name":"a","type":"int"}]}"#,
            #"{"fields":{"a":{"type":"int"}}}"#,
            #"{"name":"c","fields":{"a":{"type":"int"}},"unknown_fields":"keep"}"#,
        ])
    func decodingErrors(json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(StreamDefinition.self, from: Data(json.utf8)) }
    }
}
