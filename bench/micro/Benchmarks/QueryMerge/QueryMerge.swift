import Benchmark
import Events
import Foundation
import PageviewFixtures
import ServingLayer

/// Query merge: `QueryEngine.run`, the whole query path between the HTTP body's decoding and the
/// answer's encoding, over a week of pageviews (1M events): the published batch version of
/// days 1–6 in the serving cache (`ColumnarState`), plus day 7 in a running speed layer's
/// segments (two partitions, consumed from a real log). Each query pins the version, rolls its
/// columns up with one `RollupAccumulator`, reads the speed partitions under their locks (in
/// parallel when they are large) and merges them in, then orders (a top-N keeps a bounded heap)
/// and answers. One iteration is one query.
let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2), maxIterations: 10_000)
    let week = (from: Timestamp.format(PageviewStream.seriesStart), to: Timestamp.format(PageviewStream.seriesEnd))
    let lastDay = Timestamp.format(PageviewStream.seriesEnd - PageviewStream.day)
    let queries: [(label: String, json: String)] = [
        (
            "one url's views per hour, 7 days",
            #"{"view":"url_hourly","from":"\#(week.from)","to":"\#(week.to)","granularity":"1h","#
                + #""filter":{"field":"url","op":"=","value":"/page/150"},"aggregates":["views"]}"#
        ),
        (
            "top-10 urls by views, last 24 hours",
            #"{"view":"url_hourly","from":"\#(lastDay)","to":"\#(week.to)","granularity":"all","group_by":["url"],"#
                + #""aggregates":["views"],"order_by":{"aggregate":"views","desc":true},"limit":10}"#
        ),
        (
            "top-10 urls by views, 7 days",
            #"{"view":"url_hourly","from":"\#(week.from)","to":"\#(week.to)","granularity":"all","group_by":["url"],"#
                + #""aggregates":["views"],"order_by":{"aggregate":"views","desc":true},"limit":10}"#
        ),
        (
            "views, distinct users, p95 per hour, 7 days (169 rows)",
            #"{"view":"hourly","from":"\#(week.from)","to":"\#(week.to)","granularity":"1h"}"#
        ),
    ]
    for (label, json) in queries {
        let slot = FixtureSlot<QueryFixture>()
        Benchmark("Query merge, \(label)", configuration: configuration) { benchmark, fixture in
            blackHole(try await fixture.engine.run(fixture.query))
        } setup: {
            slot.fill(try await QueryFixture(query: try JSONDecoder().decode(QueryRequest.self, from: Data(json.utf8))))
        } teardown: {
            await slot.take()?.remove()
        }
    }
}
