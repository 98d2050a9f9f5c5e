import BatchLayer
import Catalog
import EventLog
import Events
import Foundation
import HTTPAPI
import Hummingbird
import Ingest
import NIOCore
import SpeedLayer
import TandemAPI

/// Health, readiness, status and the landing page.
struct OperationsRoutes: Sendable {
    let catalog: StreamCatalog
    let log: EventLog
    let speed: SpeedLayer
    let views: ViewService
    let started = Date()

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/healthz") { _, _ in
            let failed = failedPartitions()
            let status = speed.status()
            let healthy = failed.isEmpty && !status.contains { $0.failure != nil }
            return try JSONCoding.response(
                HealthResponse(
                    status: healthy ? "ok" : "failing", ready: speed.isCaughtUp, views: status, failedViews: views.failures,
                    failedPartitions: failed),
                status: healthy ? .ok : .serviceUnavailable)
        }
        router.get("/readyz") { _, _ in
            let status = speed.status()
            let failed = failedPartitions()
            var database = "none"
            if let batch = views.batch {
                let ping = await batch.ping()
                // Until the batch layer is attached (a start without the database), not ready.
                database = batch.isAttached ? ping ?? "ok" : "not attached since the start: " + (ping ?? "reachable, attaching")
            }
            let caughtUp = speed.isCaughtUp
            let ready = caughtUp && failed.isEmpty && (database == "ok" || database == "none") && !status.contains { $0.failure != nil }
            return try JSONCoding.response(
                HealthResponse(
                    status: ready ? "ready" : (caughtUp ? "unready" : "replaying"), ready: ready, views: status, failedViews: views.failures,
                    failedPartitions: failed, database: database),
                status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/v1/status") { _, _ in try JSONCoding.response(status()) }
        router.get("/") { _, _ in dashboard() }
    }

    func failedPartitions() -> [HealthResponse.FailedPartition] {
        log.failedPartitions.map { HealthResponse.FailedPartition(stream: $0.topic, partition: $0.partition, reason: $0.reason) }
    }

    func status() -> StatusResponse {
        let streams = catalog.all.map { definition in
            let info = log.topic(definition.name)?.partitionInfo() ?? []
            return StatusResponse.Stream(
                name: definition.name, partitions: definition.partitions,
                endOffsets: PartitionMap(Dictionary(uniqueKeysWithValues: info.map { ($0.partition, $0.endOffset) })),
                sizeBytes: info.reduce(0) { $0 + $1.sizeBytes })
        }
        let cache = views.batch.map { batch in
            let entries = batch.servingCache()
            return StatusResponse.ServingCache(
                maxBytes: batch.cacheMaxBytes, usedBytes: entries.reduce(0) { $0 + $1.bytes },
                views: entries.map { .init(view: $0.view, version: $0.version, cached: $0.cached, rows: $0.rows, bytes: $0.bytes) })
        }
        return StatusResponse(
            version: TandemVersion.current, uptimeSeconds: Int(Date().timeIntervalSince(started)), streams: streams, servingCache: cache)
    }

    func dashboard() -> Response {
        var rows = ""
        for stream in status().streams {
            let events = stream.endOffsets.values.values.reduce(0, +)
            rows += "<tr><td>\(stream.name)</td><td>\(stream.partitions)</td><td>\(events)</td><td>\(stream.sizeBytes)</td></tr>"
        }
        let html = """
            <!doctype html><html><head><meta charset="utf-8"><title>Tandem</title>
            <style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}</style></head>
            <body><h1>Tandem</h1><p>Version \(TandemVersion.current). API: <code>/v1/streams</code>, <code>/v1/status</code>, <code>/healthz</code>.</p>
            <table><tr><th>stream</th><th>partitions</th><th>events</th><th>bytes</th></tr>\(rows)</table></body></html>
            """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
