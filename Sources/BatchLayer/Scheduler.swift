import AsyncAlgorithms
import Logging
import ServiceLifecycle

/// The batch layer's scheduler: every second, the views whose schedule is due, or whose speed
/// state passed its row limit, get an incremental job. A ServiceLifecycle service on an async
/// timer sequence, which ends at graceful shutdown.
public struct Scheduler: Service {
    let batch: BatchLayer
    let interval: Duration

    /// A scheduler for `batch`, checking every `interval`.
    public init(batch: BatchLayer, interval: Duration = .seconds(1)) {
        self.batch = batch
        self.interval = interval
    }

    public func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            await batch.submitDueJobs()
        }
    }
}
