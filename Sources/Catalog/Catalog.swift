import Foundation
import Logging
import Synchronization

/// The definitions of one kind that this server knows: in memory for the hot paths, persisted in
/// a ``DefinitionStore`` (PostgreSQL or files) so that they survive restarts. Changes are
/// serialized and each is stored before the next starts, so the memory and the store agree.
public final class Catalog<Entry: CatalogEntry>: Sendable {
    /// What ``define(_:)`` did.
    public enum Outcome: Sendable, Equatable {
        /// The entry is new.
        case created
        /// The entry existed and changed (a stream gained fields or changed options).
        case updated
        /// The entry existed exactly as asked; nothing was stored.
        case unchanged
    }

    private let store: any DefinitionStore
    private let entries = Mutex<[String: Entry]>([:])
    private let changes = AsyncLock()
    private let materialize: @Sendable (Entry) async throws -> Void
    private let logger: Logger
    /// The limits on how many entries the server accepts.
    public let limits: CatalogLimits

    /// Creates an empty catalog; ``load()`` fills it from the store.
    /// - Parameters:
    ///   - store: where entries are kept.
    ///   - limits: how many entries the server accepts.
    ///   - materialize: called with each entry before it is stored and as it is loaded, to create
    ///     what the entry needs outside the catalog (a stream's log topic); a throw refuses it.
    ///   - logger: where changes are logged.
    public init(
        store: any DefinitionStore, limits: CatalogLimits = CatalogLimits(), logger: Logger,
        materialize: @escaping @Sendable (Entry) async throws -> Void = { _ in }
    ) {
        self.store = store
        self.limits = limits
        self.logger = logger
        self.materialize = materialize
    }

    /// Loads every stored entry.
    public func load() async throws {
        var loaded: [String: Entry] = [:]
        for (_, json) in try await store.loadAll(kind: Entry.kind) {
            let entry = try JSONDecoder().decode(Entry.self, from: Data(json.utf8))
            try await materialize(entry)
            loaded[entry.name] = entry
        }
        entries.withLock { $0.merge(loaded) { _, stored in stored } }
    }

    /// What ``reload()`` found changed in the store.
    public struct Changes: Sendable {
        /// Entries that are new.
        public var added: [Entry] = []
        /// Entries whose definition changed (as stored now).
        public var changed: [Entry] = []
        /// Names of entries deleted.
        public var removed: [String] = []

        /// Whether nothing changed.
        public var isEmpty: Bool { added.isEmpty && changed.isEmpty && removed.isEmpty }
    }

    /// Makes the catalog equal to its store, which other servers that share it may have changed:
    /// new and changed entries are materialized, then taken. An entry that does not decode or
    /// materialize is left as it was, and reported in the error after the others are taken.
    public func reload() async throws -> Changes {
        try await changes.withLock {
            let stored = try await store.loadAll(kind: Entry.kind)
            let current = entries.withLock { $0 }
            var changes = Changes()
            var failures: [String] = []
            for (name, json) in stored.sorted(by: { $0.key < $1.key }) {
                do {
                    let entry = try JSONDecoder().decode(Entry.self, from: Data(json.utf8))
                    guard entry != current[name] else { continue }
                    try await materialize(entry)
                    if current[name] == nil { changes.added.append(entry) } else { changes.changed.append(entry) }
                } catch {
                    failures.append("\(name): \(error)")
                }
            }
            changes.removed = current.keys.filter { stored[$0] == nil }.sorted()
            entries.withLock { entries in
                for entry in changes.added + changes.changed { entries[entry.name] = entry }
                for name in changes.removed { entries.removeValue(forKey: name) }
            }
            if !failures.isEmpty {
                throw CatalogError(.invalidStored, "\(Entry.kind) that could not be taken from the store: \(failures.joined(separator: "; "))")
            }
            return changes
        }
    }

    /// The entry with this name.
    public subscript(name: String) -> Entry? { entries.withLock { $0[name] } }

    /// Every entry, by name.
    public var all: [Entry] { entries.withLock { $0.values.sorted { $0.name < $1.name } } }

    /// Defines an entry: creates it, or changes the existing one as ``CatalogEntry/resolve(_:over:among:limits:)``
    /// allows.
    /// - Returns: the entry as stored and what changed.
    @discardableResult
    public func define(_ requested: Entry) async throws -> (Entry, Outcome) {
        try await changes.withLock {
            let (existing, current) = entries.withLock { ($0[requested.name], Array($0.values)) }
            let stored = try Entry.resolve(requested, over: existing, among: current, limits: limits)
            let outcome: Outcome = existing == nil ? .created : stored == existing ? .unchanged : .updated
            guard outcome != .unchanged else { return (stored, outcome) }
            try await materialize(stored)
            try await store.save(kind: Entry.kind, name: stored.name, json: try Self.json(stored))
            entries.withLock { $0[stored.name] = stored }
            logger.info("definition \(outcome == .created ? "created" : "updated")", metadata: ["kind": "\(Entry.kind)", "name": "\(stored.name)"])
            return (stored, outcome)
        }
    }

    /// Creates an entry unless the store holds one of that name already (another server that
    /// shares the store made it first): then the catalog takes the stored one instead.
    /// - Returns: whether this call created it.
    public func defineIfAbsent(_ entry: Entry) async throws -> Bool {
        let created = try await changes.withLock {
            guard self[entry.name] == nil else { return false }
            try await materialize(entry)
            guard try await store.saveIfAbsent(kind: Entry.kind, name: entry.name, json: try Self.json(entry)) else { return false }
            entries.withLock { $0[entry.name] = entry }
            logger.info("definition created", metadata: ["kind": "\(Entry.kind)", "name": "\(entry.name)"])
            return true
        }
        if !created { _ = try await reload() }
        return created
    }

    /// An entry as the store keeps it.
    private static func json(_ entry: Entry) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(entry), as: UTF8.self)
    }

    /// Deletes an entry; `false` when there was none.
    public func remove(_ name: String) async throws -> Bool {
        try await changes.withLock {
            guard self[name] != nil else { return false }
            try await store.delete(kind: Entry.kind, name: name)
            entries.withLock { _ = $0.removeValue(forKey: name) }
            return true
        }
    }
}
