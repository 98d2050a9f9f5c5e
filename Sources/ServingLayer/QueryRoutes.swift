import Aggregation
import HTTPAPI
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /v1/query`: JSON rows, or CSV with `Accept: text/csv`.
public struct QueryRoutes: Sendable {
    let engine: QueryEngine

    /// Creates the routes.
    public init(engine: QueryEngine) { self.engine = engine }

    /// Adds the routes to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/query") { request, _ in
            let query = try await JSONCoding.decodeBody(QueryRequest.self, from: request)
            // A ViewError propagates: the server's error middleware gives it its status.
            let result = try await engine.run(query)
            if request.headers[.accept]?.contains("text/csv") == true {
                return Response(
                    status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: result.csv)))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: result.jsonBytes)))
        }
    }
}
