/// A view version that has been published: its catalog id, the cut it was computed to, and the
/// table that holds its rows.
public struct PublishedVersion: Sendable, Equatable {
    /// The view.
    public var view: String
    /// The version's id (`tandem_view_versions.id`), increasing.
    public var id: Int64
    /// The cut: for every partition, the end offset it covers (exclusive).
    public var cut: [Int64]
    /// The version table.
    public var table: String
    /// The view definition it was computed for (JSON), to ignore versions of a replaced view.
    public var definition: String
}
