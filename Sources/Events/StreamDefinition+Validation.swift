extension StreamDefinition {
    /// The largest partition count a stream may have.
    public static let maxPartitions = 1024

    /// Checks the definition, throwing the first problem found.
    public func validate() throws(SchemaError) {
        guard Names.isValid(name) else {
            throw SchemaError(.invalidStream, "stream name \"\(name)\" must match [a-z][a-z0-9_]{0,62}", field: "name")
        }
        guard (1...Self.maxPartitions).contains(partitions) else {
            throw SchemaError(.invalidStream, "partitions must be between 1 and \(Self.maxPartitions), got \(partitions)", field: "partitions")
        }
        guard !fields.isEmpty else {
            throw SchemaError(.invalidStream, "a stream needs at least one field", field: "fields")
        }
        var seen = Set<String>()
        for field in fields {
            guard Names.isValid(field.name) else {
                throw SchemaError(.invalidStream, "field name \"\(field.name)\" must match [a-z][a-z0-9_]{0,62}", field: "fields")
            }
            guard seen.insert(field.name).inserted else {
                throw SchemaError(.invalidStream, "field \"\(field.name)\" is declared twice", field: "fields.\(field.name)")
            }
        }
        if let timeField {
            guard let index = fieldIndex(timeField) else {
                throw SchemaError(.invalidStream, "time_field \"\(timeField)\" is not a declared field", field: "time_field")
            }
            guard fields[index].type == .timestamp else {
                throw SchemaError(.invalidStream, "time_field \"\(timeField)\" must have type timestamp", field: "time_field")
            }
        }
        if let keyField {
            guard let index = fieldIndex(keyField) else {
                throw SchemaError(.invalidStream, "key_field \"\(keyField)\" is not a declared field", field: "key_field")
            }
            guard fields[index].type == .string || fields[index].type == .int else {
                throw SchemaError(.invalidStream, "key_field \"\(keyField)\" must have type string or int", field: "key_field")
            }
        }
        if let idField {
            guard fieldIndex(idField) != nil else {
                throw SchemaError(.invalidStream, "id_field \"\(idField)\" is not a declared field", field: "id_field")
            }
        }
        guard version >= 1 else {
            throw SchemaError(.invalidStream, "version must be 1 or more", field: "version")
        }
    }

    /// The stream as it becomes when `requested` is applied to this existing definition.
    ///
    /// Identical definitions give `self` unchanged. New fields are appended (so stored records stay
    /// readable) and raise the version. Anything that would change how stored records read or
    /// where events go (partitions, types, the time or key field) is a conflict.
    /// - Parameter requested: the definition asked for, in any field order.
    public func evolved(to requested: StreamDefinition) throws(SchemaError) -> StreamDefinition {
        func conflict(_ message: String, _ field: String) -> SchemaError {
            SchemaError(.streamConflict, "stream \"\(name)\" exists and \(message)", field: field)
        }
        guard requested.partitions == partitions else {
            throw conflict("has \(partitions) partitions; the partition count cannot change", "partitions")
        }
        guard requested.timeField == timeField else { throw conflict("its time_field cannot change", "time_field") }
        guard requested.keyField == keyField else { throw conflict("its key_field cannot change", "key_field") }
        var next = self
        next.idField = requested.idField
        next.unknownFields = requested.unknownFields
        next.defaultTime = requested.defaultTime
        var added: [FieldDefinition] = []
        for field in requested.fields {
            if let index = fieldIndex(field.name) {
                guard fields[index].type == field.type else {
                    throw conflict("field \"\(field.name)\" has type \(fields[index].type.rawValue); a type cannot change", "fields.\(field.name)")
                }
                next.fields[index].required = field.required
            } else {
                added.append(field)
            }
        }
        for field in fields where requested.fieldIndex(field.name) == nil {
            throw conflict("field \"\(field.name)\" cannot be removed (stored records carry it)", "fields.\(field.name)")
        }
        next.fields.append(contentsOf: added.sorted { $0.name < $1.name })
        if next.fields != fields { next.version = version + 1 }
        if next == self { return self }
        try next.validate()
        return next
    }
}
