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
            let result: QueryResult
            do {
                result = try await engine.run(query)
            } catch let error as ViewError {
                throw APIError(error)
            }
            if request.headers[.accept]?.contains("text/csv") == true {
                return Response(
                    status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: result.csv)))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: result.json)))
        }
    }
}

extension APIError {
    /// The 400 answer for a view or query problem (404 for an unknown view when `notFound`).
    /// A query that ran out of time is 503 (retry later or narrow it), not the client's mistake.
    public init(_ error: ViewError, status: HTTPResponse.Status = .badRequest) {
        self.init(
            error.code == .queryTimeout ? .serviceUnavailable : status, code: error.code.rawValue, error.message,
            details: [.init(field: error.field, code: error.code.rawValue, message: error.message)])
    }
}
