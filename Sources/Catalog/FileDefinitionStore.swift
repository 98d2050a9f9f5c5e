import Foundation

/// Definitions as files: `ROOT/KIND/NAME.json`, each written atomically.
public struct FileDefinitionStore: DefinitionStore {
    /// The root directory (the data directory).
    public let root: String

    /// Creates a store under `root`.
    public init(root: String) { self.root = root }

    public func loadAll(kind: String) async throws -> [String: String] {
        let directory = "\(root)/\(kind)"
        guard FileManager.default.fileExists(atPath: directory) else { return [:] }
        var result: [String: String] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".json") {
            result[String(file.dropLast(5))] = try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)
        }
        return result
    }

    public func save(kind: String, name: String, json: String) async throws {
        let directory = "\(root)/\(kind)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(json.utf8).write(to: URL(fileURLWithPath: "\(directory)/\(name).json"), options: .atomic)
    }

    public func delete(kind: String, name: String) async throws {
        let path = "\(root)/\(kind)/\(name).json"
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }
}
