import Foundation
import NIOHTTP1
import TandemAPI
import TandemTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real `tandem serve` whose data directory is a small tmpfs that fills up: ingest answers 507
/// `disk_full`, nothing acknowledged is harmed, and once space is freed ingest goes on.
@Suite("A real full disk")
struct DiskFullTests {
    /// Four partitions of `orders`, keyed by client.
    static let config = CrashTests.config

    /// Runs `mount` (or `umount`) and says whether it worked.
    static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/" + arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Mounts a tmpfs of `megabytes` at `path`, or says why it cannot.
    static func mountTmpfs(at path: String, megabytes: Int) -> String? {
        guard getuid() == 0 else { return "mounting a size-limited tmpfs needs root" }
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard run(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path]) else {
            return "mount -t tmpfs failed (no CAP_SYS_ADMIN in this container?)"
        }
        return nil
    }

    @Test func aFullDiskAnswers507AndLosesNothingAcknowledged() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-diskfull")
        defer { directory.remove() }
        let data = directory.path + "/data"
        if let reason = Self.mountTmpfs(at: data, megabytes: 2) {
            print("skipped: the real disk-full test needs a tmpfs: \(reason)")
            return
        }
        defer { _ = Self.run(["umount", "-l", data]) }
        try Self.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(in: directory, run: 1)
        defer { server.terminate() }
        let client = HTTPTestClient(baseURL: server.baseURL)
        let padding = String(repeating: "x", count: 200)
        var acknowledged = Set<Int>()
        var seq = 0
        var full: (status: Int, body: String)?
        // 2 MiB holds roughly 8,000 of these events: post until the disk is full.
        for _ in 0..<400 {
            let range = seq..<(seq + 50)
            seq += 50
            let body = range.map { #"{"ts":1763596800000,"client":"c\#($0 % 7)-\#(padding)","seq":\#($0)}"# }.joined(separator: "\n")
            let (status, text) = try await client.send(.POST, "/v1/streams/orders/events", body: body, contentType: "application/x-ndjson")
            if status == 200 {
                acknowledged.formUnion(range)
            } else {
                full = (status, text)
                break
            }
        }
        let answer = try #require(full, "the 2 MiB disk never filled")
        #expect(answer.status == 507, "\(answer.body)")
        #expect(answer.body.contains("\"disk_full\""), "\(answer.body)")
        #expect(acknowledged.count > 1000)
        // Still full: still 507, and the process is healthy (a full disk is not a failed sync).
        let again = try await client.send(.POST, "/v1/streams/orders/events", body: #"{"ts":1763596800000,"client":"c1","seq":-1}"#)
        #expect(again.status == 507 || again.status == 200, "\(again.body)")
        if again.status == 200 { acknowledged.insert(-1) }
        let health = try await client.send(.GET, "/healthz")
        #expect(health.status == 200, "\(health.body)")

        // Space freed: ingest goes on.
        #expect(Self.run(["mount", "-o", "remount,size=8m", data]))
        let after = try await client.send(.POST, "/v1/streams/orders/events", body: #"{"ts":1763596800000,"client":"c2","seq":-2}"#)
        #expect(after.status == 200, "\(after.body)")
        acknowledged.insert(-2)

        // After a crash, every acknowledged event is there exactly once, and nothing else but
        // the events of requests that failed part-way (one partition written, the other full).
        server.kill()
        let restarted = try await ServerProcess.start(in: directory, run: 2)
        defer { restarted.terminate() }
        let reader = HTTPTestClient(baseURL: restarted.baseURL)
        var seen: [Int: Int] = [:]
        for partition in 0..<4 {
            let records = try await reader.readAll(StoredRecord.self, stream: "orders", partition: partition)
            for (position, record) in records.enumerated() {
                #expect(record.offset == Int64(position), "offsets are contiguous from 0")
                let value = try #require(record.event["seq"]?.int)
                seen[Int(value), default: 0] += 1
            }
        }
        let missing = acknowledged.filter { seen[$0] != 1 }
        #expect(missing.isEmpty, "acknowledged events missing or doubled: \(missing.sorted().prefix(10))")
        #expect(seen.values.allSatisfy { $0 == 1 }, "no event is doubled")
    }
}
