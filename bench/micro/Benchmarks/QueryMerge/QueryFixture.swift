import Aggregation
import BatchLayer
import PageviewFixtures
import ServingLayer
import SpeedLayer
import TandemServer

/// A query engine over the published week (``PublishedWeek``) and a running speed layer that
/// has consumed day 7 from a real two-partition log.
///
/// The log holds only what follows the version's cut, at offsets from 0, so the version's cut
/// is `[0, 0]`: the speed segments read are exactly the events the version lacks.
final class QueryFixture: Sendable {
    let query: QueryRequest
    let engine: QueryEngine
    private let log: PageviewLog
    private let service: Task<Void, any Error>

    init(query: QueryRequest) async throws {
        let week = PublishedWeek.shared
        self.query = query
        log = try PageviewLog(partitions: 2)
        try await log.append(week.speedEvents)
        let speed = SpeedLayer(log: log.log, logger: PageviewLog.quietLogger)
        service = Task { try await speed.run() }
        for view in week.views { try speed.addView(view, from: [0, 0]) }
        let deadline = ContinuousClock.now + .seconds(60)
        while !speed.isCaughtUp && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        engine = QueryEngine(views: FixedViews(views: week.views), speed: speed, batch: FixedVersions(versions: week.versions))
        // A query that merged nothing, or missed a layer, would be measured as fast as it is wrong.
        let answer = try await engine.run(query)
        guard speed.isCaughtUp, answer.provenance.source == "batch+speed", !answer.rows.isEmpty else {
            await remove()
            throw QueryFixtureError(
                description: "\(query.view): \(answer.rows.count) rows from \(answer.provenance.source), caught up: \(speed.isCaughtUp)")
        }
    }

    /// Stops the speed layer, then deletes the log.
    func remove() async {
        service.cancel()
        _ = await service.result
        log.remove()
    }
}

/// A query of the fixture that does not read both layers.
struct QueryFixtureError: Error, CustomStringConvertible {
    var description: String
}
