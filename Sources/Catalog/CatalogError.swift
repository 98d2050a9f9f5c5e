/// Why the catalog could not read or store a definition (as opposed to refusing it, which the
/// definition's own error says).
public struct CatalogError: Error, CustomStringConvertible, Sendable {
    /// Stable codes, part of the HTTP API.
    public enum Code: String, Sendable {
        /// The definition store (PostgreSQL) did not answer in time.
        case unavailable = "database_unavailable"
        /// A stored definition that another server wrote could not be decoded or materialized.
        case invalidStored = "invalid_stored_definition"
    }

    /// What went wrong.
    public let code: Code
    /// A message for people.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
