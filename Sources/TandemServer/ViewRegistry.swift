import Aggregation
import BatchLayer
import Synchronization

/// The running, compiled views. Created first, before either layer, and handed to the batch layer
/// (as ``RunningViews``) and to the ``ViewService`` that fills it, so that no layer needs another
/// to be built first.
public final class ViewRegistry: RunningViews {
    private let views = Mutex<[String: CompiledView]>([:])

    /// An empty registry.
    public init() {}

    /// The running, compiled view with this name.
    public func compiledView(_ name: String) -> CompiledView? { views.withLock { $0[name] } }

    /// Every running view.
    public var compiledViews: [CompiledView] { views.withLock { Array($0.values) } }

    /// Records a running view.
    func add(_ view: CompiledView) { views.withLock { $0[view.name] = view } }

    /// Forgets a view.
    func remove(_ name: String) { views.withLock { _ = $0.removeValue(forKey: name) } }
}
