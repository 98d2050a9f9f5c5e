import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TandemAPI
import TandemTestSupport
import Testing

/// A real `tandem serve` with a real PostgreSQL, under concurrent ingest, jobs and queries, is
/// killed with SIGKILL again and again: at a random moment, while a job runs, and once a job has
/// scanned everything (its COPY and publish). After every restart each acknowledged event is in
/// the log exactly once; at the end a full recompute's merged answer equals a brute-force count
/// of the log.
///
/// `TANDEM_TORTURE_KILLS` sets the number of kills (20 by default; `TANDEM_TORTURE_KILLS=100
/// scripts/test.sh --filter CrashTorture` is the long run).
@Suite("Crash torture: repeated SIGKILLs of a real server with PostgreSQL")
struct CrashTortureTests {
    /// CrashTests' `orders` stream (4 partitions keyed by client, 64 KiB segments), with a view.
    static let config =
        CrashTests.config + """

            views:
              - name: per_client
                stream: orders
                dimensions: [client]
                bucket: 1m
                aggregates:
                  n: {fn: count}
                  seq_sum: {fn: sum, field: seq}
            """

    static let clients = 3

    /// What the clients were told, and how far each client's numbering has gone.
    final class Ledger: Sendable {
        let acknowledged = Mutex<Set<String>>([])
        let next = Mutex<[Int]>(Array(repeating: 0, count: CrashTortureTests.clients))
    }

    /// How each event of the log appears: `client/seq` → count, and per client the count and sum.
    static func readLog(_ server: ServerProcess) async throws -> (seen: [String: Int], perClient: [String: (n: Int, sum: Int)]) {
        let reader = HTTPTestClient(baseURL: server.baseURL)
        var seen: [String: Int] = [:]
        var perClient: [String: (n: Int, sum: Int)] = [:]
        for partition in 0..<4 {
            for record in try await reader.readAll(StoredRecord.self, stream: "orders", partition: partition) {
                let client = try #require(record.event["client"]?.string)
                let seq = Int(try #require(record.event["seq"]?.int))
                seen["\(client)/\(seq)", default: 0] += 1
                perClient[client, default: (0, 0)].n += 1
                perClient[client, default: (0, 0)].sum += seq
            }
        }
        return (seen, perClient)
    }

    /// Runs ingest from every client, jobs and queries until the task is cancelled.
    static func load(_ server: ServerProcess, ledger: Ledger) async {
        let client = HTTPTestClient(baseURL: server.baseURL)
        await withTaskGroup(of: Void.self) { group in
            for c in 0..<clients {
                group.addTask {
                    while !Task.isCancelled {
                        let first = ledger.next.withLock { next -> Int in
                            defer { next[c] += 20 }
                            return next[c]
                        }
                        let body = (first..<first + 20).map { #"{"ts":1763596800000,"client":"c\#(c)","seq":\#($0)}"# }
                            .joined(separator: "\n")
                        guard
                            let (status, _) = try? await client.send(
                                .POST, "/v1/streams/orders/events", body: body, contentType: "application/x-ndjson", timeout: .seconds(5)),
                            status == 200
                        else { return }
                        ledger.acknowledged.withLock { acknowledged in
                            for seq in first..<first + 20 { acknowledged.insert("c\(c)/\(seq)") }
                        }
                    }
                }
            }
            group.addTask {
                var full = false
                while !Task.isCancelled {
                    full.toggle()
                    let body = #"{"view":"per_client","mode":"\#(full ? "full" : "incremental")"}"#
                    guard (try? await client.send(.POST, "/v1/jobs", body: body, timeout: .seconds(5))) != nil else { return }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            group.addTask {
                let query = #"{"view":"per_client","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#
                while !Task.isCancelled {
                    guard (try? await client.send(.POST, "/v1/query", body: query, timeout: .seconds(5))) != nil else { return }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
        }
    }

    /// Waits for the moment to kill: after `milliseconds`, or once a job is running, or once a
    /// running job has scanned everything (it is writing and publishing); at most 4 s.
    /// - Returns: whether that moment came (`false`: the 4 s ran out).
    static func waitForMoment(_ server: ServerProcess, kind: Int, milliseconds: Int) async throws -> Bool {
        if kind == 0 {
            try await Task.sleep(for: .milliseconds(milliseconds))
            return true
        }
        let client = HTTPTestClient(baseURL: server.baseURL)
        let deadline = ContinuousClock.now + .seconds(4)
        while ContinuousClock.now < deadline {
            if let (status, body) = try? await client.send(.GET, "/v1/jobs?limit=3", timeout: .seconds(2)), status == 200,
                let jobs = try? decode(JobsResponse.self, body).jobs
            {
                let running = jobs.filter { $0.state == "running" }
                if kind == 1 && !running.isEmpty { return true }
                if kind == 2 && running.contains(where: { $0.progress.total > 0 && $0.progress.scanned >= $0.progress.total }) { return true }
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    @Test func everyAcknowledgedEventSurvivesRepeatedKillsAndTheAnswerStaysExact() async throws {
        let kills = Int(ProcessInfo.processInfo.environment["TANDEM_TORTURE_KILLS"] ?? "") ?? 20
        let database = try TestDatabase.create()
        let directory = try TemporaryDirectory(prefix: "tandem-torture")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let ledger = Ledger()
        var random = SplitMix64(seed: 20_261_129)
        var moments = [0, 0, 0]
        for run in 1...kills {
            let server = try await ServerProcess.start(in: directory, run: run, database: database.url)
            // After each restart: every acknowledged event is there exactly once.
            let (seen, _) = try await Self.readLog(server)
            let acknowledged = ledger.acknowledged.withLock { $0 }
            let missing = acknowledged.filter { seen[$0] != 1 }
            #expect(missing.isEmpty, "run \(run): acknowledged events missing or doubled: \(missing.sorted().prefix(5))")
            #expect(seen.values.allSatisfy { $0 == 1 }, "run \(run): an event is in the log twice")
            let load = Task { await Self.load(server, ledger: ledger) }
            let kind = run % 3
            let came = try await Self.waitForMoment(server, kind: kind, milliseconds: random.int(150...900))
            moments[came ? kind : 0] += 1
            server.kill()
            load.cancel()
            await load.value
        }
        let server = try await ServerProcess.start(in: directory, run: kills + 1, database: database.url)
        defer { server.terminate() }
        let (seen, perClient) = try await Self.readLog(server)
        let acknowledged = ledger.acknowledged.withLock { $0 }
        #expect(acknowledged.allSatisfy { seen[$0] == 1 })
        #expect(acknowledged.count >= kills * 20, "the load should have been acknowledged between kills")

        // A full recompute, then the merged answer must equal the brute-force count of the log.
        let client = HTTPTestClient(baseURL: server.baseURL)
        var jobID: String?
        for _ in 0..<3000 where jobID == nil {
            let (status, body) = try await client.send(.POST, "/v1/jobs", body: #"{"view":"per_client","mode":"full"}"#)
            if status == 202 { jobID = try decode(JobResponse.self, body).id } else { try await Task.sleep(for: .milliseconds(20)) }
        }
        let id = try #require(jobID, "a full job could not be queued")
        var state = ""
        for _ in 0..<3000 where state != "succeeded" && state != "failed" {
            let (_, body) = try await client.send(.GET, "/v1/jobs/\(id)")
            state = try decode(JobResponse.self, body).state
            if state != "succeeded" { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(state == "succeeded")
        // Jobs a kill interrupted were queued again by the next start.
        let history = try decode(JobsResponse.self, try await client.send(.GET, "/v1/jobs?limit=1000").body).jobs
        if moments[1] + moments[2] > 0 {
            #expect(history.contains { $0.trigger == "requeued" }, "no interrupted job was queued again: \(Set(history.map(\.trigger)))")
        }
        let query = #"{"view":"per_client","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all","group_by":["client"]}"#
        var answer: QueryResponse?
        for _ in 0..<500 {
            let (status, body) = try await client.send(.POST, "/v1/query", body: query)
            #expect(status == 200, "\(body)")
            answer = try decode(QueryResponse.self, body)
            if answer?.provenance.lagRecords == 0 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let rows = try #require(answer?.rows)
        var merged: [String: (n: Int, sum: Int)] = [:]
        for row in rows {
            guard case .string(let name)? = row["client"], case .int(let n)? = row["n"], case .int(let sum)? = row["seq_sum"] else {
                Issue.record("unexpected row \(row)")
                continue
            }
            merged[name] = (Int(n), Int(sum))
        }
        #expect(merged.count == perClient.count)
        for (name, expected) in perClient {
            #expect(merged[name]?.n == expected.n && merged[name]?.sum == expected.sum, "\(name): \(String(describing: merged[name])) vs \(expected)")
        }
        print(
            "crash torture: \(kills) kills (\(moments[0]) at a random moment, \(moments[1]) while a job ran, \(moments[2]) once a job had scanned everything: its write and publish); "
                + "\(acknowledged.count) acknowledged events checked after every restart; \(seen.count) events in the log")
    }
}
