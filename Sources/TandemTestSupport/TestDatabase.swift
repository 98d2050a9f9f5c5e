import Foundation

/// A fresh, empty PostgreSQL database on the test cluster that `scripts/test.sh` starts
/// (`TANDEM_TEST_POSTGRES_URL`), so that tests never see each other's tables.
public struct TestDatabase: Sendable {
    /// The URL of the new database.
    public let url: String

    /// A test database could not be made.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Creates a database named after a fresh UUID; its URL carries `connect_timeout=60`.
    public static func create() throws -> TestDatabase {
        guard let base = ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES_URL"], let slash = base.lastIndex(of: "/") else {
            throw Failure(description: "TANDEM_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
        }
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [base, "-qAtc", "CREATE DATABASE \(name)"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(description: "psql could not create database \(name)") }
        // Every running test's server may hold a pool of connections to this one cluster, on a
        // machine running all the tests at once: a server under test waits up to a minute for
        // its database before it counts it as away (the tests of outages stop a cluster of their own).
        return TestDatabase(url: String(base[..<slash]) + "/" + name + "?connect_timeout=60")
    }

    /// Runs SQL on this database with `psql` (for tests that set up or damage state by hand).
    public func execute(_ sql: String) throws {
        _ = try Self.psql(url, sql)
    }

    /// Runs a query on this database with `psql`; returns its unaligned output, trimmed.
    public func scalar(_ sql: String) throws -> String {
        try Self.psql(url, sql)
    }

    /// Runs SQL with `psql` on the database at `url`; returns its unaligned output, trimmed.
    public static func psql(_ url: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-qAtc", sql]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(description: "psql failed on: \(sql)") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
