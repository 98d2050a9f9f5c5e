import Catalog
import EventLog
import Events
import Foundation
import HTTPAPI
import Hummingbird
import Ingest
import NIOCore
import SpeedLayer

/// Health, readiness, status and the landing page.
struct OperationsRoutes: Sendable {
    let catalog: StreamCatalog
    let log: EventLog
    let speed: SpeedLayer
    let views: ViewService
    let started = Date()

    struct Health: Encodable {
        var status: String
        var ready: Bool
        var views: [SpeedViewStatus]
        /// Stored views that could not start, with their errors: the server answers without them.
        var failed_views: [String: String]
    }

    struct Status: Encodable {
        struct Stream: Encodable {
            var name: String
            var partitions: Int
            var end_offsets: [String: Int64]
            var size_bytes: Int
        }
        var version: String
        var uptime_seconds: Int
        var streams: [Stream]
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/healthz") { _, _ in
            try JSONCoding.response(Health(status: "ok", ready: speed.isCaughtUp, views: speed.status(), failed_views: views.failures))
        }
        router.get("/readyz") { _, _ in
            let ready = speed.isCaughtUp
            return try JSONCoding.response(
                Health(status: ready ? "ready" : "replaying", ready: ready, views: speed.status(), failed_views: views.failures),
                status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/v1/status") { _, _ in try JSONCoding.response(status()) }
        router.get("/") { _, _ in dashboard() }
    }

    func status() -> Status {
        let streams = catalog.all.map { definition in
            let info = log.topic(definition.name)?.partitionInfo() ?? []
            return Status.Stream(
                name: definition.name, partitions: definition.partitions,
                end_offsets: Dictionary(uniqueKeysWithValues: info.map { (String($0.partition), $0.endOffset) }),
                size_bytes: info.reduce(0) { $0 + $1.sizeBytes })
        }
        return Status(version: TandemVersion.current, uptime_seconds: Int(Date().timeIntervalSince(started)), streams: streams)
    }

    func dashboard() -> Response {
        var rows = ""
        for stream in status().streams {
            let events = stream.end_offsets.values.reduce(0, +)
            rows += "<tr><td>\(stream.name)</td><td>\(stream.partitions)</td><td>\(events)</td><td>\(stream.size_bytes)</td></tr>"
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
