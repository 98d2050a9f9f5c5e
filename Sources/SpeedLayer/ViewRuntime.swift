import Aggregation
import Synchronization

/// A view running in the speed layer: one ``PartitionRuntime`` per partition of its stream.
final class ViewRuntime: Sendable {
    let view: CompiledView
    let partitions: [PartitionRuntime]
    /// The log's end offsets when the view started: replay is done once every partition has
    /// consumed up to here.
    let replayTarget: [Int64]
    let startCut: [Int64]
    private let stopSignal = Mutex<(stopped: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    /// A view starting at `cut`, below which each partition's largest event time is
    /// `maxEventTimes` (`nil`: unknown, so read from the log below the cut).
    init(view: CompiledView, cut: [Int64], maxEventTimes: [Int64?]?, delay: Int64, replayTarget: [Int64]) {
        let maxEventTimes = cut.allSatisfy { $0 == 0 } ? [Int64?](repeating: nil, count: cut.count) : maxEventTimes
        self.view = view
        self.startCut = cut
        self.replayTarget = replayTarget
        self.partitions = (0..<cut.count).map { partition in
            var known: Int64?? = nil
            if let maxEventTimes, maxEventTimes.indices.contains(partition) { known = .some(maxEventTimes[partition]) }
            return PartitionRuntime(partition: partition, cut: cut, view: view, delay: delay, maxEventTime: known)
        }
    }

    /// Asks the view's consumers to stop.
    func stop() {
        let waiter = stopSignal.withLock { signal -> CheckedContinuation<Void, Never>? in
            signal.stopped = true
            defer { signal.waiter = nil }
            return signal.waiter
        }
        waiter?.resume()
    }

    /// Whether ``stop()`` was called.
    var isStopped: Bool { stopSignal.withLock { $0.stopped } }

    /// Returns once ``stop()`` is called or the task is cancelled.
    func waitUntilStopped() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let already = stopSignal.withLock { signal -> Bool in
                    if signal.stopped || Task.isCancelled { return true }
                    signal.waiter = continuation
                    return false
                }
                if already { continuation.resume() }
            }
        } onCancel: {
            stop()
        }
    }

    /// Whether every partition has consumed up to the replay target.
    var caughtUp: Bool {
        partitions.allSatisfy { runtime in runtime.state.withLock { $0.position } >= replayTarget[runtime.partition] }
    }

    /// Records consumed since the view started.
    var consumedSinceStart: Int64 {
        partitions.reduce(0) { total, runtime in total + runtime.state.withLock { $0.position } - startCut[runtime.partition] }
    }
}
