import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// A real `tandem serve` against a PostgreSQL cluster of its own that the test stops and starts:
/// at the server's start, during ingest, during jobs (their scan, COPY and publish) and during
/// queries. Nothing acknowledged may be lost, no answer may be silently incomplete, and the
/// answers are exact once the database is back.
@Suite("PostgreSQL outages", .serialized)
struct PostgresOutageTests {
    /// CrashTortureTests' `orders` stream and `per_client` view.
    static let config = CrashTortureTests.config

    /// A throwaway cluster in `directory`, on a free port.
    static func cluster(in directory: TemporaryDirectory) throws -> ManagedPostgres {
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .warning
        return try ManagedPostgres(directory: directory.path + "/cluster", logger: logger)
    }

    /// The same cluster started again on its port.
    static func restart(_ cluster: ManagedPostgres) throws -> ManagedPostgres {
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .warning
        return try ManagedPostgres(directory: cluster.directory, port: cluster.port, logger: logger)
    }

    /// Posts `count` events of client `name` from `first`, one request; returns the status.
    static func post(_ client: HTTPTestClient, name: String, from first: Int, count: Int) async throws -> Int {
        let body = (first..<(first + count)).map { #"{"ts":1763596800000,"client":"\#(name)","seq":\#($0)}"# }.joined(separator: "\n")
        return try await client.send(.POST, "/v1/streams/orders/events", body: body, contentType: "application/x-ndjson").status
    }

    static let query = #"{"view":"per_client","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#

    /// The total count of a complete answer, `nil` for anything else.
    static func total(_ client: HTTPTestClient, allowPartial: Bool = false) async throws -> (status: Int, answer: QueryResponse?, body: String) {
        let body = allowPartial ? String(query.dropLast()) + #","allow_partial":true}"# : query
        let (status, text) = try await client.send(.POST, "/v1/query", body: body)
        return (status, status == 200 ? try decode(QueryResponse.self, text) : nil, text)
    }

    /// Submits a full job (retrying while another runs or the database is away) and waits until
    /// one succeeds; returns its version.
    static func runFullJob(_ client: HTTPTestClient, within limit: Duration = .seconds(120)) async throws -> Int64? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let (status, body) = try await client.send(.POST, "/v1/jobs", body: #"{"view":"per_client","mode":"full"}"#)
            guard status == 202 else {
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            let id = try decode(JobResponse.self, body).id
            while ContinuousClock.now < deadline {
                let (status, text) = try await client.send(.GET, "/v1/jobs/\(id)")
                if status == 200 {
                    let job = try decode(JobResponse.self, text)
                    if job.state == "succeeded" { return job.version }
                    if job.state == "failed" { break }
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return nil
    }

    @Test func startsWithoutPostgresTakesEventsAndAttachesWhenItIsBack() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-pg-outage")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        var cluster = try Self.cluster(in: directory)
        defer { cluster.stop() }

        // With the database: 200 events, a published version, 100 events after its cut.
        var server = try await ServerProcess.start(in: directory, run: 1, database: cluster.url)
        var client = HTTPTestClient(baseURL: server.baseURL)
        #expect(try await Self.post(client, name: "c0", from: 0, count: 200) == 200)
        let version = try #require(try await Self.runFullJob(client))
        #expect(try await Self.post(client, name: "c0", from: 200, count: 100) == 200)
        #expect(try await Self.total(client).answer?.rows.first?["n"]?.int == 300)
        server.terminate()

        // Without it: the server starts, takes events, and never answers without the version.
        cluster.stop()
        let started = ContinuousClock.now
        server = try await ServerProcess.start(in: directory, run: 2, database: cluster.url)
        defer { server.terminate() }
        #expect(ContinuousClock.now - started < .seconds(30), "the start waits for the database")
        client = HTTPTestClient(baseURL: server.baseURL)
        #expect(try await Self.post(client, name: "c1", from: 0, count: 50) == 200)
        let refused = try await client.exchange(.POST, "/v1/query", body: Self.query)
        #expect(refused.status == 503, "\(refused.body)")
        #expect(try decode(ErrorResponse.self, refused.body).error.code == "batch_unavailable")
        #expect(refused.headers["Retry-After"].first == "5")
        let partial = try await Self.total(client, allowPartial: true)
        let answer = try #require(partial.answer, "\(partial.body)")
        #expect(answer.provenance.complete == false)
        #expect(answer.provenance.missing?.batchVersion == version)
        #expect(answer.provenance.missing?.belowCut == answer.provenance.cut)
        #expect(answer.rows.first?["n"]?.int == 150, "the records after the published cut: 100 before the restart, 50 since")
        let job = try await client.send(.POST, "/v1/jobs", body: #"{"view":"per_client","mode":"full"}"#)
        #expect(job.status == 503, "\(job.body)")
        let readiness = try await client.send(.GET, "/readyz")
        #expect(readiness.status == 503)
        #expect(try decode(HealthResponse.self, readiness.body).database?.hasPrefix("not attached since the start") == true, "\(readiness.body)")
        // A stream defined meanwhile is taken now and stored in PostgreSQL once it is back.
        let stream = #"{"name":"extra","partitions":1,"time_field":"ts","fields":{"ts":{"type":"timestamp","required":true}}}"#
        #expect(try await client.send(.POST, "/v1/streams", body: stream).status == 201)
        #expect(try await client.send(.POST, "/v1/streams/extra/events", body: #"{"ts":1763596800000}"#).status == 200)
        let delete = try await client.send(.DELETE, "/v1/views/per_client")
        #expect(delete.status == 503, "deleting needs the database: \(delete.body)")

        // The database comes back on its port (once the server has tried to reach it in vain):
        // the server attaches it by itself.
        var waited = ContinuousClock.now + .seconds(60)
        while !server.output.contains("PostgreSQL is not reachable yet"), ContinuousClock.now < waited {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(server.output.contains("PostgreSQL is not reachable yet"), "each failed attempt is logged")
        cluster = try Self.restart(cluster)
        waited = ContinuousClock.now + .seconds(90)
        var exact: QueryResponse?
        while ContinuousClock.now < waited {
            if let answer = try await Self.total(client).answer {
                exact = answer
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let back = try #require(exact, "the server did not attach the database: \(server.output.suffix(3000))")
        #expect(back.provenance.complete)
        #expect(back.provenance.batchVersion == version)
        #expect(back.rows.first?["n"]?.int == 350)
        #expect(try decode(HealthResponse.self, try await client.send(.GET, "/readyz").body).database == "ok")
        #expect(server.output.contains("the batch layer is attached"))
        #expect(try TestDatabase.psql(cluster.url, "SELECT count(*) FROM tandem_definitions WHERE kind = 'streams' AND name = 'extra'") == "1")
        // Jobs run again, and the answer stays exact.
        let next = try #require(try await Self.runFullJob(client))
        #expect(next > version)
        #expect(try await Self.total(client).answer?.rows.first?["n"]?.int == 350)
    }

    /// What the load of the outage test saw.
    final class Shared: Sendable {
        let acknowledged = Mutex<[Int]>([0, 0])
        let refusedIngest = Mutex<[String]>([])
        let wrongAnswers = Mutex<[String]>([])
        let answers = Mutex<(complete: Int, unavailable: Int)>((0, 0))
        let stop = Atomic<Bool>(false)
    }

    @Test func outagesDuringIngestJobsAndQueriesLoseNothing() async throws {
        let outages = Int(ProcessInfo.processInfo.environment["TANDEM_OUTAGES"] ?? "") ?? 3
        let directory = try TemporaryDirectory(prefix: "tandem-pg-outages")
        defer { directory.remove() }
        // Without the serving cache, every answer reads the published version from PostgreSQL,
        // within a second. A job waits at most 35 s for a statement (a COPY cut off by the
        // outage), and its next attempt runs.
        try (Self.config + "\nserving: {cache_max_bytes: 0}\nquery: {timeout: 1s}\npostgres: {statement_timeout: 5s}\n").write(
            toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        var cluster = try Self.cluster(in: directory)
        defer { cluster.stop() }
        let server = try await ServerProcess.start(in: directory, run: 1, database: cluster.url)
        defer { server.terminate() }
        let client = HTTPTestClient(baseURL: server.baseURL)
        _ = try #require(try await Self.runFullJob(client))

        // Ingest never stops; queries and jobs run through every outage.
        let shared = Shared()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for c in 0..<2 {
                    group.addTask {
                        while !shared.stop.load(ordering: .relaxed) {
                            let first = shared.acknowledged.withLock { $0[c] }
                            let status = (try? await Self.post(client, name: "c\(c)", from: first, count: 20)) ?? -1
                            if status == 200 {
                                shared.acknowledged.withLock { $0[c] += 20 }
                            } else {
                                shared.refusedIngest.withLock { $0.append("HTTP \(status)") }
                            }
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
                group.addTask {
                    while !shared.stop.load(ordering: .relaxed) {
                        guard let (status, answer, body) = try? await Self.total(client) else { continue }
                        if let answer {
                            if !answer.provenance.complete { shared.wrongAnswers.withLock { $0.append(body) } }
                            shared.answers.withLock { $0.complete += 1 }
                        } else if status == 503, body.contains("batch_unavailable") || body.contains("query_timeout") {
                            shared.answers.withLock { $0.unavailable += 1 }
                        } else {
                            shared.wrongAnswers.withLock { $0.append("HTTP \(status): \(body)") }
                        }
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        }
        var random = SplitMix64(seed: 11)
        var moments: [String] = []
        for outage in 0..<outages {
            // A job is submitted, and the database stops a moment later: during its scan, COPY
            // or publish, or after it.
            _ = try await client.send(.POST, "/v1/jobs", body: #"{"view":"per_client","mode":"\#(outage % 2 == 0 ? "full" : "incremental")"}"#)
            try await Task.sleep(for: .milliseconds(Int(random.next() % 400)))
            let jobs = try decode(JobsResponse.self, try await client.send(.GET, "/v1/jobs?limit=1").body).jobs
            moments.append(jobs.first.map { "\($0.state) at \($0.progress.scanned)/\($0.progress.total)" } ?? "no job")
            cluster.stop()
            try await Task.sleep(for: .seconds(2))
            cluster = try Self.restart(cluster)
            try await Task.sleep(for: .seconds(1))
        }
        shared.stop.store(true, ordering: .relaxed)
        await load.value

        #expect(shared.refusedIngest.withLock { $0 }.isEmpty, "ingest does not need the database: \(shared.refusedIngest.withLock { $0.prefix(5) })")
        #expect(shared.wrongAnswers.withLock { $0 }.isEmpty, "\(shared.wrongAnswers.withLock { $0.prefix(3) })")
        // Back: a full recompute, then the answer counts every acknowledged event once.
        _ = try #require(try await Self.runFullJob(client), "no full job succeeded: \(server.output.suffix(6000))")
        let answer = try #require(try await Self.total(client).answer)
        let counts = shared.acknowledged.withLock { $0 }
        #expect(answer.provenance.complete)
        #expect(answer.rows.first?["n"]?.int == Int64(counts.reduce(0, +)))
        let (seen, perClient) = try await CrashTortureTests.readLog(server)
        #expect(seen.count == counts.reduce(0, +) && seen.values.allSatisfy { $0 == 1 }, "every acknowledged event is in the log once")
        for (c, count) in counts.enumerated() {
            #expect(perClient["c\(c)"]?.n == count)
            #expect(perClient["c\(c)"]?.sum == count * (count - 1) / 2)
        }
        let (complete, unavailable) = shared.answers.withLock { $0 }
        #expect(unavailable > 0, "queries ran while the database was away")
        #expect(complete > 0)
        print(
            "postgres outages: \(outages) (jobs then: \(moments.joined(separator: "; "))); \(counts.reduce(0, +)) events acknowledged; "
                + "\(complete) complete answers, \(unavailable) answered 503 while the database was away")
    }
}
