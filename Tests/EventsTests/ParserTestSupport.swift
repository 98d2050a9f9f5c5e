import Events
import Testing

/// One event the parser handed to its sink, decoded with RecordCodec.
struct Emitted: Equatable, CustomStringConvertible {
    var index: Int
    var eventTime: Int64
    var key: [UInt8]?
    var values: [FieldValue?]

    var description: String {
        "Emitted(index: \(index), eventTime: \(eventTime), key: \(key.map { String(decoding: $0, as: UTF8.self) } ?? "nil"), values: \(values))"
    }
}

struct ParseRun {
    var summary: ParseSummary
    var emitted: [Emitted]

    var codes: [EventIssue.Code] { summary.issues.map(\.code) }
    var issueIndexes: [Int] { summary.issues.map(\.index) }
    var issueFields: [String?] { summary.issues.map(\.field) }
}

let ingestTime: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

/// Parses `body` and decodes every payload the sink receives.
func parse(
    _ body: [UInt8], _ definition: StreamDefinition, format: BodyFormat = .json, ingestTime: Int64 = ingestTime,
    maxEvents: Int = 10_000, bounds: EventTimeBounds = EventTimeBounds(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> ParseRun {
    var parser = EventParser(definition: definition, bounds: bounds)
    var emitted: [Emitted] = []
    let summary = body.withUnsafeBytes { raw in
        parser.parse(raw, format: format, ingestTime: ingestTime, maxEvents: maxEvents) { event in
            do {
                let values = try RecordCodec.decode(event.payload, definition: definition)
                #expect(RecordCodec.schemaVersion(of: event.payload) == definition.version, sourceLocation: sourceLocation)
                emitted.append(Emitted(index: event.index, eventTime: event.eventTime, key: event.key.map { Array($0) }, values: values))
            } catch {
                Issue.record("payload of event \(event.index) does not decode: \(error)", sourceLocation: sourceLocation)
            }
        }
    }
    #expect(summary.invalidEvents <= summary.events, "more invalid events than events", sourceLocation: sourceLocation)
    #expect(summary.issues.count <= EventParser.maxIssues, sourceLocation: sourceLocation)
    if summary.invalidEvents > 0 {
        #expect(!summary.issues.isEmpty, sourceLocation: sourceLocation)
    } else {
        #expect(summary.issues.isEmpty, sourceLocation: sourceLocation)
        #expect(emitted.count == summary.events, "every valid event reaches the sink", sourceLocation: sourceLocation)
    }
    return ParseRun(summary: summary, emitted: emitted)
}

func parse(
    _ body: String, _ definition: StreamDefinition, format: BodyFormat = .json, ingestTime: Int64 = ingestTime,
    maxEvents: Int = 10_000, bounds: EventTimeBounds = EventTimeBounds(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> ParseRun {
    parse(Array(body.utf8), definition, format: format, ingestTime: ingestTime, maxEvents: maxEvents, bounds: bounds, sourceLocation: sourceLocation)
}

/// A JSON string literal for `text`, escaping as asked.
func jsonString(_ text: String, escapeNonASCII: Bool = false, escapeAll: Bool = false) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += escapeAll ? "\\u005C" : "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\u{8}": out += "\\b"
        case "\u{C}": out += "\\f"
        case "/" where escapeAll: out += "\\/"
        default:
            if scalar.value < 0x20 || (escapeNonASCII && scalar.value >= 0x80) || (escapeAll && scalar.value >= 0x20) {
                if scalar.value >= 0x10000 {
                    let v = scalar.value - 0x10000
                    out += hex4(0xD800 + (v >> 10)) + hex4(0xDC00 + (v & 0x3FF))
                } else {
                    out += hex4(scalar.value)
                }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

private func hex4(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: value % 2 == 0)
    return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
}
