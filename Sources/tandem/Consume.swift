import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI

/// `tandem consume STREAM`: prints stored records as NDJSON, like Kafka's console consumer.
struct Consume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a stream's records as NDJSON.",
        discussion: "Without --from-beginning or --offset, starts at the end and prints new records as they arrive.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "The stream.") var stream: String
    @Flag(help: "Start at offset 0 of each partition.") var fromBeginning = false
    @Option(help: "Start at this offset (of each partition read).") var offset: Int64?
    @Option(help: "Read only this partition.") var partition: Int?
    @Option(help: "Stop after this many records.") var maxMessages: Int?
    @Option(
        help: "Stop when no record arrives for this many milliseconds (default: with --from-beginning or --offset, stop at the end; otherwise never)."
    )
    var timeoutMs: Int?

    func run() async throws {
        let client = try options.client()
        let info = try await client.decode(PartitionsResponse.self, .GET, "/v1/streams/\(stream)/partitions")
        let partitions = info.partitions.map { ($0.partition, $0.endOffset) }.filter { partition == nil || $0.0 == partition }
        guard !partitions.isEmpty else { throw ValidationError("stream \(stream) has no partition \(partition ?? 0)") }
        var positions: [Int: Int64] = [:]
        for (number, end) in partitions {
            positions[number] = offset ?? (fromBeginning ? 0 : end)
        }
        let follow = timeoutMs != nil || (offset == nil && !fromBeginning)
        let waitMilliseconds = min(timeoutMs ?? 1000, 1000)
        var printed = 0
        var idleSince = Date()
        while true {
            var gotAny = false
            for (number, _) in partitions {
                let wait = follow && partitions.count == 1 ? waitMilliseconds : 0
                let body = try await client.expectOK(
                    .GET, "/v1/streams/\(stream)/records?partition=\(number)&offset=\(positions[number]!)&limit=1000&wait_ms=\(wait)")
                let text = String(buffer: body)
                for line in text.split(separator: "\n") {
                    print(line)
                    printed += 1
                    gotAny = true
                    if let maxMessages, printed >= maxMessages { return }
                }
                if let lastLine = text.split(separator: "\n").last {
                    positions[number] = try JSONDecoder().decode(StoredRecord.self, from: Data(lastLine.utf8)).offset + 1
                }
            }
            if gotAny {
                idleSince = Date()
                continue
            }
            if !follow { return }
            if let timeoutMs, Date().timeIntervalSince(idleSince) * 1000 >= Double(timeoutMs) { return }
            if partitions.count > 1 { try await Task.sleep(for: .milliseconds(100)) }
        }
    }
}
