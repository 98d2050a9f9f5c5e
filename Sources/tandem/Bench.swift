import Aggregation
import ArgumentParser
import AsyncHTTPClient
import EventLog
import Events
import Foundation
import Hummingbird
import Ingest
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SpeedLayer
import TandemServer

/// `tandem bench ingest`: measures the ingest path against baselines in the same run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (medians of repeated runs, with ratios against a baseline measured in the same run).",
        subcommands: [IngestBench.self, SpeedBench.self, BatchBench.self, EncodeBench.self, DedupBench.self], defaultSubcommand: IngestBench.self)
}

struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Parser vs Foundation JSONSerialization, then in-process and HTTP ingest of pageview events.")
    @Option(help: "Events per request body.") var batch: Int = 5000
    @Option(help: "Events posted in the ingest runs.") var events: Int = 1_000_000
    @Option(help: "Concurrent clients in the ingest runs.") var clients: Int = 4
    @Option(help: "Repetitions of each measurement (the median is reported).") var runs: Int = 5

    static func body(events: Int, seed: Int, ndjson: Bool) -> [UInt8] {
        var text = ndjson ? "" : "["
        let countries = ["US", "DE", "FR", "BR", "IN", "JP"]
        for i in 0..<events {
            let n = seed &* 7919 &+ i
            if !ndjson && i > 0 { text += "," }
            text +=
                "{\"ts\":\"2026-11-20T\(String(format: "%02d:%02d:%02d", n / 3600 % 24, n / 60 % 60, n % 60)).\(String(format: "%03d", n % 1000))Z\","
            text += "\"url\":\"/products/\(n % 5000)\",\"user_id\":\"u\(n % 100_000)\",\"country\":\"\(countries[n % countries.count])\","
            text += "\"latency_ms\":\(Double(n % 2000) / 10)}"
            if ndjson { text += "\n" }
        }
        if !ndjson { text += "]" }
        return Array(text.utf8)
    }

    static let definition = StreamDefinition(
        name: "pageviews", partitions: 2,
        fields: [
            FieldDefinition(name: "country", type: .string), FieldDefinition(name: "latency_ms", type: .double),
            FieldDefinition(name: "ts", type: .timestamp, required: true), FieldDefinition(name: "url", type: .string, required: true),
            FieldDefinition(name: "user_id", type: .string),
        ],
        timeField: "ts", keyField: "user_id")

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func run() async throws {
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB")
        let arrayBody = Self.body(events: batch, seed: 1, ndjson: false)
        var ours: [Double] = [], foundation: [Double] = []
        let bounds = EventTimeBounds(maxAgeMilliseconds: nil, maxFutureMilliseconds: nil)
        for _ in 0..<runs {
            var parser = EventParser(definition: Self.definition, bounds: bounds)
            var bytes = 0
            ours.append(
                Self.seconds {
                    for _ in 0..<20 {
                        _ = arrayBody.withUnsafeBytes {
                            parser.parse($0, format: .json, ingestTime: 0, maxEvents: .max) { bytes += $0.payload.count }
                        }
                    }
                })
            let data = Data(arrayBody)
            foundation.append(try Self.seconds { for _ in 0..<20 { _ = try JSONSerialization.jsonObject(with: data) } })
        }
        let parsed = Double(batch * 20)
        print(String(format: "parse+validate+encode (EventParser):  %10.0f events/s", parsed / Self.median(ours)))
        print(String(format: "parse only (Foundation JSONSerialization): %10.0f events/s", parsed / Self.median(foundation)))
        print(String(format: "ratio: EventParser is %.1fx JSONSerialization", Self.median(foundation) / Self.median(ours)))
        try await httpIngest()
    }

    /// Posts `events` events in NDJSON bodies of `batch` from `clients` concurrent clients to a
    /// real server started in this process, on a fresh data directory (fsync per group commit).
    func httpIngest() async throws {
        let directory = NSTemporaryDirectory() + "tandem-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = TandemConfiguration()
        configuration.dataDirectory = directory
        configuration.port = 0
        // An in-process loopback benchmark of the ingest path, without tokens.
        configuration.authEnabled = false
        configuration.streams = [Self.definition]
        configuration.ingest.eventTimeBounds = EventTimeBounds(maxAgeMilliseconds: nil, maxFutureMilliseconds: nil)
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let (app, _) = try TandemApplication.build(configuration: configuration, logger: logger) { port in portContinuation.yield(port) }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = portStream.makeAsyncIterator()
            guard let port = await iterator.next() else { return }
            let bodies = (0..<8).map { ByteBuffer(bytes: Self.body(events: batch, seed: $0, ndjson: true)) }
            let requests = max(events / batch, 1)
            var rates: [Double] = []
            for _ in 0..<runs {
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { posters in
                    for client in 0..<clients {
                        posters.addTask {
                            for r in stride(from: client, to: requests, by: clients) {
                                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/streams/pageviews/events")
                                request.method = .POST
                                request.headers.add(name: "Content-Type", value: "application/x-ndjson")
                                request.body = .bytes(bodies[r % bodies.count])
                                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                                _ = try await response.body.collect(upTo: 1 << 20)
                                guard response.status == .ok else { throw ValidationError("HTTP \(response.status)") }
                            }
                        }
                    }
                    try await posters.waitForAll()
                }
                let elapsed = ContinuousClock.now - start
                rates.append(Double(requests * batch) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
            }
            print(
                String(
                    format: "HTTP ingest, NDJSON, %d events/request, %d clients, fsync per group commit: %10.0f events/s (median of %d)",
                    batch, clients, Self.median(rates), runs))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

/// `tandem bench speed`: how fast the speed layer consumes a log, on one partition and on
/// several (the ratio shows how well partitions use the cores).
struct SpeedBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Speed layer throughput: replay N pageview events into url×hour counts and distinct users per hour.")
    @Option(help: "Events in the log.") var events: Int = 2_000_000
    @Option(help: "Partitions of the parallel run (the baseline run has 1).") var partitions: Int = 2
    @Option(help: "Repetitions (the median is reported).") var runs: Int = 3
    @Option(help: "The view to compute, as JSON over the pageviews stream (default: url×hour views and distinct users).")
    var view: String = SpeedBench.defaultView

    static let defaultView = """
        {"name":"url_hourly","stream":"pageviews","dimensions":["url"],"bucket":"1h",
         "aggregates":{"views":{"fn":"count"},"users":{"fn":"distinct","field":"user_id"}}}
        """

    func run() async throws {
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB")
        var results: [(Int, Double)] = []
        for partitionCount in [1, partitions] {
            var rates: [Double] = []
            let directory = NSTemporaryDirectory() + "tandem-speed-bench-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var logger = Logger(label: "bench")
            logger.logLevel = .warning
            let log = try EventLog(directory: directory, configuration: LogConfiguration(durability: .interval(milliseconds: 1000)), logger: logger)
            var definition = IngestBench.definition
            definition.partitions = partitionCount
            let topic = try log.createTopic("pageviews", partitions: partitionCount)
            try await Self.fill(topic, definition: definition, events: events)
            let view = try CompiledView(try JSONDecoder().decode(ViewDefinition.self, from: Data(self.view.utf8)), stream: definition)
            for _ in 0..<runs {
                let speed = SpeedLayer(log: log, logger: logger)
                let group = ServiceGroup(services: [speed], gracefulShutdownSignals: [], logger: logger)
                let seconds = try await withThrowingTaskGroup(of: Double?.self) { tasks in
                    tasks.addTask {
                        try await group.run()
                        return nil
                    }
                    tasks.addTask {
                        let start = ContinuousClock.now
                        try speed.addView(view)
                        while !speed.isCaughtUp { try await Task.sleep(for: .milliseconds(2)) }
                        let elapsed = ContinuousClock.now - start
                        await group.triggerGracefulShutdown()
                        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    }
                    var measured = 0.0
                    for try await value in tasks { if let value { measured = value } }
                    return measured
                }
                rates.append(Double(events) / seconds)
            }
            log.close()
            let median = IngestBench.median(rates)
            results.append((partitionCount, median))
            print(String(format: "speed layer, %d partition(s): %10.0f events/s (median of %d)", partitionCount, median, runs))
        }
        if results.count == 2 {
            print(String(format: "ratio: %d partitions / 1 partition = %.2fx", results[1].0, results[1].1 / results[0].1))
        }
    }

    /// Appends `events` pageviews, parsed and encoded by the real ingest parser.
    static func fill(_ topic: Topic, definition: StreamDefinition, events: Int) async throws {
        var parser = EventParser(definition: definition, bounds: EventTimeBounds(maxAgeMilliseconds: nil, maxFutureMilliseconds: nil))
        let chunk = 10_000
        for start in stride(from: 0, to: events, by: chunk) {
            let body = IngestBench.body(events: min(chunk, events - start), seed: start, ndjson: true)
            var batches = [AppendBatch](repeating: AppendBatch(), count: definition.partitions)
            var next = 0
            _ = body.withUnsafeBytes { bytes in
                parser.parse(bytes, format: .ndjson, ingestTime: 0, maxEvents: .max) { event in
                    batches[next % batches.count].append(key: event.key, payload: event.payload, eventTime: event.eventTime)
                    next += 1
                }
            }
            for (partition, batch) in batches.enumerated() where !batch.isEmpty { _ = try await topic.append(batch, to: partition) }
        }
    }
}
