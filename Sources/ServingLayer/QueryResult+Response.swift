import Aggregation
import Events
import TandemAPI

extension QueryResult {
    /// The answer as its API type: the same document ``json`` writes.
    public var response: QueryResponse {
        var rows: [[String: JSONValue]] = []
        rows.reserveCapacity(self.rows.count)
        for row in self.rows {
            var object: [String: JSONValue] = [:]
            if let time = row.time { object["time"] = .string(Timestamp.format(time)) }
            if let end = row.end { object["end"] = .string(Timestamp.format(end)) }
            for (name, value) in zip(dimensions, row.group) { object[name] = value.map(Self.jsonValue) ?? .null }
            for (name, value) in zip(aggregateNames, row.values) { object[name] = Self.jsonValue(value) }
            rows.append(object)
        }
        return QueryResponse(
            rows: rows,
            provenance: .init(
                batchVersion: provenance.batchVersion, cut: PartitionMap(provenance.cut), speedOffsets: PartitionMap(provenance.speedOffsets),
                logEnd: PartitionMap(provenance.logEnd), lagRecords: provenance.lagRecords, source: provenance.source,
                watermark: provenance.watermark.map(Timestamp.format), complete: provenance.isComplete,
                missing: provenance.missing.map { missing in
                    .init(batchVersion: missing.batchVersion, belowCut: PartitionMap(missing.belowCut), reason: missing.reason)
                }, freshnessMs: provenance.freshnessMilliseconds, lateRecords: provenance.lateRecords,
                speedSources: provenance.speedSources.isEmpty ? nil : PartitionMap(provenance.speedSources),
                missingPartitions: provenance.missingPartitions.isEmpty ? nil : PartitionMap(provenance.missingPartitions)))
    }

    static func jsonValue(_ value: FieldValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .int(let number): .int(number)
        case .double(let number): number.isFinite ? .double(number) : .null
        case .bool(let flag): .bool(flag)
        case .timestamp(let time): .string(Timestamp.format(time))
        }
    }

    static func jsonValue(_ value: AggregateValue) -> JSONValue {
        switch value {
        case .int(let number): .int(number)
        // Beyond 64 bits a JSON reader sees a number it can only hold as a double.
        case .wideInt(let number): Int64(exactly: number).map(JSONValue.int) ?? .double(Double(number))
        case .double(let number): number.isFinite ? .double(number) : .null
        case .string(let text): .string(text)
        case .null: .null
        case .object(let entries): .object(Dictionary(entries.map { ($0.0, jsonValue($0.1)) }, uniquingKeysWith: { _, last in last }))
        }
    }
}
