import BatchLayer
import EventLog
import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import Kafka
import KafkaLog
import NIOCore
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// The exactness proof of the exact-merge contract, through the real application and a real
/// PostgreSQL: random events (late, out of order, four partitions) posted in rounds; between
/// rounds random full and incremental jobs, queries at random moments (also while a job runs),
/// and restarts of the server. Every answer is compared with a brute-force recomputation from the
/// events acknowledged so far that the speed layer had consumed, as its provenance says.
///
/// CI runs a short version; `TANDEM_EXACTNESS_ROUNDS=200 scripts/test.sh --filter ExactnessTests`
/// runs a long one.
@Suite("Exact merge of batch and speed layers")
struct ExactnessTests {
    static let view = #"""
        {"name":"exact","stream":"pageviews","dimensions":["url"],"bucket":"1m",
         "aggregates":{"views":{"fn":"count"},"n_sum":{"fn":"sum","field":"n"},"n_min":{"fn":"min","field":"n"},
                       "n_max":{"fn":"max","field":"n"},"users":{"fn":"distinct","field":"user_id"}}}
        """#

    /// An acknowledged event and where the log put it.
    struct Placed {
        var event: TestEvent
        var partition: Int
        var offset: Int
    }

    static func expected(_ placed: [Placed], consumed: [Int], from: Int64, to: Int64, granularity: Int64?) -> [String: [String: Int64]] {
        var rows: [String: [String: Int64]] = [:]
        var users: [String: Set<String>] = [:]
        for item in placed where item.offset < consumed[item.partition] {
            let event = item.event
            let bucket = event.ts - ((event.ts % 60_000) + 60_000) % 60_000
            guard bucket >= from && bucket < to else { continue }
            let time = granularity.map { bucket - ((bucket % $0) + $0) % $0 }
            let key = "\(time.map(String.init) ?? "-")|\(event.url)"
            var row = rows[key] ?? ["views": 0, "n_sum": 0, "n_min": .max, "n_max": .min]
            row["views"]! += 1
            row["n_sum"]! += event.n
            row["n_min"] = min(row["n_min"]!, event.n)
            row["n_max"] = max(row["n_max"]!, event.n)
            rows[key] = row
            if let user = event.user { users[key, default: []].insert(user) }
        }
        for key in rows.keys { rows[key]!["users"] = Int64(users[key]?.count ?? 0) }
        return rows
    }

    /// Which acknowledged events were late, by brute force: an event is late when its time is
    /// more than the watermark delay (`delay`) before the largest event time of the earlier
    /// events of its partition.
    static func lateFlags(_ placed: [Placed], delay: Int64 = 5_000) -> [Bool] {
        var maxima: [Int: Int64] = [:]
        return placed.map { item in
            defer { maxima[item.partition] = max(maxima[item.partition] ?? item.event.ts, item.event.ts) }
            guard let maximum = maxima[item.partition] else { return false }
            return item.event.ts < maximum - delay
        }
    }

    /// The late events an answer over `[from, to)` (and `urls`, if any) counts.
    static func expectedLate(_ placed: [Placed], consumed: [Int], from: Int64, to: Int64, urls: [String]?) -> Int64 {
        var late: Int64 = 0
        for (item, isLate) in zip(placed, lateFlags(placed)) where isLate && item.offset < consumed[item.partition] {
            let bucket = item.event.ts - ((item.event.ts % 60_000) + 60_000) % 60_000
            guard bucket >= from && bucket < to, urls?.contains(item.event.url) ?? true else { continue }
            late += 1
        }
        return late
    }

    /// A random query of the test view: a range of 1 to 5 hours around the events, a granularity
    /// of a minute, an hour or all, and half the time a filter on a few urls (the serving cache,
    /// the speed layer's index and the version tables all narrow them).
    static func randomQuery(using random: inout SplitMix64) -> (request: String, from: Int64, to: Int64, granularity: Int64?, urls: [String]?) {
        let base: Int64 = 1_763_596_800_000
        let from = base + Int64.random(in: -2...2, using: &random) * 3_600_000
        let to = from + Int64.random(in: 1...5, using: &random) * 3_600_000
        let granularity: Int64? = [60_000, 3_600_000, nil].randomElement(using: &random)!
        let urls: [String]? =
            Bool.random(using: &random) ? nil : (0..<Int.random(in: 1...3, using: &random)).map { _ in "/p/\(Int.random(in: 0..<6, using: &random))" }
        let filter = urls.map { #","filter":{"field":"url","op":"in","value":[\#($0.map { "\"\($0)\"" }.joined(separator: ","))]}"# } ?? ""
        let request = #"""
            {"view":"exact","from":"\#(from)","to":"\#(to)","granularity":"\#(granularity.map { "\($0 / 1000)s" } ?? "all")","group_by":["url"]\#(filter)}
            """#
        return (request, from, to, granularity, urls)
    }

    /// Why an answer is not exact, or `nil` when it is: its rows and late records against a
    /// brute-force recomputation of the acknowledged events it covers. An answer covers, per
    /// partition, every record below its version's cut and what its speed layer consumed past it
    /// (a runner that has just restarted may cut ahead of its own consumers).
    static func check(
        _ answer: QueryResponse, placed: [Placed], from: Int64, to: Int64, granularity: Int64?, urls: [String]?
    ) throws -> String? {
        let provenance = answer.provenance
        let covered = try (0..<4).map { Int(max(try #require(provenance.speedOffsets[$0]), try #require(provenance.cut[$0]))) }
        let want = expected(placed, consumed: covered, from: from, to: to, granularity: granularity).filter { key, _ in
            urls.map { $0.contains(String(key.split(separator: "|").last!)) } ?? true
        }
        var got: [String: [String: Int64]] = [:]
        for row in answer.rows {
            let time = row["time"]?.string.map { String(Events_parse($0)) } ?? "-"
            let url = try #require(row["url"]?.string)
            got["\(time)|\(url)"] = [
                "views": try #require(row["views"]?.int), "n_sum": try #require(row["n_sum"]?.int),
                "n_min": try #require(row["n_min"]?.int), "n_max": try #require(row["n_max"]?.int),
                "users": try #require(row["users"]?.int),
            ]
        }
        let lateWanted = expectedLate(placed, consumed: covered, from: from, to: to, urls: urls)
        var problems: [String] = []
        let differing = Set(got.keys).union(want.keys).filter { got[$0] != want[$0] }.sorted()
        if !differing.isEmpty {
            problems.append(
                "\(differing.count) rows differ, such as "
                    + differing.prefix(3).map { "\($0): \(got[$0] ?? [:]) instead of \(want[$0] ?? [:])" }.joined(separator: "; "))
        }
        if provenance.lateRecords != lateWanted {
            problems.append("late_records \(String(describing: provenance.lateRecords)) instead of \(lateWanted)")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    /// The log the server runs on.
    enum Backend: String, Sendable, CustomTestStringConvertible {
        case embedded
        case kafka
        var testDescription: String { rawValue }
    }

    /// With the serving cache, and without it (every batch read goes to the version table), on
    /// the embedded log; and on Kafka (through a real Kafka-protocol broker) with the cache.
    @Test(arguments: [(true, Backend.embedded), (false, .embedded), (true, .kafka)])
    func everyAnswerIsExact(cached: Bool, backend: Backend) async throws {
        let rounds = ProcessInfo.processInfo.environment["TANDEM_EXACTNESS_ROUNDS"].flatMap { Int($0) } ?? 12
        let directory = try TemporaryDirectory(prefix: "tandem-exact")
        defer { directory.remove() }
        let database = try TestDatabase.create()
        var random = SplitMix64(seed: 2026)
        var placed: [Placed] = []
        var queries = 0, mismatches = 0, batchAnswers = 0, jobs = 0
        var round = 0
        var life = 0
        let kafka = backend == .kafka ? try TestKafka.current() : nil
        let prefix = TestKafka.uniqueTopic("exact") + "."
        while round < rounds {
            life += 1
            let restartAfter = round + Int.random(in: 3...6, using: &random)
            let state = try await withApp(
                directory: directory, database: database,
                configure: { configuration in
                    configuration.ingest.eventTimeBounds.maxFutureMilliseconds = nil
                    configuration.batch.retryDelay = .milliseconds(50)
                    if !cached { configuration.batch.cacheMaxBytes = 0 }
                    if let kafka {
                        configuration.logBackend = .kafka(
                            KafkaLog.Configuration(
                                client: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1), topicPrefix: prefix))
                    }
                }
            ) { [placed, random, round, life] client async throws -> ([Placed], SplitMix64, Int, Int, Int, Int, Int) in
                var placed = placed, random = random, round = round
                var queries = 0, mismatches = 0, batchAnswers = 0, jobs = 0
                if life == 1 {
                    let created = try await client.execute(
                        uri: "/v1/views", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: Self.view))
                    #expect(created.status == .created)
                }
                while round < min(rounds, restartAfter) {
                    round += 1
                    // Post a few requests of random events (every one keyed: the test knows their partition).
                    for _ in 0..<Int.random(in: 1...3, using: &random) {
                        var events = TestEvent.random(count: Int.random(in: 1...300, using: &random), seed: random.next())
                        for index in events.indices where events[index].user == nil { events[index].user = "u\(index % 17)" }
                        let body = events.map(\.json).joined(separator: "\n")
                        let response = try await client.post(body, contentType: "application/x-ndjson")
                        #expect(response.status == .ok)
                        let partitions = try decode(IngestResponse.self, response).partitions.values
                        var next = partitions.mapValues { Int($0.first) }
                        for event in events {
                            let key = Array(event.user!.utf8)
                            let partition =
                                backend == .kafka
                                ? KafkaPartitioner.partition(of: key, partitions: 4)
                                : key.withUnsafeBytes { Topic.partition(forKey: $0, partitions: 4) }
                            placed.append(Placed(event: event, partition: partition, offset: next[partition]!))
                            next[partition]! += 1
                        }
                    }
                    // Maybe start a job (without waiting for it).
                    if Bool.random(using: &random) {
                        let mode = Bool.random(using: &random) ? "full" : "incremental"
                        let response = try await client.execute(
                            uri: "/v1/jobs", method: .post, headers: [.contentType: "application/json"],
                            body: ByteBuffer(string: #"{"view":"exact","mode":"\#(mode)"}"#))
                        #expect(response.status == .accepted || response.status == .conflict)
                        if response.status == .accepted { jobs += 1 }
                    }
                    // Query at random moments, over random ranges and granularities.
                    for _ in 0..<Int.random(in: 1...4, using: &random) {
                        let (request, from, to, granularity, urls) = Self.randomQuery(using: &random)
                        let response = try await client.execute(
                            uri: "/v1/query", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: request))
                        #expect(response.status == .ok, "\(String(buffer: response.body))")
                        let answer = try decode(QueryResponse.self, response)
                        if answer.provenance.source == "batch+speed" { batchAnswers += 1 }
                        queries += 1
                        if let problem = try Self.check(answer, placed: placed, from: from, to: to, granularity: granularity, urls: urls) {
                            mismatches += 1
                            Issue.record("mismatch in round \(round) for \(request): \(problem); provenance \(answer.provenance)")
                        }
                        if Bool.random(using: &random) { try await Task.sleep(for: .milliseconds(Int.random(in: 1...20, using: &random))) }
                    }
                }
                return (placed, random, round, queries, mismatches, batchAnswers, jobs)
            }
            (placed, random, round) = (state.0, state.1, state.2)
            queries += state.3
            mismatches += state.4
            batchAnswers += state.5
            jobs += state.6
        }
        #expect(mismatches == 0)
        #expect(queries > 0)
        #expect(jobs > 0)
        #expect(batchAnswers > 0, "no answer used a published batch version: the test proved nothing about merging")
        print(
            "exactness (\(backend.rawValue), \(cached ? "serving cache" : "tables only")): \(rounds) rounds, \(life) server lives, \(placed.count) events, \(jobs) jobs, \(queries) queries (\(batchAnswers) batch+speed), \(mismatches) mismatches"
        )
    }
}
