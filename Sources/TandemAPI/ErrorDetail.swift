/// One detail of an error, such as one invalid event.
public struct ErrorDetail: Sendable, Codable, Equatable {
    /// The 0-based index in a JSON array or line in NDJSON, when the detail is about an event.
    public var index: Int?
    /// The field at fault.
    public var field: String?
    /// A stable code.
    public var code: String
    /// A message for a person.
    public var message: String

    /// Creates a detail.
    public init(index: Int? = nil, field: String? = nil, code: String, message: String) {
        self.index = index
        self.field = field
        self.code = code
        self.message = message
    }
}
