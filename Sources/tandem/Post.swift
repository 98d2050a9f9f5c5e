import ArgumentParser
import CompressNIO
import Events
import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI

#if canImport(Glibc)
    import Glibc
#endif

/// `tandem post STREAM [FILE|-]`: streams events to a stream in batches.
struct Post: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Post events (NDJSON, a JSON array, or CSV with a header row) from a file or standard input.",
        discussion: """
            The input is read a chunk at a time, so a file of any size takes bounded memory. Events are sent in batches of \
            --batch-size, --concurrency requests at once; each batch is atomic. A progress bar is shown on a terminal.
            --format auto reads a file ending in .csv as CSV, input starting with [ as a JSON array, anything else as NDJSON.
            CSV cells are typed by the stream's schema; an empty cell is an absent field.
            A batch that fails for a passing reason (the server unreachable or timing out, 429, 5xx, 507) is sent again, \
            up to --retries times, after --retry-delay doubled at each attempt. That is \
            safe when the stream has an id_field: the server skips the events it already has. Without one, only answers \
            that say nothing was appended (429, 503 log_queue_full or shutting_down) are retried.
            """)
    @OptionGroup var options: ServerOptions
    @Argument(help: "The stream.") var stream: String
    @Argument(help: "The file to read, or - for standard input.") var file: String = "-"
    @Option(help: "auto, ndjson, json (an array) or csv.") var format: String = "auto"
    @Option(help: "Events per request.") var batchSize: Int = 5000
    @Option(help: "Requests in flight at once.") var concurrency: Int = 4
    @Flag(help: "Compress each request with gzip (Content-Encoding: gzip).") var gzip = false
    @Option(help: "Attempts after the first for a batch that fails for a passing reason.") var retries: Int = 5
    @Option(help: "Seconds before the first retry; doubled for each next one (at most 30).") var retryDelay: Double = 0.5
    @Flag(help: "After the summary, print the input read, the rate and the command's peak memory.") var stats = false

    func validate() throws {
        guard InputFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
        guard retries >= 0 else { throw ValidationError("--retries must be 0 or more") }
        guard retryDelay >= 0, retryDelay.isFinite else { throw ValidationError("--retry-delay must be 0 or more seconds") }
    }

    /// Whether a failed attempt may be sent again: always for a passing failure when the stream
    /// de-duplicates by id, otherwise only when the answer says nothing was appended. (A request
    /// that never left, because no connection could be made, is always sent again.)
    static func retriable(status: Int?, reply: ByteBuffer?, idempotent: Bool) -> Bool {
        guard let status else { return idempotent }
        let code = reply.flatMap { try? JSONDecoder().decode(ErrorResponse.self, from: Data($0.readableBytesView)).error.code }
        if status == 429 || (status == 503 && (code == "log_queue_full" || code == "shutting_down")) { return true }
        return idempotent && (status >= 500 || status == 408)
    }

    /// Sends one batch, retrying passing failures with exponential backoff.
    static func send(
        _ body: ByteBuffer, stream: String, gzip: Bool, client: APIClient, retries: Int, delay: Double, idempotent: Bool
    ) async throws -> (status: Int, reply: ByteBuffer, attempts: Int) {
        var attempt = 0
        while true {
            attempt += 1
            var status: Int?
            var reply: ByteBuffer?
            var failure: (any Error)?
            do {
                (status, reply) = try await client.send(
                    .POST, "/v1/streams/\(stream)/events", body: body, contentType: "application/x-ndjson", contentEncoding: gzip ? "gzip" : nil)
                if status == 200 { return (200, reply!, attempt) }
            } catch {
                failure = error
            }
            let unsent = (failure as? APIClient.Failure)?.unsent ?? false
            guard attempt <= retries, unsent || retriable(status: status, reply: reply, idempotent: idempotent) else {
                if let failure { throw failure }
                return (status!, reply!, attempt)
            }
            let wait = min(delay * Double(1 << min(attempt - 1, 16)), 30)
            printError("attempt \(attempt) failed (\(status.map { "HTTP \($0)" } ?? "\(failure!)")); retrying in \(wait) s")
            try await Task.sleep(for: .milliseconds(Int(wait * 1000)))
        }
    }

    func run() async throws {
        let client = try options.client()
        let handle: FileHandle
        var size: Int?
        if file == "-" {
            handle = .standardInput
        } else {
            guard let opened = FileHandle(forReadingAtPath: file) else { throw ValidationError("cannot read \(file)") }
            handle = opened
            size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
        }
        defer { try? handle.close() }
        let definition = try await client.decode(StreamDefinition.self, .GET, "/v1/streams/\(stream)")
        let idempotent = definition.idField != nil
        let (retries, retryDelay) = (retries, retryDelay)
        let batcher = EventBatcher(handle: handle, splitter: try await splitter(handle: handle, client: client), batchSize: batchSize)
        let progress = Progress(total: size ?? 0, unit: "bytes", enabled: size != nil && isatty(STDERR_FILENO) != 0)
        var accepted = 0
        var duplicates = 0
        let started = ContinuousClock.now
        do {
            try await withThrowingTaskGroup(of: (EventBatcher.Batch, Int, ByteBuffer).self) { group in
                // At most `concurrency` batches are read ahead of the answers.
                func submit() throws {
                    guard let batch = try batcher.next() else { return }
                    let gzip = gzip
                    group.addTask {
                        var body = batch.body
                        if gzip { body = try body.compress(with: .gzip()) }
                        let (status, reply, _) = try await Self.send(
                            body, stream: stream, gzip: gzip, client: client, retries: retries, delay: retryDelay, idempotent: idempotent)
                        return (batch, status, reply)
                    }
                }
                for _ in 0..<concurrency { try submit() }
                while let (batch, status, reply) = try await group.next() {
                    guard status == 200 else {
                        progress.finish()
                        group.cancelAll()
                        printError(
                            "events \(batch.first)..<\(batch.first + batch.count) (input lines \(batch.lines.lowerBound)–\(batch.lines.upperBound); "
                                + "indexes in the error are relative to \(batch.first)) were refused with HTTP \(status):")
                        printError(String(buffer: reply))
                        printError("\(accepted) events were accepted before this batch; batches still in flight may also have been.")
                        throw ExitCode(1)
                    }
                    let answer = try? JSONDecoder().decode(IngestResponse.self, from: Data(reply.readableBytesView))
                    accepted += answer?.accepted ?? batch.count
                    duplicates += answer?.duplicates ?? 0
                    progress.update(batcher.bytesRead)
                    try submit()
                }
            }
        } catch let error as InputError {
            progress.finish()
            printError("\(file == "-" ? "standard input" : file), \(error)")
            printError("\(accepted) events were accepted before it.")
            throw ExitCode(1)
        }
        progress.finish()
        print("accepted \(accepted) events into \(stream)" + (idempotent ? " (\(duplicates) duplicates skipped)" : ""))
        if stats {
            let seconds = max((ContinuousClock.now - started) / .seconds(1), 1e-9)
            print(
                "read \(batcher.bytesRead) bytes in \(String(format: "%.2f", seconds)) s (\(Int(Double(accepted) / seconds)) events/s); "
                    + "peak memory \(Self.peakMemoryKiB()) KiB")
        }
    }

    /// The most memory the process has held resident, in KiB (`ru_maxrss`, as the kernel counts
    /// it up to now).
    static func peakMemoryKiB() -> Int {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return usage.ru_maxrss
    }

    /// The splitter for the input's format; `auto` looks at the file name, then at the first byte.
    private func splitter(handle: FileHandle, client: APIClient) async throws -> any EventSplitter {
        var chosen = InputFormat(rawValue: format) ?? .auto
        if chosen == .auto {
            if file.lowercased().hasSuffix(".csv") {
                chosen = .csv
            } else if file != "-", let first = Self.firstByte(of: file) {
                chosen = first == UInt8(ascii: "[") ? .json : .ndjson
            } else {
                chosen = .ndjson
            }
        }
        switch chosen {
        case .csv:
            let definition = try await client.decode(StreamDefinition.self, .GET, "/v1/streams/\(stream)")
            return CSVSplitter(stream: definition)
        case .json: return JSONArraySplitter()
        case .ndjson, .auto: return NDJSONSplitter()
        }
    }

    /// The first byte of a file that is not whitespace.
    static func firstByte(of path: String) -> UInt8? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        while let data = try? handle.read(upToCount: 64 << 10), !data.isEmpty {
            if let byte = data.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) { return byte }
        }
        return nil
    }
}

/// A one-line progress bar on standard error.
final class Progress: @unchecked Sendable {
    let total: Int
    let enabled: Bool
    /// What is counted, shown after the total (none for a bare percentage).
    let unit: String?
    private var last = -1

    init(total: Int, unit: String? = nil, enabled: Bool) {
        self.total = total
        self.unit = unit
        self.enabled = enabled
    }

    func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let percent = min(done * 100 / total, 100)
        guard percent != last else { return }
        last = percent
        let width = 40
        let filled = width * percent / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(percent)%\(unit.map { " of \(total) \($0)" } ?? "")".utf8))
    }

    func finish() {
        if enabled && last >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
