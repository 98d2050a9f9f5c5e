import Aggregation
import Foundation
import Synchronization

/// The views this server computes, persisted as one JSON file per view so that they survive
/// restarts (the batch layer will move this catalog into PostgreSQL).
public final class ViewCatalog: Sendable {
    private let directory: String
    private let views: Mutex<[String: ViewDefinition]>

    /// Loads every view persisted in `directory`.
    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var loaded: [String: ViewDefinition] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))
            let view = try JSONDecoder().decode(ViewDefinition.self, from: data)
            loaded[view.name] = view
        }
        views = Mutex(loaded)
    }

    /// The view with this name.
    public func view(_ name: String) -> ViewDefinition? { views.withLock { $0[name] } }

    /// Every view, by name.
    public var all: [ViewDefinition] { views.withLock { $0.values.sorted { $0.name < $1.name } } }

    /// Stores a new view. An identical view already there is fine (`false`); a different one with
    /// the same name is a conflict: delete it first.
    /// - Returns: whether the view is new.
    public func define(_ view: ViewDefinition) throws -> Bool {
        try views.withLock { views in
            if let existing = views[view.name] {
                guard existing == view else {
                    throw ViewError(.viewConflict, "view \"\(view.name)\" exists with another definition; delete it first", field: "name")
                }
                return false
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(view).write(to: URL(fileURLWithPath: "\(directory)/\(view.name).json"), options: .atomic)
            views[view.name] = view
            return true
        }
    }

    /// Deletes a view; `false` when there was none.
    public func remove(_ name: String) throws -> Bool {
        try views.withLock { views in
            guard views.removeValue(forKey: name) != nil else { return false }
            try FileManager.default.removeItem(atPath: "\(directory)/\(name).json")
            return true
        }
    }
}
