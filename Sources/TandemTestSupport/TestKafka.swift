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
