import Foundation

/// The Kafka-protocol broker that `scripts/test.sh` starts (Tansu, from `scripts/kafka.sh`), and
/// the Python client installed beside it, which tests use as an independent producer.
public struct TestKafka: Sendable {
    /// `host:port` of the broker.
    public let bootstrapServers: String
    /// The Python interpreter of the virtual environment that holds confluent-kafka.
    public let python: String

    /// A test broker is not there.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The broker of this test run.
    public static func current() throws -> TestKafka {
        let environment = ProcessInfo.processInfo.environment
        guard let servers = environment["TANDEM_TEST_KAFKA_BOOTSTRAP"], let python = environment["TANDEM_TEST_KAFKA_PYTHON"] else {
            throw Failure(description: "TANDEM_TEST_KAFKA_BOOTSTRAP is not set: run the tests with scripts/test.sh, which starts a Kafka broker")
        }
        return TestKafka(bootstrapServers: servers, python: python)
    }

    /// A broker of the test's own (an in-memory Tansu on a free loopback port), for tests that
    /// stop it.
    public final class PrivateBroker: Sendable {
        /// `host:port` of the broker.
        public let bootstrapServers: String
        private let process: Process

        init(binary: String) throws {
            var lastError = ""
            for _ in 0..<5 {
                let port = Int.random(in: 20_000...60_000)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: binary)
                process.arguments = [
                    "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
                    "--storage-engine", "memory://tansu/",
                ]
                let output = Pipe()
                process.standardOutput = output
                process.standardError = output
                try process.run()
                // Tansu prints "ready in" once it listens; it exits when the port is taken.
                var seen = ""
                while process.isRunning && !seen.contains("ready in") {
                    let data = output.fileHandleForReading.availableData
                    if data.isEmpty { break }
                    seen += String(decoding: data, as: UTF8.self)
                }
                if process.isRunning && seen.contains("ready in") {
                    self.process = process
                    self.bootstrapServers = "127.0.0.1:\(port)"
                    return
                }
                process.terminate()
                lastError = seen
            }
            throw Failure(description: "could not start a private Tansu broker: \(lastError)")
        }

        /// Kills the broker (SIGKILL): its in-memory topics are gone.
        public func kill() {
            guard process.isRunning else { return }
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        deinit { kill() }
    }

    /// Starts a broker of the test's own.
    public func startPrivateBroker() throws -> PrivateBroker {
        guard let binary = ProcessInfo.processInfo.environment["TANDEM_TEST_KAFKA_TANSU"] else {
            throw Failure(description: "TANDEM_TEST_KAFKA_TANSU is not set: run the tests with scripts/test.sh, which installs the broker")
        }
        return try PrivateBroker(binary: binary)
    }

    /// A topic name no other test uses.
    public static func uniqueTopic(_ prefix: String = "t") -> String {
        "\(prefix)-\(UUID().uuidString.lowercased().prefix(12))"
    }

    /// Runs a Python script with confluent-kafka available; `KAFKA` in its environment holds the
    /// bootstrap servers. Returns its standard output.
    public func runPython(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        var environment = ProcessInfo.processInfo.environment
        environment["KAFKA"] = bootstrapServers
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python failed (\(process.terminationStatus)): \(String(decoding: errorData, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
