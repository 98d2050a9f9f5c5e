/// Where named definitions (streams, views) are kept, as JSON text by kind and name. The server
/// keeps them in PostgreSQL when it has a database (``PostgresDefinitionStore``), in files under
/// the data directory otherwise (``FileDefinitionStore``).
public protocol DefinitionStore: Sendable {
    /// Every definition of a kind: name → JSON.
    func loadAll(kind: String) async throws -> [String: String]
    /// Stores (or replaces) a definition.
    func save(kind: String, name: String, json: String) async throws
    /// Deletes a definition; deleting a missing one is not an error.
    func delete(kind: String, name: String) async throws
}
