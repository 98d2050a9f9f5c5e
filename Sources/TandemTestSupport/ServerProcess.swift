import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `tandem serve` process, for tests that must kill a server (crash tests) or talk to it
/// over real sockets.
public final class ServerProcess: @unchecked Sendable {
    // @unchecked: used from one test task at a time.

    /// The port the server listens on, once started.
    public private(set) var port = 0
    /// The server's base URL.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Where the process's standard output and error go.
    public let outputPath: String

    private let process = Process()

    /// The `tandem` executable built next to the test bundle (override with `TANDEM_BINARY`).
    public static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["TANDEM_BINARY"] { return path }
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [bundleDirectory.appendingPathComponent("tandem").path]
        // `swift test` runs `.../debug/NAMEPackageTests.xctest`; the bundle may also be a directory.
        candidates.append(bundleDirectory.deletingLastPathComponent().appendingPathComponent("tandem").path)
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        candidates.append(root.appendingPathComponent(".build/debug/tandem").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }

    /// Starts `tandem serve` with `arguments` (add `--port 0`; the port is read from its output).
    /// - Parameters:
    ///   - arguments: arguments after `serve`.
    ///   - outputPath: the file that receives standard output and error.
    public init(arguments: [String], outputPath: String) throws {
        self.outputPath = outputPath
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.arguments = ["serve"] + arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// Starts `tandem serve` on a free port with `DIRECTORY/tandem.yaml` and data in
    /// `DIRECTORY/data`, and waits until it listens. `run` numbers the output file, so that the
    /// logs of successive runs (before and after a crash) are kept apart. It serves without
    /// tokens (`--no-auth`, on loopback); the tests of access control start their own.
    /// - Parameter database: the PostgreSQL URL for the batch layer; `nil` runs without one.
    public static func start(in directory: TemporaryDirectory, run: Int, database: String? = nil) async throws -> ServerProcess {
        let server = try launch(in: directory, run: run, database: database)
        try await server.waitUntilListening()
        return server
    }

    /// Starts `tandem serve` as ``start(in:run:database:)`` does, without waiting: for tests of a
    /// server that must refuse to start.
    public static func launch(in directory: TemporaryDirectory, run: Int, database: String? = nil) throws -> ServerProcess {
        try ServerProcess(
            arguments: ["--config", directory.path + "/tandem.yaml", "--data-dir", directory.path + "/data", "--port", "0", "--no-auth"]
                + (database.map { ["--postgres-url", $0] } ?? ["--no-batch"]),
            outputPath: directory.path + "/server-\(run).log")
    }

    /// Waits until the server prints its listening line and records the port.
    public func waitUntilListening(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: "tandem listening on http://") ?? text.range(of: "tandem listening on https://") {
                let rest = text[range.upperBound...].prefix { $0 != "\n" }
                if let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) {
                    self.port = port
                    return
                }
            }
            guard process.isRunning else {
                throw Failure(description: "tandem serve exited with status \(process.terminationStatus):\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure(description: "tandem serve did not start listening in time:\n\(output)")
    }

    /// Everything the process wrote so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Kills the process with SIGKILL (no chance to flush or clean up) and waits for it.
    public func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Asks the process to stop (SIGTERM: graceful shutdown) and waits for it.
    /// The process id while it runs.
    public var processIdentifier: Int32? { process.isRunning ? process.processIdentifier : nil }

    /// The process's exit status, once it has exited.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Sends SIGTERM without waiting.
    public func signalTerminate() {
        guard process.isRunning else { return }
        process.terminate()
    }

    /// Waits for the process to exit, at most `timeout`; returns whether it did.
    public func waitForExit(timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }

    public func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// The exit status, once the process has ended.
    public var terminationStatus: Int32 { process.terminationStatus }

    /// A server that did not behave.
    public struct Failure: Error, CustomStringConvertible {
        /// What happened.
        public var description: String
    }

    deinit { kill() }
}
