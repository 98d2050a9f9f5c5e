import BatchLayer
import Catalog
import CoreMetrics
import EventLog
import Events
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import Prometheus
import SpeedLayer
import Synchronization
import TandemAPI
import Telemetry

/// The metrics of one server: a Prometheus registry of its own, the ``Telemetry`` that every
/// component records into, and the request counts that alerts and the dashboard read (plain
/// atomics beside the Prometheus series, so that a request costs no lock for them).
///
/// `tandem serve` bootstraps swift-metrics with this registry's factory once, so that libraries
/// that record through `MetricsSystem` land in the same registry; each test server makes its own,
/// with no global state.
public final class ServerMetrics: Sendable {
    /// What `GET /metrics` serves.
    public let registry: PrometheusCollectorRegistry
    /// The explicit factory over ``registry``.
    public let factory: PrometheusMetricsFactory
    /// Where components record.
    public let telemetry: Telemetry
    /// Every request answered, and those answered with a 5xx status (alerts read their rate).
    let answered = Atomic<Int>(0)
    let serverErrors = Atomic<Int>(0)
    let routes = Mutex<[RouteKey: RouteHandles]>([:])
    let ingestCounters = Mutex<[IngestKey: IngestCount]>([:])
    private let cpu = Mutex<Double>(0)
    private let totals = Mutex<[String: Int]>([:])
    private let cpuCounter: FloatingPointCounter

    /// Creates the metrics of a server, over `registry` (a new one by default).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        // From a quarter of a millisecond (an in-memory query, an fsync on a fast disk) to a
        // minute (a recompute job).
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ]
        self.factory = factory
        self.telemetry = Telemetry(factory: factory)
        cpuCounter = FloatingPointCounter(label: "process_cpu_seconds_total", dimensions: [], factory: factory)
    }

    /// Adds the process's CPU time since the last call to `process_cpu_seconds_total`.
    func recordCPU(_ seconds: Double) {
        let delta = cpu.withLock { last -> Double in
            defer { last = max(last, seconds) }
            return seconds - last
        }
        if delta > 0 { cpuCounter.increment(by: delta) }
    }

    /// Brings the counter `name` with `labels` up to `total`, a count kept elsewhere that only
    /// grows (``DatabaseCalls``), at a scrape.
    func advance(_ name: String, _ labels: [(String, String)], to total: Int) {
        let key = name + labels.map { "\u{1}" + $0.0 + "\u{2}" + $0.1 }.joined()
        let delta = totals.withLock { totals -> Int in
            defer { totals[key] = max(totals[key] ?? 0, total) }
            return total - (totals[key] ?? 0)
        }
        let counter = telemetry.counter(name, labels)
        if delta > 0 { counter.increment(by: delta) }
    }
}

/// The outermost middleware. It gives every request an id (``RequestIdentity``) for the time it
/// is served, so that every log line it causes carries `request_id`, and returns it in
/// `Tandem-Request-Id`, errors included (it answers them here, inside the id's scope). It records
/// every request: `tandem_http_requests_total` and `tandem_http_request_duration_seconds` by route
/// (the route's pattern, so that paths never multiply series), method and status; and for
/// ingest, `tandem_ingest_requests_total` by stream and outcome code. Outside every other
/// middleware, it sees the final status of refused requests too. (One middleware for both: each
/// layer is an async call per request.)
struct RequestObservationMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    /// Whether a stream exists (only those get a label).
    let knownStream: @Sendable (String) -> Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = RequestIdentity.make()
        let started = ContinuousClock.now
        return try await RequestIdentity.$current.withValue(id) {
            var response: Response
            do {
                response = try await next(request, context)
                record(request, context, status: Int(response.status.code), code: nil, since: started)
            } catch let error as APIError {
                record(request, context, status: Int(error.status.code), code: error.code, since: started)
                response = try error.response(from: request, context: context)
            } catch let error as any HTTPResponseError {
                record(request, context, status: Int(error.status.code), code: nil, since: started)
                response = try error.response(from: request, context: context)
            } catch {
                record(request, context, status: 500, code: "internal", since: started)
                throw error
            }
            response.headers[requestIDHeader] = id
            return response
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, code: String?, since started: ContinuousClock.Instant) {
        let route = context.endpointPath ?? "unmatched"
        let handles = metrics.routeHandles(route: route, method: request.method, status: status)
        handles.duration.recordInterval(since: started)
        handles.requests.increment()
        // An accepted request's stream exists; a refused one's may be any name a client sent.
        if route == "/v1/streams/{name}/events", let name = context.parameters.get("name"), status < 400 || knownStream(name) {
            metrics.ingestRequests(stream: name, code: code ?? (status < 400 ? "ok" : String(status))).record()
        }
        metrics.answered.add(1, ordering: .relaxed)
        if status >= 500 { metrics.serverErrors.add(1, ordering: .relaxed) }
    }
}

extension ServerMetrics {
    /// A route's latency histogram and its counter for one status, found by a small key (the
    /// route pattern's string is the router's own), without building the labels' text per request.
    struct RouteKey: Hashable, Sendable {
        var route: String
        var method: HTTPRequest.Method
        var status: Int
    }

    /// The handles of a route.
    struct RouteHandles: Sendable {
        var duration: CoreMetrics.Timer
        var requests: CoreMetrics.Counter
    }

    struct IngestKey: Hashable, Sendable {
        var stream: String
        var code: String
    }

    /// `tandem_ingest_requests_total` of a stream and outcome code, and its count for the status.
    final class IngestCount: Sendable {
        let metric: CoreMetrics.Counter
        let count = Atomic<Int>(0)

        init(_ metric: CoreMetrics.Counter) { self.metric = metric }

        func record() {
            metric.increment()
            count.add(1, ordering: .relaxed)
        }
    }

    /// The ingest requests of a stream and outcome code.
    func ingestRequests(stream: String, code: String) -> IngestCount {
        let key = IngestKey(stream: stream, code: code)
        if let counter = ingestCounters.withLock({ $0[key] }) { return counter }
        let counter = IngestCount(telemetry.counter("tandem_ingest_requests_total", [("stream", stream), ("code", code)]))
        return ingestCounters.withLock { counters in
            if let existing = counters[key] { return existing }
            counters[key] = counter
            return counter
        }
    }

    /// Each stream's ingest requests since the start: all, refused, and refused by code.
    func ingestCounts() -> [String: StatusResponse.IngestCounts] {
        var result: [String: StatusResponse.IngestCounts] = [:]
        for (key, counter) in ingestCounters.withLock({ $0 }) {
            let count = counter.count.load(ordering: .relaxed)
            var entry = result[key.stream] ?? StatusResponse.IngestCounts(requests: 0, failed: 0, failures: [:])
            entry.requests += count
            if key.code != "ok" {
                entry.failed += count
                entry.failures[key.code, default: 0] += count
            }
            result[key.stream] = entry
        }
        return result
    }

    func routeHandles(route: String, method: HTTPRequest.Method, status: Int) -> RouteHandles {
        let key = RouteKey(route: route, method: method, status: status)
        if let handles = routes.withLock({ $0[key] }) { return handles }
        let handles = RouteHandles(
            duration: telemetry.timer("tandem_http_request_duration_seconds", [("route", route), ("method", method.rawValue)]),
            requests: telemetry.counter("tandem_http_requests_total", [("route", route), ("method", method.rawValue), ("status", String(status))]))
        routes.withLock { $0[key] = handles }
        return handles
    }
}

/// The log's file calls, timed: `tandem_log_write_duration_seconds` for each `pwrite` of an
/// append batch (and `tandem_log_written_bytes_total`), `tandem_log_fsync_duration_seconds` for
/// each `fdatasync`.
struct MeasuredFileSystem: LogFileSystem {
    let base: any LogFileSystem
    let writes: CoreMetrics.Timer
    let written: CoreMetrics.Counter
    let syncs: CoreMetrics.Timer

    init(_ base: any LogFileSystem, telemetry: Telemetry) {
        self.base = base
        writes = telemetry.timer("tandem_log_write_duration_seconds")
        written = telemetry.counter("tandem_log_written_bytes_total")
        syncs = telemetry.timer("tandem_log_fsync_duration_seconds")
    }

    func open(_ path: String, flags: Int32, mode: mode_t) -> Int32 { base.open(path, flags: flags, mode: mode) }
    func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        let started = ContinuousClock.now
        let result = base.pwrite(fd, bytes, at: offset)
        writes.recordInterval(since: started)
        if result > 0 { written.increment(by: result) }
        return result
    }
    func fdatasync(_ fd: Int32) -> Int32 {
        let started = ContinuousClock.now
        defer { syncs.recordInterval(since: started) }
        return base.fdatasync(fd)
    }
    func fsyncDirectory(_ fd: Int32) -> Int32 { base.fsyncDirectory(fd) }
    func ftruncate(_ fd: Int32, _ size: Int) -> Int32 { base.ftruncate(fd, size) }
}

/// The process's own figures, from `/proc/self` (Linux).
enum ProcessFigures {
    /// Resident memory in bytes.
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// User plus system CPU time in seconds.
    static func cpuSeconds() -> Double? {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return nil }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Open file descriptors.
    static func openFiles() -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map(\.count)
    }

    /// The most file descriptors the process may open.
    static func maxFiles() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return Int(limit.rlim_cur)
    }
}
