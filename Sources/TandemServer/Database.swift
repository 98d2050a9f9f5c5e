import Foundation
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// How the server reaches PostgreSQL.
public enum DatabaseSetting: Sendable, Equatable {
    /// No database: the batch layer is off and answers come from the speed layer alone.
    case none
    /// A server given by a URL (`postgres://user:password@host:port/database`).
    case url(String)
    /// A private cluster under the data directory, started and stopped with the server.
    case managed
}

/// Builds PostgresNIO clients from URLs.
public enum DatabaseClient {
    struct InvalidURL: Error, CustomStringConvertible {
        var description: String
    }

    /// The most connections a server's pool opens.
    public static let maximumConnections = 8

    /// A client for `postgres://user:password@host:port/database[?sslmode=MODE&sslrootcert=FILE]`.
    /// Every connection sets `statement_timeout`, so that PostgreSQL itself ends a statement that
    /// hangs (the callers' own deadlines only stop waiting for it), and gives up connecting after
    /// `connectTimeout`.
    ///
    /// `sslmode` follows libpq: `disable`; `prefer` (the default: TLS when the server offers it,
    /// unverified); `require` (TLS, unverified); `verify-ca` (TLS, the certificate must chain to
    /// `sslrootcert`, or to the system's roots without it); `verify-full` (as `verify-ca`, and
    /// the certificate must name the host).
    public static func make(
        url text: String, statementTimeout: Duration = .seconds(300), connectTimeout: Duration = .seconds(10), logger: Logger
    ) throws -> PostgresClient {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql", let host = url.host, !host.isEmpty
        else {
            throw InvalidURL(description: "the PostgreSQL URL must look like postgres://user:password@host:port/database, got \"\(redacted(text))\"")
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432, username: url.user ?? "postgres", password: url.password,
            database: database.isEmpty ? nil : database, tls: try tls(url.queryItems ?? []))
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters = [("statement_timeout", "\(Int((statementTimeout / .milliseconds(1)).rounded()))ms")]
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// The `connect_timeout` of a URL, in seconds as in libpq (`nil` when the URL has none).
    public static func connectTimeout(url text: String) throws -> Duration? {
        guard let item = URLComponents(string: text)?.queryItems?.last(where: { $0.name == "connect_timeout" }) else { return nil }
        // At most a day: PostgresNIO turns it into nanoseconds and adds it to now, which traps on
        // overflow.
        guard let seconds = item.value.flatMap(Int.init), (1...86_400).contains(seconds) else {
            throw InvalidURL(description: "connect_timeout must be a number of seconds from 1 to 86400, got \"\(item.value ?? "")\"")
        }
        return .seconds(seconds)
    }

    /// The TLS setting that a URL's `sslmode` and `sslrootcert` ask for.
    static func tls(_ query: [URLQueryItem]) throws -> PostgresClient.Configuration.TLS {
        func value(_ name: String) -> String? { query.last { $0.name == name }?.value }
        let mode = value("sslmode") ?? "prefer"
        var tls = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case "disable":
            return .disable
        case "allow", "prefer", "require":
            tls.certificateVerification = .none
            return mode == "require" ? .require(tls) : .prefer(tls)
        case "verify-ca", "verify-full":
            tls.certificateVerification = mode == "verify-ca" ? .noHostnameVerification : .fullVerification
            if let file = value("sslrootcert") {
                do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file)) } catch {
                    throw InvalidURL(description: "sslrootcert: cannot read PEM certificates from \(file): \(error)")
                }
            }
            return .require(tls)
        default:
            throw InvalidURL(description: "sslmode must be disable, allow, prefer, require, verify-ca or verify-full, got \"\(mode)\"")
        }
    }

    /// `text` with the password of a URL's user-info replaced by `***`, for messages and logs:
    /// a secret is never printed, even when the URL around it is malformed.
    public static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let rest = text[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return text }
        let userInfo = rest[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<userInfo.index(after: colon)]) + "***" + String(rest[at...])
    }
}

/// Runs a PostgresNIO client as a service: it stops when the server shuts down.
public struct PostgresClientService: Service {
    let client: PostgresClient

    /// Wraps a client.
    public init(client: PostgresClient) { self.client = client }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await client.run() }
    }
}
