import Aggregation
import BatchLayer
import Events
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServingLayer
import SpeedLayer

/// The speed layer as the serving and batch layers see it when partitions are divided among
/// servers (``DividedPartitions``): the partitions this server computes are read here, the
/// others from their owners, and a cut is assembled from every owner's report.
struct DividedSpeed: SpeedStateReading, SpeedSegments {
    let partitions: DividedPartitions
    /// How long a read waits for a partition that moves between servers, and a cut for one
    /// that no server computes yet.
    let patience: Duration
    var speed: SpeedLayer { partitions.speed }

    // MARK: Reading

    func snapshot(view: String, atOrAfter cut: [Int64]?, from: Int64, to: Int64, narrowing: DimensionNarrowing?, partial: Bool) async throws
        -> SpeedSnapshot?
    {
        guard var snapshot = speed.snapshot(view: view, atOrAfter: cut, from: from, to: to, narrowing: narrowing),
            let compiled = speed.view(named: view)
        else { return nil }
        for (_, state) in try await remote(compiled, progress: &snapshot.progress, from: from, to: to, partial: partial) {
            snapshot.state.merge(state)
        }
        return snapshot
    }

    func read<Partial: Sendable>(
        view: String, atOrAfter cut: [Int64]?, from: Int64, to: Int64, partial: Bool, parallelRows: Int, into initial: Partial,
        _ body: @escaping @Sendable (inout Partial, borrowing EncodedState) throws -> Void
    ) async throws -> (partials: [Partial], progress: SpeedProgress)? {
        guard var read = try await speed.read(view: view, atOrAfter: cut, parallelRows: parallelRows, into: initial, body),
            let compiled = speed.view(named: view)
        else { return nil }
        for (partition, state) in try await remote(compiled, progress: &read.progress, from: from, to: to, partial: partial) {
            try body(&read.partials[partition], EncodedState(state, view: compiled))
        }
        return read
    }

    /// The state of every partition this server does not compute, from its owner, with
    /// `progress` completed (offsets, largest event times, last ingest times, sources and the
    /// watermark over all partitions). With `partial`, a partition whose owner could not answer
    /// within ``patience`` is left out and named in ``SpeedProgress/missing``.
    /// - Throws: ``ViewError`` `partition_unavailable` when a partition this server computes was
    ///   computed again from a newer cut than `progress.cut` (the query takes the newer version
    ///   on its next try), or (unless `partial`) an owner could not answer within ``patience``.
    private func remote(
        _ compiled: CompiledView, progress: inout SpeedProgress, from: Int64, to: Int64, partial: Bool
    ) async throws -> [(Int, ViewState)] {
        let count = progress.offsets.count
        guard progress.owned.count == count else { return [] }
        let view = compiled.name, stream = compiled.stream.name
        if let partition = (0..<count).first(where: { progress.owned[$0] && !progress.aligned[$0] }) {
            throw ViewError(
                .partitionUnavailable, "partition \(partition) of stream \"\(stream)\" is computed again from a newer published cut; retry")
        }
        var wanted = Set((0..<count).filter { !progress.owned[$0] })
        progress.sources = (0..<count).map { progress.owned[$0] ? "local" : "" }
        guard !wanted.isEmpty else { return [] }
        var states: [(Int, ViewState)] = []
        var reasons: [Int: String] = [:]
        let deadline = ContinuousClock.now + patience
        var attempt = 0
        while !wanted.isEmpty {
            try Task.checkCancellation()
            let located = await partitions.locate(Array(wanted), of: stream, fresh: attempt > 0, reasons: &reasons)
            if let partition = located.here.first {
                // It moved here after this server read its own partitions: read again.
                throw ViewError(.partitionUnavailable, "partition \(partition) of stream \"\(stream)\" moved to this server; retry")
            }
            let remaining = max(deadline - ContinuousClock.now, .milliseconds(100))
            let cut = progress.cut
            let answers = await withTaskGroup(of: (PartitionDirectory.Owner, [Int], Result<[PartitionExport], any Error>).self) { group in
                for (owner, asked) in located.elsewhere {
                    group.addTask {
                        let path =
                            "/internal/v1/views/\(view)/partitions?partitions=\(asked.map(String.init).joined(separator: ","))"
                            + "&cut=\(cut.map(String.init).joined(separator: ","))"
                            + (from == .min ? "" : "&from=\(from)") + (to == .max ? "" : "&to=\(to)")
                            + "&wait_ms=\(Int64(remaining / .milliseconds(1)))"
                        do {
                            let body = try await partitions.call(.GET, owner, path, timeout: remaining + .seconds(1))
                            return (owner, asked, .success(try PartitionExport.decode(Array(buffer: body))))
                        } catch {
                            return (owner, asked, .failure(error))
                        }
                    }
                }
                var answers: [(PartitionDirectory.Owner, [Int], Result<[PartitionExport], any Error>)] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
            for (owner, asked, result) in answers {
                switch result {
                case .failure(let error):
                    for partition in asked { reasons[partition] = "\(owner.address): \(error)" }
                case .success(let exports):
                    for (partition, export) in zip(asked, exports) {
                        switch export {
                        case .state(let state, let position, let maxEventTime, let lastIngestTime):
                            states.append((partition, state))
                            progress.offsets[partition] = position
                            // Its owner reads it; this server's end offsets of a partition it
                            // does not read may be behind (a broker's high watermark lags).
                            progress.logEnd[partition] = max(progress.logEnd[partition], position)
                            progress.maxEventTimes[partition] = maxEventTime
                            progress.lastIngestTimes[partition] = lastIngestTime
                            progress.sources[partition] = owner.address
                            wanted.remove(partition)
                        case .notOwned:
                            reasons[partition] = "\(owner.address) no longer computes it"
                        case .cutUnavailable(let first):
                            reasons[partition] = "\(owner.address) holds it from offset \(first), not from the cut's \(cut[partition])"
                            // A newer version was published: the query takes it on its next try.
                            if first > cut[partition] { throw ViewError(.partitionUnavailable, reasons[partition]! + "; retry") }
                        }
                    }
                }
            }
            guard !wanted.isEmpty else { break }
            if attempt % 20 == 0 {
                partitions.logger.info(
                    "waiting for partitions computed elsewhere",
                    metadata: ["view": "\(view)", "reasons": "\(wanted.sorted().map { "\($0): \(reasons[$0] ?? "")" })"])
            }
            guard ContinuousClock.now < deadline else {
                if partial {
                    for partition in wanted {
                        progress.missing[partition] = reasons[partition] ?? "no answer"
                        progress.sources[partition] = "missing"
                    }
                    break
                }
                let detail = wanted.sorted().map { "partition \($0) (\(reasons[$0] ?? "no answer"))" }.joined(separator: "; ")
                throw ViewError(.partitionUnavailable, "the speed state of stream \"\(stream)\" is not available from its owners: \(detail)")
            }
            attempt += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        progress.watermark = speed.watermark(maxima: progress.maxEventTimes, offsets: progress.offsets, logEnd: progress.logEnd)
        return states
    }

    // MARK: Cuts

    func openSegmentAtLogEnd(view: String, atLeast floor: [Int64]?) async throws -> [Int64] {
        guard let compiled = speed.view(named: view) else { throw ViewError(.unknownView, "view \"\(view)\" is not running in the speed layer") }
        let stream = compiled.stream.name
        let count = compiled.stream.partitions
        var cut = [Int64?](repeating: nil, count: count)
        var reasons: [Int: String] = [:]
        let deadline = ContinuousClock.now + patience
        var attempt = 0
        while true {
            let pending = Set((0..<count).filter { cut[$0] == nil })
            for (partition, offset) in try speed.openSegment(view: view, partitions: pending, atLeast: floor) {
                cut[partition] = offset
            }
            let missing = (0..<count).filter { cut[$0] == nil }
            if missing.isEmpty { return cut.map { $0! } }
            let located = await partitions.locate(missing, of: stream, fresh: attempt > 0, reasons: &reasons)
            // Recorded here but not opened above: this server has just given it up.
            for partition in located.here { reasons[partition] = "this server no longer computes it" }
            for (owner, asked) in located.elsewhere {
                do {
                    let body = try await partitions.call(
                        .POST, owner,
                        "/internal/v1/views/\(view)/cut?partitions=\(asked.map(String.init).joined(separator: ","))"
                            + (floor.map { "&at_least=\($0.map(String.init).joined(separator: ","))" } ?? ""),
                        timeout: .seconds(5))
                    for pair in String(buffer: body).split(separator: ",") {
                        let parts = pair.split(separator: ":")
                        guard parts.count == 2, let partition = Int(parts[0]), let offset = Int64(parts[1]), cut.indices.contains(partition),
                            asked.contains(partition)
                        else { continue }
                        cut[partition] = offset
                    }
                    for partition in asked where cut[partition] == nil { reasons[partition] = "\(owner.address) no longer computes it" }
                } catch {
                    for partition in asked { reasons[partition] = "\(owner.address): \(error)" }
                }
            }
            if attempt % 10 == 0 {
                partitions.logger.info(
                    "waiting for the owners of partitions to report a cut", metadata: ["view": "\(view)", "reasons": "\(reasons)"])
            }
            guard ContinuousClock.now < deadline else {
                let detail = (0..<count).filter { cut[$0] == nil }.map { "partition \($0) (\(reasons[$0] ?? "no answer"))" }.joined(separator: "; ")
                throw BatchError(.unavailable, "no cut could be taken of stream \"\(stream)\": \(detail)")
            }
            attempt += 1
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func dropSegments(view: String, below cut: [Int64], maxEventTimes: [Int64?]?) {
        speed.dropSegments(view: view, below: cut, maxEventTimes: maxEventTimes)
    }

    /// A version another server published: every partition computed here must hold a segment
    /// at its cut (a partition that moved here after its owner reported the cut is computed again
    /// from it). Nothing to wait for: the cut's segments were opened by their owners.
    func follow(view: String, from cut: [Int64], maxEventTimes: [Int64?]?) async throws {
        speed.align(view: view, at: cut, maxEventTimes: maxEventTimes)
    }

    func isOverRowLimit(view: String) -> Bool { speed.isOverRowLimit(view: view) }
}
