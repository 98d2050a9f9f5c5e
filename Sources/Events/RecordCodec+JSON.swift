extension RecordCodec {
    /// Appends a record as a JSON object (`{"field": value, ...}`, schema order) to `output`.
    ///
    /// Timestamps are written as RFC 3339 strings. Used at the edges (reading the log over HTTP,
    /// the console consumer), never inside the system.
    public static func appendJSON(_ bytes: UnsafeRawBufferPointer, definition: StreamDefinition, to output: inout String) throws {
        output.append("{")
        var first = true
        try forEachField(bytes, definition: definition) { index, value in
            if !first { output.append(",") }
            first = false
            JSONText.appendString(definition.fields[index].name, to: &output)
            output.append(":")
            JSONText.append(value, to: &output)
        }
        output.append("}")
    }
}

/// Writing JSON text by hand, for the few places that stream it.
public enum JSONText {
    /// Appends `text` as a JSON string literal, escaped.
    public static func appendString(_ text: some StringProtocol, to output: inout String) {
        output.append("\"")
        var plainStart = text.unicodeScalars.startIndex
        for index in text.unicodeScalars.indices {
            let scalar = text.unicodeScalars[index]
            let escape: String?
            switch scalar {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    escape = nil
                }
            }
            if let escape {
                output.unicodeScalars.append(contentsOf: text.unicodeScalars[plainStart..<index])
                output.append(escape)
                plainStart = text.unicodeScalars.index(after: index)
            }
        }
        output.unicodeScalars.append(contentsOf: text.unicodeScalars[plainStart...])
        output.append("\"")
    }

    /// Appends a field value as JSON.
    public static func append(_ value: FieldValue, to output: inout String) {
        switch value {
        case .string(let text): appendString(text, to: &output)
        case .int(let number): output.append(String(number))
        case .double(let number): output.append(number.isFinite ? "\(number)" : "null")
        case .bool(let flag): output.append(flag ? "true" : "false")
        case .timestamp(let millis): appendString(Timestamp.format(millis), to: &output)
        }
    }
}
