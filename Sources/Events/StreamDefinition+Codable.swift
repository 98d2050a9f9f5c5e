/// The JSON shape of a stream (README, HTTP API: Streams): `fields` is an object keyed by field name.
///
/// JSON objects carry no order, so the schema order travels in `field_order`; a definition posted
/// without it gets its fields in name order.
extension StreamDefinition: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, partitions, fields, version
        case timeField = "time_field"
        case keyField = "key_field"
        case idField = "id_field"
        case unknownFields = "unknown_fields"
        case defaultTime = "default_time"
        case fieldOrder = "field_order"
    }

    private struct FieldBody: Codable {
        var type: FieldType
        var required: Bool?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let bodies = try container.decode([String: FieldBody].self, forKey: .fields)
        let order = try container.decodeIfPresent([String].self, forKey: .fieldOrder)
        var names = bodies.keys.sorted()
        if let order {
            guard Set(order) == Set(names), order.count == names.count else {
                throw DecodingError.dataCorruptedError(
                    forKey: .fieldOrder, in: container, debugDescription: "field_order must name every field once")
            }
            names = order
        }
        self.init(
            name: try container.decode(String.self, forKey: .name),
            partitions: try container.decodeIfPresent(Int.self, forKey: .partitions) ?? 1,
            fields: names.map { FieldDefinition(name: $0, type: bodies[$0]!.type, required: bodies[$0]!.required ?? false) },
            timeField: try container.decodeIfPresent(String.self, forKey: .timeField),
            keyField: try container.decodeIfPresent(String.self, forKey: .keyField),
            idField: try container.decodeIfPresent(String.self, forKey: .idField),
            unknownFields: try container.decodeIfPresent(UnknownFieldPolicy.self, forKey: .unknownFields) ?? .reject,
            defaultTime: try container.decodeIfPresent(DefaultTime.self, forKey: .defaultTime),
            version: try container.decodeIfPresent(Int.self, forKey: .version) ?? 1
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(partitions, forKey: .partitions)
        try container.encodeIfPresent(timeField, forKey: .timeField)
        try container.encodeIfPresent(keyField, forKey: .keyField)
        try container.encodeIfPresent(idField, forKey: .idField)
        var bodies: [String: FieldBody] = [:]
        for field in fields { bodies[field.name] = FieldBody(type: field.type, required: field.required) }
        try container.encode(bodies, forKey: .fields)
        try container.encode(fields.map(\.name), forKey: .fieldOrder)
        try container.encode(unknownFields, forKey: .unknownFields)
        try container.encodeIfPresent(defaultTime, forKey: .defaultTime)
        try container.encode(version, forKey: .version)
    }
}
