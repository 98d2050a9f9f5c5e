import Aggregation
import BatchLayer
import Catalog
import EventLog
import Events
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Ingest
import KafkaLog
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import ServingLayer
import SpeedLayer
import Telemetry

/// Builds the Tandem server: opens the log, loads the stream and view catalogs, connects the
/// batch layer to PostgreSQL, and wires the HTTP routes. Services run in dependency order (the
/// log, PostgreSQL, the speed and batch layers, the HTTP server last) and shut down in reverse.
public enum TandemApplication {
    /// The parts of a running server, for tests and tools that need to reach past HTTP.
    public struct Components: Sendable {
        /// The log the layers read and append to: the embedded log or Kafka.
        public var log: any SharedLog
        /// The embedded log, when it is the backend.
        public var embeddedLog: EventLog?
        /// The lock on the data directory when the log is elsewhere (the embedded log locks its
        /// own directory): two servers never share one.
        var dataLock: DirectoryLock?
        /// The stream catalog.
        public var catalog: StreamCatalog
        /// The ingest path.
        public var ingestor: Ingestor
        /// The speed layer.
        public var speed: SpeedLayer
        /// The batch layer, when a database is configured.
        public var batch: BatchLayer?
        /// Views: their catalog and the layers' work on them.
        public var views: ViewService
        /// Where stream and view definitions are kept.
        public var definitions: any DefinitionStore
        /// The definitions in PostgreSQL, when the server has a database: at start they adopt
        /// the files of a data directory that ran without one.
        var databaseDefinitions: PostgresDefinitionStore?
        /// The definitions in use with a database: PostgreSQL's, with a local copy for a start
        /// without it.
        var mirroredDefinitions: MirroredDefinitionStore?
        /// Services to run before the HTTP server, in order.
        var services: [any Service]
        /// The tokens and the check of every request.
        public var access: AccessControl
        /// The server's metrics.
        public var metrics: ServerMetrics
        /// Status, gauges and alerts.
        public var monitor: Monitor
        /// The partitions divided among servers (`kafka.divide_partitions`), if so.
        var divided: DividedPartitions?
        /// The speed state as queries read it: the speed layer, or with divided partitions
        /// the layer here and the owners' elsewhere.
        var servingSpeed: any SpeedStateReading
    }

    /// Opens storage and builds the application.
    /// - Parameters:
    ///   - configuration: the server's configuration.
    ///   - logger: the logger every component derives from.
    ///   - logFileSystem: the calls through which the log changes its files (tests inject disk
    ///     faults through it).
    ///   - batchFaults: faults to inject into the batch layer (tests only).
    ///   - metrics: where the server's metrics are recorded (`GET /metrics` serves its
    ///     registry); a new registry by default.
    ///   - onServerRunning: called with the bound port once the server listens.
    public static func build(
        configuration: TandemConfiguration,
        logger: Logger,
        logFileSystem: any LogFileSystem = SystemFileSystem(),
        batchFaults: BatchFaults = BatchFaults(),
        metrics: ServerMetrics = ServerMetrics(),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> (some ApplicationProtocol, Components) {
        let components = try openComponents(
            configuration: configuration, logFileSystem: logFileSystem, batchFaults: batchFaults, metrics: metrics, logger: logger)
        let router = Router()
        let catalog = components.catalog
        router.middlewares.add(RequestObservationMiddleware(metrics: metrics, knownStream: { catalog[$0] != nil }))
        router.middlewares.add(ErrorLoggingMiddleware(logger: logger))
        router.middlewares.add(BrowserProtectionMiddleware(settings: configuration.browser, listeningOn: configuration.host))
        if !configuration.authEnabled {
            guard ["127.0.0.1", "::1", "localhost"].contains(configuration.host) else {
                throw ConfigurationError(
                    description:
                        "auth.enabled: false (or --no-auth) is allowed only when the server listens on a loopback address, not \(configuration.host)")
            }
            logger.warning("AUTH IS OFF (auth.enabled: false): any local process or user can read, change and delete everything this server holds")
        }
        router.middlewares.add(AccessMiddleware(access: components.access, logger: logger))
        TokenRoutes(access: components.access).register(on: router)
        IngestRoutes(ingestor: components.ingestor, catalog: components.catalog, log: components.log, configuration: configuration.ingest)
            .register(on: router)
        ViewRoutes(service: components.views).register(on: router)
        JobRoutes(batch: components.batch, views: components.views).register(on: router)
        let views = components.views
        if let divided = components.divided { InternalRoutes(partitions: divided).register(on: router) }
        let engine = QueryEngine(views: views.registry, speed: components.servingSpeed, batch: components.batch, limits: configuration.query)
        QueryRoutes(engine: engine, telemetry: metrics.telemetry).register(on: router)
        OperationsRoutes(log: components.log, speed: components.speed, views: components.views, monitor: components.monitor)
            .register(on: router)
        let limits = configuration.server
        var server: HTTPServerBuilder = .http1(
            configuration: .init(
                additionalChannelHandlers: [RequestDeadlineHandler(timeout: .init(limits.readTimeout))], idleTimeout: .init(limits.idleTimeout)))
        if let tls = configuration.tls { server = try .tls(server, tlsConfiguration: try serverTLS(certificate: tls.certificate, key: tls.key)) }
        var app = Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "tandem",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)),
            services: components.services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                // The port bound, when it was 0, in the address the server registered.
                if configuration.advertise == nil, configuration.port != port {
                    await components.batch?.advertise(Self.address(configuration, port: port))
                }
                await onServerRunning(port)
            },
            logger: logger
        )
        let configuredStreams = configuration.streams
        let configuredViews = configuration.views
        let files = FileDefinitionStore(root: configuration.dataDirectory)
        app.beforeServerStarts {
            // Migrations first; then the catalogs; the batch layer's publications decide where
            // each view's speed state starts. Without the database the server starts anyway,
            // from the local copies of the definitions and publications, and attaches the batch
            // layer as soon as the database answers.
            var attached = false
            if let batch = components.batch {
                if let failure = await batch.ping(timeout: batch.connectTimeout) {
                    logger.warning(
                        "PostgreSQL is not reachable: the server starts without it, takes events, and answers queries that need a published version with 503 batch_unavailable until it is back",
                        metadata: ["error": "\(failure)"])
                    batch.loadLocalPublications()
                } else {
                    do { try await batch.prepare() } catch {
                        // PostgresNIO hides the server's message from the error's description.
                        throw ConfigurationError(description: "preparing the database failed: \(BatchLayer.describe(error))")
                    }
                    try await components.mirroredDefinitions?.attach()
                    try await components.databaseDefinitions?.importOnce(
                        from: files, kinds: [StreamDefinition.kind, ViewDefinition.kind, AccessToken.kind])
                    batch.markAttached()
                    attached = true
                }
            }
            try await components.catalog.load()
            for stream in configuredStreams { try await components.catalog.define(stream) }
            // Before the first request: the ids accepted before a restart are remembered.
            try await components.ingestor.loadIDIndexes()
            // Before the views start from their published cuts: a cut the log cannot back is dropped.
            components.batch?.checkCuts()
            if let token = try await components.access.load(dataDirectory: configuration.dataDirectory) {
                print("tandem admin token (shown once; also in \(configuration.dataDirectory)/admin.token, readable by its owner only): \(token)")
                fflush(nil)
            }
            try await views.catalog.load()
            views.startAll()
            for view in configuredViews { try await views.define(view) }
            guard let batch = components.batch else { return }
            if attached {
                await batch.requeueAtStart()
            } else {
                batch.attachWhenReachable { try await attach(components, files: files, logger: logger) }
            }
        }
        return (app, components)
    }

    /// The TLS settings of an HTTPS server from PEM files, failing with a message that names the
    /// file at fault.
    static func serverTLS(certificate: String, key: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw ConfigurationError(description: "server.tls.certificate: cannot read a PEM certificate from \(certificate): \(error)")
        }
        guard !chain.isEmpty else { throw ConfigurationError(description: "server.tls.certificate: \(certificate) holds no certificate") }
        let privateKey: NIOSSLPrivateKey
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw ConfigurationError(description: "server.tls.key: cannot read a PEM private key from \(key): \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        tls.minimumTLSVersion = .tlsv12
        return tls
    }

    /// A setting that cannot be used, with what is wrong.
    struct ConfigurationError: Error, CustomStringConvertible {
        var description: String
    }

    /// Attaches the batch layer once the database answers after a start without it: the
    /// definitions made meanwhile are stored, the publications are loaded (a view whose
    /// publication is not the one recorded locally restarts its speed state from the new cut),
    /// the serving cache is filled, and the jobs that are due are queued.
    static func attach(_ components: Components, files: FileDefinitionStore, logger: Logger) async throws {
        guard let batch = components.batch, let definitions = components.mirroredDefinitions else { return }
        let changed = try await batch.prepare()
        try await definitions.attach()
        try await components.databaseDefinitions?.importOnce(from: files, kinds: [StreamDefinition.kind, ViewDefinition.kind, AccessToken.kind])
        // PostgreSQL is the store of record; a definition it holds that this server does not (a
        // crash between its write and the copy's) is named, and applies at the next start.
        let streams = try await definitions.loadAll(kind: StreamDefinition.kind)
        let views = try await definitions.loadAll(kind: ViewDefinition.kind)
        let known = Set(components.catalog.all.map(\.name)), knownViews = Set(components.views.catalog.all.map(\.name))
        for (kind, stored, running) in [("stream", Set(streams.keys), known), ("view", Set(views.keys), knownViews)] where stored != running {
            logger.warning(
                "PostgreSQL's definitions differ from the local copy the server started with; restart the server to use PostgreSQL's",
                metadata: [
                    "kind": "\(kind)", "only_in_postgres": "\(stored.subtracting(running).sorted())",
                    "only_here": "\(running.subtracting(stored).sorted())",
                ])
        }
        batch.checkCuts()
        for view in changed { components.views.restart(view) }
        batch.markAttached()
        for view in components.views.compiledViews { batch.warm(view: view.name) }
        await batch.requeueAtStart()
        for view in components.views.compiledViews where batch.publication(for: view) == nil {
            // Views defined without the database have no version yet: their first full job.
            _ = try? await batch.submit(view: view.name, mode: .full, trigger: "new_view")
        }
    }

    /// Where this server is reached, unless `server.advertise` says: its scheme, host and port,
    /// with the machine's host name in place of an address that means every interface.
    static func address(_ configuration: TandemConfiguration, port: Int) -> String {
        let everywhere = ["0.0.0.0", "::", "[::]", ""].contains(configuration.host)
        let host = everywhere ? ProcessInfo.processInfo.hostName : configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "\(configuration.tls == nil ? "http" : "https")://\(host):\(port)"
    }

    /// This data directory's instance id (`DATA_DIR/instance-id`, made on first use): the same
    /// server after a restart, whatever its address.
    static func instanceID(dataDirectory: String) throws -> String {
        let path = dataDirectory + "/instance-id"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let id = UUID().uuidString.lowercased()
        try (id + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return id
    }

    static func openComponents(
        configuration: TandemConfiguration, logFileSystem: any LogFileSystem, batchFaults: BatchFaults, metrics: ServerMetrics, logger: Logger
    ) throws -> Components {
        let log: any SharedLog
        let logService: any Service
        let embeddedLog: EventLog?
        let openTopic: @Sendable (StreamDefinition) async throws -> Void
        let schemas = CatalogSchemas()
        var dataLock: DirectoryLock?
        switch configuration.logBackend {
        case .embedded:
            let embedded = try EventLog(
                directory: configuration.dataDirectory + "/log", configuration: configuration.log,
                fileSystem: MeasuredFileSystem(logFileSystem, telemetry: metrics.telemetry), logger: logger)
            (log, logService, embeddedLog) = (embedded, embedded, embedded)
            openTopic = { stream in try embedded.createTopic(stream.name, partitions: stream.partitions) }
        case .kafka(let settings):
            try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
            dataLock = try DirectoryLock(directory: configuration.dataDirectory)
            let kafka = try KafkaLog(configuration: settings, schemas: schemas, logger: logger)
            (log, logService, embeddedLog) = (kafka, kafka, nil)
            openTopic = { stream in try await kafka.openTopic(stream: stream.name, partitions: stream.partitions) }
        }
        var services: [any Service] = [logService]
        var databaseURL: String?
        switch configuration.database {
        case .none:
            break
        case .url(let url):
            databaseURL = url
        case .managed:
            let cluster = try ManagedPostgres(directory: configuration.dataDirectory + "/postgres", logger: logger)
            services.append(cluster)
            databaseURL = cluster.url
        }
        var client: PostgresClient?
        var batchConfiguration = configuration.batch
        // Both layers judge lateness with the same watermark delay.
        batchConfiguration.watermarkDelayMilliseconds = configuration.speed.watermarkDelayMilliseconds
        batchConfiguration.instance = InstanceIdentity(
            id: try instanceID(dataDirectory: configuration.dataDirectory),
            address: configuration.advertise ?? address(configuration, port: configuration.port),
            dataDirectory: configuration.dataDirectory, shared: embeddedLog == nil)
        var databaseDefinitions: PostgresDefinitionStore?
        var mirroredDefinitions: MirroredDefinitionStore?
        if let databaseURL {
            if let timeout = try DatabaseClient.connectTimeout(url: databaseURL) { batchConfiguration.connectTimeout = timeout }
            let database = try DatabaseClient.make(
                url: databaseURL, statementTimeout: configuration.statementTimeout, connectTimeout: batchConfiguration.connectTimeout, logger: logger)
            client = database
            let stored = PostgresDefinitionStore(client: database, logger: logger)
            databaseDefinitions = stored
            mirroredDefinitions = MirroredDefinitionStore(
                primary: stored, root: configuration.dataDirectory + "/catalog-copy",
                kinds: [StreamDefinition.kind, ViewDefinition.kind, AccessToken.kind],
                logger: logger)
        }
        let definitions: any DefinitionStore = mirroredDefinitions ?? FileDefinitionStore(root: configuration.dataDirectory)
        let catalog = StreamCatalog(store: definitions, limits: configuration.catalogLimits, logger: logger, materialize: openTopic)
        schemas.attach(catalog)
        let ingestor = Ingestor(catalog: catalog, log: log, configuration: configuration.ingest, logger: logger)
        let speed = SpeedLayer(log: log, configuration: configuration.speed, telemetry: metrics.telemetry, logger: logger)
        let registry = ViewRegistry()
        var batch: BatchLayer?
        var divided: DividedPartitions?
        var servingSpeed: any SpeedStateReading = speed
        var segments: any SpeedSegments = speed
        if let client, case .kafka(let settings) = configuration.logBackend, settings.dividePartitions,
            let instanceID = batchConfiguration.instance?.id
        {
            let partitions = try DividedPartitions(
                kafka: settings, directory: PartitionDirectory(client: client, instance: instanceID, logger: logger),
                instance: instanceID, speed: speed, streams: catalog, logger: logger)
            let dividedSpeed = DividedSpeed(partitions: partitions, patience: configuration.query.timeout)
            (divided, servingSpeed, segments) = (partitions, dividedSpeed, dividedSpeed)
        }
        if let client {
            services.append(PostgresClientService(client: client))
            batch = BatchLayer(
                client: client, log: log, views: registry, speed: segments, configuration: batchConfiguration,
                stateDirectory: configuration.dataDirectory + "/batch", faults: batchFaults, telemetry: metrics.telemetry, logger: logger)
        }
        let views = ViewService(
            catalog: ViewCatalog(store: definitions, limits: configuration.catalogLimits, logger: logger), streams: catalog, speed: speed,
            batch: batch,
            registry: registry, logger: logger)
        services.append(speed)
        if let batch { services += [batch, Scheduler(batch: batch)] }
        if let divided { services.append(divided) }
        let monitor = Monitor(
            catalog: catalog, log: log, speed: speed, views: views, metrics: metrics, thresholds: configuration.alerts, logger: logger)
        services.append(monitor)
        let access = AccessControl(
            store: definitions, enabled: configuration.authEnabled, anonymousPaths: configuration.metricsPublic ? ["/metrics"] : [],
            logger: logger)
        if let batch, embeddedLog == nil {
            // Servers on Kafka share the database: each follows the definitions the others make.
            services.append(CatalogFollower(streams: catalog, views: views, access: access, batch: batch, logger: logger))
        }
        return Components(
            log: log, embeddedLog: embeddedLog, dataLock: dataLock, catalog: catalog, ingestor: ingestor, speed: speed, batch: batch, views: views,
            definitions: definitions,
            databaseDefinitions: databaseDefinitions, mirroredDefinitions: mirroredDefinitions, services: services,
            access: access,
            metrics: metrics, monitor: monitor, divided: divided, servingSpeed: servingSpeed)
    }
}
