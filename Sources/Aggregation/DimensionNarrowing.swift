import Events

/// A filter term every passing row must satisfy, on one dimension: its value is one of `values`
/// (`=` or `in`). The speed layer reads only the rows its postings hold for them (``EncodedState``).
public struct DimensionNarrowing: Sendable, Equatable {
    /// The dimension's position in the view.
    public var dimension: Int
    /// The values allowed.
    public var values: [FieldValue?]

    /// Creates a narrowing.
    public init(dimension: Int, values: [FieldValue?]) {
        self.dimension = dimension
        self.values = values
    }
}

extension CompiledView {
    /// The narrowest `=` or `in` term on a dimension that every row passing `filter` satisfies
    /// (the filter itself, or a term of its top-level `and`); `nil` when there is none.
    public func narrowing(_ filter: Filter?) -> DimensionNarrowing? {
        guard let filter, let compiled = try? dimensionFilter(filter) else { return nil }
        let terms: [CompiledFilter.Node]
        switch compiled.root {
        case .and(let all): terms = all
        default: terms = [compiled.root]
        }
        var best: DimensionNarrowing?
        for case .compare(let index, let op, let values) in terms where op == .equal || op == .in {
            if values.count < best?.values.count ?? .max { best = DimensionNarrowing(dimension: index, values: values.map { $0 }) }
        }
        return best
    }
}
