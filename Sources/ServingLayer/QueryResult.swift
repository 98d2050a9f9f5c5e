import Aggregation
import Events

/// Where an answer's data came from.
public struct Provenance: Sendable, Equatable {
    /// The published batch version used, if any.
    public var batchVersion: Int64?
    /// The cut the speed state starts at.
    public var cut: [Int64]
    /// Offsets the speed layer had consumed, per partition.
    public var speedOffsets: [Int64]
    /// The log's end offsets.
    public var logEnd: [Int64]
    /// Records not consumed yet.
    public var lagRecords: Int64
    /// `speed`, `batch+speed` or `degraded`.
    public var source: String
    /// The view's event-time watermark.
    public var watermark: Int64?

    /// Creates provenance.
    public init(batchVersion: Int64?, cut: [Int64], speedOffsets: [Int64], logEnd: [Int64], lagRecords: Int64, source: String, watermark: Int64?) {
        self.batchVersion = batchVersion
        self.cut = cut
        self.speedOffsets = speedOffsets
        self.logEnd = logEnd
        self.lagRecords = lagRecords
        self.source = source
        self.watermark = watermark
    }
}

/// A query's answer: rows and provenance, written as JSON or CSV.
public struct QueryResult: Sendable {
    /// Column names of the aggregates, in order.
    public var aggregateNames: [String]
    /// Names of the dimensions every row carries, in order.
    public var dimensions: [String]
    /// The rows: window, dimension values (in `dimensions` order), aggregate answers.
    public var rows: [(time: Int64?, end: Int64?, group: [FieldValue?], values: [AggregateValue])]
    /// Where the data came from.
    public var provenance: Provenance
    /// Whether rows carry a time column.
    public var hasTime: Bool
    /// Whether rows carry an end column (sessions).
    public var hasEnd: Bool

    /// Creates a result.
    public init(
        aggregateNames: [String], dimensions: [String], rows: [(time: Int64?, end: Int64?, group: [FieldValue?], values: [AggregateValue])],
        provenance: Provenance, hasTime: Bool, hasEnd: Bool
    ) {
        self.aggregateNames = aggregateNames
        self.dimensions = dimensions
        self.rows = rows
        self.provenance = provenance
        self.hasTime = hasTime
        self.hasEnd = hasEnd
    }

    /// The JSON answer: `{"rows": [...], "provenance": {...}}`, the document ``response`` describes
    /// (`TandemAPI.QueryResponse`), written by hand because a query can answer many rows
    /// (`tandem bench encode` compares it with `JSONEncoder`).
    public var json: String {
        var text = ""
        text.reserveCapacity(64 + rows.count * 24 * (aggregateNames.count + dimensions.count + 1))
        // Keys are escaped once, not per row. (No closure captures `text`: a captured, mutated
        // string is boxed, and appending to it copied the whole answer each time.)
        var keys: [String] = []
        for name in dimensions + aggregateNames {
            var key = ""
            JSONText.appendString(name, to: &key)
            keys.append(key + ":")
        }
        text += "{\"rows\":["
        for (index, row) in rows.enumerated() {
            text += index == 0 ? "{" : ",{"
            var first = true
            if let time = row.time {
                // A formatted time needs no escaping.
                text += "\"time\":\""
                text += Timestamp.format(time)
                text += "\""
                first = false
            }
            if let end = row.end {
                text += first ? "\"end\":\"" : ",\"end\":\""
                text += Timestamp.format(end)
                text += "\""
                first = false
            }
            for (position, value) in row.group.enumerated() where position < dimensions.count {
                if !first { text += "," }
                first = false
                text += keys[position]
                if let value { JSONText.append(value, to: &text) } else { text += "null" }
            }
            for (position, value) in row.values.enumerated() where position < aggregateNames.count {
                if !first { text += "," }
                first = false
                text += keys[dimensions.count + position]
                Self.append(value, to: &text)
            }
            text += "}"
        }
        text += "],\"provenance\":{"
        text += "\"batch_version\":\(provenance.batchVersion.map(String.init) ?? "null")"
        text += ",\"cut\":\(Self.partitionMap(provenance.cut))"
        text += ",\"speed_offsets\":\(Self.partitionMap(provenance.speedOffsets))"
        text += ",\"log_end\":\(Self.partitionMap(provenance.logEnd))"
        text += ",\"lag_records\":\(provenance.lagRecords)"
        text += ",\"source\":\"\(provenance.source)\""
        text += ",\"watermark\":" + (provenance.watermark.map { "\"\(Timestamp.format($0))\"" } ?? "null")
        text += "}}"
        return text
    }

    static func partitionMap(_ values: [Int64]) -> String {
        "{" + values.enumerated().map { "\"\($0.offset)\":\($0.element)" }.joined(separator: ",") + "}"
    }

    static func append(_ value: AggregateValue, to text: inout String) {
        switch value {
        case .int(let n): text += String(n)
        case .wideInt(let n): text += String(n)
        case .double(let x): text += x.isFinite ? "\(x)" : "null"
        case .string(let s): JSONText.appendString(s, to: &text)
        case .null: text += "null"
        case .object(let entries):
            text += "{"
            for (index, entry) in entries.enumerated() {
                if index > 0 { text += "," }
                JSONText.appendString(entry.0, to: &text)
                text += ":"
                append(entry.1, to: &text)
            }
            text += "}"
        }
    }

    /// The rows as CSV (RFC 4180), with a header; quantile lists become one column per quantile.
    public var csv: String {
        var header: [String] = []
        if hasTime { header.append("time") }
        if hasEnd { header.append("end") }
        header += dimensions
        for (index, name) in aggregateNames.enumerated() {
            if case .object(let entries)? = rows.first?.values[index] {
                header += entries.map { "\(name).\($0.0)" }
            } else {
                header.append(name)
            }
        }
        var lines = [header.map(Self.csvField).joined(separator: ",")]
        for row in rows {
            var fields: [String] = []
            if hasTime { fields.append(row.time.map(Timestamp.format) ?? "") }
            if hasEnd { fields.append(row.end.map(Timestamp.format) ?? "") }
            for value in row.group { fields.append(value.map(Self.text) ?? "") }
            for value in row.values {
                if case .object(let entries) = value { fields += entries.map { Self.text($0.1) } } else { fields.append(Self.text(value)) }
            }
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func text(_ value: FieldValue) -> String {
        switch value {
        case .string(let s): s
        case .int(let n): String(n)
        case .double(let x): "\(x)"
        case .bool(let b): b ? "true" : "false"
        case .timestamp(let t): Timestamp.format(t)
        }
    }

    static func text(_ value: AggregateValue) -> String {
        switch value {
        case .int(let n): String(n)
        case .wideInt(let n): String(n)
        case .double(let x): "\(x)"
        case .string(let s): s
        case .null: ""
        case .object: ""
        }
    }

    static func csvField(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacing("\"", with: "\"\"") + "\""
    }
}
