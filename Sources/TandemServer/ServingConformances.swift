import BatchLayer
import ServingLayer
import SpeedLayer

/// The layers as the serving layer reads them: read-only faces, declared by `ServingLayer`.
extension ViewRegistry: ServedViews {}

extension SpeedLayer: SpeedStateReading {}

extension BatchLayer: BatchVersionReading {}
