import Aggregation
import Synchronization

/// A view running in the speed layer: one ``PartitionRuntime`` per partition of its stream, each
/// consumed here only while this server owns the partition (all of them on a server alone).
final class ViewRuntime: Sendable {
    let view: CompiledView
    let partitions: [PartitionRuntime]
    /// The log's end offsets when the view started: replay is done once every partition has
    /// consumed up to here.
    let replayTarget: [Int64]
    let startCut: [Int64]
    private let stopSignal = StopSignal()
    /// The latest cut whose largest event times per partition are known (the starting cut, then
    /// each published cut dropped below): a partition this server comes to own is computed from
    /// its first segment, judged late as from offset 0 when that segment starts at this cut.
    let baseline: Mutex<(cut: [Int64], maxEventTimes: [Int64?]?)>

    /// A view starting at `cut`, below which each partition's largest event time is
    /// `maxEventTimes` (`nil`: unknown, so read from the log below the cut). No partition is
    /// owned yet (see ``SpeedLayer``'s ownership).
    init(view: CompiledView, cut: [Int64], maxEventTimes: [Int64?]?, delay: Int64, replayTarget: [Int64]) {
        let maxEventTimes = cut.allSatisfy { $0 == 0 } ? [Int64?](repeating: nil, count: cut.count) : maxEventTimes
        self.view = view
        self.startCut = cut
        self.replayTarget = replayTarget
        self.baseline = Mutex((cut, maxEventTimes))
        self.partitions = (0..<cut.count).map { partition in
            PartitionRuntime(partition: partition, cut: cut, view: view, delay: delay)
        }
    }

    /// Asks the view's consumers to stop.
    func stop() {
        stopSignal.stop()
        for partition in partitions { partition.state.withLock { $0.consumer }?.stop() }
    }

    /// Whether ``stop()`` was called.
    var isStopped: Bool { stopSignal.isStopped }

    /// Returns once ``stop()`` is called or the task is cancelled.
    func waitUntilStopped() async { await stopSignal.wait() }

    /// Whether every partition this server owns has consumed up to where the log ended when the
    /// view started, or when the partition came to this server.
    var caughtUp: Bool {
        partitions.allSatisfy { runtime in runtime.state.withLock { !$0.owned || $0.position >= $0.target } }
    }

    /// Records consumed since the view started.
    var consumedSinceStart: Int64 {
        partitions.reduce(0) { total, runtime in total + runtime.state.withLock { $0.owned ? max(0, $0.position - startCut[runtime.partition]) : 0 } }
    }

    /// What partition `partition` knows of its largest event time below `offset`: `.some(nil)`
    /// when no record is there, `nil` when unknown.
    func knownMaxEventTime(partition: Int, below offset: Int64) -> Int64?? {
        if offset == 0 { return .some(nil) }
        return baseline.withLock { baseline -> Int64?? in
            guard baseline.cut[partition] == offset, let maxima = baseline.maxEventTimes, maxima.indices.contains(partition) else { return nil }
            return .some(maxima[partition])
        }
    }
}
