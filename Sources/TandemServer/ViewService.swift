import Aggregation
import Events
import Ingest
import Logging
import SpeedLayer
import Synchronization

/// Keeps the view catalog and the speed layer in step: defining a view stores it and starts
/// computing it; deleting stops it. Views are compiled against their stream's current schema.
public final class ViewService: Sendable {
    let catalog: ViewCatalog
    let streams: StreamCatalog
    let speed: SpeedLayer
    private let compiled = Mutex<[String: CompiledView]>([:])
    private let logger: Logger

    init(catalog: ViewCatalog, streams: StreamCatalog, speed: SpeedLayer, logger: Logger) {
        self.catalog = catalog
        self.streams = streams
        self.speed = speed
        self.logger = logger
    }

    func compile(_ view: ViewDefinition) throws(ViewError) -> CompiledView {
        guard let stream = streams.stream(view.stream) else {
            throw ViewError(.unknownStream, "stream \"\(view.stream)\" does not exist", field: "stream")
        }
        return try CompiledView(view, stream: stream)
    }

    /// Starts every stored view.
    func startAll() throws {
        for view in catalog.all {
            let compiledView = try compile(view)
            compiled.withLock { $0[view.name] = compiledView }
            try speed.addView(compiledView)
        }
    }

    /// Defines a view (stores it and starts computing it).
    /// - Returns: whether it is new.
    @discardableResult
    public func define(_ view: ViewDefinition) throws -> Bool {
        let compiledView = try compile(view)
        let created = try catalog.define(view)
        if created {
            compiled.withLock { $0[view.name] = compiledView }
            try speed.addView(compiledView)
            logger.info("view created", metadata: ["view": "\(view.name)", "stream": "\(view.stream)"])
        }
        return created
    }

    /// Deletes a view and its state.
    public func remove(_ name: String) throws -> Bool {
        guard try catalog.remove(name) else { return false }
        compiled.withLock { _ = $0.removeValue(forKey: name) }
        speed.removeView(name)
        logger.info("view deleted", metadata: ["view": "\(name)"])
        return true
    }

    /// The running, compiled view with this name.
    public func compiledView(_ name: String) -> CompiledView? { compiled.withLock { $0[name] } }
}
