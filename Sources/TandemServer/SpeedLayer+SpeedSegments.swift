import BatchLayer
import SpeedLayer
import TandemAPI

/// The speed layer as the batch layer sees it: cuts, segment drops and state sizes.
extension SpeedLayer: SpeedSegments {
    public func stateRows(view: String) -> Int {
        status().first { $0.view == view }?.stateRows ?? 0
    }
}
