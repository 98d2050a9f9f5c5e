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
    /// `speed` or `batch+speed`.
    public var source: String
    /// The view's event-time watermark.
    public var watermark: Int64?
    /// What the answer lacks, when the query allowed a partial answer (`allow_partial`) and the
    /// published version could not be read; `nil` for a complete answer.
    public var missing: Missing?
    /// Milliseconds from when the log accepted the newest record the answer counts to when the
    /// answer was made; `nil` when it counts none.
    public var freshnessMilliseconds: Int64?
    /// The records the answer counts whose event time was behind their partition's watermark
    /// when they arrived (each changed a window already final). Summed over the rows returned,
    /// as `count` would count them (a record in two hopping windows counts in both); `nil` when
    /// the answer includes a version built before versions kept late counts.
    public var lateRecords: Int64?
    /// Per partition, who computed its speed state when partitions are divided among servers:
    /// `local`, or the owner's address; empty when this server computes every partition.
    public var speedSources: [String] = []
    /// Partitions a partial answer (`allow_partial`) leaves out because their owner could not
    /// give their speed state in time, with why; empty otherwise.
    public var missingPartitions: [Int: String] = [:]
    /// Whether every record the answer should count is counted.
    public var isComplete: Bool { missing == nil && missingPartitions.isEmpty }

    /// The part of the log a partial answer does not count: the published version's records,
    /// offsets `0..<cut` in each partition.
    public struct Missing: Sendable, Equatable {
        /// The version that could not be read.
        public var batchVersion: Int64
        /// Its cut: the answer lacks every record below it.
        public var belowCut: [Int64]
        /// Why it could not be read.
        public var reason: String

        /// Creates a description of what is missing.
        public init(batchVersion: Int64, belowCut: [Int64], reason: String) {
            self.batchVersion = batchVersion
            self.belowCut = belowCut
            self.reason = reason
        }
    }

    /// Creates provenance.
    public init(
        batchVersion: Int64?, cut: [Int64], speedOffsets: [Int64], logEnd: [Int64], lagRecords: Int64, source: String, watermark: Int64?,
        missing: Missing? = nil, freshnessMilliseconds: Int64? = nil, lateRecords: Int64? = nil, speedSources: [String] = [],
        missingPartitions: [Int: String] = [:]
    ) {
        self.speedSources = speedSources
        self.missingPartitions = missingPartitions
        self.freshnessMilliseconds = freshnessMilliseconds
        self.lateRecords = lateRecords
        self.batchVersion = batchVersion
        self.cut = cut
        self.speedOffsets = speedOffsets
        self.logEnd = logEnd
        self.lagRecords = lagRecords
        self.source = source
        self.watermark = watermark
        self.missing = missing
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
    /// (`TandemAPI.QueryResponse`).
    public var json: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// ``json`` as UTF-8, written by hand straight into bytes because a query can answer many
    /// rows (`tandem bench encode` compares it with `JSONEncoder`).
    public var jsonBytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256 + rows.count * 24 * (aggregateNames.count + dimensions.count + 1))
        // Keys are escaped once, not per row.
        let keys: [[UInt8]] = (dimensions + aggregateNames).map { name in
            var key: [UInt8] = []
            JSONText.appendString(name, to: &key)
            key.append(UInt8(ascii: ":"))
            return key
        }
        output.append(contentsOf: #"{"rows":["#.utf8)
        for (index, row) in rows.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(UInt8(ascii: "{"))
            // No closure captures `output` (a captured, mutated variable is boxed).
            var first = true
            if let time = row.time {
                first = false
                output.append(contentsOf: #""time":""#.utf8)
                Timestamp.append(time, to: &output)
                output.append(UInt8(ascii: "\""))
            }
            if let end = row.end {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                output.append(contentsOf: #""end":""#.utf8)
                Timestamp.append(end, to: &output)
                output.append(UInt8(ascii: "\""))
            }
            for (position, value) in row.group.enumerated() where position < dimensions.count {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                output.append(contentsOf: keys[position])
                if let value { JSONText.append(value, to: &output) } else { output.append(contentsOf: "null".utf8) }
            }
            for (position, value) in row.values.enumerated() where position < aggregateNames.count {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                output.append(contentsOf: keys[dimensions.count + position])
                Self.append(value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
        output.append(contentsOf: #"],"provenance":{"batch_version":"#.utf8)
        if let version = provenance.batchVersion { JSONText.append(integer: version, to: &output) } else { output.append(contentsOf: "null".utf8) }
        func appendOffsets(_ key: String, _ offsets: [Int64]) {
            output.append(contentsOf: ",\"\(key)\":{".utf8)
            for (partition, offset) in offsets.enumerated() {
                if partition > 0 { output.append(UInt8(ascii: ",")) }
                output.append(UInt8(ascii: "\""))
                JSONText.append(integer: Int64(partition), to: &output)
                output.append(contentsOf: "\":".utf8)
                JSONText.append(integer: offset, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
        for (key, offsets) in [("cut", provenance.cut), ("speed_offsets", provenance.speedOffsets), ("log_end", provenance.logEnd)] {
            appendOffsets(key, offsets)
        }
        output.append(contentsOf: #","complete":"#.utf8)
        output.append(contentsOf: (provenance.isComplete ? "true" : "false").utf8)
        if let missing = provenance.missing {
            output.append(contentsOf: #","missing":{"batch_version":"#.utf8)
            JSONText.append(integer: missing.batchVersion, to: &output)
            appendOffsets("below_cut", missing.belowCut)
            output.append(contentsOf: #","reason":"#.utf8)
            JSONText.appendString(missing.reason, to: &output)
            output.append(UInt8(ascii: "}"))
        }
        if !provenance.missingPartitions.isEmpty {
            output.append(contentsOf: #","missing_partitions":{"#.utf8)
            for (index, partition) in provenance.missingPartitions.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                output.append(UInt8(ascii: "\""))
                JSONText.append(integer: Int64(partition), to: &output)
                output.append(contentsOf: "\":".utf8)
                JSONText.appendString(provenance.missingPartitions[partition]!, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
        output.append(contentsOf: #","lag_records":"#.utf8)
        JSONText.append(integer: provenance.lagRecords, to: &output)
        output.append(contentsOf: #","freshness_ms":"#.utf8)
        if let freshness = provenance.freshnessMilliseconds {
            JSONText.append(integer: freshness, to: &output)
        } else {
            output.append(contentsOf: "null".utf8)
        }
        output.append(contentsOf: #","late_records":"#.utf8)
        if let late = provenance.lateRecords {
            JSONText.append(integer: late, to: &output)
        } else {
            output.append(contentsOf: "null".utf8)
        }
        output.append(contentsOf: #","source":"#.utf8)
        JSONText.appendString(provenance.source, to: &output)
        if !provenance.speedSources.isEmpty {
            output.append(contentsOf: #","speed_sources":{"#.utf8)
            for (partition, source) in provenance.speedSources.enumerated() {
                if partition > 0 { output.append(UInt8(ascii: ",")) }
                output.append(UInt8(ascii: "\""))
                JSONText.append(integer: Int64(partition), to: &output)
                output.append(contentsOf: "\":".utf8)
                JSONText.appendString(source, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
        output.append(contentsOf: #","watermark":"#.utf8)
        if let watermark = provenance.watermark {
            output.append(UInt8(ascii: "\""))
            Timestamp.append(watermark, to: &output)
            output.append(UInt8(ascii: "\""))
        } else {
            output.append(contentsOf: "null".utf8)
        }
        output.append(contentsOf: "}}".utf8)
        return output
    }

    static func append(_ value: AggregateValue, to output: inout [UInt8]) {
        switch value {
        case .int(let n): JSONText.append(integer: n, to: &output)
        case .wideInt(let n): output.append(contentsOf: String(n).utf8)
        case .double(let x): output.append(contentsOf: (x.isFinite ? "\(x)" : "null").utf8)
        case .string(let s): JSONText.appendString(s, to: &output)
        case .null: output.append(contentsOf: "null".utf8)
        case .object(let entries):
            output.append(UInt8(ascii: "{"))
            for (index, entry) in entries.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONText.appendString(entry.0, to: &output)
                output.append(UInt8(ascii: ":"))
                append(entry.1, to: &output)
            }
            output.append(UInt8(ascii: "}"))
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
