import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TandemAPI

/// An error answer of the HTTP API: a status, a stable snake_case code, a message, and optional
/// details (one per invalid event, for instance), written as
/// `{"error": {"code": ..., "message": ..., "details": [...]}}`.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    /// One detail of an error, such as one invalid event.
    public typealias Detail = ErrorDetail

    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// The stable code.
    public var code: String
    /// What went wrong, for a person.
    public var message: String
    /// Further details.
    public var details: [Detail]
    /// Seconds after which a retry may succeed (sent as `Retry-After`).
    public var retryAfterSeconds: Int?
    /// The id under which the server logged the details of an internal error.
    public var requestID: String?
    /// Further header fields of the answer (such as `RateLimit-*`).
    public var headers: HTTPFields = [:]

    /// Creates an error answer.
    public init(_ status: HTTPResponse.Status, code: String, _ message: String, details: [Detail] = [], retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The JSON body of this error.
    public var jsonBody: Data {
        let body = ErrorResponse(error: .init(code: code, message: message, details: details.isEmpty ? nil : details, requestID: requestID))
        // Encoding strings cannot fail; the fallback still names the code.
        return (try? JSONCoding.encoder.encode(body)) ?? Data("{\"error\":{\"code\":\"\(code)\"}}".utf8)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: self.headers)
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if let requestID { headers[HTTPField.Name("Tandem-Request-Id")!] = requestID }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }
}

extension APIError {
    /// The answer to a client for a failure inside the server: 500 with a generic message and
    /// the request id; the details go to the log only, never to the client (they can hold file
    /// paths, SQL or addresses).
    public static func internalError(requestID: String) -> APIError {
        var error = APIError(
            .internalServerError, code: "internal",
            "the server failed to handle this request; its log has the details under request id \(requestID)")
        error.requestID = requestID
        return error
    }

    /// 404 for a named thing that does not exist.
    public static func notFound(_ code: String, _ message: String) -> APIError { APIError(.notFound, code: code, message) }

    /// 400 for a request that is malformed.
    public static func badRequest(_ code: String, _ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, code: code, message, details: field.map { [Detail(field: $0, code: code, message: message)] } ?? [])
    }
}
