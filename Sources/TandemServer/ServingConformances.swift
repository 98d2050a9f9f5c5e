import Aggregation
import BatchLayer
import ServingLayer
import SpeedLayer

/// The layers as the serving layer reads them: read-only faces, declared by `ServingLayer`.
extension ViewRegistry: ServedViews {}

extension SpeedLayer: SpeedStateReading {
    /// Every partition is computed here: a read is never partial.
    public func snapshot(view: String, atOrAfter cut: [Int64]?, from: Int64, to: Int64, narrowing: DimensionNarrowing?, partial: Bool)
        -> SpeedSnapshot?
    {
        snapshot(view: view, atOrAfter: cut, from: from, to: to, narrowing: narrowing)
    }

    /// Every segment is in memory here: the range is left to `body`, and a read is never partial.
    public func read<Partial: Sendable>(
        view: String, atOrAfter cut: [Int64]?, from: Int64, to: Int64, partial: Bool, parallelRows: Int, into initial: Partial,
        _ body: @escaping @Sendable (inout Partial, borrowing EncodedState) throws -> Void
    ) async throws -> (partials: [Partial], progress: SpeedProgress)? {
        try await read(view: view, atOrAfter: cut, parallelRows: parallelRows, into: initial, body)
    }
}

extension BatchLayer: BatchVersionReading {}
