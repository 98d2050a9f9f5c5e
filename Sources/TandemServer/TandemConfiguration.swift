import Aggregation
import BatchLayer
import Catalog
import EventLog
import Events
import Foundation
import Ingest
import Kafka
import KafkaLog
import ServingLayer
import SpeedLayer
import Yams

/// Everything `tandem serve` can be told, read from `tandem.yaml` and overridden by flags.
///
/// ```yaml
/// server: {host: 127.0.0.1, port: 8080, idle_timeout: 60s, read_timeout: 30s, max_connections: 1024,
///          shutdown_timeout: 30s, allowed_hosts: [localhost, 127.0.0.1, "::1"],
///          cors: {allowed_origins: []}}
/// data_dir: data
/// log: {backend: embedded, segment_bytes: 268435456, durability: batch, sync_interval: 100ms, verify_on_start: tail}
/// kafka: {bootstrap_servers: "broker1:9092,broker2:9092", topic_prefix: tandem., replication_factor: 3,
///         dead_letter_topics: true, properties: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}}
/// ingest: {max_body_bytes: 33554432, max_events_per_request: 100000,
///          max_in_flight_bytes: 268435456, max_event_age: 30d, max_event_future: 1d,
///          min_event_time: 0001-01-01T00:00:00Z, max_event_time: 9999-12-31T23:59:59.999Z,
///          max_long_polls: 256, dedup_window: 1h}
/// limits: {max_streams: 256, max_views: 256, max_partitions: 4096}
/// streams: [ {name: pageviews, partitions: 4, time_field: ts, fields: {...}} ]
/// views: [ {name: url_hourly, stream: pageviews, dimensions: [url], bucket: 1m, aggregates: {...}} ]
/// speed: {watermark_delay: 5s}
/// query: {max_groups: 100000, max_windows: 1000000, max_windows_per_bucket: 10000, timeout: 30s}
/// postgres: {url: postgres://user@host:5432/db}   # default: a private cluster (tandem serve)
/// batch: {max_attempts: 3, retry_delay: 1s, speed_state_row_limit: 1000000}
/// ```
public struct TandemConfiguration: Sendable, Equatable {
    /// Address to listen on.
    public var host: String = "127.0.0.1"
    /// Port to listen on (0 picks a free one).
    public var port: Int = 8080
    /// The URL other servers and clients reach this one at (`server.advertise`), as it registers
    /// in the database; `nil`: `http(s)://HOST:PORT` with the port bound, and this machine's host
    /// name when it listens on every address.
    public var advertise: String?
    /// Where the log and the stream catalog live.
    public var dataDirectory: String = "data"
    /// Log storage settings (of the embedded log).
    public var log = LogConfiguration()
    /// Which log holds the streams (`log.backend`): the embedded log in the data directory, or a
    /// Kafka cluster (`kafka.*`).
    public var logBackend = LogBackend.embedded
    /// Where the streams' records live.
    public enum LogBackend: Sendable, Equatable {
        /// The embedded log, `<data_dir>/log`.
        case embedded
        /// A Kafka cluster: one topic per stream.
        case kafka(KafkaLog.Configuration)
    }
    /// Ingest limits.
    public var ingest = IngestConfiguration()
    /// Streams declared in the file; created or evolved on start.
    public var streams: [StreamDefinition] = []
    /// Views declared in the file; created on start (an existing view must be identical).
    public var views: [ViewDefinition] = []
    /// Speed layer settings.
    public var speed = SpeedLayerConfiguration()
    /// What a query may cost.
    public var query = QueryLimits()
    /// The most rows a query may produce (`query.max_groups`).
    public var maxQueryGroups: Int {
        get { query.maxGroups }
        set { query.maxGroups = newValue }
    }
    /// Connection limits of the HTTP server.
    public var server = ServerLimits()
    /// Whether every request but `/healthz` and `/readyz` needs a bearer token (`auth.enabled`).
    /// Off is allowed only when the server listens on a loopback address.
    public var authEnabled = true
    /// Whether `GET /metrics` answers without a token (`metrics.public`), for a Prometheus that
    /// scrapes without one; otherwise it needs the query scope.
    public var metricsPublic = false
    /// When alerts start (`alerts.*`).
    public var alerts = AlertThresholds()
    /// What browsers may do: the `Host` names answered (`server.allowed_hosts`) and the origins
    /// whose pages may post events (`server.cors.allowed_origins`).
    public var browser = BrowserSettings()
    /// The PEM certificate chain and private key that make the server answer HTTPS
    /// (`server.tls.certificate`, `server.tls.key`); `nil` serves plain HTTP.
    public var tls: TLSFiles?
    /// The files of ``tls``.
    public struct TLSFiles: Sendable, Equatable {
        /// The PEM certificate chain (the server's certificate first).
        public var certificate: String
        /// The PEM private key.
        public var key: String

        /// Names the files.
        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }
    /// How many streams, partitions and views the server accepts.
    public var catalogLimits = CatalogLimits()
    /// The most streams the server accepts (`limits.max_streams`).
    public var maxStreams: Int {
        get { catalogLimits.maxStreams }
        set { catalogLimits.maxStreams = newValue }
    }
    /// The most views the server accepts (`limits.max_views`).
    public var maxViews: Int {
        get { catalogLimits.maxViews }
        set { catalogLimits.maxViews = newValue }
    }
    /// The most partitions over all streams (`limits.max_partitions`).
    public var maxPartitions: Int {
        get { catalogLimits.maxPartitions }
        set { catalogLimits.maxPartitions = newValue }
    }
    /// Where the batch layer's PostgreSQL is (`none` turns the batch layer off).
    public var database = DatabaseSetting.none
    /// The longest one SQL statement may run before PostgreSQL cancels it
    /// (`postgres.statement_timeout`, set on every connection; default 5 minutes, enough for the
    /// COPY and index builds of a large version).
    public var statementTimeout: Duration {
        get { batch.statementTimeout }
        set { batch.statementTimeout = newValue }
    }
    /// Batch layer settings.
    public var batch = BatchLayer.Configuration()

    /// The defaults: listen on 127.0.0.1:8080, data in `./data`.
    public init() {}

    /// A configuration file that cannot be used.
    public struct Error: Swift.Error, CustomStringConvertible {
        /// What is wrong, naming the key.
        public var description: String
    }

    /// Reads a YAML configuration file.
    public static func load(path: String) throws -> TandemConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Error(description: "cannot read configuration file \(path): \(error.localizedDescription)")
        }
        return try parse(yaml: text, source: path)
    }

    /// Parses YAML configuration text.
    public static func parse(yaml: String, source: String = "configuration") throws -> TandemConfiguration {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: yaml)
        } catch let error as DecodingError {
            throw Error(description: "\(source): \(Self.describe(error))")
        } catch {
            throw Error(description: "\(source): \(error)")
        }
        return try file.apply(to: TandemConfiguration(), source: source)
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context): "missing key \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// The file's shape; every key optional.
    struct File: Decodable {
        struct Server: Decodable {
            var host: String?
            var port: Int?
            var advertise: String?
            var idle_timeout: String?
            var shutdown_timeout: String?
            var read_timeout: String?
            var max_connections: Int?
            var allowed_hosts: [String]?
            struct TLS: Decodable {
                var certificate: String?
                var key: String?
            }
            var tls: TLS?
            struct CORS: Decodable {
                var allowed_origins: [String]?
            }
            var cors: CORS?
        }
        struct Limits: Decodable {
            var max_streams: Int?
            var max_views: Int?
            var max_partitions: Int?
        }
        var limits: Limits?
        struct Log: Decodable {
            var backend: String?
            var segment_bytes: Int?
            var durability: String?
            var sync_interval: String?
            var verify_on_start: String?
        }
        struct IngestSection: Decodable {
            var max_body_bytes: Int?
            var max_events_per_request: Int?
            var max_in_flight_bytes: Int?
            var max_event_age: String?
            var max_event_future: String?
            var min_event_time: String?
            var max_event_time: String?
            var max_long_polls: Int?
            var dedup_window: String?
        }
        struct KafkaSection: Decodable {
            var bootstrap_servers: String?
            var topic_prefix: String?
            var replication_factor: Int?
            var dead_letter_topics: Bool?
            var divide_partitions: Bool?
            var request_timeout: String?
            var properties: [String: ScalarText]?
        }
        /// A YAML scalar taken as text (librdkafka properties are strings; YAML may read a number
        /// or a boolean).
        struct ScalarText: Decodable {
            var text: String
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let value = try? container.decode(Bool.self) {
                    text = String(value)
                } else if let value = try? container.decode(Int.self) {
                    text = String(value)
                } else {
                    text = try container.decode(String.self)
                }
            }
        }
        var server: Server?
        var data_dir: String?
        var log: Log?
        var kafka: KafkaSection?
        var ingest: IngestSection?
        var streams: [StreamDefinition]?
        var views: [ViewDefinition]?
        struct Speed: Decodable {
            var watermark_delay: String?
        }
        struct Query: Decodable {
            var max_groups: Int?
            var max_windows: Int64?
            var max_windows_per_bucket: Int64?
            var timeout: String?
        }
        struct Serving: Decodable {
            var cache_max_bytes: Int?
        }
        var speed: Speed?
        var query: Query?
        var serving: Serving?
        struct Postgres: Decodable {
            var url: String?
            var statement_timeout: String?
            var connect_timeout: String?
        }
        struct Batch: Decodable {
            var max_attempts: Int?
            var retry_delay: String?
            var speed_state_row_limit: Int?
            var retired_grace: String?
        }
        var postgres: Postgres?
        var batch: Batch?
        struct Auth: Decodable {
            var enabled: Bool?
        }
        var auth: Auth?
        struct Metrics: Decodable {
            var `public`: Bool?
        }
        var metrics: Metrics?
        struct Alerts: Decodable {
            var lag_seconds: String?
            var staleness: String?
            var error_rate: String?
            var failed_jobs: Int?
            var late_records: Int?
            var interval: String?
        }
        var alerts: Alerts?

        func apply(to base: TandemConfiguration, source: String) throws -> TandemConfiguration {
            var configuration = base
            func duration(_ text: String?, _ key: String) throws -> Int64? {
                guard let text else { return nil }
                if text == "none" { return nil }
                guard let value = DurationText.milliseconds(text) else {
                    throw Error(description: "\(source): \(key) must be a duration such as 500ms, 30s, 5m, 1h or 1d (or none), got \"\(text)\"")
                }
                return value
            }
            func positive<T: BinaryInteger>(_ value: T?, _ key: String) throws -> T? {
                guard let value else { return nil }
                guard value > 0 else { throw Error(description: "\(source): \(key) must be positive, got \(value)") }
                return value
            }
            func time(_ text: String?, _ key: String) throws -> Int64? {
                guard let text else { return nil }
                guard let millis = Timestamp.parse(text), Timestamp.supportedRange.contains(millis) else {
                    throw Error(description: "\(source): \(key) must be an RFC 3339 time from year 0001 to 9999, got \"\(text)\"")
                }
                return millis
            }
            if let host = server?.host { configuration.host = host }
            if let port = server?.port { configuration.port = port }
            if let advertise = server?.advertise {
                guard let url = URL(string: advertise), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
                    url.path.isEmpty || url.path == "/"
                else {
                    throw Error(description: "\(source): server.advertise must be a URL such as http://tandem-1.internal:8080, got \"\(advertise)\"")
                }
                configuration.advertise = advertise.hasSuffix("/") ? String(advertise.dropLast()) : advertise
            }
            if let value = try duration(server?.idle_timeout, "server.idle_timeout") { configuration.server.idleTimeout = .milliseconds(value) }
            if let value = try duration(server?.shutdown_timeout, "server.shutdown_timeout") {
                configuration.server.shutdownTimeout = .milliseconds(value)
            }
            if let value = try duration(server?.read_timeout, "server.read_timeout") { configuration.server.readTimeout = .milliseconds(value) }
            if let value = try positive(server?.max_connections, "server.max_connections") { configuration.server.maxConnections = value }
            if let enabled = auth?.enabled { configuration.authEnabled = enabled }
            if let open = metrics?.public { configuration.metricsPublic = open }
            if let alerts {
                if let text = alerts.interval {
                    guard let milliseconds = try duration(text, "alerts.interval"), milliseconds >= 100 else {
                        throw Error(description: "\(source): alerts.interval must be at least 100ms, got \"\(text)\"")
                    }
                    configuration.alerts.interval = .milliseconds(milliseconds)
                }
                // "none" turns a rule off, as 0 does for the counts.
                if let text = alerts.lag_seconds {
                    configuration.alerts.lagSeconds = try duration(text, "alerts.lag_seconds").map { Double($0) / 1000 }
                }
                if let text = alerts.staleness {
                    configuration.alerts.stalenessSeconds = try duration(text, "alerts.staleness").map { Double($0) / 1000 }
                }
                if let text = alerts.error_rate {
                    if text == "none" {
                        configuration.alerts.errorRate = nil
                    } else {
                        guard let rate = Double(text), rate > 0, rate <= 1 else {
                            throw Error(description: "\(source): alerts.error_rate must be a share in (0, 1] such as 0.05 (or none), got \"\(text)\"")
                        }
                        configuration.alerts.errorRate = rate
                    }
                }
                for (value, key, path) in [
                    (alerts.failed_jobs, "alerts.failed_jobs", \AlertThresholds.failedJobs),
                    (alerts.late_records, "alerts.late_records", \.lateRecords),
                ] {
                    guard let value else { continue }
                    guard value >= 0 else { throw Error(description: "\(source): \(key) must be 0 (off) or positive, got \(value)") }
                    configuration.alerts[keyPath: path] = value > 0 ? value : nil
                }
            }
            if let tls = server?.tls {
                guard let certificate = tls.certificate, let key = tls.key else {
                    throw Error(description: "\(source): server.tls needs both certificate and key (PEM files)")
                }
                configuration.tls = TLSFiles(certificate: certificate, key: key)
            }
            if let hosts = server?.allowed_hosts {
                guard !hosts.isEmpty, hosts.allSatisfy({ !$0.isEmpty && $0.count(where: { $0 == ":" }) != 1 }) else {
                    throw Error(description: "\(source): server.allowed_hosts must list host names without ports (or \"*\"), got \(hosts)")
                }
                configuration.browser.allowedHosts = hosts
            }
            if let origins = server?.cors?.allowed_origins {
                for origin in origins where origin != "*" {
                    guard origin.hasPrefix("http://") || origin.hasPrefix("https://"), !origin.dropFirst(8).contains("/") else {
                        throw Error(
                            description:
                                "\(source): server.cors.allowed_origins must list origins such as https://app.example.com (or \"*\"), got \"\(origin)\""
                        )
                    }
                }
                configuration.browser.allowedOrigins = origins
            }
            if let value = try positive(limits?.max_streams, "limits.max_streams") { configuration.maxStreams = value }
            if let value = try positive(limits?.max_views, "limits.max_views") { configuration.maxViews = value }
            if let value = try positive(limits?.max_partitions, "limits.max_partitions") { configuration.maxPartitions = value }
            if let dataDirectory = data_dir { configuration.dataDirectory = dataDirectory }
            switch log?.backend {
            case nil, "embedded":
                if kafka != nil { throw Error(description: "\(source): a kafka section needs log.backend: kafka") }
            case "kafka":
                guard let kafka, let servers = kafka.bootstrap_servers, !servers.isEmpty else {
                    throw Error(description: "\(source): log.backend: kafka needs kafka.bootstrap_servers (host:port, comma-separated)")
                }
                // Kafka's replication factor is a 16-bit number.
                if let factor = kafka.replication_factor, !(1...Int(Int16.max)).contains(factor) {
                    throw Error(description: "\(source): kafka.replication_factor must be from 1 to \(Int16.max), got \(factor)")
                }
                let prefix = kafka.topic_prefix ?? "tandem."
                guard prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                    throw Error(description: "\(source): kafka.topic_prefix may hold only letters, digits, '.', '_' and '-', got \"\(prefix)\"")
                }
                var client = KafkaConfiguration(
                    bootstrapServers: servers, properties: (kafka.properties ?? [:]).mapValues(\.text), replicationFactor: kafka.replication_factor)
                if let timeout = try duration(kafka.request_timeout, "kafka.request_timeout") {
                    guard timeout >= 100 else { throw Error(description: "\(source): kafka.request_timeout must be at least 100ms") }
                    client.requestTimeoutMilliseconds = Int(timeout)
                }
                configuration.logBackend = .kafka(
                    KafkaLog.Configuration(
                        client: client, topicPrefix: prefix, deadLetterTopics: kafka.dead_letter_topics ?? false,
                        dividePartitions: kafka.divide_partitions ?? false))
            case let other?:
                throw Error(description: "\(source): log.backend must be embedded or kafka, got \"\(other)\"")
            }
            if let log {
                if let bytes = log.segment_bytes { configuration.log.segmentBytes = bytes }
                switch log.verify_on_start {
                case nil, "tail": break
                case "full": configuration.log.verifySealedSegments = true
                case let other?:
                    throw Error(description: "\(source): log.verify_on_start must be tail or full, got \"\(other)\"")
                }
                switch log.durability {
                case nil, "batch": break
                case "interval":
                    let interval = try duration(log.sync_interval ?? "100ms", "log.sync_interval") ?? 100
                    configuration.log.durability = .interval(milliseconds: Int(interval))
                case let other?:
                    throw Error(description: "\(source): log.durability must be batch or interval, got \"\(other)\"")
                }
            }
            if let ingest {
                if let value = try positive(ingest.max_body_bytes, "ingest.max_body_bytes") {
                    // One event may be the whole body, and it must fit in one log record.
                    guard value <= EventLog.maxRecordBytes else {
                        throw Error(
                            description:
                                "\(source): ingest.max_body_bytes must be at most \(EventLog.maxRecordBytes), the largest record the log takes, got \(value)"
                        )
                    }
                    configuration.ingest.maxBodyBytes = value
                }
                if let value = ingest.max_events_per_request { configuration.ingest.maxEventsPerRequest = value }
                if let value = ingest.max_in_flight_bytes { configuration.ingest.maxInFlightBytes = value }
                if let value = try positive(ingest.max_long_polls, "ingest.max_long_polls") { configuration.ingest.maxLongPolls = value }
                if let window = try duration(ingest.dedup_window, "ingest.dedup_window") {
                    guard window > 0, window <= IDIndex.maxWindowMilliseconds else {
                        throw Error(description: "\(source): ingest.dedup_window must be longer than 0 and at most 3650d")
                    }
                    configuration.ingest.dedupWindowMilliseconds = window
                }
                let earliest = try time(ingest.min_event_time, "ingest.min_event_time") ?? configuration.ingest.eventTimeBounds.range.lowerBound
                let latest = try time(ingest.max_event_time, "ingest.max_event_time") ?? configuration.ingest.eventTimeBounds.range.upperBound
                guard earliest <= latest else {
                    throw Error(description: "\(source): ingest.min_event_time must not be after ingest.max_event_time")
                }
                configuration.ingest.eventTimeBounds.range = earliest...latest
                if ingest.max_event_age != nil {
                    configuration.ingest.eventTimeBounds.maxAgeMilliseconds = try duration(ingest.max_event_age, "ingest.max_event_age")
                }
                if ingest.max_event_future != nil {
                    configuration.ingest.eventTimeBounds.maxFutureMilliseconds = try duration(ingest.max_event_future, "ingest.max_event_future")
                }
            }
            configuration.streams = streams ?? []
            configuration.views = views ?? []
            if let delay = try duration(speed?.watermark_delay, "speed.watermark_delay") {
                configuration.speed.watermarkDelayMilliseconds = delay
            }
            if let value = try positive(query?.max_groups, "query.max_groups") { configuration.query.maxGroups = value }
            if let value = try positive(query?.max_windows, "query.max_windows") { configuration.query.maxWindows = value }
            if let value = try positive(query?.max_windows_per_bucket, "query.max_windows_per_bucket") {
                configuration.query.maxWindowsPerBucket = value
            }
            if let value = try duration(query?.timeout, "query.timeout") { configuration.query.timeout = .milliseconds(value) }
            if let bytes = serving?.cache_max_bytes {
                guard bytes >= 0 else { throw Error(description: "\(source): serving.cache_max_bytes must be 0 (off) or positive, got \(bytes)") }
                configuration.batch.cacheMaxBytes = bytes
            }
            if let url = postgres?.url { configuration.database = .url(url) }
            if let timeout = try duration(postgres?.statement_timeout, "postgres.statement_timeout") {
                guard timeout >= 1000 else { throw Error(description: "\(source): postgres.statement_timeout must be at least 1s") }
                configuration.statementTimeout = .milliseconds(timeout)
            }
            if let timeout = try duration(postgres?.connect_timeout, "postgres.connect_timeout") {
                guard (1000...86_400_000).contains(timeout) else {
                    throw Error(description: "\(source): postgres.connect_timeout must be from 1s to 1d")
                }
                configuration.batch.connectTimeout = .milliseconds(timeout)
            }
            if let attempts = batch?.max_attempts { configuration.batch.maxAttempts = max(1, attempts) }
            if let delay = try duration(batch?.retry_delay, "batch.retry_delay") { configuration.batch.retryDelay = .milliseconds(delay) }
            if let grace = try duration(batch?.retired_grace, "batch.retired_grace") { configuration.batch.retiredGrace = .milliseconds(grace) }
            if let limit = batch?.speed_state_row_limit {
                configuration.speed.stateRowLimit = limit > 0 ? limit : nil
            }
            return configuration
        }
    }
}
