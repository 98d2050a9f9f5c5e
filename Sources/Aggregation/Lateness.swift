import Events

/// The lateness rule of one partition, shared by the speed and batch layers so that both judge
/// every record alike: a record is late when its event time is behind the partition's watermark
/// as it arrives, that is, more than `delay` before the largest event time of the partition's
/// earlier records. Every record with an event time Tandem can store moves the maximum, whether
/// or not a view's filter keeps it and whether or not it decodes; a record outside
/// ``Timestamp/supportedRange`` (a poison record) never does.
///
/// The maximum below a cut is stored with each version (``PublishedVersion/maxEventTimes``), so
/// an incremental job, and a speed layer starting from the cut, go on exactly where the record
/// below the cut left off.
public struct Lateness: Sendable, Equatable {
    /// How far behind the largest event time the watermark trails, in milliseconds.
    public let delay: Int64
    /// The largest event time seen so far (`nil`: none yet).
    public private(set) var maxEventTime: Int64?

    /// A rule for a partition whose earlier records' largest event time is `maxEventTime`.
    public init(delay: Int64, maxEventTime: Int64? = nil) {
        self.delay = delay
        self.maxEventTime = maxEventTime
    }

    /// Judges the next record of the partition and takes its event time into the maximum.
    /// - Returns: whether the record is late.
    @inline(__always)
    public mutating func admit(_ eventTime: Int64) -> Bool {
        guard Timestamp.supportedRange.contains(eventTime) else { return false }
        guard let maximum = maxEventTime else {
            maxEventTime = eventTime
            return false
        }
        if eventTime > maximum {
            maxEventTime = eventTime
            return false
        }
        // A delay reaching past the least Int64 leaves no watermark to be behind.
        let (watermark, overflow) = maximum.subtractingReportingOverflow(delay)
        return !overflow && eventTime < watermark
    }
}
