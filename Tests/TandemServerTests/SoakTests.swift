import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI
import TandemTestSupport
import Testing

/// A real server with PostgreSQL at a steady ingest rate, with periodic jobs and constant
/// queries: its RSS and open file descriptors, sampled every second, stay flat after warm-up, and
/// no request fails.
///
/// CI runs one minute; `TANDEM_SOAK_SECONDS=600 scripts/test.sh --filter Soak` is the documented
/// ten-minute soak.
@Suite("Soak")
struct SoakTests {
    /// `pageviews` keyed by user over 3 partitions, and `by_url` with a count, a sum, a distinct
    /// count and a quantile.
    static let config = RestartTests.config

    /// The process's resident memory (KiB) and open file descriptors.
    static func sample(pid: Int32) -> (rssKiB: Int, fds: Int)? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? ""),
            let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        else { return nil }
        return (kib, fds)
    }

    static func median(_ values: [Int]) -> Int { values.sorted()[values.count / 2] }

    @Test func rssAndFileDescriptorsStayFlatUnderSteadyLoad() async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["TANDEM_SOAK_SECONDS"] ?? "") ?? 60
        let database = try TestDatabase.create()
        let directory = try TemporaryDirectory(prefix: "tandem-soak")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1, database: database.url)
        defer { server.terminate() }
        let client = HTTPTestClient(baseURL: server.baseURL)
        let start = ContinuousClock.now
        let end = start + .seconds(seconds)
        let pid = try #require(server.processIdentifier)

        // 4 clients × 10 requests/s × 50 events: 2,000 events/s; an incremental job every 5 s;
        // a query every 50 ms; RSS and descriptors every second. The events fall in one hour of
        // event time, 100 urls and 500 users: the views' state (6,000 groups, sketches that stop
        // growing) fills up during warm-up, so what grows after it is a leak, not data. (A first
        // run with a day of event times and 20,000 users grew from 77 to 114 MiB in ten minutes,
        // as 144,000 groups filled in.)
        let (errors, samples) = try await withThrowingTaskGroup(of: ([String], [(Duration, Int, Int)]).self) { group in
            for c in 0..<4 {
                group.addTask {
                    var errors: [String] = []
                    var n = 0
                    var next = ContinuousClock.now
                    while ContinuousClock.now < end {
                        let body = (0..<50).map { i -> String in
                            n += 1
                            return
                                #"{"ts":\#(1_763_596_800_000 + n * 37 % 3_600_000),"url":"/p/\#(n % 100)","user_id":"u\#((n + c) % 500)","latency_ms":\#(n % 250)}"#
                        }.joined(separator: "\n")
                        let (status, reply) = try await client.send(
                            .POST, "/v1/streams/pageviews/events", body: body, contentType: "application/x-ndjson")
                        if status != 200 { errors.append("ingest \(status): \(reply.prefix(200))") }
                        next = next + .milliseconds(100)
                        try await Task.sleep(until: next)
                    }
                    return (errors, [])
                }
            }
            group.addTask {
                var errors: [String] = []
                while ContinuousClock.now < end {
                    try await Task.sleep(for: .seconds(5))
                    let (status, reply) = try await client.send(.POST, "/v1/jobs", body: #"{"view":"by_url","mode":"incremental"}"#)
                    if status != 202 && status != 409 { errors.append("job \(status): \(reply.prefix(200))") }
                }
                let jobs = try decode(JobsResponse.self, try await client.send(.GET, "/v1/jobs?limit=1000").body).jobs
                errors += jobs.filter { $0.state == "failed" }.map { "job \($0.id) failed: \($0.error ?? "")" }
                return (errors, [])
            }
            group.addTask {
                var errors: [String] = []
                let query =
                    #"{"view":"by_url","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all","group_by":["url"],"order_by":{"aggregate":"views","desc":true},"limit":10}"#
                while ContinuousClock.now < end {
                    let (status, reply) = try await client.send(.POST, "/v1/query", body: query)
                    if status != 200 { errors.append("query \(status): \(reply.prefix(200))") }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return (errors, [])
            }
            group.addTask {
                var samples: [(Duration, Int, Int)] = []
                while ContinuousClock.now < end {
                    if let sample = Self.sample(pid: pid) { samples.append((ContinuousClock.now - start, sample.rssKiB, sample.fds)) }
                    try await Task.sleep(for: .seconds(1))
                }
                return ([], samples)
            }
            var errors: [String] = []
            var samples: [(Duration, Int, Int)] = []
            for try await (e, s) in group {
                errors += e
                samples += s
            }
            return (errors, samples.sorted { $0.0 < $1.0 })
        }
        #expect(errors.isEmpty, "\(errors.count) errors, the first: \(errors.first ?? "")")
        // Warm-up is the first third; then compare the first and last quarter of what follows.
        let steady = Array(samples.dropFirst(samples.count / 3))
        try #require(steady.count >= 8, "too few samples: \(samples.count)")
        let quarter = steady.count / 4
        let early = steady.prefix(quarter), late = steady.suffix(quarter)
        let rssEarly = Self.median(early.map(\.1)), rssLate = Self.median(late.map(\.1))
        let fdsEarly = Self.median(early.map(\.2)), fdsLate = Self.median(late.map(\.2))
        print(
            "soak: \(seconds) s at 2,000 events/s with jobs every 5 s and 20 queries/s; RSS \(samples.first!.1 / 1024) MiB at start, "
                + "\(rssEarly / 1024) MiB after warm-up, \(rssLate / 1024) MiB at the end; open files \(samples.first!.2), \(fdsEarly), \(fdsLate)")
        #expect(rssLate <= rssEarly + rssEarly / 5 + 16 * 1024, "RSS grew from \(rssEarly) KiB to \(rssLate) KiB")
        #expect(fdsLate <= fdsEarly + 8, "open files grew from \(fdsEarly) to \(fdsLate)")
    }
}
