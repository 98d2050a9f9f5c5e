import Aggregation
import ArgumentParser
import Events
import Foundation
import ServingLayer
import TandemAPI

/// `tandem bench encode`: the hand-written writers of the ingest and query answers against
/// `JSONEncoder` on their Codable types, in the same run. It is the measurement behind keeping
/// those two writers (issue 8: hand-written encoders only where a benchmark shows they matter).
struct EncodeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Hand-written answer writers vs JSONEncoder on the same answers.")
    @Option(help: "Rows in the query answer.") var rows: Int = 100_000
    @Option(help: "Ingest answers encoded per run.") var answers: Int = 100_000
    @Option(help: "Repetitions (the median is reported).") var runs: Int = 5

    func run() throws {
        let ingest = IngestResponse(
            accepted: 5000, duplicates: 0,
            partitions: PartitionMap((0..<4).map { IngestResponse.Offsets(first: Int64($0) * 1_000_000, last: Int64($0) * 1_000_000 + 1249) }))
        let query = Self.queryResult(rows: rows)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var sink = 0
        let ingestHand = (0..<runs).map { _ in IngestBench.seconds { for _ in 0..<answers { sink &+= ingest.json.utf8.count } } }
        let ingestCodable = try (0..<runs).map { _ in try IngestBench.seconds { for _ in 0..<answers { sink &+= try encoder.encode(ingest).count } } }
        let queryHand = (0..<runs).map { _ in IngestBench.seconds { sink &+= query.json.utf8.count } }
        let queryCodable = try (0..<runs).map { _ in try IngestBench.seconds { sink &+= try encoder.encode(query.response).count } }
        func report(_ name: String, _ hand: [Double], _ codable: [Double], per count: Int, unit: String) {
            let handMedian = IngestBench.median(hand), codableMedian = IngestBench.median(codable)
            print(
                "\(name): hand-written \(String(format: "%.2f", handMedian * 1e9 / Double(count))) ns/\(unit), JSONEncoder "
                    + "\(String(format: "%.2f", codableMedian * 1e9 / Double(count))) ns/\(unit): \(String(format: "%.1f", codableMedian / handMedian))× faster by hand"
            )
        }
        print("median of \(runs) runs")
        report("ingest answer (4 partitions)", ingestHand, ingestCodable, per: answers, unit: "answer")
        report("query answer (\(rows) rows, 2 dimensions, 3 aggregates)", queryHand, queryCodable, per: rows, unit: "row")
        if sink == 42 { print("") }
    }

    /// An hourly answer of `rows` rows: time, url and country, a count, a sum and a p95.
    static func queryResult(rows: Int) -> QueryResult {
        let countries = ["US", "DE", "FR", "BR", "IN", "JP"]
        var rowList: [(time: Int64?, end: Int64?, group: [FieldValue?], values: [AggregateValue])] = []
        rowList.reserveCapacity(rows)
        for index in 0..<rows {
            let time: Int64 = 1_795_000_000_000 + Int64(index / 100) * 3_600_000
            let group: [FieldValue?] = [.string("/products/\(index % 5000)"), .string(countries[index % countries.count])]
            let latency = Double(index % 2000) / 10 + 0.25
            let values: [AggregateValue] = [.int(Int64(index % 977)), .int(Int64(index) * 1234), .double(latency)]
            rowList.append((time: time, end: nil, group: group, values: values))
        }
        return QueryResult(
            aggregateNames: ["views", "bytes", "p95_latency"], dimensions: ["url", "country"], rows: rowList,
            provenance: Provenance(
                batchVersion: 3, cut: [1000, 1000], speedOffsets: [1200, 1180], logEnd: [1200, 1180], lagRecords: 0, source: "batch+speed",
                watermark: 1_795_000_000_000),
            hasTime: true, hasEnd: false)
    }
}
