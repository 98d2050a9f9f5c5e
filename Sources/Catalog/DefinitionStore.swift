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
    /// Stores a definition unless one of that kind and name exists; returns whether it stored
    /// it. Servers that share a store race for a name this way (only PostgreSQL is shared, and
    /// decides at once; the default reads, then writes).
    func saveIfAbsent(kind: String, name: String, json: String) async throws -> Bool
}

extension DefinitionStore {
    public func saveIfAbsent(kind: String, name: String, json: String) async throws -> Bool {
        guard try await loadAll(kind: kind)[name] == nil else { return false }
        try await save(kind: kind, name: name, json: json)
        return true
    }
}
