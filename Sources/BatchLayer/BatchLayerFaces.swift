import Aggregation

/// The running views, as the batch layer reads them. `TandemServer` conforms its view registry.
public protocol RunningViews: Sendable {
    /// The running, compiled view with this name.
    func compiledView(_ name: String) -> CompiledView?
    /// Every running view.
    var compiledViews: [CompiledView] { get }
}

/// What the batch layer asks of the speed layer, which it never imports: cuts and segment drops.
/// `TandemServer` conforms the speed layer.
public protocol SpeedSegments: Sendable {
    /// Opens a speed-layer segment at the log's current end and returns that cut (with
    /// partitions divided among servers, each owner opens its partitions' segments and reports
    /// their offsets). No partition's offset is below `floor` (the published cut), even where
    /// an owner has not consumed up to it yet.
    func openSegmentAtLogEnd(view: String, atLeast floor: [Int64]?) async throws -> [Int64]
    /// Drops the speed-layer segments below a cut (their records are in a published version).
    /// - Parameter maxEventTimes: per partition, the largest event time below `cut`, as the
    ///   version recorded it (`nil` when it did not).
    func dropSegments(view: String, below cut: [Int64], maxEventTimes: [Int64?]?)
    /// Brings a view's speed state to a cut that another server published: computes the
    /// records from `cut` on beside the state in use (which keeps answering for the version
    /// served until then), and returns once it has caught up with the log. ``dropSegments(view:below:maxEventTimes:)``
    /// with that cut then drops the state it replaces.
    /// - Parameter maxEventTimes: per partition, the largest event time below `cut`, as the
    ///   version recorded it.
    func follow(view: String, from cut: [Int64], maxEventTimes: [Int64?]?) async throws
    /// Whether the speed layer holds more rows of state for a view than its limit
    /// (`batch.speed_state_row_limit`, owned by the speed layer's configuration): such a view gets
    /// an incremental job, whose publish drops the segments below its cut.
    func isOverRowLimit(view: String) -> Bool
}
