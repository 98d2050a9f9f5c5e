import HTTPTypes

/// An error of the domain that the HTTP edge answers with a status and a stable code. Domain
/// modules know nothing of HTTP: their errors conform in `TandemServer`, and the error middleware
/// turns any of them into an ``APIError`` in one place.
public protocol HTTPMappedError: Error {
    /// The HTTP status of the answer.
    var httpStatus: HTTPResponse.Status { get }
    /// The stable snake_case code.
    var errorCode: String { get }
    /// What is wrong, for a person.
    var errorMessage: String { get }
    /// The details of the answer; by default one, naming the field at fault.
    var errorDetails: [APIError.Detail] { get }
    /// Seconds after which a retry may succeed, if a retry may.
    var retryAfterSeconds: Int? { get }
}

extension HTTPMappedError {
    public var retryAfterSeconds: Int? { nil }

    /// The answer: `{"error": {"code", "message", "details"}}` with this error's status.
    public var apiError: APIError {
        APIError(httpStatus, code: errorCode, errorMessage, details: errorDetails, retryAfterSeconds: retryAfterSeconds)
    }
}
