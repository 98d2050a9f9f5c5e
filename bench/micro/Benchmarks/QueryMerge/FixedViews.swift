import Aggregation
import ServingLayer

/// The views a query may name.
struct FixedViews: ServedViews {
    let views: [CompiledView]

    func compiledView(_ name: String) -> CompiledView? { views.first { $0.name == name } }
}
