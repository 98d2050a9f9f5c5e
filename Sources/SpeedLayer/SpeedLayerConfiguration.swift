/// Settings of the speed layer.
public struct SpeedLayerConfiguration: Sendable, Equatable {
    /// How far behind a partition's largest event time its watermark trails, in milliseconds.
    /// Windows ending at or before the watermark are final; nothing is dropped for lateness.
    public var watermarkDelayMilliseconds: Int64
    /// The most records read from the log at once per partition.
    public var batchRecords: Int
    /// The rows of state a view should hold at most (`batch.speed_state_row_limit`); past it the
    /// view's status says `over_row_limit` and, with a batch layer, an incremental job is forced
    /// so that the segments below its cut are dropped. `nil`: no limit.
    public var stateRowLimit: Int? = 1_000_000

    /// Creates a configuration.
    public init(watermarkDelayMilliseconds: Int64 = 5000, batchRecords: Int = 10_000) {
        self.watermarkDelayMilliseconds = watermarkDelayMilliseconds
        self.batchRecords = batchRecords
    }
}
