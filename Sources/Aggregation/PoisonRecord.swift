import Events

/// Why a stored record cannot be applied to a view. The speed and the batch layer skip such a
/// record in the same way (counted and logged with its offset), so their answers still agree over
/// the records that apply, and one bad record never stops either layer.
public enum PoisonRecord: Error, Sendable, Equatable, CustomStringConvertible {
    /// The record's event time is outside ``Timestamp/supportedRange`` (written before ingest
    /// checked it, or damaged).
    case eventTimeOutOfRange(Int64)

    public var description: String {
        switch self {
        case .eventTimeOutOfRange(let time):
            "event time \(time) is outside the supported range \(Timestamp.supportedRange.lowerBound)...\(Timestamp.supportedRange.upperBound)"
        }
    }
}
