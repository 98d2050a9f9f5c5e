import Events
import Logging
import PostgresNIO
import Telemetry

/// Stream and view definitions in PostgreSQL (`tandem_definitions`, created by migration 002),
/// every value a bind parameter. Each call fails with ``CatalogError`` `database_unavailable`
/// after 30 seconds rather than waiting for an unreachable server.
public struct PostgresDefinitionStore: DefinitionStore {
    let client: PostgresClient
    let logger: Logger

    /// Creates a store; the migrations must have run (the batch layer's `prepare()`).
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func loadAll(kind: String) async throws -> [String: String] {
        let client = self.client, logger = self.logger
        return try await Self.withTimeout("loading \(kind)") {
            var result: [String: String] = [:]
            let rows = try await client.query("SELECT name, definition FROM tandem_definitions WHERE kind = \(kind)", logger: logger)
            for try await (name, json) in rows.decode((String, String).self) { result[name] = json }
            return result
        }
    }

    public func save(kind: String, name: String, json: String) async throws {
        let client = self.client, logger = self.logger
        try await Self.withTimeout("saving \(kind) \(name)") {
            try await client.query(
                """
                INSERT INTO tandem_definitions (kind, name, definition) VALUES (\(kind), \(name), \(json))
                ON CONFLICT (kind, name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()
                """, logger: logger)
        }
    }

    public func saveIfAbsent(kind: String, name: String, json: String) async throws -> Bool {
        let client = self.client, logger = self.logger
        return try await Self.withTimeout("saving \(kind) \(name)") {
            var stored = false
            let rows = try await client.query(
                """
                INSERT INTO tandem_definitions (kind, name, definition) VALUES (\(kind), \(name), \(json))
                ON CONFLICT (kind, name) DO NOTHING RETURNING name
                """, logger: logger)
            for try await _ in rows.decode(String.self) { stored = true }
            return stored
        }
    }

    public func delete(kind: String, name: String) async throws {
        let client = self.client, logger = self.logger
        try await Self.withTimeout("deleting \(kind) \(name)") {
            try await client.query("DELETE FROM tandem_definitions WHERE kind = \(kind) AND name = \(name)", logger: logger)
        }
    }

    /// Copies definitions from `other` (the files of a data directory used before the server had a
    /// database) when PostgreSQL has none of that kind yet.
    public func importOnce(from other: any DefinitionStore, kinds: [String]) async throws {
        for kind in kinds where try await loadAll(kind: kind).isEmpty {
            for (name, json) in try await other.loadAll(kind: kind) { try await save(kind: kind, name: name, json: json) }
        }
    }

    /// Each call is counted in ``DatabaseCalls``.
    private static func withTimeout<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let timeout = "\(what) did not finish within 30 seconds: is PostgreSQL reachable?"
        return try await DatabaseCalls.track(
            { try await withDeadline(.seconds(30), timeoutError: { CatalogError(.unavailable, timeout) }, body) },
            isTimeout: { ($0 as? CatalogError)?.message == timeout })
    }
}
