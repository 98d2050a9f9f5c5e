import BatchLayer
import Catalog
import Events
import Logging
import ServiceLifecycle

/// Keeps the catalogs of a server that shares its database with other servers (their log is
/// Kafka) equal to the database's: the streams, views and tokens that any of them defines,
/// changes or deletes reach the others within ``interval``. Each server serves every stream and
/// view; a definition made here is stored first, then followed by the others.
struct CatalogFollower: Service {
    let streams: StreamCatalog
    let views: ViewService
    let access: AccessControl
    let batch: BatchLayer
    let logger: Logger
    /// How often the database's definitions are read.
    static let interval: Duration = .seconds(1)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastFailure: String?
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.interval)
                // Not before the server has loaded its catalogs and started its views.
                guard batch.isAttached, views.isStarted, !Task.isCancelled else { continue }
                // A task of its own: a shutdown must not cancel a query in flight (PostgresNIO
                // then closes the connection under it).
                let failure = await Task { await follow() }.value
                if let failure, failure != lastFailure {
                    logger.warning("could not follow the definitions in PostgreSQL", metadata: ["error": "\(failure)"])
                }
                lastFailure = failure
            }
        }
    }

    /// One pass over the three catalogs; returns what failed, if anything.
    private func follow() async -> String? {
        var failures: [String] = []
        do {
            let changes = try await streams.reload()
            for stream in changes.added + changes.changed {
                logger.info("stream defined or changed by another server", metadata: ["stream": "\(stream.name)"])
            }
        } catch {
            failures.append("streams: \(BatchLayer.describe(error))")
        }
        do {
            let changes = try await views.catalog.reload()
            if !changes.isEmpty { views.follow(changes) }
        } catch {
            failures.append("views: \(BatchLayer.describe(error))")
        }
        do { try await access.reload() } catch { failures.append("tokens: \(BatchLayer.describe(error))") }
        return failures.isEmpty ? nil : failures.joined(separator: "; ")
    }
}
