import Foundation
import Logging
import TandemServer
import TandemTestSupport
import Testing

/// The private cluster requires a password (scram-sha-256) kept in a file only its owner reads,
/// and a cluster made by an older Tandem, which trusted every local user, is converted.
@Suite("The private PostgreSQL cluster", .serialized)
struct ManagedPostgresTests {
    static var logger: Logger {
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .warning
        return logger
    }

    /// Whether psql reaches the cluster's `tandem` database on its TCP port with `password`.
    static func connects(_ cluster: ManagedPostgres, password: String?) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-w", "-h", "127.0.0.1", "-p", "\(cluster.port)", "-U", "postgres", "-d", "tandem", "-Atc", "SELECT 1"]
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = password
        if password == nil { environment.removeValue(forKey: "PGPASSWORD") }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func passwordFile(_ cluster: ManagedPostgres) throws -> (password: String, mode: Int) {
        let path = cluster.directory + "/password"
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        return (try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), mode)
    }

    @Test func aNewClusterRequiresItsPasswordAndAnOldOneIsConverted() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-managed")
        defer { directory.remove() }
        var cluster = try ManagedPostgres(directory: directory.path + "/postgres", logger: Self.logger)
        defer { cluster.stop() }
        let (password, mode) = try Self.passwordFile(cluster)
        #expect(mode == 0o600, "the password file is readable by its owner only")
        #expect(password.count == 64)
        #expect(cluster.url.contains(":\(password)@"))
        #expect(Self.connects(cluster, password: password))
        #expect(!Self.connects(cluster, password: nil), "no password, no connection")
        #expect(!Self.connects(cluster, password: "wrong"))
        let rules = try String(contentsOfFile: cluster.directory + "/data/pg_hba.conf", encoding: .utf8)
        #expect(!rules.split(separator: "\n").contains { !$0.hasPrefix("#") && $0.hasSuffix("trust") })

        // An older Tandem's cluster: trust for everyone, no password file.
        cluster.stop()
        let trust = "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
        try trust.write(toFile: cluster.directory + "/data/pg_hba.conf", atomically: true, encoding: .utf8)
        if getuid() == 0 { try TLSTests.run("/bin/chown", ["postgres:postgres", cluster.directory + "/data/pg_hba.conf"]) }
        try FileManager.default.removeItem(atPath: cluster.directory + "/password")
        cluster = try ManagedPostgres(directory: directory.path + "/postgres", logger: Self.logger)
        let (converted, _) = try Self.passwordFile(cluster)
        #expect(converted != password, "a new password was made")
        #expect(Self.connects(cluster, password: converted))
        #expect(!Self.connects(cluster, password: nil), "the converted cluster no longer trusts local users")
    }
}
