/// A kind of definition the ``Catalog`` keeps: streams, views (and later tokens). The entry says
/// under which kind it is stored and what defining it over an existing one means.
public protocol CatalogEntry: Codable, Sendable, Equatable {
    /// The kind under which entries are stored (`streams`, `views`).
    static var kind: String { get }
    /// The entry's unique name within its kind.
    var name: String { get }
    /// What the catalog stores when `requested` is defined.
    /// - Parameters:
    ///   - requested: the definition a client asked for.
    ///   - existing: the stored entry with the same name, if any.
    ///   - entries: every stored entry of this kind, for limits across them.
    ///   - limits: the catalog's limits.
    /// - Returns: the entry to store; equal to `existing` when nothing changes.
    /// - Throws: the entry's own error when the definition is invalid, conflicts, or passes a limit.
    static func resolve(_ requested: Self, over existing: Self?, among entries: some Collection<Self>, limits: CatalogLimits) throws -> Self
}
