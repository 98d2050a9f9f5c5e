import Aggregation
import ArgumentParser
import BatchLayer
import EventLog
import Events
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import TandemServer

/// `tandem bench batch`: full recompute time of pageview views against PostgreSQL alone on the
/// same events, in the same run.
struct BatchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Full recompute of url×hour counts and distinct users per hour, vs the same queries in PostgreSQL alone.")
    @Option(help: "Events in the log.") var events: Int = 2_000_000
    @Option(help: "Partitions.") var partitions: Int = 2
    @Option(help: "PostgreSQL URL (also DATABASE_URL); default: a private cluster in a temporary directory.") var postgresUrl: String?

    static let views = [
        #"{"name":"url_hourly","stream":"pageviews","dimensions":["url"],"bucket":"1h","aggregates":{"views":{"fn":"count"}}}"#,
        #"{"name":"users_hourly","stream":"pageviews","dimensions":[],"bucket":"1h","aggregates":{"users":{"fn":"distinct","field":"user_id"}}}"#,
    ]

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func run() async throws {
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB; \(events) events")
        let directory = "/tmp/tandem-batch-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        var cluster: ManagedPostgres?
        let url: String
        if let given = postgresUrl ?? ProcessInfo.processInfo.environment["DATABASE_URL"] {
            url = given
        } else {
            cluster = try ManagedPostgres(directory: directory + "/postgres", logger: logger)
            url = cluster!.url
        }
        defer { cluster?.stop() }
        let log = try EventLog(
            directory: directory + "/log", configuration: LogConfiguration(durability: .interval(milliseconds: 1000)), logger: logger)
        var definition = IngestBench.definition
        definition.partitions = partitions
        let topic = try log.createTopic("pageviews", partitions: partitions)
        var start = ContinuousClock.now
        try await SpeedBench.fill(topic, definition: definition, events: events)
        print(String(format: "log filled through the ingest parser in %.1f s", Self.seconds(since: start)))
        let views = try Self.views.map { try CompiledView(try JSONDecoder().decode(ViewDefinition.self, from: Data($0.utf8)), stream: definition) }
        let client = try DatabaseClient.make(url: url, logger: logger)
        let configuration = BatchLayer.Configuration()
        let batch = BatchLayer(
            client: client, log: log, views: FixedViews(compiledViews: views), speed: NoSpeedLayer(topic: topic), configuration: configuration,
            logger: logger)
        let group = ServiceGroup(services: [PostgresClientService(client: client), batch], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await batch.prepare()
            batch.markAttached()
            var tandemTotal = 0.0
            for view in views {
                start = ContinuousClock.now
                let job = try await batch.submit(view: view.name, mode: .full, trigger: "bench")
                var final = job
                while final.state != .succeeded && final.state != .failed {
                    try await Task.sleep(for: .milliseconds(20))
                    final = try await batch.job(job.id) ?? final
                }
                let seconds = Self.seconds(since: start)
                tandemTotal += seconds
                print(
                    String(
                        format: "tandem full recompute of %@: %.2f s (%@, %lld rows)", view.name, seconds, final.state.rawValue,
                        final.rowsWritten ?? 0))
            }
            // The baseline: the same events in a PostgreSQL table, the same answers by SQL.
            try await client.query("DROP TABLE IF EXISTS bench_pageviews", logger: logger)
            try await client.query(
                "CREATE UNLOGGED TABLE bench_pageviews (ts timestamptz, url text, user_id text, country text, latency_ms double precision)",
                logger: logger)
            start = ContinuousClock.now
            try await client.withConnection { connection in
                try await connection.copyFrom(table: "bench_pageviews", logger: logger) { writer in
                    let countries = ["US", "DE", "FR", "BR", "IN", "JP"]
                    var buffer = ByteBuffer()
                    for chunk in stride(from: 0, to: events, by: 10_000) {
                        for i in 0..<min(10_000, events - chunk) {
                            let n = chunk &* 7919 &+ i  // the same generator as the log's events
                            let ts = Timestamp.parse(
                                "2026-11-20T\(String(format: "%02d:%02d:%02d", n / 3600 % 24, n / 60 % 60, n % 60)).\(String(format: "%03d", n % 1000))Z"
                            )!
                            buffer.writeString(
                                "\(Timestamp.format(ts))\t/products/\(n % 5000)\tu\(n % 100_000)\t\(countries[n % countries.count])\t\(Double(n % 2000) / 10)\n"
                            )
                        }
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
            }
            let load = Self.seconds(since: start)
            start = ContinuousClock.now
            try await client.query(
                "CREATE TABLE bench_url_hourly AS SELECT url, date_trunc('hour', ts) AS hour, count(*) FROM bench_pageviews GROUP BY 1, 2",
                logger: logger)
            let urlQuery = Self.seconds(since: start)
            start = ContinuousClock.now
            try await client.query(
                "CREATE TABLE bench_users_hourly AS SELECT date_trunc('hour', ts) AS hour, count(DISTINCT user_id) FROM bench_pageviews GROUP BY 1",
                logger: logger)
            let usersQuery = Self.seconds(since: start)
            try await client.query("DROP TABLE bench_pageviews, bench_url_hourly, bench_users_hourly", logger: logger)
            print(
                String(format: "postgresql alone: COPY %.2f s, url×hour GROUP BY %.2f s, distinct users per hour %.2f s", load, urlQuery, usersQuery))
            print(
                String(
                    format: "ratio: tandem recompute %.2f s vs postgresql queries %.2f s = %.2fx (vs load + queries %.2f s = %.2fx)",
                    tandemTotal, urlQuery + usersQuery, (urlQuery + usersQuery) / tandemTotal, load + urlQuery + usersQuery,
                    (load + urlQuery + usersQuery) / tandemTotal))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        log.close()
    }
}

/// The benchmark's views: fixed, all running.
private struct FixedViews: RunningViews {
    let compiledViews: [CompiledView]
    func compiledView(_ name: String) -> CompiledView? { compiledViews.first { $0.name == name } }
}

/// No speed layer: the benchmark times the batch layer alone, cutting at the log's end.
private struct NoSpeedLayer: SpeedSegments {
    let topic: Topic
    func openSegmentAtLogEnd(view: String, atLeast floor: [Int64]?) throws -> [Int64] { topic.endOffsets() }
    func dropSegments(view: String, below cut: [Int64], maxEventTimes: [Int64?]?) {}
    func isOverRowLimit(view: String) -> Bool { false }
    /// No state to bring to a cut (the benchmark's batch layer is the database's only one).
    func follow(view: String, from cut: [Int64], maxEventTimes: [Int64?]?) async throws {}
}
