import Foundation

/// The batch layer's own record of the published versions, kept in the data directory
/// (`DATA/batch/publications.json`) and rewritten whenever a publication changes.
///
/// PostgreSQL stays the store of record. The copy lets a server that starts while the database
/// is unreachable start each view's speed state from its published cut, and so know exactly what
/// an answer would lack: it answers 503 `batch_unavailable` (or a partial answer that names the
/// missing records) until the database is back, never a silently incomplete one.
struct LocalPublications: Sendable {
    /// The file.
    let path: String

    struct Entry: Codable {
        var view: String
        var id: Int64
        var cut: [Int64]
        var logID: String?
        var maxEventTimes: [Int64?]?
        var table: String
        var definition: String
        var typed: Bool
    }

    /// The publications last written, by view; none when the file does not exist.
    func load() throws -> [String: PublishedVersion] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let entries = try JSONDecoder().decode([Entry].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        return Dictionary(
            entries.map { entry in
                (
                    entry.view,
                    PublishedVersion(
                        view: entry.view, id: entry.id, cut: entry.cut, logID: entry.logID, maxEventTimes: entry.maxEventTimes,
                        table: entry.table, definition: entry.definition, typed: entry.typed)
                )
            }, uniquingKeysWith: { first, _ in first })
    }

    /// Replaces the file's contents (written to a new file, then renamed over the old one).
    func save(_ publications: [String: PublishedVersion]) throws {
        let entries = publications.values.sorted { $0.view < $1.view }.map { version in
            Entry(
                view: version.view, id: version.id, cut: version.cut, logID: version.logID, maxEventTimes: version.maxEventTimes,
                table: version.table,
                definition: version.definition, typed: version.typed)
        }
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try JSONEncoder().encode(entries).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
