import Aggregation
import BatchLayer
import SpeedLayer

/// The views a query may name, as the serving layer reads them.
public protocol ServedViews: Sendable {
    /// The running, compiled view with this name.
    func compiledView(_ name: String) -> CompiledView?
}

/// The speed layer's state, read-only, as the serving layer reads it.
public protocol SpeedStateReading: Sendable {
    /// The merged state of a view's segments at or after `cut`, restricted to buckets starting in
    /// `[from, to)` and, with a `narrowing`, to the groups whose dimension holds one of its values
    /// (other rows may remain: the query's filter still applies); `nil` when the view is not
    /// running.
    /// - Throws: ``ViewError`` `partition_unavailable` when a partition's state lives on
    ///   another server that cannot give it (partitions divided among servers).
    /// - Parameter partial: whether partitions whose state cannot be had in time may be left
    ///   out (``SpeedProgress/missing`` then names them) rather than fail the read.
    func snapshot(view: String, atOrAfter cut: [Int64]?, from: Int64, to: Int64, narrowing: DimensionNarrowing?, partial: Bool) async throws
        -> SpeedSnapshot?
    /// Folds each segment of a view at or after `cut`, in encoded form, into its partition's copy
    /// of `initial` (the partitions in parallel when they hold at least `parallelRows` rows), and
    /// says where the speed layer stood; `nil` when the view is not running. Only the rows of
    /// buckets starting in `[from, to)` are needed (others may be given; `body` filters), which
    /// spares fetching the rest from another server.
    func read<Partial: Sendable>(
        view: String, atOrAfter cut: [Int64]?, from: Int64, to: Int64, partial: Bool, parallelRows: Int, into initial: Partial,
        _ body: @escaping @Sendable (inout Partial, borrowing EncodedState) throws -> Void
    ) async throws -> (partials: [Partial], progress: SpeedProgress)?
}

/// The batch layer's published versions, read-only, as the serving layer reads them.
public protocol BatchVersionReading: Sendable {
    /// Pins the version a query will read (or none) until ``unpin(_:view:)``.
    func pin(_ view: CompiledView) -> PublishedVersion?
    /// Releases a pin.
    func unpin(_ version: PublishedVersion?, view: String)
    /// The rows of a published version whose bucket starts in `[from, to)`.
    /// With a `narrowing`, rows outside it may be left out (the query's filter still applies).
    func read(_ version: PublishedVersion, from: Int64, to: Int64, narrowing: DimensionNarrowing?, timeout: Duration) async throws -> ViewState
}
