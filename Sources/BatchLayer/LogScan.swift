import Aggregation
import EventLog
import Events
import Logging

/// The scan of a recompute: aggregates the records of a log range with the same compiled view
/// as the speed layer, skipping poison records exactly as it does.
enum LogScan {
    /// Aggregates the records of every partition in `[from, to)`, partitions in parallel, each
    /// with its own copy of the view, judging each record late or not by the speed layer's rule
    /// (``Lateness``) from the largest event time below `from`.
    /// - Parameters:
    ///   - lateness: per partition, the rule as it stands at `from` (its largest event time).
    ///   - progress: called after each batch read with the records scanned and the poison
    ///     records skipped in it.
    /// - Returns: the state, and per partition the largest event time below `to`.
    static func scan(
        _ view: CompiledView, topic: any LogTopic, from: [Int64], to: [Int64], lateness: [Lateness], logger: Logger,
        progress: @escaping @Sendable (_ scanned: Int64, _ skipped: Int64) -> Void
    ) async throws -> (state: EncodedState, maxEventTimes: [Int64?]) {
        var maxEventTimes = lateness.map(\.maxEventTime)
        let state = try await withThrowingTaskGroup(of: (Int, EncodedState, Int64?).self) { group in
            for partition in 0..<to.count where from[partition] < to[partition] {
                group.addTask {
                    let local = try CompiledView(view.definition, stream: view.stream)
                    var scratch = local.makeDecodeScratch()
                    var state = EncodedState(view: view)
                    var rule = lateness[partition]
                    var offset = from[partition]
                    let end = to[partition]
                    while offset < end {
                        try Task.checkCancellation()
                        let batch = try await topic.read(
                            partition: partition, from: offset, maxRecords: Int(min(10_000, end - offset)), maxBytes: 4 << 20)
                        guard let next = batch.nextOffset else {
                            throw BatchError(.unavailable, "partition \(partition) ends before offset \(end)")
                        }
                        var skipped: Int64 = 0
                        try batch.forEachPayload { offset, eventTime, payload in
                            guard offset < end else { return }
                            let late = rule.admit(eventTime)
                            do {
                                _ = try local.apply(payload: payload, eventTime: eventTime, late: late, to: &state, scratch: &scratch)
                            } catch {
                                // A poison record: skipped exactly as the speed layer skips it, so
                                // the two layers still agree; counted on the job and logged.
                                skipped += 1
                                if skipped <= 5 {
                                    logger.error(
                                        "batch layer: skipped a record that cannot be applied",
                                        metadata: [
                                            "view": "\(view.name)", "partition": "\(partition)", "offset": "\(offset)",
                                            "error": "\(error)",
                                        ])
                                }
                            }
                        }
                        let done = min(next, end) - offset
                        progress(done, skipped)
                        offset = next
                    }
                    return (partition, state, rule.maxEventTime)
                }
            }
            // The first partition's state is taken whole; the others are merged into it.
            var merged: EncodedState?
            for try await (partition, partial, maximum) in group {
                maxEventTimes[partition] = maximum
                if merged == nil { merged = partial } else { merged!.merge(partial) }
            }
            return merged ?? EncodedState(view: view)
        }
        return (state, maxEventTimes)
    }
}
