import Aggregation
import HTTPAPI
import HTTPTypes
import Hummingbird
import NIOCore
import Telemetry

/// `POST /v1/query`: JSON rows, or CSV with `Accept: text/csv`.
public struct QueryRoutes: Sendable {
    let engine: QueryEngine
    let telemetry: Telemetry

    /// Creates the routes; each answer is recorded in `telemetry` by view: its latency
    /// (`tandem_query_duration_seconds`), rows (`tandem_query_rows_total`) and source
    /// (`tandem_query_answers_total`).
    public init(engine: QueryEngine, telemetry: Telemetry = .disabled) {
        self.engine = engine
        self.telemetry = telemetry
    }

    /// Adds the routes to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/query") { request, _ in
            let query = try await JSONCoding.decodeBody(QueryRequest.self, from: request)
            let started = ContinuousClock.now
            // A ViewError propagates: the server's error middleware gives it its status.
            let result = try await engine.run(query)
            // Only views that exist get labels: a client cannot grow the series by naming others.
            let view = [("view", query.view)]
            telemetry.timer("tandem_query_duration_seconds", view).recordInterval(since: started)
            telemetry.counter("tandem_query_rows_total", view).increment(by: result.rows.count)
            telemetry.counter("tandem_query_answers_total", view + [("source", result.provenance.source)]).increment()
            if request.headers[.accept]?.contains("text/csv") == true {
                return Response(
                    status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: result.csv)))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: result.jsonBytes)))
        }
    }
}
