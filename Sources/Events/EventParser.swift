/// One valid event, encoded and ready to append. The buffers are valid only during the callback.
public struct ParsedEvent {
    /// The 0-based position in the body (array index or NDJSON line).
    public var index: Int
    /// Event time, epoch milliseconds.
    public var eventTime: Int64
    /// The partitioning key's bytes, when the stream has a key field and the event carries it.
    public var key: UnsafeRawBufferPointer?
    /// The event in the binary record format (``RecordCodec``).
    public var payload: UnsafeRawBufferPointer
    /// The fingerprint of the event's id, when the stream has an `id_field` and the event a value
    /// for it.
    public var id: EventFingerprint? = nil
}

/// What parsing a body found.
public struct ParseSummary: Sendable {
    /// How many events the body holds (valid or not), up to the limit.
    public var events = 0
    /// How many of them are invalid.
    public var invalidEvents = 0
    /// The first problems found, at most ``EventParser/maxIssues``.
    public var issues: [EventIssue] = []
    /// Whether the body holds more events than the limit allowed.
    public var exceededLimit = false
}

/// Parses request bodies (a JSON object, a JSON array, or NDJSON), validates each event against a
/// stream's schema, and encodes it straight into the binary record format.
///
/// This is the ingest hot path: the body is read once, byte by byte, with no intermediate JSON
/// tree, no `String` per field and no allocation per event; buffers are reused from one event to
/// the next. Errors keep going so that one answer lists many problems.
public struct EventParser {
    /// The most issues reported for one body.
    public static let maxIssues = 100

    private let definition: StreamDefinition
    private let bounds: EventTimeBounds
    private let fieldNames: [[UInt8]]
    private let fieldTypes: [FieldType]
    private let timeIndex: Int?
    private let keyIndex: Int?
    private let idIndex: Int?

    /// Per-field value slots of the event being parsed; `generation` marks the ones set.
    private var slots: [Slot]
    private var generation: UInt32 = 0
    private var scratch: [UInt8] = []
    private var payload: [UInt8] = []
    private var keyText: [UInt8] = []
    private var issuesInEvent = 0
    /// Whether the event being parsed has already been counted invalid.
    private var countedInvalid = false

    private struct Slot {
        var generation: UInt32 = 0
        var isNull = false
        /// Set when the value was present but wrong, so that it is not also reported missing.
        var invalid = false
        var integer: Int64 = 0
        var double: Double = 0
        /// A string value: where its bytes are, in the body or in `scratch`.
        var start = 0
        var count = 0
        var inScratch = false
    }

    /// Creates a parser for one stream.
    /// - Parameters:
    ///   - definition: the stream's schema.
    ///   - bounds: how far from the ingest time an event time may lie.
    public init(definition: StreamDefinition, bounds: EventTimeBounds = EventTimeBounds()) {
        self.definition = definition
        self.bounds = bounds
        self.fieldNames = definition.fields.map { Array($0.name.utf8) }
        self.fieldTypes = definition.fields.map(\.type)
        self.timeIndex = definition.timeFieldIndex
        self.keyIndex = definition.keyFieldIndex
        self.idIndex = definition.idField.flatMap(definition.fieldIndex)
        self.slots = Array(repeating: Slot(), count: definition.fields.count)
        scratch.reserveCapacity(256)
        payload.reserveCapacity(512)
    }

    /// Parses a body, calling `sink` for each valid event while no invalid event has been seen.
    ///
    /// Once an event is invalid the request will be refused whole, so later events are still
    /// validated (to report their problems) but no longer handed to `sink`.
    /// - Parameters:
    ///   - body: the request body.
    ///   - format: how events are framed.
    ///   - ingestTime: the time to stamp, epoch milliseconds.
    ///   - maxEvents: the most events accepted; past it, parsing stops with `exceededLimit`.
    ///   - sink: receives each valid event.
    public mutating func parse(
        _ body: UnsafeRawBufferPointer,
        format: BodyFormat,
        ingestTime: Int64,
        maxEvents: Int,
        sink: (ParsedEvent) -> Void
    ) -> ParseSummary {
        var summary = ParseSummary()
        switch format {
        case .json:
            parseJSON(body, ingestTime: ingestTime, maxEvents: maxEvents, summary: &summary, sink: sink)
        case .ndjson:
            parseNDJSON(body, ingestTime: ingestTime, maxEvents: maxEvents, summary: &summary, sink: sink)
        }
        return summary
    }

    private mutating func parseJSON(
        _ body: UnsafeRawBufferPointer, ingestTime: Int64, maxEvents: Int, summary: inout ParseSummary, sink: (ParsedEvent) -> Void
    ) {
        var cursor = JSONCursor(body)
        cursor.skipWhitespace()
        var index = 0
        do throws(JSONSyntaxError) {
            switch cursor.peek {
            case UInt8(ascii: "{"):
                summary.events = 1
                try parseEvent(&cursor, index: 0, ingestTime: ingestTime, summary: &summary, sink: sink)
            case UInt8(ascii: "["):
                cursor.position += 1
                cursor.skipWhitespace()
                if cursor.peek == UInt8(ascii: "]") {
                    cursor.position += 1
                    break
                }
                while true {
                    guard index < maxEvents else {
                        summary.exceededLimit = true
                        return
                    }
                    cursor.skipWhitespace()
                    summary.events += 1
                    try parseEvent(&cursor, index: index, ingestTime: ingestTime, summary: &summary, sink: sink)
                    index += 1
                    countedInvalid = false
                    cursor.skipWhitespace()
                    if cursor.peek == UInt8(ascii: ",") {
                        cursor.position += 1
                        continue
                    }
                    try cursor.expect(UInt8(ascii: "]"), "',' or ']' after an event")
                    break
                }
            default:
                throw cursor.error(cursor.atEnd ? "empty body" : "expected a JSON object or an array of objects")
            }
            cursor.skipWhitespace()
            guard cursor.atEnd else { throw cursor.error("unexpected data after the JSON value") }
        } catch {
            summary.events = max(summary.events, index + 1)
            report(&summary, index: index, field: nil, code: .invalidJSON, "\(error.message) at byte \(error.position)")
            if !countedInvalid { summary.invalidEvents += 1 }
        }
    }

    private mutating func parseNDJSON(
        _ body: UnsafeRawBufferPointer, ingestTime: Int64, maxEvents: Int, summary: inout ParseSummary, sink: (ParsedEvent) -> Void
    ) {
        var lineStart = 0
        var line = 0
        while lineStart < body.count {
            var lineEnd = lineStart
            while lineEnd < body.count, body[lineEnd] != 0x0A { lineEnd += 1 }
            defer {
                lineStart = lineEnd + 1
                line += 1
            }
            var cursor = JSONCursor(body, from: lineStart, to: lineEnd)
            cursor.skipWhitespace()
            if cursor.atEnd { continue }
            guard summary.events < maxEvents else {
                summary.exceededLimit = true
                return
            }
            summary.events += 1
            countedInvalid = false
            do throws(JSONSyntaxError) {
                guard cursor.peek == UInt8(ascii: "{") else { throw cursor.error("expected a JSON object") }
                try parseEvent(&cursor, index: line, ingestTime: ingestTime, summary: &summary, sink: sink)
                cursor.skipWhitespace()
                guard cursor.atEnd else { throw cursor.error("unexpected data after the object") }
            } catch {
                report(&summary, index: line, field: nil, code: .invalidJSON, "\(error.message) at byte \(error.position - lineStart) of the line")
                if !countedInvalid { summary.invalidEvents += 1 }
            }
        }
    }

    private mutating func report(_ summary: inout ParseSummary, index: Int, field: String?, code: EventIssue.Code, _ message: String) {
        issuesInEvent += 1
        if summary.issues.count < Self.maxIssues {
            summary.issues.append(EventIssue(index: index, field: field, code: code, message: message))
        }
    }

    @inline(__always)
    private func lookup(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> Int? {
        for (index, name) in fieldNames.enumerated() where name.count == count {
            var equal = true
            for i in 0..<count where name[i] != bytes[start + i] {
                equal = false
                break
            }
            if equal { return index }
        }
        return nil
    }

    private func describe(_ cursor: JSONCursor, from start: Int) -> String {
        let end = min(cursor.position, start + 60)
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: cursor.bytes[start..<end]), as: UTF8.self)
        return cursor.position > end ? text + "..." : text
    }

    /// Parses the object at the cursor; a syntax error propagates, schema problems are reported.
    private mutating func parseEvent(
        _ cursor: inout JSONCursor, index: Int, ingestTime: Int64, summary: inout ParseSummary, sink: (ParsedEvent) -> Void
    ) throws(JSONSyntaxError) {
        countedInvalid = false
        guard cursor.peek == UInt8(ascii: "{") else {
            let start = cursor.position
            try cursor.skipValue()
            report(&summary, index: index, field: nil, code: .notAnObject, "expected a JSON object, got \(describe(cursor, from: start))")
            summary.invalidEvents += 1
            countedInvalid = true
            return
        }
        generation &+= 1
        if generation == 0 {
            for i in slots.indices { slots[i].generation = 0 }
            generation = 1
        }
        issuesInEvent = 0
        scratch.removeAll(keepingCapacity: true)
        cursor.position += 1
        cursor.skipWhitespace()
        if cursor.peek == UInt8(ascii: "}") {
            cursor.position += 1
        } else {
            while true {
                cursor.skipWhitespace()
                guard cursor.peek == UInt8(ascii: "\"") else { throw cursor.error("expected a field name") }
                let key = try cursor.scanString()
                cursor.skipWhitespace()
                try cursor.expect(UInt8(ascii: ":"), "':'")
                cursor.skipWhitespace()
                var field: Int?
                if key.escaped {
                    let mark = scratch.count
                    try cursor.unescape(key, into: &scratch)
                    field = scratch.withUnsafeBytes { lookup($0, mark, scratch.count - mark) }
                    scratch.removeSubrange(mark...)
                } else {
                    field = lookup(cursor.bytes, key.start, key.count)
                }
                if let field {
                    if slots[field].generation == generation {
                        try cursor.skipValue()
                        report(&summary, index: index, field: definition.fields[field].name, code: .duplicateField, "field appears twice")
                    } else {
                        try parseValue(&cursor, field: field, index: index, summary: &summary)
                    }
                } else {
                    try cursor.skipValue()
                    if definition.unknownFields == .reject {
                        let name = String(decoding: UnsafeRawBufferPointer(rebasing: cursor.bytes[key.start..<key.start + key.count]), as: UTF8.self)
                        report(
                            &summary, index: index, field: name, code: .unknownField,
                            "field \"\(name)\" is not in the schema of stream \"\(definition.name)\"")
                    }
                }
                cursor.skipWhitespace()
                if cursor.peek == UInt8(ascii: ",") {
                    cursor.position += 1
                    continue
                }
                try cursor.expect(UInt8(ascii: "}"), "',' or '}'")
                break
            }
        }
        finishEvent(cursor.bytes, index: index, ingestTime: ingestTime, summary: &summary, sink: sink)
    }

    private mutating func parseValue(
        _ cursor: inout JSONCursor, field: Int, index: Int, summary: inout ParseSummary
    ) throws(JSONSyntaxError) {
        let start = cursor.position
        let first = cursor.peek
        let type = fieldTypes[field]
        var slot = Slot(generation: generation)
        slots[field] = Slot(generation: generation, isNull: true, invalid: true)
        func mismatch(_ cursor: inout JSONCursor, _ expected: String) throws(JSONSyntaxError) {
            if cursor.position == start { try cursor.skipValue() }
            report(
                &summary, index: index, field: definition.fields[field].name, code: .typeMismatch,
                "expected \(expected), got \(describe(cursor, from: start))")
        }
        if first == UInt8(ascii: "n") {
            _ = try cursor.scanLiteral()
            slot.isNull = true
            slots[field] = slot
            return
        }
        switch type {
        case .string:
            guard first == UInt8(ascii: "\"") else { return try mismatch(&cursor, "a string") }
            let raw = try cursor.scanString()
            if raw.escaped {
                slot.start = scratch.count
                try cursor.unescape(raw, into: &scratch)
                slot.count = scratch.count - slot.start
                slot.inScratch = true
            } else {
                slot.start = raw.start
                slot.count = raw.count
            }
        case .int:
            guard first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else {
                return try mismatch(&cursor, "an int")
            }
            let number = try cursor.scanNumber()
            guard let integer = number.integer ?? cursor.exactInteger(number) else {
                let looksIntegral = number.double.rounded(.towardZero) == number.double
                if looksIntegral {
                    report(
                        &summary, index: index, field: definition.fields[field].name, code: .outOfRange,
                        "\(describe(cursor, from: start)) does not fit in a 64-bit int")
                    return
                }
                return try mismatch(&cursor, "an int")
            }
            slot.integer = integer
        case .double:
            guard first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else {
                return try mismatch(&cursor, "a double")
            }
            let number = try cursor.scanNumber()
            guard number.double.isFinite else {
                report(
                    &summary, index: index, field: definition.fields[field].name, code: .outOfRange,
                    "\(describe(cursor, from: start)) is out of range for a double")
                return
            }
            slot.double = number.double
        case .bool:
            guard first == UInt8(ascii: "t") || first == UInt8(ascii: "f") else { return try mismatch(&cursor, "a bool") }
            slot.integer = try cursor.scanLiteral() == UInt8(ascii: "t") ? 1 : 0
        case .timestamp:
            let expected = "a timestamp (RFC 3339 or epoch milliseconds)"
            if first == UInt8(ascii: "\"") {
                let raw = try cursor.scanString()
                var millis: Int64?
                if raw.escaped {
                    let mark = scratch.count
                    try cursor.unescape(raw, into: &scratch)
                    millis = scratch.withUnsafeBytes { Timestamp.parse(UnsafeRawBufferPointer(rebasing: $0[mark...])) }
                    scratch.removeSubrange(mark...)
                } else {
                    millis = Timestamp.parse(UnsafeRawBufferPointer(rebasing: cursor.bytes[raw.start..<raw.start + raw.count]))
                }
                guard let millis else { return try mismatch(&cursor, expected) }
                slot.integer = millis
            } else if first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
                let number = try cursor.scanNumber()
                guard let integer = number.integer ?? cursor.exactInteger(number) else { return try mismatch(&cursor, expected) }
                slot.integer = integer
            } else {
                return try mismatch(&cursor, expected)
            }
            // The time field is checked (with its own code) when the event is complete.
            if field != timeIndex, !bounds.range.contains(slot.integer) {
                report(
                    &summary, index: index, field: definition.fields[field].name, code: .outOfRange,
                    "\(describe(cursor, from: start)) is outside the supported range \(Timestamp.format(bounds.range.lowerBound)) to \(Timestamp.format(bounds.range.upperBound))"
                )
                return
            }
        }
        slots[field] = slot
    }

    @inline(__always)
    private func isSet(_ field: Int) -> Bool { slots[field].generation == generation && !slots[field].isNull }

    private func isInvalid(_ field: Int) -> Bool { slots[field].generation == generation && slots[field].invalid }

    private mutating func finishEvent(
        _ body: UnsafeRawBufferPointer, index: Int, ingestTime: Int64, summary: inout ParseSummary, sink: (ParsedEvent) -> Void
    ) {
        for (field, definition) in definition.fields.enumerated() where definition.required && !isSet(field) && !isInvalid(field) {
            report(&summary, index: index, field: definition.name, code: .missingField, "required field \"\(definition.name)\" is missing")
        }
        var eventTime = ingestTime
        if let timeIndex {
            if isSet(timeIndex) {
                eventTime = slots[timeIndex].integer
                // Saturating: a configured bound near Int64's range must not trap here.
                let earliest = bounds.maxAgeMilliseconds.map { ingestTime.subtractingReportingOverflow($0) }
                let latest = bounds.maxFutureMilliseconds.map { ingestTime.addingReportingOverflow($0) }
                if !bounds.range.contains(eventTime) {
                    report(
                        &summary, index: index, field: definition.timeField, code: .eventTimeOutOfBounds,
                        "event time \(eventTime) is outside the supported range \(Timestamp.format(bounds.range.lowerBound)) to \(Timestamp.format(bounds.range.upperBound))"
                    )
                } else if let maxAge = bounds.maxAgeMilliseconds, let earliest, !earliest.overflow, eventTime < earliest.partialValue {
                    report(
                        &summary, index: index, field: definition.timeField, code: .eventTimeOutOfBounds,
                        "event time \(Timestamp.format(eventTime)) is more than \(DurationText.format(milliseconds: maxAge)) in the past")
                } else if let maxFuture = bounds.maxFutureMilliseconds, let latest, !latest.overflow, eventTime > latest.partialValue {
                    report(
                        &summary, index: index, field: definition.timeField, code: .eventTimeOutOfBounds,
                        "event time \(Timestamp.format(eventTime)) is more than \(DurationText.format(milliseconds: maxFuture)) in the future")
                }
            } else if definition.defaultTime != .ingest && !definition.fields[timeIndex].required && !isInvalid(timeIndex) {
                report(
                    &summary, index: index, field: definition.timeField, code: .missingField,
                    "time field \"\(definition.timeField!)\" is missing and the stream has no default_time")
            }
        }
        if issuesInEvent > 0 {
            summary.invalidEvents += 1
            countedInvalid = true
            return
        }
        guard summary.invalidEvents == 0 else { return }
        encode(body, index: index, eventTime: eventTime, sink: sink)
    }

    private mutating func encode(_ body: UnsafeRawBufferPointer, index: Int, eventTime: Int64, sink: (ParsedEvent) -> Void) {
        payload.removeAll(keepingCapacity: true)
        let writer = RecordWriter(fieldCount: slots.count, schemaVersion: definition.version, into: &payload)
        scratch.withUnsafeBytes { scratchBytes in
            for field in slots.indices where isSet(field) {
                let slot = slots[field]
                switch fieldTypes[field] {
                case .string:
                    let source = slot.inScratch ? scratchBytes : body
                    writer.writeString(UnsafeRawBufferPointer(rebasing: source[slot.start..<slot.start + slot.count]), field: field, into: &payload)
                case .int, .timestamp: writer.writeInt(slot.integer, field: field, into: &payload)
                case .double: writer.writeDouble(slot.double, field: field, into: &payload)
                case .bool: writer.writeBool(slot.integer != 0, field: field, into: &payload)
                }
            }
        }
        var hasKey = false
        keyText.removeAll(keepingCapacity: true)
        if let keyIndex, isSet(keyIndex) {
            hasKey = true
            let slot = slots[keyIndex]
            if fieldTypes[keyIndex] == .string {
                if slot.inScratch {
                    keyText.append(contentsOf: scratch[slot.start..<slot.start + slot.count])
                } else {
                    keyText.append(contentsOf: UnsafeRawBufferPointer(rebasing: body[slot.start..<slot.start + slot.count]))
                }
            } else {
                keyText.append(contentsOf: String(slot.integer).utf8)
            }
        }
        var id: EventFingerprint?
        if let idIndex, isSet(idIndex) {
            let slot = slots[idIndex]
            switch fieldTypes[idIndex] {
            case .string:
                if slot.inScratch {
                    id = scratch.withUnsafeBytes {
                        EventFingerprint(string: UnsafeRawBufferPointer(rebasing: $0[slot.start..<slot.start + slot.count]))
                    }
                } else {
                    id = EventFingerprint(string: UnsafeRawBufferPointer(rebasing: body[slot.start..<slot.start + slot.count]))
                }
            case .int, .timestamp: id = EventFingerprint(integer: slot.integer)
            case .double: id = EventFingerprint(double: slot.double)
            case .bool: id = EventFingerprint(bool: slot.integer != 0)
            }
        }
        payload.withUnsafeBytes { payloadBytes in
            keyText.withUnsafeBytes { keyBytes in
                sink(ParsedEvent(index: index, eventTime: eventTime, key: hasKey ? keyBytes : nil, payload: payloadBytes, id: id))
            }
        }
    }
}
