import Aggregation

/// The server's views.
public typealias ViewCatalog = Catalog<ViewDefinition>

extension ViewDefinition: CatalogEntry {
    public static var kind: String { "views" }

    /// A view never changes in place: an identical definition is fine, a different one with the
    /// same name is a conflict (delete it first). A new view must fit within `limits.max_views`.
    public static func resolve(
        _ requested: ViewDefinition, over existing: ViewDefinition?, among entries: some Collection<ViewDefinition>, limits: CatalogLimits
    ) throws -> ViewDefinition {
        if let existing {
            guard existing == requested else {
                throw ViewError(.viewConflict, "view \"\(requested.name)\" exists with another definition; delete it first", field: "name")
            }
            return existing
        }
        guard entries.count < limits.maxViews else {
            throw ViewError(.tooManyViews, "the server already has \(limits.maxViews) views, the limit (limits.max_views)", field: "name")
        }
        return requested
    }
}
