import Aggregation
import BatchLayer
import Events
import PageviewFixtures

/// A week of pageviews (1M events) split at the cut: days 1–6 computed as the batch layer does
/// (one encoded state per view, then its columns, as the serving cache holds them) and day 7
/// kept as events for the speed layer. Built once per process, in the first setup.
struct PublishedWeek: Sendable {
    let views: [CompiledView]
    let versions: [PublishedVersion]
    let speedEvents: [Pageview]

    static let shared = try! PublishedWeek()

    init() throws {
        let total = 1_000_000
        let batchEvents = total * 6 / 7
        let stream = PageviewStream.definition(partitions: 2)
        views = try [PageviewStream.urlHourly, PageviewStream.hourly].map { try CompiledView($0, stream: stream) }
        let history = PageviewStream.generate(count: batchEvents, from: PageviewStream.start, to: PageviewStream.cut, seed: 1)
        versions = views.map { view in
            var state = EncodedState(dimensions: view.definition.dimensions.count, aggregates: view.definition.aggregates.count)
            for event in history { view.apply(values: event.values, eventTime: event.time, to: &state) }
            return PublishedVersion(
                view: view.name, id: 1, cut: [0, 0], table: "bench_\(view.name)", definition: "", typed: true,
                columns: ColumnarState(state, view: view))
        }
        speedEvents = PageviewStream.generate(count: total - batchEvents, from: PageviewStream.cut, to: PageviewStream.end, seed: 2)
    }
}
