import ArgumentParser
import Events
import Foundation
import Ingest

/// `tandem bench dedup`: the memory and time of the id index that de-duplicates ingest.
struct DedupBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup",
        abstract: "Remember N event ids in the de-duplication index, then look each up: bytes per id, RSS growth, ns per id.")
    @Option(help: "Ids remembered.") var ids: Int = 10_000_000
    @Option(help: "Ids per request when they are looked up.") var batch: Int = 1000

    func validate() throws {
        guard ids > 0, batch > 0 else { throw ValidationError("--ids and --batch must be positive") }
    }

    static func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    func run() async throws {
        let window: Int64 = 3_600_000
        let index = IDIndex(windowMilliseconds: window)
        // Distinct ids, as a client sends them: "order-N" strings, spread over the window.
        func id(_ n: Int) -> EventFingerprint {
            var text = "order-\(n)"
            return text.withUTF8 { EventFingerprint(string: UnsafeRawBufferPointer($0)) }
        }
        let start: Int64 = 1_000_000_000_000
        let before = Self.residentKiB()
        let insert = IngestBench.seconds {
            for n in 0..<ids { index.remember(id(n), at: start + Int64(n) * (window / 2) / Int64(ids)) }
        }
        let after = Self.residentKiB()
        let size = index.size
        // Every id again, in requests of `batch`, as a client's retry: all duplicates.
        var duplicates = 0
        let clock = ContinuousClock.now
        for first in stride(from: 0, to: ids, by: batch) {
            let reservation = await index.reserve((first..<min(first + batch, ids)).map { id($0) }, now: start + window / 2)
            duplicates += reservation.duplicates
            index.settle(reservation, appended: [], now: start + window / 2)
        }
        let lookup = (ContinuousClock.now - clock) / .seconds(1)
        print("ids: \(ids), remembered: \(size.ids), duplicates found on the retry: \(duplicates)")
        print(
            "index tables: \(size.bytes / 1_048_576) MiB = \(String(format: "%.1f", Double(size.bytes) / Double(ids))) bytes per id; "
                + "RSS grew \((after - before) / 1024) MiB = \(String(format: "%.1f", Double(after - before) * 1024 / Double(ids))) bytes per id")
        print(
            "remember: \(String(format: "%.0f", insert * 1e9 / Double(ids))) ns per id; look up (requests of \(batch)): "
                + "\(String(format: "%.0f", lookup * 1e9 / Double(ids))) ns per id (both include hashing the id)")
    }
}
