import Aggregation

/// The serving cache: every published version that fits `serving.cache_max_bytes` is held in
/// memory as a ``ColumnarState`` (on ``PublishedVersion/columns``), so that queries merge it with
/// the speed layer without a database round trip. PostgreSQL stays the store of record: a restart
/// rebuilds the columns from the version tables, and a version that does not fit is read from its
/// table as before.
public enum ServingCache {
    /// One view's entry, as the status routes report it.
    public struct Entry: Sendable, Equatable {
        /// The view.
        public var view: String
        /// The published version.
        public var version: Int64
        /// Whether its columns are in memory.
        public var cached: Bool
        /// Rows held.
        public var rows: Int
        /// Estimated bytes held.
        public var bytes: Int
    }

    /// The columns of a version's rows, or `nil` when they would pass `budget` bytes. A lower
    /// bound of the size is checked first, so a version far too large is never built.
    static func columns(of state: ViewState, view: CompiledView, budget: Int) -> ColumnarState? {
        guard fits(rows: state.count, view: view, budget: budget) else { return nil }
        let columns = ColumnarState(state, view: view)
        return columns.estimatedBytes <= budget ? columns : nil
    }

    /// The columns of a version's rows built by a job, or `nil` when they would pass `budget`.
    static func columns(of state: EncodedState, view: CompiledView, budget: Int) -> ColumnarState? {
        guard fits(rows: state.count, view: view, budget: budget) else { return nil }
        let columns = ColumnarState(state, view: view)
        return columns.estimatedBytes <= budget ? columns : nil
    }

    /// Whether `rows` rows can fit `budget` at all (a lower bound: the smallest cell is 8 bytes).
    private static func fits(rows: Int, view: CompiledView, budget: Int) -> Bool {
        let dimensions = view.definition.dimensions.count, aggregates = view.stateWidth
        return budget > 0 && rows * (8 + dimensions * 8 + aggregates * 8) <= budget
    }
}
