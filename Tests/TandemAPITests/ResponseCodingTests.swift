import Aggregation
import Events
import Foundation
import ServingLayer
import TandemAPI
import Testing

@Suite("Response types")
struct ResponseCodingTests {
    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    @Test("the hand-written ingest answer is the document its type decodes, and JSONEncoder writes the same")
    func ingestAnswer() throws {
        let answer = IngestResponse(
            accepted: 12, duplicates: 1,
            partitions: PartitionMap([0: .init(first: 0, last: 4), 2: .init(first: 7, last: 9), 10: .init(first: 100, last: 101)]))
        #expect(try Self.decode(IngestResponse.self, answer.json) == answer)
        #expect(answer.json.hasPrefix("{\"accepted\":12,\"duplicates\":1,\"partitions\":{\"0\":{\"first_offset\":0,\"last_offset\":4},\"2\":"))
        let encoded = String(decoding: try JSONEncoder().encode(answer), as: UTF8.self)
        #expect(try Self.decode(IngestResponse.self, encoded) == answer)
    }

    @Test("the hand-written query answer decodes to exactly QueryResult.response")
    func queryAnswer() throws {
        let result = QueryResult(
            aggregateNames: ["n", "total", "p", "latency", "missing"], dimensions: ["url", "country", "day", "ok"],
            rows: [
                (
                    time: 1_700_000_000_000, end: 1_700_000_060_000,
                    group: [.string("/a \"quoted\" \\ path\n"), nil, .timestamp(1_700_000_000_123), .bool(true)],
                    values: [
                        .int(42), .wideInt(Int128(Int64.max) * 4 + 3), .object([("p50", .double(1.5)), ("p95", .double(2.25))]), .double(.nan),
                        .null,
                    ]
                ),
                (
                    time: nil, end: nil, group: [.string("é ✓\u{1}\t"), .int(-7), nil, .double(0.1)],
                    values: [.int(0), .int(Int64.min), .double(3.0), .string("x"), .int(Int64.max)]
                ),
            ],
            provenance: Provenance(
                batchVersion: 9, cut: [10, 20], speedOffsets: [15, 20], logEnd: [16, 22], lagRecords: 3, source: "batch+speed",
                watermark: 1_700_000_000_000),
            hasTime: true, hasEnd: true)
        let decoded = try Self.decode(QueryResponse.self, result.json)
        #expect(decoded == result.response)
        #expect(decoded.rows[0]["url"] == .string("/a \"quoted\" \\ path\n"))
        #expect(decoded.rows[0]["latency"] == .null)
        #expect(decoded.rows[1]["country"] == .int(-7))
        #expect(decoded.rows[1]["url"] == .string("é ✓\u{1}\t"))
        #expect(result.json.contains(#""url":"é ✓\u0001\t""#))
        #expect(decoded.rows[1]["total"] == .int(Int64.min))
        #expect(decoded.provenance.cut.list == [10, 20])
        #expect(decoded.provenance.watermark == "2023-11-14T22:13:20.000Z")

        var empty = result
        empty.rows = []
        empty.provenance.batchVersion = nil
        empty.provenance.watermark = nil
        #expect(try Self.decode(QueryResponse.self, empty.json) == empty.response)
    }

    @Test("a job answer writes absent values as null and reads back")
    func jobAnswer() throws {
        let job = JobResponse(
            id: "j_000042", view: "hourly", mode: "full", trigger: "api", state: "queued", progress: .init(scanned: 0, total: 0, skipped: 0),
            cut: nil, version: nil, rowsWritten: nil, attempts: 0, createdAt: "2026-11-28T10:00:00.000Z", startedAt: nil, finishedAt: nil,
            error: nil)
        let object = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(job)) as? NSDictionary)
        for key in ["cut", "version", "rows_written", "started_at", "finished_at", "error"] {
            #expect(object[key] is NSNull, "\(key) is written as null")
        }
        #expect(try JSONDecoder().decode(JobResponse.self, from: try JSONEncoder().encode(job)) == job)
        var done = job
        done.cut = PartitionMap([5, 6])
        done.state = "succeeded"
        done.version = 3
        #expect(try JSONDecoder().decode(JobResponse.self, from: try JSONEncoder().encode(done)) == done)
    }

    @Test("a partition map reads partition-numbered objects and refuses other keys")
    func partitionMap() throws {
        let map = try Self.decode(PartitionMap<Int64>.self, "{\"1\": 5, \"0\": 3}")
        #expect(map.list == [3, 5])
        #expect(map[1] == 5)
        #expect(throws: DecodingError.self) { try Self.decode(PartitionMap<Int64>.self, "{\"zero\": 3}") }
    }

    @Test("a view answer is the definition with status and failure beside its fields")
    func viewAnswer() throws {
        let view = ViewDefinition(
            name: "hourly", stream: "pageviews", dimensions: ["url"], bucketMilliseconds: 3_600_000, aggregates: [("n", AggregateSpec(.count))])
        let status = SpeedViewStatus(
            view: "hourly", caughtUp: true, consumed: 10, replayTotal: 10, offsets: [4, 6], stateRows: 3, segments: 1, undecodable: 0)
        let answer = ViewResponse(view: view, status: status, failure: nil)
        let data = try JSONEncoder().encode(answer)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
        #expect(object["name"] as? String == "hourly")
        #expect((object["status"] as? NSDictionary)?["caught_up"] as? Bool == true)
        #expect(try JSONDecoder().decode(ViewResponse.self, from: data) == answer)
        let failed = ViewResponse(view: view, status: nil, failure: "stream changed")
        #expect(try JSONDecoder().decode(ViewResponse.self, from: try JSONEncoder().encode(failed)) == failed)
    }
}
