import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TandemAPI
import TandemTestSupport
import Testing

/// SIGTERM under load: the server stops taking requests, finishes those in flight, flushes the
/// log and exits 0; every event it answered 200 for is there after a restart.
@Suite("Graceful shutdown of a real server")
struct GracefulShutdownTests {
    @Test func sigtermUnderLoadKeepsEveryAcknowledgedEventAndExitsZero() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-sigterm")
        defer { directory.remove() }
        try CrashTests.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        let client = HTTPTestClient(baseURL: server.baseURL)
        let ledger = CrashTests.Ledger()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await CrashTests.postUntilStopped(client, ledger: ledger, clients: 6, batch: 40, timeout: .seconds(10)) }
            group.addTask {
                try await CrashTests.waitForAcknowledged(ledger, count: 150)
                server.signalTerminate()
            }
            try await group.waitForAll()
        }
        #expect(try await server.waitForExit(timeout: .seconds(40)), "the server did not exit after SIGTERM")
        let output = try String(contentsOfFile: server.outputPath, encoding: .utf8)
        #expect(server.exitStatus == 0, "a graceful shutdown exits 0: \(output.suffix(2000))")
        #expect(output.contains("closed event log"), "the log was closed: \(output.suffix(2000))")

        let restarted = try await ServerProcess.start(in: directory, run: 2)
        defer { restarted.terminate() }
        let seen = try await CrashTests.stored(restarted)
        let missing = CrashTests.missing(ledger, in: seen)
        #expect(ledger.acknowledged.withLock { $0.values.reduce(0) { $0 + $1.count } } >= 150)
        #expect(missing == 0, "acknowledged events missing or doubled after SIGTERM")
    }

    /// With its private PostgreSQL cluster and a job running: SIGTERM stops the job (queued again
    /// at the next start, unless it finished first), stops the cluster, and exits 0.
    @Test func sigtermStopsTheJobAndTheManagedClusterAndExitsZero() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-sigterm-managed")
        defer { directory.remove() }
        try CrashTortureTests.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        func launch(_ run: Int) async throws -> ServerProcess {
            let server = try ServerProcess(
                arguments: ["--config", directory.path + "/tandem.yaml", "--data-dir", directory.path + "/data", "--port", "0", "--no-auth"],
                outputPath: directory.path + "/server-\(run).log")
            try await server.waitUntilListening()
            return server
        }
        let server = try await launch(1)
        let client = HTTPTestClient(baseURL: server.baseURL)
        for first in stride(from: 0, to: 20_000, by: 2_000) {
            let body = (first..<(first + 2_000)).map { #"{"ts":1763596800000,"client":"c\#($0 % 7)","seq":\#($0)}"# }.joined(separator: "\n")
            #expect(try await client.send(.POST, "/v1/streams/orders/events", body: body, contentType: "application/x-ndjson").status == 200)
        }
        let (status, body) = try await client.send(.POST, "/v1/jobs", body: #"{"view":"per_client","mode":"full"}"#)
        #expect(status == 202 || status == 409, "\(body)")
        server.signalTerminate()
        #expect(try await server.waitForExit(timeout: .seconds(40)), "the server did not exit after SIGTERM")
        let output = server.output
        #expect(server.exitStatus == 0, "a graceful shutdown exits 0: \(output.suffix(2000))")
        #expect(output.contains("private PostgreSQL cluster stopped"), "\(output.suffix(2000))")
        // The cluster's directory is named in the log; its postmaster is gone.
        let line = try #require(output.split(separator: "\n").first { $0.contains("private PostgreSQL cluster started") })
        let data = try #require(line.split(separator: " ").first { $0.hasPrefix("directory=") }).dropFirst("directory=".count)
        #expect(!FileManager.default.fileExists(atPath: data + "/postmaster.pid"), "the cluster in \(data) still runs")

        // At the next start, every job has finished or is queued again, and the answer is exact.
        let restarted = try await launch(2)
        defer { restarted.terminate() }
        let again = HTTPTestClient(baseURL: restarted.baseURL)
        let deadline = ContinuousClock.now + .seconds(60)
        var jobs: [JobResponse] = []
        while ContinuousClock.now < deadline {
            jobs = try decode(JobsResponse.self, try await again.send(.GET, "/v1/jobs?limit=100").body).jobs
            if !jobs.isEmpty, jobs.allSatisfy({ $0.state == "succeeded" || $0.state == "failed" }), jobs.first?.state == "succeeded" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let interrupted = jobs.filter { $0.state == "failed" && ($0.error ?? "").contains("interrupted") }
        for job in interrupted {
            #expect(
                jobs.contains { $0.trigger == "requeued" && $0.view == job.view && $0.state == "succeeded" }, "job \(job.id) was not queued again")
        }
        print("sigterm with the managed cluster: jobs \(jobs.map { "\($0.trigger):\($0.state)" }), \(interrupted.count) interrupted")
        let query = #"{"view":"per_client","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#
        let answer = try decode(QueryResponse.self, try await again.send(.POST, "/v1/query", body: query).body)
        #expect(answer.rows.first?["n"]?.int == 20_000)
        #expect(answer.provenance.complete)
    }
}
