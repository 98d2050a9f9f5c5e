import BatchLayer
import SpeedLayer
import TandemAPI

/// The speed layer as the batch layer sees it: cuts, segment drops and state sizes.
extension SpeedLayer: SpeedSegments {
    /// On a server that computes every partition, its consumers are at or past the published
    /// cut, so the log's end is too: `floor` adds nothing.
    public func openSegmentAtLogEnd(view: String, atLeast floor: [Int64]?) throws -> [Int64] {
        try openSegmentAtLogEnd(view: view)
    }

    public func isOverRowLimit(view: String) -> Bool {
        status().first { $0.view == view }?.overRowLimit ?? false
    }
}
