import BatchLayer
import EventLog
import Foundation
import HTTPAPI
import Hummingbird
import NIOCore
import Prometheus
import SpeedLayer
import TandemAPI

/// Health, readiness, status, metrics and the dashboard.
struct OperationsRoutes: Sendable {
    let log: any SharedLog
    let speed: SpeedLayer
    let views: ViewService
    let monitor: Monitor

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
            let logProblem = log.unavailable
            let ready =
                caughtUp && failed.isEmpty && logProblem == nil && (database == "ok" || database == "none") && !status.contains { $0.failure != nil }
            return try JSONCoding.response(
                HealthResponse(
                    status: ready ? "ready" : (caughtUp ? "unready" : "replaying"), ready: ready, views: status, failedViews: views.failures,
                    failedPartitions: failed, database: database, log: logProblem ?? "ok"),
                status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/v1/status") { _, _ in try JSONCoding.response(await monitor.statusWithHistory()) }
        router.get("/metrics") { _, _ in
            monitor.refreshGauges(await monitor.status())
            var bytes: [UInt8] = []
            monitor.metrics.registry.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        for (path, file) in Dashboard.files {
            let body = ByteBuffer(string: file.text)
            router.get(RouterPath(path)) { _, _ in
                Response(status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"], body: .init(byteBuffer: body))
            }
        }
    }

    func failedPartitions() -> [HealthResponse.FailedPartition] {
        log.failedPartitions.map { HealthResponse.FailedPartition(stream: $0.topic, partition: $0.partition, reason: $0.reason) }
    }
}
