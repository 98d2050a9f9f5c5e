import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// `tandem post STREAM [FILE|-]`: sends JSON or NDJSON events in batches.
struct Post: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Post events (a JSON array, one JSON object, or NDJSON) from a file or standard input.",
        discussion: "Events are sent in batches of --batch-size; each batch is atomic. A progress bar is shown on a terminal.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "The stream.") var stream: String
    @Argument(help: "The file to read, or - for standard input.") var file: String = "-"
    @Option(help: "Events per request.") var batchSize: Int = 5000
    @Option(help: "Requests in flight at once.") var concurrency: Int = 4

    func run() async throws {
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        let lines = try Self.eventLines(data)
        let client = APIClient(base: options.server)
        let batches = stride(from: 0, to: lines.count, by: max(batchSize, 1)).map { $0..<min($0 + batchSize, lines.count) }
        let progress = Progress(total: lines.count, enabled: isatty(STDERR_FILENO) != 0)
        var accepted = 0
        try await withThrowingTaskGroup(of: (Range<Int>, Int, ByteBuffer).self) { group in
            var next = 0
            func submit() {
                guard next < batches.count else { return }
                let range = batches[next]
                next += 1
                var body = ByteBuffer()
                for line in lines[range] {
                    body.writeBytes(line)
                    body.writeInteger(UInt8(ascii: "\n"))
                }
                group.addTask {
                    let (status, reply) = try await client.send(
                        .POST, "/v1/streams/\(stream)/events", body: body, contentType: "application/x-ndjson")
                    return (range, status, reply)
                }
            }
            for _ in 0..<max(concurrency, 1) { submit() }
            while let (range, status, reply) = try await group.next() {
                guard status == 200 else {
                    progress.finish()
                    group.cancelAll()
                    printError(
                        "events \(range.lowerBound)..<\(range.upperBound) (indexes in the error are relative to \(range.lowerBound)) were refused with HTTP \(status):"
                    )
                    printError(String(buffer: reply))
                    printError("\(accepted) events were accepted before this batch.")
                    throw ExitCode(1)
                }
                accepted += range.count
                progress.update(accepted)
                submit()
            }
        }
        progress.finish()
        print("accepted \(accepted) events into \(stream)")
    }

    /// Splits the input into one JSON text per event.
    static func eventLines(_ data: Data) throws -> [Data] {
        let first = data.first { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }
        if first == UInt8(ascii: "[") {
            guard let array = try JSONSerialization.jsonObject(with: data) as? [Any] else { throw ValidationError("the input is not a JSON array") }
            return try array.map { try JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed]) }
        }
        return data.split(separator: 0x0A).filter { line in line.contains { ![0x20, 0x0D, 0x09].contains($0) } }
    }
}

/// A one-line progress bar on standard error.
final class Progress: @unchecked Sendable {
    let total: Int
    let enabled: Bool
    private var last = -1

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let percent = done * 100 / total
        guard percent != last else { return }
        last = percent
        let width = 40
        let filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(percent)% \(done)/\(total)".utf8))
    }

    func finish() {
        if enabled && last >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
