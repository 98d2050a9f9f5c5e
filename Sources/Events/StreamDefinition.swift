/// What to do with event fields that the schema does not declare.
public enum UnknownFieldPolicy: String, Sendable, Codable {
    /// The event is invalid (`unknown_field`).
    case reject
    /// The field is silently left out of the stored record.
    case drop
}

/// Where an event's time comes from when its time field is absent.
public enum DefaultTime: String, Sendable, Codable {
    /// The time the server accepted the event.
    case ingest
}

/// One declared field of a stream.
public struct FieldDefinition: Sendable, Equatable {
    /// The field's name, `[a-z][a-z0-9_]{0,62}`.
    public var name: String
    /// The field's type.
    public var type: FieldType
    /// Whether every event must carry a non-null value for this field.
    public var required: Bool

    /// Creates a field definition.
    public init(name: String, type: FieldType, required: Bool = false) {
        self.name = name
        self.type = type
        self.required = required
    }
}

/// A stream: a named, partitioned, typed sequence of events.
///
/// Fields keep the order in which they were added to the stream; the binary record format relies on
/// it, so a field added later is appended and old records decode it as absent.
public struct StreamDefinition: Sendable, Equatable {
    /// The stream's name, `[a-z][a-z0-9_]{0,62}`.
    public var name: String
    /// How many log partitions hold the stream's events.
    public var partitions: Int
    /// The fields, in schema order.
    public var fields: [FieldDefinition]
    /// The field that holds the event time, a `timestamp` field. When `nil`, the ingest time is
    /// the event time.
    public var timeField: String?
    /// The field whose value chooses the partition; round-robin when `nil` or absent.
    public var keyField: String?
    /// A field that identifies an event, carried for consumers (de-duplication is not done yet).
    public var idField: String?
    /// What happens to undeclared fields.
    public var unknownFields: UnknownFieldPolicy
    /// What the event time is when the time field is absent; `nil` makes it an error.
    public var defaultTime: DefaultTime?
    /// The schema version, starting at 1 and raised each time fields are added.
    public var version: Int

    /// Creates a stream definition. Call ``validate()`` before using it.
    public init(
        name: String,
        partitions: Int = 1,
        fields: [FieldDefinition],
        timeField: String? = nil,
        keyField: String? = nil,
        idField: String? = nil,
        unknownFields: UnknownFieldPolicy = .reject,
        defaultTime: DefaultTime? = nil,
        version: Int = 1
    ) {
        self.name = name
        self.partitions = partitions
        self.fields = fields
        self.timeField = timeField
        self.keyField = keyField
        self.idField = idField
        self.unknownFields = unknownFields
        self.defaultTime = defaultTime
        self.version = version
    }

    /// The index of the field with this name, if declared.
    public func fieldIndex(_ name: String) -> Int? {
        fields.firstIndex { $0.name == name }
    }

    /// The index of the time field, if the stream has one.
    public var timeFieldIndex: Int? { timeField.flatMap(fieldIndex) }

    /// The index of the key field, if the stream has one.
    public var keyFieldIndex: Int? { keyField.flatMap(fieldIndex) }
}
