import Logging
import Synchronization

/// Definitions kept in PostgreSQL, with a copy in the data directory that lets the server start,
/// and take events for the streams it knows, while the database is unreachable.
///
/// - Attached (the database was reached at start, or since): PostgreSQL is the store of record.
///   A change is written there first, then to the copy; a load makes the copy equal to it.
/// - Detached: loads come from the copy. A new or changed definition is written to the copy and
///   marked pending; ``attach()`` writes the pending ones to PostgreSQL before anything else.
///   Deleting needs the database (a deleted view's versions are dropped there), so it fails with
///   `database_unavailable`.
public final class MirroredDefinitionStore: DefinitionStore {
    let primary: any DefinitionStore
    let copy: FileDefinitionStore
    /// Definitions written while detached, not yet in PostgreSQL: `ROOT/pending/KIND/NAME.json`.
    let pending: FileDefinitionStore
    private let attached = Atomic<Bool>(false)
    private let logger: Logger
    /// The kinds of definition kept.
    let kinds: [String]

    /// Creates a store over `primary` with its copy under `root`.
    public init(primary: any DefinitionStore, root: String, kinds: [String], logger: Logger) {
        self.primary = primary
        self.copy = FileDefinitionStore(root: root)
        self.pending = FileDefinitionStore(root: root + "/pending")
        self.kinds = kinds
        self.logger = logger
    }

    /// Whether PostgreSQL is the store in use.
    public var isAttached: Bool { attached.load(ordering: .acquiring) }

    /// Writes the definitions made while detached to PostgreSQL, then makes it the store in use.
    public func attach() async throws {
        for kind in kinds {
            for (name, json) in try await pending.loadAll(kind: kind) {
                try await primary.save(kind: kind, name: name, json: json)
                try await pending.delete(kind: kind, name: name)
                logger.info("a definition made without PostgreSQL is stored there now", metadata: ["kind": "\(kind)", "name": "\(name)"])
            }
        }
        attached.store(true, ordering: .releasing)
    }

    public func loadAll(kind: String) async throws -> [String: String] {
        guard isAttached else { return try await copy.loadAll(kind: kind) }
        let stored = try await primary.loadAll(kind: kind)
        // The copy follows PostgreSQL; a copy that cannot be written only costs a start without it.
        do {
            let copied = try await copy.loadAll(kind: kind)
            for (name, json) in stored where copied[name] != json { try await copy.save(kind: kind, name: name, json: json) }
            for name in copied.keys where stored[name] == nil { try await copy.delete(kind: kind, name: name) }
        } catch {
            logger.warning("could not update the local copy of the definitions", metadata: ["kind": "\(kind)", "error": "\(error)"])
        }
        return stored
    }

    public func save(kind: String, name: String, json: String) async throws {
        guard isAttached else {
            try await copy.save(kind: kind, name: name, json: json)
            try await pending.save(kind: kind, name: name, json: json)
            return
        }
        try await primary.save(kind: kind, name: name, json: json)
        do { try await copy.save(kind: kind, name: name, json: json) } catch {
            logger.warning("could not update the local copy of a definition", metadata: ["kind": "\(kind)", "name": "\(name)", "error": "\(error)"])
        }
    }

    public func saveIfAbsent(kind: String, name: String, json: String) async throws -> Bool {
        guard isAttached else {
            guard try await copy.loadAll(kind: kind)[name] == nil else { return false }
            try await save(kind: kind, name: name, json: json)
            return true
        }
        guard try await primary.saveIfAbsent(kind: kind, name: name, json: json) else { return false }
        do { try await copy.save(kind: kind, name: name, json: json) } catch {
            logger.warning("could not update the local copy of a definition", metadata: ["kind": "\(kind)", "name": "\(name)", "error": "\(error)"])
        }
        return true
    }

    public func delete(kind: String, name: String) async throws {
        guard isAttached else {
            throw CatalogError(.unavailable, "PostgreSQL is not reachable: a definition can be deleted once it is back")
        }
        try await primary.delete(kind: kind, name: name)
        do { try await copy.delete(kind: kind, name: name) } catch {
            logger.warning("could not update the local copy of a definition", metadata: ["kind": "\(kind)", "name": "\(name)", "error": "\(error)"])
        }
    }
}
