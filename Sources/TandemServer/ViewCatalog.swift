import Aggregation
import Events
import Foundation
import Synchronization

/// The views this server computes, in memory and persisted in a ``DefinitionStore`` (PostgreSQL
/// or files) so that they survive restarts.
public final class ViewCatalog: Sendable {
    /// The kind under which views are stored.
    public static let kind = "views"

    private let store: any DefinitionStore
    private let views = Mutex<[String: ViewDefinition]>([:])
    private let changes = AsyncLock()
    /// The most views the catalog accepts (`limits.max_views`): each runs a consumer per
    /// partition and holds state in memory.
    public let maxViews: Int

    /// Creates an empty catalog; ``load()`` fills it from the store.
    public init(store: any DefinitionStore, maxViews: Int = 256) {
        self.store = store
        self.maxViews = maxViews
    }

    /// Loads every stored view.
    public func load() async throws {
        var loaded: [String: ViewDefinition] = [:]
        for (_, json) in try await store.loadAll(kind: Self.kind) {
            let view = try JSONDecoder().decode(ViewDefinition.self, from: Data(json.utf8))
            loaded[view.name] = view
        }
        views.withLock { $0.merge(loaded) { _, stored in stored } }
    }

    /// The view with this name.
    public func view(_ name: String) -> ViewDefinition? { views.withLock { $0[name] } }

    /// Every view, by name.
    public var all: [ViewDefinition] { views.withLock { $0.values.sorted { $0.name < $1.name } } }

    /// Stores a new view. An identical view already there is fine (`false`); a different one with
    /// the same name is a conflict: delete it first.
    /// - Returns: whether the view is new.
    public func define(_ view: ViewDefinition) async throws -> Bool {
        try await changes.withLock {
            if let existing = self.view(view.name) {
                guard existing == view else {
                    throw ViewError(.viewConflict, "view \"\(view.name)\" exists with another definition; delete it first", field: "name")
                }
                return false
            }
            guard views.withLock({ $0.count }) < maxViews else {
                throw ViewError(.tooManyViews, "the server already has \(maxViews) views, the limit (limits.max_views)", field: "name")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try await store.save(kind: Self.kind, name: view.name, json: String(decoding: try encoder.encode(view), as: UTF8.self))
            views.withLock { $0[view.name] = view }
            return true
        }
    }

    /// Deletes a view; `false` when there was none.
    public func remove(_ name: String) async throws -> Bool {
        try await changes.withLock {
            guard self.view(name) != nil else { return false }
            try await store.delete(kind: Self.kind, name: name)
            views.withLock { _ = $0.removeValue(forKey: name) }
            return true
        }
    }
}
