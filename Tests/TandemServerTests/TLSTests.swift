import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// HTTPS from a real server with a certificate the test makes, and PostgreSQL over TLS with the
/// URL's `sslmode`, against a cluster of the test's own with `ssl = on`.
@Suite("TLS", .serialized)
struct TLSTests {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a program and fails unless it exits 0.
    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failed(description: "\(executable) \(arguments) failed") }
    }

    /// A self-signed certificate for localhost and 127.0.0.1: `(certificate, key)` paths.
    static func certificate(in directory: String, name: String) throws -> (String, String) {
        let certificate = directory + "/\(name).crt", key = directory + "/\(name).key"
        try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
        return (certificate, key)
    }

    @Test func theServerAnswersHTTPSWithItsCertificate() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-tls")
        defer { directory.remove() }
        let (certificate, key) = try Self.certificate(in: directory.path, name: "server")
        let config = CrashTests.config.replacingOccurrences(
            of: "server: {host: 127.0.0.1, port: 0}", with: "server: {host: 127.0.0.1, port: 0, tls: {certificate: \(certificate), key: \(key)}}")
        try config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        defer { server.terminate() }
        #expect(server.output.contains("tandem listening on https://127.0.0.1:\(server.port)"))

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        defer { _ = client.shutdown() }
        func send(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(server.port)" + path)
            request.method = method
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await client.execute(request, timeout: .seconds(10))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }
        #expect(try await send(.GET, "/healthz").0 == 200)
        let posted = try await send(.POST, "/v1/streams/orders/events", body: #"{"ts":1763596800000,"client":"tls","seq":1}"#)
        #expect(posted.0 == 200, "\(posted.1)")
        #expect(try await send(.GET, "/v1/streams/orders/partitions").1.contains("\"end_offset\":1"))
        // The command line trusts the certificate it is given.
        let file = directory.path + "/orders.ndjson"
        try (2...101).map { #"{"ts":1763596800000,"client":"cli","seq":\#($0)}"# }.joined(separator: "\n").write(
            toFile: file, atomically: true, encoding: .utf8)
        let run = try await PostCommandTests.tandem(
            ["post", "orders", file, "--server", "https://127.0.0.1:\(server.port)", "--cacert", certificate], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("accepted 100 events"), "\(run.output)")
        // A client that does not trust the certificate is refused by its own TLS, and plain HTTP
        // gets no answer.
        await #expect(throws: (any Error).self) {
            try await HTTPTestClient(baseURL: "https://127.0.0.1:\(server.port)").send(.GET, "/healthz", timeout: .seconds(3))
        }
        await #expect(throws: (any Error).self) {
            try await HTTPTestClient(baseURL: "http://127.0.0.1:\(server.port)").send(.GET, "/healthz", timeout: .seconds(3))
        }
    }

    @Test func aCertificateThatCannotBeReadStopsTheStartWithItsSetting() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-tls-bad")
        defer { directory.remove() }
        let config = CrashTests.config.replacingOccurrences(
            of: "server: {host: 127.0.0.1, port: 0}",
            with: "server: {host: 127.0.0.1, port: 0, tls: {certificate: \(directory.path)/none.crt, key: \(directory.path)/none.key}}")
        try config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try ServerProcess.launch(in: directory, run: 1)
        #expect(try await server.waitForExit(timeout: .seconds(30)))
        #expect(server.exitStatus != 0)
        #expect(server.output.contains("server.tls.certificate"), "\(server.output.suffix(1000))")
    }

    @Test func postgresConnectionsUseTLSAsTheURLSays() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-pg-tls")
        defer { directory.remove() }
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .warning
        let cluster = try ManagedPostgres(directory: directory.path + "/cluster", logger: logger)
        defer { cluster.stop() }
        // The cluster gets a certificate for 127.0.0.1 and turns ssl on (a reload is enough).
        let (certificate, key) = try Self.certificate(in: cluster.directory + "/data", name: "server")
        if getuid() == 0 { try Self.run("/bin/chown", ["postgres:postgres", certificate, key]) }
        try Self.run("/bin/chmod", ["600", key])
        let plain = cluster.url + "?sslmode=disable"
        _ = try TestDatabase.psql(plain, "ALTER SYSTEM SET ssl = on")
        _ = try TestDatabase.psql(plain, "SELECT pg_reload_conf()")
        let encrypted = "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.ssl AND a.datname = 'tandem'"

        try CrashTortureTests.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        for (run, mode) in ["sslmode=require", "sslmode=verify-full&sslrootcert=\(certificate)"].enumerated() {
            let server = try await ServerProcess.start(in: directory, run: run + 1, database: cluster.url + "?" + mode)
            defer { server.terminate() }
            let client = HTTPTestClient(baseURL: server.baseURL)
            let job = try await client.send(.POST, "/v1/jobs", body: #"{"view":"per_client","mode":"full"}"#)
            // Accepted, or a job of the view (its first, or one queued again) is already on.
            #expect(job.status == 202 || job.body.contains("job_running"), "\(mode): \(job.body)")
            #expect(try await client.send(.GET, "/readyz").status == 200, "\(mode)")
            #expect(Int(try TestDatabase.psql(plain, encrypted)) ?? 0 > 0, "\(mode): Tandem's connections use TLS")
            server.terminate()
        }
        // A root that did not sign the server's certificate: no connection, and /readyz says why.
        let (other, _) = try Self.certificate(in: directory.path, name: "other")
        let server = try await ServerProcess.start(in: directory, run: 3, database: cluster.url + "?sslmode=verify-full&sslrootcert=\(other)")
        defer { server.terminate() }
        let readiness = try await HTTPTestClient(baseURL: server.baseURL).send(.GET, "/readyz")
        #expect(readiness.status == 503)
        #expect(server.output.contains("PostgreSQL is not reachable"), "\(server.output.suffix(2000))")
    }
}
