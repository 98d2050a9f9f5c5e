import CompressNIO
import EventLog
import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import NIOCore
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

@Suite("Ingest through the real application")
struct IngestRouteTests {
    @Test func singleObjectIsAcceptedAndReadBack() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            let response = try await client.post(#"{"ts":"2026-11-20T00:00:01.250Z","url":"/products/1","user_id":"u42","latency_ms":12.5}"#)
            #expect(response.status == .ok)
            let body = try decode(IngestResponse.self, response)
            #expect(body.accepted == 1)
            #expect(body.duplicates == 0)
            let partitions = body.partitions.values
            #expect(partitions.count == 1)
            let records = try await client.records()
            #expect(records.count == 1)
            let record = try #require(records.first)
            #expect(record.key == "u42")
            #expect(record.eventTime == "2026-11-20T00:00:01.250Z")
            #expect(record.partition == partitions.keys.first)
            #expect(record.event["url"]?.string == "/products/1")
            #expect(record.event["latency_ms"]?.double == 12.5)
        }
    }

    @Test func arrayAndNDJSONAreAcceptedWithContiguousOffsets() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            let array = "[" + (0..<100).map { #"{"ts":1763596800000,"url":"/a","user_id":"u\#($0 % 7)","n":\#($0)}"# }.joined(separator: ",") + "]"
            let first = try await client.post(array)
            #expect(first.status == .ok)
            #expect(try decode(IngestResponse.self, first).accepted == 100)
            let ndjson = (100..<250).map { #"{"ts":"2026-11-20T01:00:00Z","url":"/b","n":\#($0)}"# }.joined(separator: "\n") + "\n\n"
            let second = try await client.post(ndjson, contentType: "application/x-ndjson")
            #expect(second.status == .ok, "\(String(buffer: second.body))")
            #expect(try decode(IngestResponse.self, second).accepted == 150)
            let records = try await client.records()
            #expect(records.count == 250)
            let numbers = try records.map { try #require($0.event["n"]?.int) }
            #expect(Set(numbers) == Set(0..<250))
            var byPartition: [Int: [Int64]] = [:]
            for record in records { byPartition[record.partition, default: []].append(record.offset) }
            for (_, offsets) in byPartition { #expect(offsets == Array(0..<Int64(offsets.count))) }
            // Keyless events are spread round-robin over all partitions.
            #expect(byPartition.count == 4)
            // Events with the same key share a partition.
            var partitionOfKey: [String: Int] = [:]
            for record in records {
                guard let key = record.key else { continue }
                let partition = record.partition
                #expect(partitionOfKey[key, default: partition] == partition)
                partitionOfKey[key] = partition
            }
        }
    }

    @Test func invalidEventRefusesTheWholeRequest() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            #expect(try await client.post(#"{"ts":1763596800000,"url":"/seed"}"#).status == .ok)
            let before = try await client.endOffsets()
            let body = #"""
                [{"ts":1763596800000,"url":"/ok"},
                 {"ts":"yesterday","url":"/bad"},
                 {"ts":1763596800000,"url":"/ok","n":1.5},
                 {"ts":1763596800000},
                 {"ts":1763596800000,"url":"/x","color":"red"},
                 {"ts":1763596800000,"url":"/x","url":"/y"},
                 {"ts":1763596800000,"url":"/x","n":99999999999999999999},
                 "not an object"]
                """#
            let response = try await client.post(body)
            #expect(response.status == .badRequest)
            let error = try errorBody(response)
            #expect(error.code == "invalid_event")
            #expect(error.message.contains("7 of 8 events are invalid; nothing was appended"))
            let details = try #require(error.details)
            func detail(_ index: Int) -> ErrorDetail? { details.first { $0.index == index } }
            #expect(detail(0) == nil)
            #expect(detail(1)?.code == "type_mismatch")
            #expect(detail(1)?.field == "ts")
            #expect(detail(1)?.message.contains("\"yesterday\"") == true)
            #expect(detail(2)?.code == "type_mismatch")
            #expect(detail(2)?.field == "n")
            #expect(detail(3)?.code == "missing_field")
            #expect(detail(3)?.field == "url")
            #expect(detail(4)?.code == "unknown_field")
            #expect(detail(4)?.field == "color")
            #expect(detail(5)?.code == "duplicate_field")
            #expect(detail(6)?.code == "out_of_range")
            #expect(detail(7)?.code == "not_an_object")
            #expect(try await client.endOffsets() == before)
        }
    }

    @Test func ndjsonErrorsNameTheLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            let body = "{\"ts\":1763596800000,\"url\":\"/a\"}\n\n{\"ts\":1763596800000,\"url\":\"/b\"\n{\"ts\":1763596800000,\"url\":3}\n"
            let response = try await client.post(body, contentType: "application/x-ndjson")
            #expect(response.status == .badRequest)
            let details = try #require(try errorBody(response).details)
            #expect(details.map(\.index) == [2, 3])
            #expect(details.map(\.code) == ["invalid_json", "type_mismatch"])
            #expect(try await client.endOffsets() == [0, 0, 0, 0])
        }
    }

    @Test func malformedJSONIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            for body in ["", "[", "{\"ts\":", "[{\"ts\":1,\"url\":\"/a\"},]", "{\"ts\":1,\"url\":\"/a\"} trailing", "42"] {
                let response = try await client.post(body)
                #expect(response.status == .badRequest, "body \(body)")
                let details = try errorBody(response).details
                #expect(details?.first?.code == "invalid_json", "body \(body)")
            }
            #expect(try await client.endOffsets() == [0, 0, 0, 0])
        }
    }

    @Test func unknownStreamIs404() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            let response = try await client.post(#"{"ts":1,"url":"/a"}"#, stream: "nope")
            #expect(response.status == .notFound)
            #expect(try errorBody(response).code == "unknown_stream")
        }
    }

    @Test(arguments: [nil, "text/plain", "application/x-www-form-urlencoded"])
    func wrongContentTypeIs415(contentType: String?) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            var headers: HTTPFields = [:]
            if let contentType { headers[.contentType] = contentType }
            let response = try await client.execute(
                uri: "/v1/streams/pageviews/events", method: .post, headers: headers, body: ByteBuffer(string: #"{"ts":1,"url":"/a"}"#))
            #expect(response.status == .unsupportedMediaType)
            #expect(try errorBody(response).code == "unsupported_media_type")
        }
    }

    @Test func bodyAndEventLimitsAre413() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(
            directory: directory,
            configure: {
                $0.ingest.maxBodyBytes = 4096
                $0.ingest.maxEventsPerRequest = 10
            }
        ) { client async throws in
            let big = "[" + (0..<200).map { _ in #"{"ts":1763596800000,"url":"/a"}"# }.joined(separator: ",") + "]"
            let tooLarge = try await client.post(big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(try errorBody(tooLarge).code == "body_too_large")
            let many = (0..<11).map { _ in #"{"ts":1763596800000,"url":"/a"}"# }.joined(separator: "\n")
            let tooMany = try await client.post(many, contentType: "application/x-ndjson")
            #expect(tooMany.status == .contentTooLarge)
            #expect(try errorBody(tooMany).code == "too_many_events")
            let ten = (0..<10).map { _ in #"{"ts":1763596800000,"url":"/a"}"# }.joined(separator: "\n")
            #expect(try await client.post(ten, contentType: "application/x-ndjson").status == .ok)
            #expect(try await client.endOffsets().reduce(0, +) == 10)
        }
    }

    @Test("gzip bodies are decompressed within max_body_bytes; bombs, damage, cut-off bodies and other encodings are refused")
    func gzipBodies() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory, configure: { $0.ingest.maxBodyBytes = 65_536 }) { client async throws in
            func post(_ body: ByteBuffer, encoding: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/v1/streams/pageviews/events", method: .post,
                    headers: [.contentType: "application/x-ndjson", .contentEncoding: encoding], body: body)
            }
            func gzip(_ text: String) throws -> ByteBuffer {
                var plain = ByteBuffer(string: text)
                return try plain.compress(with: .gzip())
            }
            let events = (0..<500).map { #"{"ts":1763596800000,"url":"/gz","n":\#($0)}"# }.joined(separator: "\n") + "\n"
            #expect(events.utf8.count > 16_000)
            let accepted = try await post(try gzip(events), encoding: "gzip")
            #expect(accepted.status == .ok, "\(String(buffer: accepted.body))")
            #expect(try decode(IngestResponse.self, accepted).accepted == 500)

            // 1 MB of zeros compresses to about a kilobyte: refused before it is held.
            let bomb = try await post(try gzip(String(repeating: " ", count: 1 << 20)), encoding: "gzip")
            #expect(bomb.status == .contentTooLarge)
            #expect(try errorBody(bomb).code == "body_too_large")
            #expect(try errorBody(bomb).message.contains("decompressed"))

            // Cut at a line end inside the stream: what zlib gives back is whole lines, but the
            // body is not whole, so nothing is appended.
            var whole = try gzip(events)
            let cut = try await post(whole.readSlice(length: whole.readableBytes - 8)!, encoding: "gzip")
            #expect(cut.status == .badRequest)
            #expect(try errorBody(cut).code == "invalid_body")

            var damaged = try gzip(events)
            damaged.setBytes(Array(repeating: 0xFF, count: 16), at: damaged.readerIndex + 20)
            let broken = try await post(damaged, encoding: "gzip")
            #expect(broken.status == .badRequest)
            #expect(try errorBody(broken).code == "invalid_body")

            let garbage = try await post(ByteBuffer(string: "not gzip at all, not gzip at all"), encoding: "gzip")
            #expect(garbage.status == .badRequest)

            let brotli = try await post(ByteBuffer(string: events), encoding: "br")
            #expect(brotli.status == .unsupportedMediaType)
            #expect(try errorBody(brotli).code == "unsupported_encoding")

            let identity = try await post(ByteBuffer(string: #"{"ts":1763596800000,"url":"/id"}"#), encoding: "identity")
            #expect(identity.status == .ok)
            #expect(try await client.endOffsets().reduce(0, +) == 501)
        }
    }

    @Test func eventTimeOutsideBoundsIs400() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(
            directory: directory,
            configure: {
                $0.ingest.eventTimeBounds = EventTimeBounds(maxAgeMilliseconds: 86_400_000, maxFutureMilliseconds: 60_000)
            }
        ) { client async throws in
            let now = Timestamp.now()
            let future = try await client.post(#"{"ts":\#(now + 3_600_000),"url":"/a"}"#)
            #expect(future.status == .badRequest)
            let details = try errorBody(future).details
            #expect(details?.first?.code == "event_time_out_of_bounds")
            #expect(details?.first?.field == "ts")
            let old = try await client.post(#"{"ts":"2020-01-01T00:00:00Z","url":"/a"}"#)
            #expect(old.status == .badRequest)
            #expect(try await client.post(#"{"ts":\#(now - 1000),"url":"/a"}"#).status == .ok)
        }
    }

    @Test func fullQueueIs503WithRetryAfterAndLosesNothingAccepted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory, configure: { $0.ingest.maxInFlightBytes = 1 }) { client async throws in
            var accepted = 0
            var refused = 0
            for round in 0..<10 where refused == 0 {
                let results = try await withThrowingTaskGroup(of: (Int, String?, String?).self) { group in
                    for i in 0..<64 {
                        group.addTask {
                            let body = (0..<50).map { #"{"ts":1763596800000,"url":"/r\#(round)/\#(i)/\#($0)"}"# }.joined(separator: "\n")
                            let response = try await client.post(body, contentType: "application/x-ndjson")
                            let code = response.status == .ok ? nil : try errorBody(response).code
                            return (response.status.code, code, response.headers[.retryAfter])
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for (status, code, retryAfter) in results {
                    if status == 200 {
                        accepted += 50
                    } else {
                        #expect(status == 503)
                        #expect(code == "log_queue_full")
                        #expect(retryAfter == "1")
                        refused += 1
                    }
                }
            }
            #expect(refused > 0, "64 concurrent requests against a 1-byte queue never overlapped")
            #expect(try await client.endOffsets().reduce(0, +) == Int64(accepted))
            #expect(try await client.records().count == accepted)
        }
    }

    @Test func escapedStringsRoundTrip() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            let response = try await client.post(#"{"ts":1763596800000,"url":"/caf\u00e9/\"q\"/\ud83d\ude00\n","user_id":"ü"}"#)
            #expect(response.status == .ok)
            let record = try #require(try await client.records().first)
            #expect(record.event["url"]?.string == "/café/\"q\"/😀\n")
            #expect(record.key == "ü")
        }
    }
}
