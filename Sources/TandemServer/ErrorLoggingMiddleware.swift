import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import Logging

/// Logs unexpected errors (not API errors, which are the client's) and answers them with the
/// API's JSON error shape instead of an empty 500.
struct ErrorLoggingMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            if error.status == .notFound {
                throw APIError(.notFound, code: "not_found", "no route for \(request.method) \(request.uri.path)")
            }
            throw APIError(
                error.status, code: error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_"),
                error.body ?? error.status.reasonPhrase)
        } catch {
            logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(.internalServerError, code: "internal", "internal error: \(error)")
        }
    }
}
