extension RecordCodec {
    /// Appends a record as a JSON object (`{"field": value, ...}`, schema order) to `output`.
    ///
    /// Timestamps are written as RFC 3339 strings. Used at the edges (reading the log over HTTP,
    /// the console consumer), never inside the system.
    public static func appendJSON(_ bytes: UnsafeRawBufferPointer, definition: StreamDefinition, to output: inout String) throws {
        var utf8: [UInt8] = []
        try appendJSON(bytes, definition: definition, to: &utf8)
        output.append(String(decoding: utf8, as: UTF8.self))
    }

    /// Appends a record as a JSON object, in UTF-8, to `output`: what a Kafka message's value
    /// holds. Written byte by byte, with no string built per record (a `String` rendering cost a
    /// quarter of the server's CPU when every ingested event went to Kafka).
    public static func appendJSON(_ bytes: UnsafeRawBufferPointer, definition: StreamDefinition, to output: inout [UInt8]) throws {
        output.append(UInt8(ascii: "{"))
        var first = true
        try forEachField(bytes, definition: definition) { index, value in
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            JSONText.appendString(definition.fields[index].name, to: &output)
            output.append(UInt8(ascii: ":"))
            JSONText.append(value, to: &output)
        }
        output.append(UInt8(ascii: "}"))
    }
}

/// Writing JSON text by hand, for the few places that stream it.
public enum JSONText {
    /// Appends `text` as a JSON string literal, escaped.
    ///
    /// Works on UTF-8 bytes (every byte that needs escaping is ASCII) and appends whole runs of
    /// plain text at once. (Appending through `output.unicodeScalars` copied the whole output on
    /// each call, which made long answers quadratic.)
    public static func appendString(_ text: some StringProtocol, to output: inout String) {
        output.append("\"")
        let bytes = text.utf8
        var plainStart = bytes.startIndex
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                if plainStart != index { output.append(String(decoding: bytes[plainStart..<index], as: UTF8.self)) }
                switch byte {
                case UInt8(ascii: "\""): output.append("\\\"")
                case UInt8(ascii: "\\"): output.append("\\\\")
                case UInt8(ascii: "\n"): output.append("\\n")
                case UInt8(ascii: "\r"): output.append("\\r")
                case UInt8(ascii: "\t"): output.append("\\t")
                default:
                    let hex = String(byte, radix: 16)
                    output.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                }
                plainStart = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        if plainStart == bytes.startIndex {
            output.append(contentsOf: text)
        } else if plainStart != bytes.endIndex {
            output.append(String(decoding: bytes[plainStart..<bytes.endIndex], as: UTF8.self))
        }
        output.append("\"")
    }

    /// Appends `text` as a JSON string literal, escaped, in UTF-8.
    public static func appendString(_ text: some StringProtocol, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)],
                ])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Appends an integer in decimal.
    public static func append(integer: Int64, to output: inout [UInt8]) {
        if integer < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = integer.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, written backwards
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { output.append(buffer[index]) }
        }
    }

    /// Appends a field value as JSON, in UTF-8.
    public static func append(_ value: FieldValue, to output: inout [UInt8]) {
        switch value {
        case .string(let text): appendString(text, to: &output)
        case .int(let number): append(integer: number, to: &output)
        case .double(let number): output.append(contentsOf: (number.isFinite ? "\(number)" : "null").utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .timestamp(let millis):
            output.append(UInt8(ascii: "\""))
            Timestamp.append(millis, to: &output)
            output.append(UInt8(ascii: "\""))
        }
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
