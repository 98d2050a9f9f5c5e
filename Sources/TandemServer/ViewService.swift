import Aggregation
import BatchLayer
import Catalog
import Events
import Ingest
import Logging
import SpeedLayer
import Synchronization

/// Keeps the view catalog, the speed layer and the batch layer in step: defining a view stores
/// it, starts computing it and queues its first full job; deleting stops it and drops its
/// versions. Views are compiled against their stream's current schema.
public final class ViewService: Sendable {
    let catalog: ViewCatalog
    let streams: StreamCatalog
    let speed: SpeedLayer
    /// The batch layer, when the server has a database.
    let batch: BatchLayer?
    /// The running views, shared with the batch layer.
    let registry: ViewRegistry
    private let failed = Mutex<[String: String]>([:])
    /// Set once ``startAll()`` has run: the catalogs are loaded and the stored views started.
    private let started = Atomic<Bool>(false)
    private let logger: Logger

    init(catalog: ViewCatalog, streams: StreamCatalog, speed: SpeedLayer, batch: BatchLayer?, registry: ViewRegistry, logger: Logger) {
        self.catalog = catalog
        self.streams = streams
        self.speed = speed
        self.batch = batch
        self.registry = registry
        self.logger = logger
    }

    func compile(_ view: ViewDefinition) throws(ViewError) -> CompiledView {
        guard let stream = streams[view.stream] else {
            throw ViewError(.unknownStream, "stream \"\(view.stream)\" does not exist", field: "stream")
        }
        if let schedule = view.schedule {
            do { _ = try Schedule.parse(schedule) } catch { throw ViewError(.invalidView, error.description, field: "schedule") }
        }
        return try CompiledView(view, stream: stream)
    }

    /// Starts every stored view, each from its published cut (or offset 0).
    ///
    /// A stored view that no longer compiles (its stream changed, or it was written by another
    /// version) is marked failed with its error and left out; the server and the other views run
    /// on. ``failures`` lists them for the status routes and `/readyz`.
    func startAll() {
        for view in catalog.all {
            do {
                let compiledView = try compile(view)
                try start(compiledView)
                registry.add(compiledView)
                batch?.warm(view: view.name)
                failed.withLock { _ = $0.removeValue(forKey: view.name) }
            } catch {
                failed.withLock { $0[view.name] = "\(error)" }
                logger.error("view failed to start; the server runs without it", metadata: ["view": "\(view.name)", "error": "\(error)"])
            }
        }
        started.store(true, ordering: .releasing)
    }

    /// Whether the stored views have been started (``startAll()``): until then, nothing else
    /// may start or stop views.
    var isStarted: Bool { started.load(ordering: .acquiring) }

    /// Restarts a view's speed state from its published cut (after the publication changed
    /// under it, as when the database is attached after a start without it).
    func restart(_ name: String) {
        guard let compiledView = registry.compiledView(name) else { return }
        speed.removeView(name)
        do {
            try start(compiledView)
            logger.notice("view restarted from its published cut", metadata: ["view": "\(name)"])
        } catch {
            registry.remove(name)
            failed.withLock { $0[name] = "\(error)" }
            logger.error("view failed to restart; the server runs without it", metadata: ["view": "\(name)", "error": "\(error)"])
        }
    }

    /// Starts a view's speed state from its published cut, with the largest event times below
    /// it (so that late records are judged as if it had run from offset 0), or from offset 0.
    private func start(_ compiledView: CompiledView) throws {
        let published = batch?.publication(for: compiledView)
        try speed.addView(compiledView, from: published?.cut, maxEventTimes: published?.maxEventTimes)
    }

    /// The stored views that could not start, with their errors.
    public var failures: [String: String] { failed.withLock { $0 } }

    /// Defines a view: stores it, starts computing it and, with a batch layer, queues its first
    /// full job (until it publishes, answers come from the speed layer alone).
    /// - Returns: whether it is new.
    @discardableResult
    public func define(_ view: ViewDefinition) async throws -> Bool {
        let compiledView = try compile(view)
        let (_, outcome) = try await catalog.define(view)
        let created = outcome == .created
        if created {
            registry.add(compiledView)
            try speed.addView(compiledView)
            logger.info("view created", metadata: ["view": "\(view.name)", "stream": "\(view.stream)"])
            if let batch {
                do {
                    try await batch.submit(view: view.name, mode: .full, trigger: "new_view")
                } catch {
                    logger.warning("could not queue the first job of a new view", metadata: ["view": "\(view.name)", "error": "\(error)"])
                }
            }
        }
        return created
    }

    /// Deletes a view, its speed state and its batch versions.
    public func remove(_ name: String) async throws -> Bool {
        guard try await catalog.remove(name) else { return false }
        registry.remove(name)
        failed.withLock { _ = $0.removeValue(forKey: name) }
        speed.removeView(name)
        await batch?.forget(view: name)
        logger.info("view deleted", metadata: ["view": "\(name)"])
        return true
    }

    /// Takes the views that other servers sharing the database defined or deleted: a new one
    /// starts from its published cut (its first job is the defining server's to queue), a
    /// deleted one stops (its versions were dropped by the server that deleted it), and a
    /// changed one starts again.
    func follow(_ changes: ViewCatalog.Changes) {
        for name in changes.removed + changes.changed.map(\.name) {
            registry.remove(name)
            speed.removeView(name)
            failed.withLock { _ = $0.removeValue(forKey: name) }
            if changes.removed.contains(name) {
                batch?.forgetLocally(view: name)
                logger.info("view deleted by another server", metadata: ["view": "\(name)"])
            }
        }
        for view in changes.added + changes.changed {
            do {
                let compiledView = try compile(view)
                try start(compiledView)
                registry.add(compiledView)
                batch?.warm(view: view.name)
                logger.info("view defined by another server", metadata: ["view": "\(view.name)", "stream": "\(view.stream)"])
            } catch {
                failed.withLock { $0[view.name] = "\(error)" }
                logger.error("a view defined by another server failed to start", metadata: ["view": "\(view.name)", "error": "\(error)"])
            }
        }
    }

    /// The running, compiled view with this name.
    public func compiledView(_ name: String) -> CompiledView? { registry.compiledView(name) }

    /// Every running view.
    public var compiledViews: [CompiledView] { registry.compiledViews }
}
