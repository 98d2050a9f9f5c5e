import Aggregation
import EventLog
import Events
import HTTPAPI
import Hummingbird
import Ingest
import Logging
import NIOCore
import ServiceLifecycle
import ServingLayer
import SpeedLayer

/// Builds the Tandem server: opens the log, loads the stream catalog, declares the configured
/// streams, and wires the HTTP routes. Services run in dependency order (the log first, the HTTP
/// server last) and shut down in reverse.
public enum TandemApplication {
    /// The parts of a running server, for tests and tools that need to reach past HTTP.
    public struct Components: Sendable {
        /// The event log.
        public var log: EventLog
        /// The stream catalog.
        public var catalog: StreamCatalog
        /// The ingest path.
        public var ingestor: Ingestor
        /// The speed layer.
        public var speed: SpeedLayer
        /// Views: their catalog and the speed layer's work on them.
        public var views: ViewService
    }

    /// Opens storage and builds the application.
    /// - Parameters:
    ///   - configuration: the server's configuration.
    ///   - logger: the logger every component derives from.
    ///   - onServerRunning: called with the bound port once the server listens.
    public static func build(
        configuration: TandemConfiguration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> (some ApplicationProtocol, Components) {
        let components = try openComponents(configuration: configuration, logger: logger)
        let router = Router()
        router.middlewares.add(ErrorLoggingMiddleware(logger: logger))
        IngestRoutes(ingestor: components.ingestor, catalog: components.catalog, log: components.log, configuration: configuration.ingest)
            .register(on: router)
        ViewRoutes(service: components.views).register(on: router)
        let views = components.views
        let engine = QueryEngine(views: { views.compiledView($0) }, speed: components.speed, maxGroups: configuration.maxQueryGroups)
        QueryRoutes(engine: engine).register(on: router)
        OperationsRoutes(catalog: components.catalog, log: components.log, speed: components.speed).register(on: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tandem"),
            services: [components.log, components.speed],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
        return (app, components)
    }

    static func openComponents(configuration: TandemConfiguration, logger: Logger) throws -> Components {
        let log = try EventLog(directory: configuration.dataDirectory + "/log", configuration: configuration.log, logger: logger)
        let catalog = try StreamCatalog(directory: configuration.dataDirectory + "/streams", log: log, logger: logger)
        for stream in configuration.streams { try catalog.define(stream) }
        let ingestor = Ingestor(catalog: catalog, log: log, configuration: configuration.ingest, logger: logger)
        let speed = SpeedLayer(log: log, configuration: configuration.speed, logger: logger)
        let viewCatalog = try ViewCatalog(directory: configuration.dataDirectory + "/views")
        let views = ViewService(catalog: viewCatalog, streams: catalog, speed: speed, logger: logger)
        try views.startAll()
        for view in configuration.views { try views.define(view) }
        return Components(log: log, catalog: catalog, ingestor: ingestor, speed: speed, views: views)
    }
}
