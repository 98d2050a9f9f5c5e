import ArgumentParser
import Foundation
import HTTPAPI
import Hummingbird
import Logging
import Metrics
import ServiceLifecycle
import TandemServer
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The options that say where the configuration and the data are, for the verbs that read them.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (YAML). Default: ./tandem.yaml when it exists.")
    var config: String?

    @Option(name: .long, help: "Data directory (log and catalog). Overrides data_dir.")
    var dataDir: String?

    /// The configuration file's settings (or the defaults), with `--data-dir` applied.
    func load() throws -> TandemConfiguration {
        var configuration = TandemConfiguration()
        if let config {
            configuration = try TandemConfiguration.load(path: config)
        } else if FileManager.default.fileExists(atPath: "tandem.yaml") {
            configuration = try TandemConfiguration.load(path: "tandem.yaml")
        }
        if let dataDir { configuration.dataDirectory = dataDir }
        return configuration
    }
}

/// `tandem serve`: runs the server until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Tandem server.")

    @OptionGroup var files: ConfigurationOptions

    @Option(name: .long, help: "Address to listen on. Overrides server.host.")
    var host: String?

    @Option(name: .long, help: "Port to listen on (0: any free port). Overrides server.port.")
    var port: Int?

    @Option(name: .long, help: "PostgreSQL for the batch layer (also DATABASE_URL). Default: a private cluster under the data directory.")
    var postgresUrl: String?

    @Flag(name: .long, help: "Run without a database: no batch layer, answers from the speed layer alone.")
    var noBatch = false

    @Flag(name: .long, help: "Serve without tokens (auth.enabled: false); only on a loopback address.")
    var noAuth = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"

    @Option(name: .long, help: "Log lines as text (the default), logfmt or json (also LOG_FORMAT).")
    var logFormat: String = ProcessInfo.processInfo.environment["LOG_FORMAT"] ?? "text"

    func run() async throws {
        var configuration = try files.load()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if noAuth { configuration.authEnabled = false }
        if noBatch {
            configuration.database = .none
        } else if let url = postgresUrl ?? ProcessInfo.processInfo.environment["DATABASE_URL"] {
            configuration.database = .url(url)
        } else if configuration.database == .none {
            configuration.database = .managed
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        guard logFormat == "text" || StructuredLogHandler.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be text, logfmt or json, got \"\(logFormat)\"")
        }
        let format = StructuredLogHandler.Format(rawValue: logFormat)
        // Every line written while a request is served carries its request_id.
        LoggingSystem.bootstrap(
            { label, provider in
                if let format {
                    var handler = StructuredLogHandler(label: label, format: format, level: level)
                    handler.metadataProvider = provider
                    return handler
                }
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                handler.logLevel = level
                return handler
            }, metadataProvider: RequestIdentity.metadataProvider)
        // One registry for the process: Tandem's metrics and any library's that record through
        // swift-metrics; GET /metrics serves it.
        let metrics = ServerMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        let logger = Logger(label: "tandem")
        Self.raiseOpenFileLimit(logger: logger)
        let host = configuration.host
        let scheme = configuration.tls == nil ? "http" : "https"
        let (app, _) = try TandemApplication.build(configuration: configuration, logger: logger, metrics: metrics) { port in
            print("tandem listening on \(scheme)://\(host):\(port)")
            fflush(nil)
        }
        // SIGTERM and SIGINT shut down gracefully: the listener closes, requests in flight get
        // `server.shutdown_timeout` to finish, then the services (jobs, speed layer, log) stop in
        // reverse order and the log is synced and closed.
        var group = ServiceGroupConfiguration(
            services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.server.shutdownTimeout
        group.maximumCancellationDuration = .seconds(10)
        try await ServiceGroup(configuration: group).run()
        logger.info("stopped")
    }

    /// Raises the soft limit on open files to the hard limit: every partition keeps its segment
    /// files open, and each connection and long-poll holds a socket. Logs the limit in force.
    static func raiseOpenFileLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let before = limit.rlim_cur
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { limit.rlim_cur = before }
        }
        logger.info("open file limit", metadata: ["soft": "\(limit.rlim_cur)", "was": "\(before)", "hard": "\(limit.rlim_max)"])
    }
}
