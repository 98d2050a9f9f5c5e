import EventLog
import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import NIOCore
import Synchronization
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real file calls, with every `pwrite` or every `fdatasync` failing while asked to.
final class SwitchableFaults: LogFileSystem {
    private let system = SystemFileSystem()
    /// The errno every `pwrite` fails with, when set.
    let writeError = Mutex<Int32?>(nil)
    /// The errno every `fdatasync` fails with, when set.
    let syncError = Mutex<Int32?>(nil)

    func open(_ path: String, flags: Int32, mode: mode_t) -> Int32 { system.open(path, flags: flags, mode: mode) }
    func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        if let code = writeError.withLock({ $0 }) {
            Glibc.errno = code
            return -1
        }
        return system.pwrite(fd, bytes, at: offset)
    }
    func fdatasync(_ fd: Int32) -> Int32 {
        if let code = syncError.withLock({ $0 }) {
            Glibc.errno = code
            return -1
        }
        return system.fdatasync(fd)
    }
    func fsyncDirectory(_ fd: Int32) -> Int32 { system.fsyncDirectory(fd) }
    func ftruncate(_ fd: Int32, _ size: Int) -> Int32 { system.ftruncate(fd, size) }
}

/// What ingest and health answer when the log's disk fails, through the real application.
@Suite("Log faults through the HTTP API")
struct LogFaultRouteTests {
    static func event(user: String) -> String { #"{"ts":"2025-11-20T10:00:00Z","url":"/a","user_id":"\#(user)"}"# }

    @Test func aFullDiskIs507AndAFailedSyncFailStopsOnePartitionAndHealth() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let faults = SwitchableFaults()
        try await withApp(directory: directory, logFileSystem: faults, configure: { $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil }) {
            client async throws in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            // Which partition each of a few users lands in.
            var partitionOf: [String: Int] = [:]
            for user in (0..<16).map({ "u\($0)" }) {
                let answer = try decode(IngestResponse.self, try await client.post(Self.event(user: user)))
                partitionOf[user] = try #require(answer.partitions.values.keys.first)
            }
            let victim = "u0"
            let other = try #require(partitionOf.first { $0.value != partitionOf[victim] }?.key)

            // A full disk: 507, nothing taken, health unaffected; once space is back, ingest goes on.
            let before = try await client.endOffsets()
            faults.writeError.withLock { $0 = ENOSPC }
            let full = try await client.post(Self.event(user: victim))
            #expect(full.status.code == 507)
            #expect(try errorBody(full).code == "disk_full")
            #expect(full.headers[.retryAfter] == "30")
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            faults.writeError.withLock { $0 = nil }
            #expect(try await client.endOffsets() == before, "a refused write takes no offsets")
            #expect(try await client.post(Self.event(user: victim)).status == .ok)

            // A failed fsync: that partition stops, the others go on, health fails and says why.
            faults.syncError.withLock { $0 = EIO }
            let failed = try await client.post(Self.event(user: victim))
            #expect(failed.status == .serviceUnavailable)
            #expect(try errorBody(failed).code == "partition_failed")
            faults.syncError.withLock { $0 = nil }
            let again = try await client.post(Self.event(user: victim))
            #expect(try errorBody(again).code == "partition_failed", "stopped until a restart, even once the disk is healthy")
            #expect(try await client.post(Self.event(user: other)).status == .ok)
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .serviceUnavailable)
            let body = try decode(HealthResponse.self, health)
            #expect(body.status == "failing")
            #expect(body.failedPartitions.map(\.partition) == [partitionOf[victim]!])
            #expect(body.failedPartitions.first?.stream == "pageviews")
            #expect(body.failedPartitions.first?.reason.contains("fdatasync failed") == true)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(try decode(HealthResponse.self, ready).database == "none")
        }
    }
}
