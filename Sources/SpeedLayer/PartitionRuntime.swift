import Aggregation
import Synchronization

/// One partition's share of a view in the speed layer: its consumer position and its state,
/// split into segments by cut. Only the partition's consumer task writes it, one log batch at a
/// time under the lock (never a lock per event); queries read it under the same lock.
///
/// A partition that this server does not own keeps its segments' cuts (so that it can be taken
/// over from the first one) but no state, and has no consumer.
final class PartitionRuntime: Sendable {
    struct Segment: Sendable {
        /// The cut this segment starts at: it holds this partition's records at offsets from
        /// `cut[partition]` up to the next segment's.
        var cut: [Int64]
        /// Indexed by dimension value, so that a filtered query reads only its rows.
        var state: EncodedState

        init(cut: [Int64], view: CompiledView) {
            self.cut = cut
            state = EncodedState(view: view, indexed: true)
        }
    }

    struct State: Sendable {
        /// The next offset to consume.
        var position: Int64
        var segments: [Segment]
        /// The lateness rule, with the largest event time consumed (or, from a published cut,
        /// the largest below it).
        var lateness: Lateness
        /// The largest event time consumed.
        var maxEventTime: Int64? { lateness.maxEventTime }
        /// Whether the largest event time below the starting cut is unknown (a version built
        /// before versions kept it): the consumer reads the event times below the cut first.
        var maximumUnknown: Bool
        /// Records that could not be decoded (skipped, and logged).
        var undecodable: Int64 = 0
        /// Records consumed whose event time was behind this partition's watermark (its largest
        /// event time before them, minus the watermark delay) when they arrived: counted like any
        /// other, but each one changed a window that was already final.
        var late: Int64 = 0
        /// When the log accepted the last record consumed (epoch ms).
        var lastIngestTime: Int64?
        /// The buckets that late records reached, with their counts: at least the latest
        /// `SpeedLayer.lateBucketLimit` buckets (for the dashboard, which marks them).
        var lateBuckets: [Int64: Int64] = [:]
        /// Set when the consumer stopped on an error.
        var failure: String?
        /// Whether this server owns the partition (computes it).
        var owned = false
        /// Where the log ended when this server took the partition: caught up once consumed.
        var target: Int64 = 0
        /// The running consumer's stop signal; a consumer whose signal is no longer this one
        /// (the partition moved away, and maybe back) must not touch the state.
        var consumer: StopSignal?

        /// Whether a segment starts at `floor[partition]` (and none holds records below it that
        /// a read from there would count): a read at or after `floor` is then exact.
        func isAligned(_ partition: Int, at floor: [Int64]) -> Bool {
            segments[0].cut[partition] == floor[partition]
                || (segments[0].cut[partition] < floor[partition] && segments.contains { $0.cut[partition] == floor[partition] })
        }

        /// Empty segments at the same cuts, consumed from the first one, for a partition this
        /// server takes (`owned`), gives up, or computes again: the consumer is replaced too.
        /// - Returns: the new consumer's signal (when `owned`), to start it, and the previous
        ///   consumer's, to stop it.
        mutating func reset(
            partition: Int, view: CompiledView, delay: Int64, maxEventTime: Int64??, owned: Bool, target: Int64
        ) -> (start: StopSignal?, stop: StopSignal?) {
            segments = segments.map { Segment(cut: $0.cut, view: view) }
            position = segments[0].cut[partition]
            lateness = Lateness(delay: delay, maxEventTime: maxEventTime ?? nil)
            maximumUnknown = maxEventTime == nil && position > 0
            undecodable = 0
            late = 0
            lastIngestTime = nil
            lateBuckets = [:]
            failure = nil
            self.owned = owned
            self.target = target
            let previous = consumer
            consumer = owned ? StopSignal() : nil
            return (consumer, previous)
        }
    }

    let partition: Int
    let state: Mutex<State>

    /// A partition starting at `cut`, not owned.
    init(partition: Int, cut: [Int64], view: CompiledView, delay: Int64) {
        self.partition = partition
        self.state = Mutex(
            State(position: cut[partition], segments: [Segment(cut: cut, view: view)], lateness: Lateness(delay: delay), maximumUnknown: false))
    }
}
