/// Splits an input stream into events, a chunk of bytes at a time, so that a file of any size is
/// read with bounded memory (`tandem post`). Each event is handed over as one line of JSON.
public protocol EventSplitter {
    /// Takes the next chunk; calls `emit` with each event completed by it, and the input line it
    /// started on (1-based).
    mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws
    /// The input has ended: emits what is left, or throws when it ends inside an event.
    mutating func finish(emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws
}

/// An input that is not what its format says, with the line where that shows.
public struct InputError: Error, CustomStringConvertible {
    /// The line (1-based).
    public var line: Int
    /// What is wrong.
    public var message: String
    /// `line N: message`.
    public var description: String { "line \(line): \(message)" }
}

private let newline = UInt8(ascii: "\n")

@inline(__always)
private func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

/// NDJSON: one event per line, split at line ends without parsing (the server parses and names
/// the line of any event it refuses). Lines of only whitespace are skipped.
public struct NDJSONSplitter: EventSplitter {
    private var partial: [UInt8] = []
    private var line = 1

    /// Creates a splitter.
    public init() {}

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        var start = 0
        while let end = chunk[start...].firstIndex(of: newline) {
            if partial.isEmpty {
                try emitLine(UnsafeRawBufferPointer(rebasing: chunk[start..<end]), emit)
            } else {
                partial.append(contentsOf: chunk[start..<end])
                try partial.withUnsafeBytes { try emitLine($0, emit) }
                partial.removeAll(keepingCapacity: true)
            }
            line += 1
            start = end + 1
        }
        partial.append(contentsOf: chunk[start...])
    }

    public mutating func finish(emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        try partial.withUnsafeBytes { try emitLine($0, emit) }
        partial.removeAll()
    }

    private func emitLine(_ bytes: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        guard bytes.contains(where: { !isSpace($0) }) else { return }
        try emit(bytes, line)
    }
}

/// A JSON array of events, streamed: each element is found by tracking strings, escapes and
/// nesting, without parsing it. Whitespace inside an element (where JSON allows raw line ends)
/// becomes spaces, so that each element travels as one NDJSON line.
public struct JSONArraySplitter: EventSplitter {
    private enum Phase { case before, between, inside, after }
    private var phase = Phase.before
    private var element: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var line = 1
    private var elementLine = 1

    /// Creates a splitter.
    public init() {}

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        for byte in chunk {
            if byte == newline { line += 1 }
            switch phase {
            case .before:
                if isSpace(byte) { continue }
                guard byte == UInt8(ascii: "[") else { throw InputError(line: line, message: "a JSON array must start with [") }
                phase = .between
            case .between:
                if isSpace(byte) || byte == UInt8(ascii: ",") { continue }
                if byte == UInt8(ascii: "]") {
                    phase = .after
                    continue
                }
                phase = .inside
                elementLine = line
                element.removeAll(keepingCapacity: true)
                try take(byte, emit)
            case .inside:
                try take(byte, emit)
            case .after:
                guard isSpace(byte) else { throw InputError(line: line, message: "text after the closing ] of the array") }
            }
        }
    }

    /// Adds a byte of an element; an element ends at a `,` or `]` outside strings and nesting.
    private mutating func take(_ byte: UInt8, _ emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
            element.append(byte)
            return
        }
        switch byte {
        case UInt8(ascii: "\""): inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
        case UInt8(ascii: "}") where depth > 0: depth -= 1
        case UInt8(ascii: "]") where depth > 0: depth -= 1
        case UInt8(ascii: ","), UInt8(ascii: "]"):
            guard depth == 0 else { break }
            // The element is complete.
            try element.withUnsafeBytes { try emit($0, elementLine) }
            phase = byte == UInt8(ascii: "]") ? .after : .between
            return
        default: break
        }
        element.append(isSpace(byte) ? 0x20 : byte)
    }

    public mutating func finish(emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        switch phase {
        case .after: return
        case .before: throw InputError(line: line, message: "the input is empty, not a JSON array")
        case .between, .inside: throw InputError(line: line, message: "the JSON array is not closed with ]")
        }
    }
}

/// CSV (RFC 4180) with a header row naming the fields: each record becomes a JSON object, its
/// cells typed by the stream's schema (numbers and booleans as JSON literals when they are ones,
/// everything else as strings, so that the server names the field of a bad value). An empty cell
/// is an absent field.
public struct CSVSplitter: EventSplitter {
    private let types: [String: FieldType]
    private var header: [String]?
    private var keys: [[UInt8]] = []
    private var cells: [[UInt8]] = []
    private var cell: [UInt8] = []
    private var quoted = false
    private var afterQuote = false
    private var cellStarted = false
    private var line = 1
    private var recordLine = 1
    private var object: [UInt8] = []

    /// Creates a splitter for events of `stream`.
    public init(stream: StreamDefinition) {
        types = Dictionary(stream.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
    }

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        for byte in chunk {
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    quoted = false
                    afterQuote = true
                } else {
                    if byte == newline { line += 1 }
                    cell.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                if afterQuote {
                    // A doubled quote inside a quoted cell.
                    cell.append(byte)
                    quoted = true
                    afterQuote = false
                } else if !cellStarted {
                    quoted = true
                    cellStarted = true
                } else {
                    throw InputError(line: line, message: "a quote inside an unquoted CSV cell")
                }
            case UInt8(ascii: ","):
                endCell()
            case newline:
                endCell()
                try endRecord(emit)
                line += 1
                recordLine = line
            case 0x0D:
                continue
            default:
                if afterQuote { throw InputError(line: line, message: "text after the closing quote of a CSV cell") }
                cell.append(byte)
                cellStarted = true
            }
        }
    }

    public mutating func finish(emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        if quoted { throw InputError(line: recordLine, message: "the input ends inside a quoted CSV cell that starts in this record") }
        if cellStarted || !cells.isEmpty {
            endCell()
            try endRecord(emit)
        }
        if header == nil { throw InputError(line: line, message: "the CSV input has no header row") }
    }

    private mutating func endCell() {
        cells.append(cell)
        cell.removeAll(keepingCapacity: true)
        cellStarted = false
        afterQuote = false
    }

    private mutating func endRecord(_ emit: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        defer { cells.removeAll(keepingCapacity: true) }
        if cells.count == 1 && cells[0].isEmpty { return }  // a blank line
        guard let header else {
            var names = cells.map { String(decoding: $0, as: UTF8.self) }
            if names[0].hasPrefix("\u{FEFF}") { names[0].removeFirst() }  // a byte order mark
            guard Set(names).count == names.count else { throw InputError(line: recordLine, message: "the CSV header names a column twice") }
            header = names
            keys = names.map { name in
                var key: [UInt8] = []
                JSONText.appendString(name, to: &key)
                key.append(UInt8(ascii: ":"))
                return key
            }
            return
        }
        guard cells.count == header.count else {
            throw InputError(line: recordLine, message: "the record has \(cells.count) cells; the header has \(header.count)")
        }
        object.removeAll(keepingCapacity: true)
        object.append(UInt8(ascii: "{"))
        for (index, value) in cells.enumerated() where !value.isEmpty {
            if object.count > 1 { object.append(UInt8(ascii: ",")) }
            object.append(contentsOf: keys[index])
            Self.appendValue(value, type: types[header[index]], to: &object)
        }
        object.append(UInt8(ascii: "}"))
        try object.withUnsafeBytes { try emit($0, recordLine) }
    }

    /// A cell as a JSON value of the field's type when it reads as one, else as a string.
    static func appendValue(_ value: [UInt8], type: FieldType?, to output: inout [UInt8]) {
        switch type {
        case .int?, .double?:
            if isNumber(value) {
                output.append(contentsOf: value)
                return
            }
        case .bool?:
            if value.elementsEqual("true".utf8) || value.elementsEqual("false".utf8) {
                output.append(contentsOf: value)
                return
            }
        case .timestamp?:
            // Epoch milliseconds as a number; RFC 3339 text stays a string.
            if value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) && value.count <= 18 {
                output.append(contentsOf: value)
                return
            }
        default:
            break
        }
        JSONText.appendString(String(decoding: value, as: UTF8.self), to: &output)
    }

    /// Whether `bytes` is a JSON number: `-? digits (. digits)? ([eE] [+-]? digits)?`, no
    /// leading zeros.
    public static func isNumber(_ bytes: [UInt8]) -> Bool {
        var index = 0
        func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            return index - start
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return false }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == bytes.count
    }
}
