import Aggregation
import BatchLayer
import ServingLayer

/// The published versions, always in the serving cache (so `read` is never needed).
struct FixedVersions: BatchVersionReading {
    let versions: [PublishedVersion]

    func pin(_ view: CompiledView) -> PublishedVersion? { versions.first { $0.view == view.name } }

    func unpin(_ version: PublishedVersion?, view: String) {}

    func read(_ version: PublishedVersion, from: Int64, to: Int64, narrowing: DimensionNarrowing?, timeout: Duration) async throws -> ViewState {
        version.columns?.state(from: from, to: to) ?? ViewState()
    }
}
