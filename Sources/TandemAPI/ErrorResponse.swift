/// Every error answer: `{"error": {"code": ..., "message": ..., "details": [...], "request_id": ...}}`.
public struct ErrorResponse: Codable, Sendable, Equatable {
    /// The error.
    public struct Body: Codable, Sendable, Equatable {
        /// A stable snake_case code.
        public var code: String
        /// What went wrong, for a person.
        public var message: String
        /// Further details, such as one per invalid event.
        public var details: [ErrorDetail]?
        /// The id under which the server logged an internal error.
        public var requestID: String?

        enum CodingKeys: String, CodingKey {
            case code, message, details
            case requestID = "request_id"
        }

        /// Creates a body.
        public init(code: String, message: String, details: [ErrorDetail]? = nil, requestID: String? = nil) {
            self.code = code
            self.message = message
            self.details = details
            self.requestID = requestID
        }
    }

    /// The error.
    public var error: Body

    /// Creates an answer.
    public init(error: Body) { self.error = error }
}
