import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// A private PostgreSQL cluster under the data directory, for `tandem serve` with no database
/// URL: created with the system's `initdb` on first start, started on a free loopback port, and
/// stopped with the server. PostgreSQL refuses to run as root, so as root the cluster belongs to
/// the `postgres` user.
public final class ManagedPostgres: Service, Sendable {
    /// The cluster's directory.
    public let directory: String
    /// The port it listens on.
    public let port: Int
    private let logger: Logger

    /// A cluster that cannot be started, with what to do about it.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The generated password of the `postgres` role, kept in `DIRECTORY/password` (mode 0600).
    let password: String

    /// The URL to reach it.
    public var url: String { "postgres://postgres:\(password)@127.0.0.1:\(port)/tandem" }

    /// Creates (if needed) and starts the cluster in `directory`.
    ///
    /// As root, when the `postgres` user cannot reach `directory` (it lies under a closed parent
    /// such as /root), the cluster lives in `/var/lib/tandem/postgres-HASH` instead, HASH naming
    /// the data directory, and a line in the log says so.
    /// - Parameter port: the port to listen on; by default a free one is picked (tests restart a
    ///   stopped cluster on its old port).
    public init(directory: String, port wanted: Int? = nil, logger: Logger) throws {
        var path = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.logger = logger
        let bin = try Self.binaries()
        let root = getuid() == 0
        if root {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Self.run("/bin/chown", ["postgres:postgres", path])
            // `test -w` failing (exit 1) is the answer: postgres cannot write there.
            if (try? Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "test", "-w", path])) == nil {
                var hash: UInt64 = 0xCBF2_9CE4_8422_2325
                for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
                let fallback = "/var/lib/tandem/postgres-" + String(hash, radix: 16)
                logger.notice(
                    "the postgres user cannot enter the data directory; the private cluster lives elsewhere",
                    metadata: ["wanted": "\(path)", "directory": "\(fallback)"])
                path = fallback
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                try Self.run("/bin/chmod", ["755", "/var/lib/tandem"])
                try Self.run("/bin/chown", ["postgres:postgres", path])
            }
            try Self.run("/bin/chmod", ["700", path])
        } else {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        self.directory = path
        let data = self.directory + "/data"
        password = try Self.password(in: path)
        if !FileManager.default.fileExists(atPath: data + "/PG_VERSION") {
            logger.info("creating a private PostgreSQL cluster", metadata: ["directory": "\(data)"])
            let passwordFile = try Self.privateFile(in: path, contents: password + "\n", forPostgres: root)
            defer { unlink(passwordFile) }
            try Self.run(
                bin + "/initdb",
                ["-D", data, "--auth=scram-sha-256", "--pwfile=\(passwordFile)", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"],
                asPostgres: root)
        }
        var chosen = 0
        var lastError = ""
        for _ in 0..<10 {
            let candidate = wanted ?? Int.random(in: 20_000..<60_000)
            do {
                try Self.run(
                    bin + "/pg_ctl",
                    [
                        "-D", data, "-l", self.directory + "/server.log", "-w", "-t", "60", "-o",
                        "-p \(candidate) -c listen_addresses=127.0.0.1 -k \(self.directory)", "start",
                    ], asPostgres: root)
                chosen = candidate
                break
            } catch {
                lastError = "\(error)"
                // A cluster left running by a killed server holds its data directory: stop it.
                // When no cluster was running, stop fails, and the next attempt reports the cause.
                _ = try? Self.run(bin + "/pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"], asPostgres: root)
            }
        }
        guard chosen != 0 else { throw Failure(description: "could not start the private PostgreSQL cluster: \(lastError)") }
        port = chosen
        try Self.requirePasswords(bin: bin, data: data, socket: self.directory, port: chosen, password: password, root: root, logger: logger)
        // Fails when the database exists (every start after the first); connecting reports any other cause.
        _ = try? Self.run(
            bin + "/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "tandem"], asPostgres: root,
            environment: ["PGPASSWORD": password])
        logger.info("private PostgreSQL cluster started", metadata: ["port": "\(port)", "directory": "\(data)"])
    }

    /// Waits for shutdown, then stops the cluster.
    public func run() async throws {
        try? await gracefulShutdown()  // throws only on cancellation, a shutdown too
        stop()
    }

    /// Stops the cluster.
    public func stop() {
        // Stopping is best effort at exit: without binaries there is no cluster; pg_ctl's failure
        // means it had already stopped, and the cluster's own log has any other cause.
        guard let bin = try? Self.binaries() else { return }
        _ = try? Self.run(bin + "/pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"], asPostgres: getuid() == 0)
        logger.info("private PostgreSQL cluster stopped")
    }

    /// The cluster's password: read from `DIRECTORY/password`, or made (32 random bytes, hex)
    /// and written there, readable by its owner only.
    static func password(in directory: String) throws -> String {
        let path = directory + "/password"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let password = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard password.count >= 16 else { throw Failure(description: "\(path) does not hold a password; delete it to make a new one") }
            return password
        }
        var generator = SystemRandomNumberGenerator()
        let password = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let bytes = Array((password + "\n").utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return password
    }

    /// A file of `contents` in `directory` that only the user running PostgreSQL can read.
    static func privateFile(in directory: String, contents: String, forPostgres: Bool) throws -> String {
        let path = directory + "/.secret-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Failure(description: "cannot create \(path)")
        }
        if forPostgres { try run("/bin/chown", ["postgres:postgres", path]) }
        return path
    }

    /// Makes the cluster require passwords (scram-sha-256): a cluster created by an older Tandem
    /// trusted every local user; its `postgres` role gets the password and `pg_hba.conf` is
    /// rewritten, then reloaded.
    static func requirePasswords(bin: String, data: String, socket: String, port: Int, password: String, root: Bool, logger: Logger) throws {
        let hba = data + "/pg_hba.conf"
        let rules = (try? String(contentsOfFile: hba, encoding: .utf8)) ?? ""
        let trusting = rules.split(separator: "\n").contains { line in
            !line.hasPrefix("#") && line.split(whereSeparator: \.isWhitespace).last == "trust"
        }
        guard trusting else { return }
        logger.notice("the private PostgreSQL cluster trusted every local user; it now requires the password in its password file")
        let statement = try privateFile(in: socket, contents: "ALTER ROLE postgres PASSWORD '\(password)';\n", forPostgres: root)
        defer { unlink(statement) }
        try run(bin + "/psql", ["-h", socket, "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-qAt", "-f", statement], asPostgres: root)
        let scram = """
            # Written by Tandem: every connection needs the password in Tandem's password file.
            local   all   all                 scram-sha-256
            host    all   all   127.0.0.1/32  scram-sha-256
            host    all   all   ::1/128       scram-sha-256

            """
        try scram.write(toFile: hba, atomically: true, encoding: .utf8)
        if root { try run("/bin/chown", ["postgres:postgres", hba]) }
        try run(bin + "/pg_ctl", ["-D", data, "reload"], asPostgres: root)
    }

    static func binaries() throws -> String {
        let candidates = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in candidates.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) })
        where FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        throw Failure(
            description: "PostgreSQL's server binaries are not installed; install them with `apt-get install postgresql` "
                + "(scripts/install-deps.sh does) or give --postgres-url / DATABASE_URL")
    }

    /// Runs a program to completion with `posix_spawn` and `waitpid` (Foundation's `Process`
    /// can miss the exit of a program whose child daemonizes, as `pg_ctl start` does), its
    /// output going to a file.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = false, environment: [String: String] = [:]) throws -> String {
        let argv = asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments : [executable] + arguments
        let outputPath = NSTemporaryDirectory() + "tandem-pg-\(UUID().uuidString).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned: Int32
        if environment.isEmpty {
            spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        } else {
            var variables = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }.map { strdup("\($0)=\($1)") } + [nil]
            defer { for pointer in variables { free(pointer) } }
            spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, &variables)
        }
        guard spawned == 0 else { throw Failure(description: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // The output only enriches an error message; the exit status decides.
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7F) == 0
        let code = (status >> 8) & 0xFF
        guard exited && code == 0 else {
            throw Failure(description: "\(URL(fileURLWithPath: executable).lastPathComponent) failed: \(text.suffix(2000))")
        }
        return text
    }
}
