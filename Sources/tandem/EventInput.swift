import Events
import Foundation
import NIOCore

/// What `tandem post` reads: NDJSON, a JSON array, or CSV with a header row.
enum InputFormat: String, CaseIterable {
    case auto, ndjson, json, csv
}

private let newline = UInt8(ascii: "\n")

/// Reads an input a chunk at a time and groups its events into request bodies of at most
/// `batchSize` events (NDJSON), so that memory stays bounded by the chunk and the batches in
/// flight, whatever the input's size.
final class EventBatcher {
    /// One request's events.
    struct Batch: Sendable {
        /// The events, one per line.
        var body: ByteBuffer
        /// The index of its first event in the input, and how many it holds.
        var first: Int
        var count: Int
        /// The input lines its events start on.
        var lines: ClosedRange<Int>
    }

    private let handle: FileHandle
    private var splitter: any EventSplitter
    private let batchSize: Int
    private let chunkSize: Int
    private var ready: [Batch] = []
    private var current = ByteBuffer()
    private var currentCount = 0
    private var currentFirstLine = 0
    private var currentLastLine = 0
    private var emitted = 0
    private var ended = false
    /// Where reads land; allocated at the first read.
    private var buffer: [UInt8] = []
    /// Bytes read so far.
    private(set) var bytesRead = 0

    init(handle: FileHandle, splitter: any EventSplitter, batchSize: Int, chunkSize: Int = 1 << 20) {
        self.handle = handle
        self.splitter = splitter
        self.batchSize = max(batchSize, 1)
        self.chunkSize = chunkSize
    }

    /// The next batch, or `nil` at the end of the input.
    ///
    /// A read takes what the input has (at most a chunk). A short read means a pipe or terminal
    /// with nothing more for now, so the events read so far go out as a batch instead of waiting
    /// for `batchSize` more: `tail -f app.log | tandem post events -` posts as lines come.
    func next() throws -> Batch? {
        if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: chunkSize) }
        while ready.isEmpty && !ended {
            let count = try buffer.withUnsafeMutableBytes { bytes in
                while true {
                    let count = read(handle.fileDescriptor, bytes.baseAddress, bytes.count)
                    if count >= 0 { return count }
                    if errno != EINTR { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                }
            }
            if count == 0 {
                ended = true
                try splitter.finish(emit: add)
                close()
            } else {
                bytesRead += count
                try buffer.withUnsafeBytes { bytes in try splitter.feed(UnsafeRawBufferPointer(rebasing: bytes[..<count]), emit: add) }
                if count < chunkSize { close() }
            }
        }
        return ready.isEmpty ? nil : ready.removeFirst()
    }

    private func add(_ event: UnsafeRawBufferPointer, line: Int) {
        if currentCount == 0 {
            // Room for the batch, up to 8 MiB (checked: --batch-size may be any number).
            let (estimate, overflow) = (event.count + 1).multipliedReportingOverflow(by: batchSize)
            current.reserveCapacity(overflow ? 8 << 20 : min(estimate, 8 << 20))
            currentFirstLine = line
        }
        current.writeBytes(event)
        current.writeInteger(newline)
        currentCount += 1
        currentLastLine = line
        if currentCount == batchSize { close() }
    }

    private func close() {
        guard currentCount > 0 else { return }
        ready.append(Batch(body: current, first: emitted, count: currentCount, lines: currentFirstLine...currentLastLine))
        emitted += currentCount
        current = ByteBuffer()
        currentCount = 0
    }
}
