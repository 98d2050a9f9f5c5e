import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import TandemAPI
import TandemTestSupport
import Testing

@testable import TandemServer

/// Metrics, status, alerts, logs and the dashboard, through a real server.
@Suite("Monitoring")
struct MonitoringTests {
    static let config =
        CrashTortureTests.config + """

            alerts: {late_records: 1}
            """

    /// `/metrics` parsed by the Prometheus client library's own parser (Debian's
    /// python3-prometheus-client): every sample as `[name, {labels}, value]`.
    static func parseMetrics(_ text: String) throws -> [(name: String, labels: [String: String], value: Double)] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                for sample in family.samples:
                    out.append([sample.name, sample.labels, sample.value])
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("the Prometheus parser refused /metrics: \(problem)") }
        let samples = try #require(try JSONSerialization.jsonObject(with: data) as? [[Any]])
        return samples.map { sample in
            (sample[0] as? String ?? "", sample[1] as? [String: String] ?? [:], (sample[2] as? NSNumber)?.doubleValue ?? .nan)
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Events of client `a` (one partition), the fourth of which is late: its event time is
    /// behind the partition's largest so far minus the 5 s watermark delay; the fifth is not.
    static func events(base: Int64) -> String {
        [Int64(0), 60_000, 61_000, -600_000, 58_000].enumerated().map { index, delta in
            #"{"ts":\#(base + delta),"client":"a","seq":\#(index)}"#
        }.joined(separator: "\n")
    }

    @Test func metricsParseAndCountWhatHappened() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-metrics")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let database = try TestDatabase.create()
        let server = try await ServerProcess.start(in: directory, run: 1, database: database.url)
        defer { server.terminate() }
        let client = HTTPTestClient(baseURL: server.baseURL)
        let base = Int64(Date().timeIntervalSince1970 * 1000) - 3_600_000
        #expect(
            try await client.send(.POST, "/v1/streams/orders/events", body: Self.events(base: base), contentType: "application/x-ndjson").status
                == 200)
        #expect(try await client.send(.POST, "/v1/streams/orders/events", body: #"{"ts":1,"client":"b"}"#).status == 400)
        #expect(try await client.send(.POST, "/v1/streams/nowhere/events", body: #"{}"#).status == 404)
        #expect(try await PostgresOutageTests.runFullJob(client) != nil)
        let query = #"{"view":"per_client","from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","granularity":"all"}"#
        let answer = try await client.send(.POST, "/v1/query", body: query)
        #expect(answer.status == 200, "\(answer.body)")
        let provenance = try decode(QueryResponse.self, answer.body).provenance
        #expect(provenance.source == "batch+speed")
        let freshness = try #require(provenance.freshnessMs, "every answer that counts records says how fresh it is")
        #expect(freshness >= 0 && freshness < 600_000)

        let text = try await client.send(.GET, "/metrics").body
        let samples = try Self.parseMetrics(text)
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
        }
        let names = Set(samples.map(\.name))
        for required in [
            "tandem_http_requests_total", "tandem_http_request_duration_seconds_bucket", "tandem_ingest_requests_total",
            "tandem_log_write_duration_seconds_count", "tandem_log_fsync_duration_seconds_count", "tandem_log_size_bytes", "tandem_log_end_offset",
            "tandem_speed_consumed_offset", "tandem_speed_lag_records", "tandem_speed_lag_seconds", "tandem_speed_watermark_age_seconds",
            "tandem_speed_state_rows", "tandem_speed_state_bytes", "tandem_speed_poison_records_total", "tandem_late_records_total",
            "tandem_batch_jobs", "tandem_batch_job_duration_seconds_count", "tandem_batch_scanned_records_total", "tandem_batch_rows_written_total",
            "tandem_batch_staleness_seconds", "tandem_query_duration_seconds_count", "tandem_query_rows_total", "tandem_query_answers_total",
            "tandem_postgres_attached", "tandem_postgres_calls_in_flight", "tandem_postgres_calls_total", "process_cpu_seconds_total",
            "process_resident_memory_bytes", "process_open_fds",
        ] {
            #expect(names.contains(required), "\(required) is missing from /metrics")
        }
        #expect(value("tandem_ingest_requests_total", ["stream": "orders", "code": "ok"]) == 1)
        #expect(value("tandem_ingest_requests_total", ["stream": "orders", "code": "invalid_event"]) == 1)
        #expect(!samples.contains { $0.labels["stream"] == "nowhere" }, "an unknown stream never becomes a label")
        #expect(value("tandem_late_records_total", ["view": "per_client"]) == 1)
        #expect(value("tandem_batch_jobs_finished_total", ["view": "per_client", "outcome": "succeeded"]) ?? 0 >= 1)
        #expect(value("tandem_batch_scanned_records_total", ["view": "per_client"]) ?? 0 >= 5)
        #expect(value("tandem_query_answers_total", ["view": "per_client", "source": "batch+speed"]) ?? 0 >= 1)
        #expect(value("tandem_postgres_attached") == 1)
        #expect(value("tandem_postgres_calls_total", ["outcome": "ok"]) ?? 0 >= 5, "the job's calls, at least")
        #expect(value("tandem_log_end_offset", ["stream": "orders"]) != nil)
        #expect(value("process_resident_memory_bytes") ?? 0 > 1_000_000)
        #expect(value("tandem_http_requests_total", ["route": "/v1/streams/{name}/events", "method": "POST", "status": "404"]) == 1)

        // The status names the late record, the job, and (within one evaluation) the alert.
        var status = try decode(StatusResponse.self, try await client.send(.GET, "/v1/status").body)
        let view = try #require(status.views.first { $0.view == "per_client" })
        #expect(view.lateRecords == 1)
        #expect(view.lateBuckets.map(\.records).reduce(0, +) == 1)
        #expect(view.batchVersion != nil && view.stalenessSeconds != nil)
        #expect(status.recentJobs.contains { $0.state == "succeeded" })
        #expect(status.streams.first { $0.name == "orders" }?.ingest?.failures["invalid_event"] == 1)
        let deadline = ContinuousClock.now + .seconds(20)
        while !status.alerts.contains(where: { $0.rule == "late_records" }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            status = try decode(StatusResponse.self, try await client.send(.GET, "/v1/status").body)
        }
        #expect(status.alerts.contains { $0.rule == "late_records" && $0.subject == "per_client" }, "\(status.alerts)")
        let alerting = try Self.parseMetrics(try await client.send(.GET, "/metrics").body)
        #expect(alerting.contains { $0.name == "tandem_alert" && $0.labels == ["rule": "late_records", "subject": "per_client"] && $0.value == 1 })
        #expect(server.output.contains("alert: 1 late records arrived for view per_client"))
        #expect(server.output.contains("job state changed"), "each job state change is one log line")

        // `tandem status` sums it up on one screen.
        let screen = try await PostCommandTests.tandem(["status", "--server", server.baseURL], in: directory)
        #expect(screen.status == 0, "\(screen.errors)")
        for expected in [
            "orders", "per_client", "JOBS since start", "succeeded", "[late_records] per_client", "SERVERS on the database", "(this one)",
        ] {
            #expect(screen.output.contains(expected), "\(expected) in:\n\(screen.output)")
        }

        // The job history outlives the process: after a restart it comes from PostgreSQL.
        let done = try #require(status.recentJobs.first { $0.state == "succeeded" })
        server.terminate()
        let restarted = try await ServerProcess.start(in: directory, run: 2, database: database.url)
        defer { restarted.terminate() }
        let after = try decode(StatusResponse.self, try await HTTPTestClient(baseURL: restarted.baseURL).send(.GET, "/v1/status").body)
        #expect(after.recentJobs.contains { $0.id == done.id && $0.state == "succeeded" }, "\(after.recentJobs.map(\.id))")
    }

    @Test func alertsStartOnceAndClear() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(
            directory: directory,
            configure: { configuration in
                configuration.alerts.lagSeconds = 30
                // The test evaluates its own statuses: the server's own evaluation of its real
                // status (no view "v") would clear the alert between two of them.
                configuration.alerts.interval = .seconds(3600)
            }
        ) { _ in
            let monitor = try #require(TestComponents.current?.monitor)
            func status(lag: Double) -> StatusResponse {
                StatusResponse(
                    version: "t", uptimeSeconds: 1, streams: [],
                    views: [
                        .init(
                            view: "v", stream: "s", partitions: [.init(partition: 0, consumed: 10, lagRecords: 5, lagSeconds: lag)], watermark: nil,
                            watermarkAgeSeconds: nil, stateRows: 0, stateBytes: 0, lateRecords: 0, lateBuckets: [], poisonRecords: 0,
                            freshnessMs: nil, batchVersion: nil, stalenessSeconds: nil, cutEventTime: nil)
                    ])
            }
            monitor.evaluate(status(lag: 10))
            #expect(monitor.alerts().isEmpty)
            monitor.evaluate(status(lag: 45))
            let first = try #require(monitor.alerts().first)
            #expect(first.rule == "lag_seconds" && first.subject == "v/0" && first.value == 45 && first.threshold == 30)
            try await Task.sleep(for: .milliseconds(20))
            monitor.evaluate(status(lag: 50))
            #expect(monitor.alerts().map(\.since) == [first.since], "an alert that stays keeps its start")
            #expect(monitor.alerts().first?.value == 50)
            monitor.evaluate(status(lag: 0))
            #expect(monitor.alerts().isEmpty, "a threshold no longer crossed clears its alert")
        }
    }

    @Test func theErrorRateAlertCountsServerErrorsOfTheLastMinutes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory, configure: { $0.alerts.errorRate = 0.1 }) { _ in
            let components = try #require(TestComponents.current)
            let monitor = components.monitor
            // 30 answers, 5 of them 5xx: a sixth fail, past 10 %.
            components.metrics.answered.add(30, ordering: .relaxed)
            components.metrics.serverErrors.add(5, ordering: .relaxed)
            monitor.evaluate(await monitor.status())
            let alert = try #require(monitor.alerts().first { $0.rule == "error_rate" }, "\(monitor.alerts())")
            #expect(abs(alert.value - 5.0 / 30) < 1e-9 && alert.subject == "server")
            // A thousand good answers later the share is under the threshold.
            components.metrics.answered.add(1000, ordering: .relaxed)
            monitor.evaluate(await monitor.status())
            #expect(!monitor.alerts().contains { $0.rule == "error_rate" })
        }
    }

    @Test func alertAndMetricsSettingsAreRead() throws {
        let configured = try TandemConfiguration.parse(
            yaml:
                "metrics: {public: true}\nalerts: {lag_seconds: 2m, staleness: none, error_rate: 0.2, failed_jobs: 0, late_records: 50, interval: 2s}"
        )
        #expect(configured.metricsPublic)
        #expect(configured.alerts.lagSeconds == 120)
        #expect(configured.alerts.stalenessSeconds == nil)
        #expect(configured.alerts.errorRate == 0.2)
        #expect(configured.alerts.failedJobs == nil)
        #expect(configured.alerts.lateRecords == 50)
        #expect(configured.alerts.interval == .seconds(2))
        #expect(TandemConfiguration().alerts.interval == .seconds(5))
        #expect(throws: (any Error).self) { try TandemConfiguration.parse(yaml: "alerts: {interval: 10ms}") }
        #expect(TandemConfiguration().alerts.lagSeconds == 60)
        #expect(throws: (any Error).self) { try TandemConfiguration.parse(yaml: "alerts: {error_rate: 2}") }
        #expect(throws: (any Error).self) { try TandemConfiguration.parse(yaml: "alerts: {late_records: -1}") }
    }

    @Test func metricsArePublicOnlyWhenConfigured() async throws {
        for open in [false, true] {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            try await withApp(
                directory: directory,
                configure: {
                    $0.authEnabled = true
                    $0.metricsPublic = open
                }
            ) { client in
                #expect(try await client.execute(uri: "/metrics", method: .get).status == (open ? .ok : .unauthorized))
                #expect(try await client.execute(uri: "/v1/status", method: .get).status == .unauthorized)
                // The dashboard's files hold no data; the page reads everything with a token.
                let page = try await client.execute(uri: "/", method: .get)
                #expect(page.status == .ok)
                #expect(!String(buffer: page.body).contains("pageviews"))
            }
        }
    }

    @Test(arguments: [StructuredLogHandler.Format.logfmt, .json])
    func logLinesAreStructured(format: StructuredLogHandler.Format) throws {
        let lines = LogLines()
        var logger = Logger(label: "tandem") { label in
            StructuredLogHandler(label: label, format: format, level: .info, write: { lines.append($0) })
        }
        logger[metadataKey: "request_id"] = "abc123"
        logger.warning("a \"quoted\" message\nover two lines", metadata: ["view": "by url", "n": "3"])
        logger.debug("not written")
        let written = lines.all
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(!line.contains("\n"))
        switch format {
        case .logfmt:
            #expect(line.contains(#"level=warning logger=tandem msg="a \"quoted\" message\nover two lines""#))
            #expect(line.contains("request_id=abc123") && line.contains(#"view="by url""#) && line.contains("n=3"))
        case .json:
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            #expect(object["msg"] == "a \"quoted\" message\nover two lines")
            #expect(object["level"] == "warning" && object["request_id"] == "abc123" && object["view"] == "by url")
        }
    }

    /// Every log line a request causes carries its id, which the answer returns in
    /// `Tandem-Request-Id`, errors included.
    @Test func everyLogLineOfARequestCarriesItsID() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-request-id")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try ServerProcess(
            arguments: [
                "--config", directory.path + "/tandem.yaml", "--data-dir", directory.path + "/data", "--port", "0", "--no-batch", "--no-auth",
                "--log-format", "json",
            ],
            outputPath: directory.path + "/server.log")
        defer { server.terminate() }
        try await server.waitUntilListening()
        let client = HTTPTestClient(baseURL: server.baseURL)
        let view = #"{"name":"by_seq","stream":"orders","dimensions":["seq"],"bucket":"1m","aggregates":{"n":{"fn":"count"}}}"#
        let created = try await client.exchange(.POST, "/v1/views", body: view)
        #expect(created.status == 201)
        let id = try #require(created.headers["Tandem-Request-Id"].first)
        let missing = try await client.exchange(.GET, "/v1/views/nothing")
        #expect(missing.status == 404)
        let other = try #require(missing.headers["Tandem-Request-Id"].first, "errors carry the id too")
        #expect(other != id)
        try await Task.sleep(for: .milliseconds(200))
        let lines = server.output.split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        }
        let mine = lines.filter { $0["request_id"] == id }
        // The view service's own line and the audit line, written by different components.
        #expect(mine.contains { $0["msg"] == "view created" && $0["view"] == "by_seq" }, "\(mine)")
        #expect(mine.contains { $0["msg"] == "audit" && $0["status"] == "201" }, "\(mine)")
        #expect(lines.contains { $0["msg"] == "speed layer: view started" && $0["level"] == "info" })
    }

    final class LogLines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// Chromium, which `scripts/install-deps.sh --test` installs.
    static func chromium() throws -> String {
        try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "Chromium is missing: scripts/install-deps.sh --test installs it")
    }

    /// Runs headless Chromium on `url` for 15 s of virtual time (its scripts run, network waits
    /// do not count) with `arguments` (`--dump-dom` prints the DOM it leaves).
    static func browse(_ chromium: String, _ url: String, _ arguments: [String], profile: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments =
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(profile)",
                "--virtual-time-budget=15000", "--window-size=1400,1500", "--hide-scrollbars",
            ] + arguments + [url]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }

    /// With tokens on, the page asks for one, and shows the data with a query-scoped token given
    /// in its address.
    @Test func theDashboardReadsWithTheTokenOfItsAddress() async throws {
        let chromium = try Self.chromium()
        let directory = try TemporaryDirectory(prefix: "tandem-dashboard-auth")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let data = directory.path + "/data"
        let server = try ServerProcess(
            arguments: ["--config", directory.path + "/tandem.yaml", "--data-dir", data, "--port", "0", "--no-batch"],
            outputPath: directory.path + "/server.log")
        defer { server.terminate() }
        try await server.waitUntilListening()
        let port = try #require(server.port)
        let admin = try String(contentsOfFile: data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        func exchange(_ method: String, _ path: String, token: String, body: String, type: String = "application/json") throws
            -> RawHTTPConnection.Answer
        {
            try RawHTTPConnection.exchange(
                port: port, method: method, path: path, headers: [("Authorization", "Bearer " + token), ("Content-Type", type)],
                body: Array(body.utf8))
        }
        let created = try exchange("POST", "/v1/tokens", token: admin, body: #"{"name":"board","scope":"query"}"#)
        #expect(created.status == 201)
        let token = try #require(try created.decode(TokenResponse.self).token)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let events = (0..<30).map { #"{"ts":\#(now - Int64($0) * 60_000),"client":"c\#($0 % 3)","seq":\#($0)}"# }.joined(separator: "\n")
        #expect(try exchange("POST", "/v1/streams/orders/events", token: admin, body: events, type: "application/x-ndjson").status == 200)

        let anonymous = try Self.browse(chromium, server.baseURL + "/", ["--dump-dom"], profile: directory.path + "/chromium-1")
        #expect(anonymous.contains("<form id=\"login\">"), "without a token the page asks for one")
        #expect(!anonymous.contains("<td>per_client</td>"))
        let dom = try Self.browse(chromium, server.baseURL + "/#token=" + token, ["--dump-dom"], profile: directory.path + "/chromium-2")
        #expect(dom.contains("<form id=\"login\" hidden"), "with one it does not")
        #expect(dom.contains("<td>per_client</td>") && dom.contains("<td>orders</td>"))
        #expect(!dom.contains(token), "the token leaves the page's address and is never written into it")
        #expect(dom.range(of: #"id="view-chart" class="chart" width="960" height="280" data-points="[1-9]"#, options: .regularExpression) != nil)
    }

    /// The dashboard in a real browser: headless Chromium loads `/` from a real server with
    /// data, a published version and PostgreSQL, runs its scripts for a while of virtual time,
    /// and the DOM it leaves must hold charts drawn from data points, the cut and the job; a
    /// screenshot is saved to `.build/test-artifacts/dashboard.png`.
    @Test func theDashboardRendersItsChartsInABrowser() async throws {
        let chromium = try Self.chromium()
        let directory = try TemporaryDirectory(prefix: "tandem-dashboard")
        defer { directory.remove() }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let database = try TestDatabase.create()
        let server = try await ServerProcess.start(in: directory, run: 1, database: database.url)
        defer { server.terminate() }
        let client = HTTPTestClient(baseURL: server.baseURL)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for round in 0..<4 {
            // Three hours of events, the newest first in each request, so that some are late; a
            // published version holds the first three rounds, the speed layer the last.
            if round == 3 { #expect(try await PostgresOutageTests.runFullJob(client) != nil) }
            let body = (0..<60).map { index in
                #"{"ts":\#(now - Int64(index) * 180_000 - Int64(round) * 1000),"client":"c\#(index % 5)","seq":\#(index)}"#
            }.joined(separator: "\n")
            #expect(try await client.send(.POST, "/v1/streams/orders/events", body: body, contentType: "application/x-ndjson").status == 200)
        }
        func browse(_ arguments: [String]) throws -> String {
            try Self.browse(chromium, server.baseURL + "/", arguments, profile: directory.path + "/chromium")
        }
        let dom = try browse(["--dump-dom"])
        func attribute(_ name: String, ofElement id: String) -> Int? {
            guard let element = dom.range(of: "id=\"\(id)\"") else { return nil }
            let tag = dom[dom[..<element.lowerBound].lastIndex(of: "<")!...].prefix { $0 != ">" }
            guard let start = tag.range(of: "\(name)=\"") else { return nil }
            return Int(tag[start.upperBound...].prefix { $0 != "\"" })
        }
        #expect(attribute("data-points", ofElement: "view-chart") ?? 0 >= 10, "the view's merged series is drawn from its buckets")
        #expect(attribute("data-late-points", ofElement: "view-chart") ?? 0 >= 1, "buckets that late records reached are marked")
        #expect(attribute("data-points", ofElement: "ingest-orders") ?? 0 >= 1, "the ingest rate has points")
        #expect(dom.contains("data-refreshes=\""), "the page refreshed from /v1/status")
        #expect(dom.contains("<td>per_client</td>") && dom.contains("<td>orders</td>"))
        #expect(dom.contains("class=\"cut\""), "the batch/speed boundary is marked")
        #expect(dom.contains("source batch+speed"), "the chart merges both layers")
        #expect(
            dom.range(of: "[1-9][0-9]* late records in this range", options: .regularExpression) != nil,
            "the chart says how many of the records it shows were late (its answer's late_records)")
        #expect(dom.contains("class=\"ok\">succeeded</span>"), "the job history lists the job")
        #expect(dom.contains("class=\"watermark\""))

        let artifacts = FileManager.default.currentDirectoryPath + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts + "/dashboard.png"
        try? FileManager.default.removeItem(atPath: screenshot)
        _ = try browse(["--screenshot=\(screenshot)"])
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.count > 10_000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "a PNG screenshot at \(screenshot)")
    }
}
