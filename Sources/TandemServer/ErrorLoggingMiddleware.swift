import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import Logging

/// The one place where errors become HTTP answers: domain errors (``HTTPMappedError``) get their
/// status and code, API errors pass, and unexpected errors are logged and answered with the API's
/// JSON error shape instead of an empty 500.
///
/// Nothing internal reaches a client: any 500 (an unexpected error, or an API error raised for a
/// failure inside the server) is answered with a generic message and a fresh request id, and the
/// details are logged under that id.
struct ErrorLoggingMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPMappedError {
            throw error.apiError
        } catch let error as APIError {
            guard error.status == .internalServerError else { throw error }
            throw logged(request, "\(error.code): \(error.message)")
        } catch let error as HTTPError {
            if error.status == .notFound {
                throw APIError(.notFound, code: "not_found", "no route for \(request.method) \(request.uri.path)")
            }
            guard error.status.code < 500 else { throw logged(request, "\(error)") }
            throw APIError(
                error.status, code: error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_"),
                error.body ?? error.status.reasonPhrase)
        } catch {
            throw logged(request, "\(error)")
        }
    }

    private func logged(_ request: Request, _ detail: String) -> APIError {
        let id = RequestIdentity.current ?? RequestIdentity.make()
        logger.error(
            "request failed",
            metadata: ["request_id": "\(id)", "method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(detail)"])
        return APIError.internalError(requestID: id)
    }

}

/// `Tandem-Request-Id`, parsed once.
let requestIDHeader = HTTPField.Name("Tandem-Request-Id")!
