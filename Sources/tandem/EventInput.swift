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
    /// Bytes read so far.
    private(set) var bytesRead = 0

    init(handle: FileHandle, splitter: any EventSplitter, batchSize: Int, chunkSize: Int = 1 << 20) {
        self.handle = handle
        self.splitter = splitter
        self.batchSize = max(batchSize, 1)
        self.chunkSize = chunkSize
    }

    /// The next batch, or `nil` at the end of the input.
    func next() throws -> Batch? {
        while ready.isEmpty && !ended {
            let chunk = try handle.read(upToCount: chunkSize) ?? Data()
            if chunk.isEmpty {
                ended = true
                try splitter.finish(emit: add)
                close()
            } else {
                bytesRead += chunk.count
                try chunk.withUnsafeBytes { bytes in try splitter.feed(bytes, emit: add) }
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
