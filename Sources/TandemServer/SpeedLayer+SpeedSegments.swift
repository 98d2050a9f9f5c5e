import BatchLayer
import SpeedLayer
import TandemAPI

/// The speed layer as the batch layer sees it: cuts, segment drops and state sizes.
extension SpeedLayer: SpeedSegments {
    public func isOverRowLimit(view: String) -> Bool {
        status().first { $0.view == view }?.overRowLimit ?? false
    }
}
