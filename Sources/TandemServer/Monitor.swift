import Aggregation
import BatchLayer
import Catalog
import EventLog
import Events
import Foundation
import Logging
import ServiceLifecycle
import SpeedLayer
import Synchronization
import TandemAPI
import Telemetry

/// The thresholds of alerts (`alerts.*`); `nil` turns a rule off.
public struct AlertThresholds: Sendable, Equatable {
    /// A speed-layer partition whose oldest unconsumed record has waited longer (`alerts.lag_seconds`).
    public var lagSeconds: Double? = 60
    /// A view whose published version is older than this, measured from the newest record
    /// below its cut (`alerts.staleness`).
    public var stalenessSeconds: Double? = 6 * 3600
    /// The share of requests answered with a 5xx status over the last 5 minutes, once there are
    /// at least 20 (`alerts.error_rate`).
    public var errorRate: Double? = 0.05
    /// Jobs failed in the last hour (`alerts.failed_jobs`).
    public var failedJobs: Int? = 1
    /// Late records per view over the last 5 minutes (`alerts.late_records`).
    public var lateRecords: Int? = 1000
    /// How often the rules are evaluated (`alerts.interval`).
    public var interval: Duration = .seconds(5)

    /// The defaults.
    public init() {}
}

/// Watches the server: gathers what `/v1/status`, `/metrics`, the dashboard and `tandem status`
/// show, and evaluates the alert thresholds every `alerts.interval` (a service), logging each alert once
/// at warning level when it starts and once when it clears.
public final class Monitor: Service, Sendable {
    let catalog: StreamCatalog
    let log: any SharedLog
    let speed: SpeedLayer
    let views: ViewService
    let metrics: ServerMetrics
    let thresholds: AlertThresholds
    let logger: Logger
    let started = Date()

    private struct State {
        /// Active alerts by rule and subject.
        var active: [String: StatusResponse.Alert] = [:]
        /// Per view: late-record totals sampled over the last minutes.
        var lateSamples: [String: [(time: Date, total: Int64)]] = [:]
        /// The request counters sampled at each evaluation of the last 5 minutes.
        var requestSamples: [RequestSample] = [RequestSample(time: Date(), total: 0, errors: 0)]
        /// Per published version: the newest record below its cut (ingest and event time).
        var cutRecords: [Int64: (ingest: Int64, event: Int64)?] = [:]
    }

    private struct RequestSample {
        var time: Date
        var total: Int
        var errors: Int
    }

    private let state = Mutex(State())

    init(
        catalog: StreamCatalog, log: any SharedLog, speed: SpeedLayer, views: ViewService, metrics: ServerMetrics, thresholds: AlertThresholds,
        logger: Logger
    ) {
        self.catalog = catalog
        self.log = log
        self.speed = speed
        self.views = views
        self.metrics = metrics
        self.thresholds = thresholds
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // The first evaluation one interval after the start, when the views had a chance
                // to replay.
                try? await Task.sleep(for: self.thresholds.interval)
                guard !Task.isCancelled else { break }
                self.evaluate(await self.status())
            }
        }
    }

    // MARK: Status

    /// Everything the status route answers, read now.
    public func status() async -> StatusResponse {
        let now = Timestamp.now()
        let tally = metrics.ingestCounts()
        let streams = catalog.all.map { definition in
            let topic = log.logTopic(definition.name)
            let info = topic?.partitionInfo() ?? []
            let counts = tally[definition.name] ?? StatusResponse.IngestCounts(requests: 0, failed: 0, failures: [:])
            return StatusResponse.Stream(
                name: definition.name, partitions: definition.partitions,
                endOffsets: PartitionMap(Dictionary(uniqueKeysWithValues: info.map { ($0.partition, $0.endOffset) })),
                sizeBytes: info.reduce(0) { $0 + $1.sizeBytes },
                ingest: counts, invalidMessages: topic?.invalidMessages)
        }
        let batch = views.batch
        let compiled = Dictionary(views.compiledViews.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var viewStatus: [StatusResponse.View] = []
        for progress in speed.partitionProgress() {
            let topic = log.logTopic(progress.stream)
            var partitions: [StatusResponse.View.Partition] = []
            for partition in progress.partitions {
                let end = partition.partition < progress.logEnd.count ? progress.logEnd[partition.partition] : partition.position
                var lagSeconds = 0.0
                if end > partition.position,
                    let oldest = try? await topic?.read(partition: partition.partition, from: partition.position, maxRecords: 1, maxBytes: 1 << 20)
                        .first
                {
                    lagSeconds = max(0, Double(now - oldest.ingestTime) / 1000)
                }
                partitions.append(
                    .init(
                        partition: partition.partition, consumed: partition.position, lagRecords: max(0, end - partition.position),
                        lagSeconds: lagSeconds))
            }
            let newest = progress.partitions.compactMap(\.lastIngestTime).max()
            let published = compiled[progress.view].flatMap { batch?.publication(for: $0) }
            var below: (ingest: Int64, event: Int64)?
            if let published { below = await cutRecord(published, topic: topic) }
            viewStatus.append(
                StatusResponse.View(
                    view: progress.view, stream: progress.stream, partitions: partitions, watermark: progress.watermark.map(Timestamp.format),
                    watermarkAgeSeconds: progress.watermark.map { max(0, Double(now - $0) / 1000) },
                    stateRows: progress.partitions.reduce(0) { $0 + $1.stateRows }, stateBytes: progress.partitions.reduce(0) { $0 + $1.stateBytes },
                    lateRecords: progress.partitions.reduce(0) { $0 + $1.lateRecords },
                    lateBuckets: progress.partitions.reduce(into: [Int64: Int64]()) { all, partition in
                        all.merge(partition.lateBuckets, uniquingKeysWith: +)
                    }
                    .sorted { $0.key < $1.key }.map { .init(time: Timestamp.format($0.key), records: $0.value) },
                    poisonRecords: progress.partitions.reduce(0) { $0 + $1.undecodable }, freshnessMs: newest.map { max(0, now - $0) },
                    batchVersion: published?.id, stalenessSeconds: below.map { max(0, Double(now - $0.ingest) / 1000) },
                    cutEventTime: below.map { Timestamp.format($0.event) }))
        }
        // Only the versions published now keep their newest record remembered.
        let current = Set(viewStatus.compactMap(\.batchVersion))
        state.withLock { state in state.cutRecords = state.cutRecords.filter { current.contains($0.key) } }
        var jobs: [String: Int] = [:]
        let live = batch?.liveJobs() ?? []
        for job in live { jobs[job.state.rawValue, default: 0] += 1 }
        let cache = batch.map { batch in
            let entries = batch.servingCache()
            return StatusResponse.ServingCache(
                maxBytes: batch.cacheMaxBytes, usedBytes: entries.reduce(0) { $0 + $1.bytes },
                views: entries.map { .init(view: $0.view, version: $0.version, cached: $0.cached, rows: $0.rows, bytes: $0.bytes) })
        }
        return StatusResponse(
            version: TandemVersion.current, uptimeSeconds: Int(Date().timeIntervalSince(started)), streams: streams, servingCache: cache,
            views: viewStatus, jobs: jobs, recentJobs: live.prefix(20).map(JobResponse.init), alerts: alerts(),
            process: .init(
                residentBytes: ProcessFigures.residentBytes(), cpuSeconds: ProcessFigures.cpuSeconds(), openFiles: ProcessFigures.openFiles()))
    }

    /// ``status()`` with the job history of PostgreSQL (jobs of earlier runs too) in
    /// `recent_jobs` when the database answers within a second; this process's jobs otherwise.
    public func statusWithHistory() async -> StatusResponse {
        var status = await status()
        if let batch = views.batch, batch.isAttached {
            let history = try? await withDeadline(.seconds(1), timeoutError: { CancellationError() }) { try await batch.jobs(limit: 20) }
            if let history { status.recentJobs = history.map(JobResponse.init) }
            // Like the history: listed when the database answers within a second, absent otherwise.
            let instances = try? await withDeadline(.seconds(1), timeoutError: { CancellationError() }) { try await batch.instances() }
            status.instances = instances?.map {
                StatusResponse.Instance(
                    id: $0.id, address: $0.address, pid: Int($0.pid), dataDir: $0.dataDirectory, heartbeatAgeSeconds: $0.age, current: $0.current,
                    runner: $0.runner, partitions: $0.partitions.isEmpty ? nil : $0.partitions)
            }
        }
        return status
    }

    /// The newest record below a version's cut (the latest ingest time over the partitions'
    /// records at `cut - 1`), read from the log once per version.
    private func cutRecord(_ version: PublishedVersion, topic: (any LogTopic)?) async -> (ingest: Int64, event: Int64)? {
        if let known = state.withLock({ $0.cutRecords[version.id] }) { return known }
        var newest: (ingest: Int64, event: Int64)?
        for (partition, offset) in version.cut.enumerated() where offset > 0 {
            guard let record = try? await topic?.read(partition: partition, from: offset - 1, maxRecords: 1, maxBytes: 1 << 20).first else {
                continue
            }
            if record.ingestTime > newest?.ingest ?? .min { newest = (record.ingestTime, record.eventTime) }
        }
        state.withLock { $0.cutRecords[version.id] = newest }
        return newest
    }

    /// The alerts active now, oldest first.
    public func alerts() -> [StatusResponse.Alert] {
        state.withLock { Array($0.active.values) }.sorted { ($0.since, $0.rule, $0.subject) < ($1.since, $1.rule, $1.subject) }
    }

    // MARK: Metrics

    /// Sets the gauges that describe the present (offsets, lag, state, staleness, jobs, the
    /// process) from `status`, just before a scrape.
    public func refreshGauges(_ status: StatusResponse) {
        let telemetry = metrics.telemetry
        telemetry.setGauges("tandem_log_size_bytes", status.streams.map { ([("stream", $0.name)], Double($0.sizeBytes)) })
        telemetry.setGauges(
            "tandem_log_end_offset",
            status.streams.flatMap { stream in
                stream.endOffsets.values.map { ([("stream", stream.name), ("partition", String($0.key))], Double($0.value)) }
            })
        var consumed: [(labels: [(String, String)], value: Double)] = []
        var lagRecords = consumed, lagSeconds = consumed
        for view in status.views {
            for partition in view.partitions {
                let labels = [("view", view.view), ("partition", String(partition.partition))]
                consumed.append((labels, Double(partition.consumed)))
                lagRecords.append((labels, Double(partition.lagRecords)))
                lagSeconds.append((labels, partition.lagSeconds))
            }
        }
        telemetry.setGauges("tandem_speed_consumed_offset", consumed)
        telemetry.setGauges("tandem_speed_lag_records", lagRecords)
        telemetry.setGauges("tandem_speed_lag_seconds", lagSeconds)
        telemetry.setGauges(
            "tandem_speed_watermark_age_seconds", status.views.compactMap { view in view.watermarkAgeSeconds.map { ([("view", view.view)], $0) } })
        telemetry.setGauges("tandem_speed_state_rows", status.views.map { ([("view", $0.view)], Double($0.stateRows)) })
        telemetry.setGauges("tandem_speed_state_bytes", status.views.map { ([("view", $0.view)], Double($0.stateBytes)) })
        telemetry.setGauges(
            "tandem_batch_staleness_seconds", status.views.compactMap { view in view.stalenessSeconds.map { ([("view", view.view)], $0) } })
        telemetry.setGauges(
            "tandem_batch_jobs", ["queued", "running", "succeeded", "failed"].map { ([("state", $0)], Double(status.jobs[$0] ?? 0)) })
        if let cache = status.servingCache {
            telemetry.setGauges("tandem_serving_cache_bytes", [([], Double(cache.usedBytes))])
        }
        if let batch = views.batch {
            telemetry.setGauges("tandem_postgres_attached", [([], batch.isAttached ? 1 : 0)])
            telemetry.setGauges("tandem_postgres_calls_in_flight", [([], Double(DatabaseCalls.inFlight.load(ordering: .relaxed)))])
            telemetry.setGauges("tandem_postgres_pool_max_connections", [([], Double(DatabaseClient.maximumConnections))])
            metrics.advance("tandem_postgres_calls_total", [("outcome", "ok")], to: DatabaseCalls.succeeded.load(ordering: .relaxed))
            metrics.advance("tandem_postgres_calls_total", [("outcome", "error")], to: DatabaseCalls.failed.load(ordering: .relaxed))
            metrics.advance("tandem_postgres_calls_total", [("outcome", "timeout")], to: DatabaseCalls.timedOut.load(ordering: .relaxed))
        }
        telemetry.setGauges("tandem_alerts_active", [([], Double(status.alerts.count))])
        // One series per active alert, so that Prometheus can alert on Tandem's own rules.
        telemetry.setGauges("tandem_alert", status.alerts.map { ([("rule", $0.rule), ("subject", $0.subject)], 1) })
        telemetry.setGauges("tandem_uptime_seconds", [([], Double(status.uptimeSeconds))])
        if let resident = status.process?.residentBytes { telemetry.setGauges("process_resident_memory_bytes", [([], Double(resident))]) }
        if let files = status.process?.openFiles { telemetry.setGauges("process_open_fds", [([], Double(files))]) }
        if let limit = ProcessFigures.maxFiles() { telemetry.setGauges("process_max_fds", [([], Double(limit))]) }
        telemetry.setGauges("process_start_time_seconds", [([], started.timeIntervalSince1970)])
        if let cpu = status.process?.cpuSeconds { metrics.recordCPU(cpu) }
    }

    // MARK: Alerts

    /// Compares `status` with the thresholds, updates the active alerts, and logs each change.
    public func evaluate(_ status: StatusResponse) {
        let now = Date()
        var crossed: [(rule: String, subject: String, value: Double, threshold: Double, message: String)] = []
        if let limit = thresholds.lagSeconds {
            for view in status.views {
                for partition in view.partitions where partition.lagSeconds > limit {
                    crossed.append(
                        (
                            "lag_seconds", "\(view.view)/\(partition.partition)", partition.lagSeconds, limit,
                            "the speed layer of view \(view.view) is \(Int(partition.lagSeconds)) s behind on partition \(partition.partition) (\(partition.lagRecords) records)"
                        ))
                }
            }
        }
        if let limit = thresholds.stalenessSeconds {
            for view in status.views {
                guard let staleness = view.stalenessSeconds, staleness > limit else { continue }
                crossed.append(
                    (
                        "staleness", view.view, staleness, limit,
                        "the published version of view \(view.view) ends at data \(Int(staleness)) s old; a recompute is due"
                    ))
            }
        }
        if let limit = thresholds.errorRate {
            // The requests of the last 5 minutes: the counters now, less their values at the
            // oldest sample kept.
            let recent = state.withLock { state -> (total: Int, errors: Int) in
                let total = metrics.answered.load(ordering: .relaxed), errors = metrics.serverErrors.load(ordering: .relaxed)
                state.requestSamples.append(RequestSample(time: now, total: total, errors: errors))
                state.requestSamples.removeAll { now.timeIntervalSince($0.time) > 300 }
                let oldest = state.requestSamples.first!
                return (total - oldest.total, errors - oldest.errors)
            }
            if recent.total >= 20 {
                let rate = Double(recent.errors) / Double(recent.total)
                if rate > limit {
                    crossed.append(
                        ("error_rate", "server", rate, limit, "\(recent.errors) of the last \(recent.total) requests failed with a server error"))
                }
            }
        }
        if let limit = thresholds.failedJobs {
            let failed =
                views.batch?.liveJobs().filter { job in
                    job.state == .failed && (job.finishedAt.map { now.timeIntervalSince($0) < 3600 } ?? false)
                } ?? []
            if failed.count >= limit {
                crossed.append(
                    (
                        "failed_jobs", "server", Double(failed.count), Double(limit),
                        "\(failed.count) job(s) failed in the last hour: \(failed.prefix(3).map { "\($0.name) (\($0.view))" }.joined(separator: ", "))"
                    ))
            }
        }
        if let limit = thresholds.lateRecords {
            let recent = state.withLock { state -> [String: Int64] in
                var recent: [String: Int64] = [:]
                for view in status.views {
                    // A view seen for the first time counts from zero: its late records all
                    // arrived since it started.
                    var samples = state.lateSamples[view.view] ?? [(now, 0)]
                    if let last = samples.last, last.total > view.lateRecords { samples = [(now, 0)] }  // the view restarted
                    samples.append((now, view.lateRecords))
                    samples.removeAll { now.timeIntervalSince($0.time) > 300 }
                    state.lateSamples[view.view] = samples
                    recent[view.view] = view.lateRecords - (samples.first?.total ?? view.lateRecords)
                }
                for gone in Set(state.lateSamples.keys).subtracting(status.views.map(\.view)) { state.lateSamples[gone] = nil }
                return recent
            }
            for (view, count) in recent.sorted(by: { $0.key < $1.key }) where count >= Int64(limit) {
                crossed.append(
                    (
                        "late_records", view, Double(count), Double(limit),
                        "\(count) late records arrived for view \(view) in the last 5 minutes; each changed a window that was already final"
                    ))
            }
        }
        let since = Timestamp.format(Int64(now.timeIntervalSince1970 * 1000))
        let (started, cleared) = state.withLock { state -> ([StatusResponse.Alert], [StatusResponse.Alert]) in
            var next: [String: StatusResponse.Alert] = [:]
            var started: [StatusResponse.Alert] = []
            for alert in crossed {
                let key = alert.rule + "\u{1}" + alert.subject
                var entry = StatusResponse.Alert(
                    rule: alert.rule, subject: alert.subject, value: alert.value, threshold: alert.threshold, since: since, message: alert.message)
                if let previous = state.active[key] { entry.since = previous.since } else { started.append(entry) }
                next[key] = entry
            }
            let cleared = state.active.filter { next[$0.key] == nil }.map(\.value)
            state.active = next
            return (started, cleared)
        }
        for alert in started {
            logger.warning(
                "alert: \(alert.message)",
                metadata: ["alert": "\(alert.rule)", "subject": "\(alert.subject)", "value": "\(alert.value)", "threshold": "\(alert.threshold)"])
        }
        for alert in cleared {
            logger.notice("alert cleared", metadata: ["alert": "\(alert.rule)", "subject": "\(alert.subject)"])
        }
    }
}
