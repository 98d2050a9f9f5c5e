import Foundation
import Logging
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

    /// A client for `postgres://user:password@host:port/database` (no TLS: loopback and private
    /// networks). Every connection sets `statement_timeout`, so that PostgreSQL itself ends a
    /// statement that hangs (the callers' own deadlines only stop waiting for it).
    public static func make(url text: String, statementTimeout: Duration = .seconds(300), logger: Logger) throws -> PostgresClient {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql", let host = url.host, !host.isEmpty
        else {
            throw InvalidURL(description: "the PostgreSQL URL must look like postgres://user:password@host:port/database, got \"\(redacted(text))\"")
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432, username: url.user ?? "postgres", password: url.password,
            database: database.isEmpty ? nil : database, tls: .disable)
        configuration.options.maximumConnections = 8
        configuration.options.additionalStartupParameters = [("statement_timeout", "\(Int((statementTimeout / .milliseconds(1)).rounded()))ms")]
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
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
