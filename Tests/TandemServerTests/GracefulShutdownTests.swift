import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TandemAPI
import TandemTestSupport
import Testing

/// SIGTERM under load: the server stops taking requests, finishes those in flight, flushes the
/// log and exits 0; every event it answered 200 for is there after a restart.
@Suite("Graceful shutdown of a real server")
struct GracefulShutdownTests {
    @Test func sigtermUnderLoadKeepsEveryAcknowledgedEventAndExitsZero() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-sigterm")
        defer { directory.remove() }
        try CrashTests.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        let client = HTTPTestClient(baseURL: server.baseURL)
        let ledger = CrashTests.Ledger()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await CrashTests.postUntilStopped(client, ledger: ledger, clients: 6, batch: 40, timeout: .seconds(10)) }
            group.addTask {
                try await CrashTests.waitForAcknowledged(ledger, count: 150)
                server.signalTerminate()
            }
            try await group.waitForAll()
        }
        #expect(try await server.waitForExit(timeout: .seconds(40)), "the server did not exit after SIGTERM")
        let output = try String(contentsOfFile: server.outputPath, encoding: .utf8)
        #expect(server.exitStatus == 0, "a graceful shutdown exits 0: \(output.suffix(2000))")
        #expect(output.contains("closed event log"), "the log was closed: \(output.suffix(2000))")

        let restarted = try await ServerProcess.start(in: directory, run: 2)
        defer { restarted.terminate() }
        let seen = try await CrashTests.stored(restarted)
        let missing = CrashTests.missing(ledger, in: seen)
        #expect(ledger.acknowledged.withLock { $0.values.reduce(0) { $0 + $1.count } } >= 150)
        #expect(missing == 0, "acknowledged events missing or doubled after SIGTERM")
    }
}
