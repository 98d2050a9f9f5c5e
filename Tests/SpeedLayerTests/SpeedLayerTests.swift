import Aggregation
import EventLog
import Events
import Foundation
import Logging
import ServiceLifecycle
import SpeedLayer
import TandemAPI
import TandemTestSupport
import Testing

/// The speed layer against a real event log: cut segments, watermarks, removal.
@Suite("Speed layer")
struct SpeedLayerTests {
    static let stream = StreamDefinition(
        name: "clicks", partitions: 2,
        fields: [FieldDefinition(name: "ts", type: .timestamp, required: true), FieldDefinition(name: "page", type: .string)],
        timeField: "ts")

    static let view = try! CompiledView(
        ViewDefinition(
            name: "by_page", stream: "clicks", dimensions: ["page"], bucketMilliseconds: 60_000, aggregates: [("n", AggregateSpec(.count))]),
        stream: stream)

    static func batch(_ times: [Int64], page: String = "/a") -> AppendBatch {
        var batch = AppendBatch()
        for time in times {
            var payload: [UInt8] = []
            RecordCodec.encode([.timestamp(time), .string(page)], schemaVersion: 1, into: &payload)
            batch.append(key: nil, payload: payload, eventTime: time)
        }
        return batch
    }

    /// Runs `body` with a speed layer over a fresh log, the layer running as a service.
    func withSpeedLayer(delay: Int64 = 1000, _ body: @Sendable (EventLog, Topic, SpeedLayer) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "tandem-speed-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let log = try EventLog(directory: directory, logger: logger)
        let topic = try log.createTopic("clicks", partitions: 2)
        let speed = SpeedLayer(log: log, configuration: SpeedLayerConfiguration(watermarkDelayMilliseconds: delay), logger: logger)
        let group = ServiceGroup(services: [speed], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { log.close() }
            try await body(log, topic, speed)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// The snapshot once the speed layer has consumed up to the log end (bounded wait).
    func settled(_ speed: SpeedLayer, atOrAfter cut: [Int64]? = nil) async throws -> SpeedSnapshot {
        for _ in 0..<1000 {
            let snapshot = try #require(speed.snapshot(view: "by_page", atOrAfter: cut))
            if snapshot.progress.lagRecords == 0 { return snapshot }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("the speed layer did not catch up")
        return try #require(speed.snapshot(view: "by_page", atOrAfter: cut))
    }

    func total(_ snapshot: SpeedSnapshot) -> Int64 {
        snapshot.state.rows.values.reduce(0) { sum, row in
            if case .count(let n) = row[0] { return sum + n }
            return sum
        }
    }

    @Test func segmentsSplitByCutAndDropBelowIt() async throws {
        try await withSpeedLayer { _, topic, speed in
            _ = try await topic.append(Self.batch([0, 60_000, 120_000]), to: 0)
            _ = try await topic.append(Self.batch([30_000]), to: 1)
            try speed.addView(Self.view)
            let all = try await settled(speed)
            #expect(total(all) == 4)
            #expect(all.cut == [0, 0])

            let cut = try speed.openSegmentAtLogEnd(view: "by_page")
            #expect(cut == [3, 1])
            // Late events (old event times) after the cut land in the new segment.
            _ = try await topic.append(Self.batch([0, 1000]), to: 0)
            _ = try await topic.append(Self.batch([5000]), to: 1)
            let afterCut = try await settled(speed, atOrAfter: cut)
            #expect(total(afterCut) == 3)
            #expect(afterCut.cut == cut)
            #expect(total(try await settled(speed, atOrAfter: [0, 0])) == 7)

            speed.dropSegments(view: "by_page", below: cut)
            #expect(total(try await settled(speed, atOrAfter: [0, 0])) == 3)
            #expect(speed.status().first?.segments == 1)

            // An explicit cut behind what is consumed is refused.
            #expect(throws: ViewError.self) { try speed.openSegment(view: "by_page", at: [1, 1]) }
            try speed.openSegment(view: "by_page", at: [5, 2])
            #expect(speed.status().first?.segments == 2)
        }
    }

    /// A job may cut ahead of a consumer (the log's end, while it replays) and publish before the
    /// consumer gets there; the segment below the cut is then dropped, and the records between the
    /// consumer and the cut, which the version counts, must not land in the segment after it.
    @Test func recordsBelowADroppedCutAreNotCountedAgain() async throws {
        try await withSpeedLayer { _, topic, speed in
            _ = try await topic.append(Self.batch([0, 60_000]), to: 0)
            try speed.addView(Self.view)
            _ = try await settled(speed)
            // The cut is 3 records past partition 0's consumer, which has not seen them yet.
            try speed.openSegment(view: "by_page", at: [5, 0])
            speed.dropSegments(view: "by_page", below: [5, 0])
            _ = try await topic.append(Self.batch([1000, 2000, 3000, 4000, 5000]), to: 0)
            _ = try await topic.append(Self.batch([6000]), to: 1)
            let afterCut = try await settled(speed, atOrAfter: [5, 0])
            #expect(afterCut.offsets == [7, 1])
            #expect(total(afterCut) == 3, "only the records at or past the cut: 2 on partition 0, 1 on partition 1")
        }
    }

    /// A view follows a cut that another server published: the state from that cut is computed
    /// beside the one in use, queries pinned to the old cut keep reading the old state until the
    /// new cut's state replaces it.
    @Test func followingACutComputesItsStateBesideTheOneInUse() async throws {
        try await withSpeedLayer { _, topic, speed in
            _ = try await topic.append(Self.batch([0, 60_000, 120_000]), to: 0)
            _ = try await topic.append(Self.batch([30_000]), to: 1)
            try speed.addView(Self.view)
            #expect(total(try await settled(speed)) == 4)
            try await speed.follow(view: "by_page", from: [2, 1], maxEventTimes: [60_000, 30_000])
            #expect(total(try await settled(speed, atOrAfter: [2, 1])) == 1)
            #expect(total(try await settled(speed, atOrAfter: [0, 0])) == 4, "the old state answers its own cut")
            _ = try await topic.append(Self.batch([0]), to: 1)
            #expect(total(try await settled(speed, atOrAfter: [2, 1])) == 2)
            #expect(total(try await settled(speed, atOrAfter: [0, 0])) == 5)
            speed.dropSegments(view: "by_page", below: [2, 1])
            let after = try await settled(speed, atOrAfter: [2, 1])
            #expect(total(after) == 2)
            #expect(after.progress.offsets == [3, 2])
            // The record at 0 ms on partition 1 is late against the version's largest event time.
            #expect(speed.partitionProgress().first?.partitions[1].lateRecords == 1)
            #expect(speed.status().first?.segments == 1)
        }
    }

    /// Each partition's state at or after `cut`, once every partition `speed` computes has
    /// consumed up to the log's end (bounded wait).
    func partitionStates(_ speed: SpeedLayer, _ topic: Topic, atOrAfter cut: [Int64]? = nil) async throws -> [ViewState] {
        for _ in 0..<2000 {
            let owned = speed.ownedPartitions(of: topic.name)
            let read = try #require(
                try await speed.read(view: "by_page", atOrAfter: cut, into: ViewState()) { partial, segment in segment.merge(into: &partial) })
            let ends = topic.endOffsets()
            if ends.indices.allSatisfy({ owned?.contains($0) == false || read.progress.offsets[$0] == ends[$0] }) { return read.partials }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("the speed layer did not catch up")
        return []
    }

    /// Partitions move to and from a server at random, between cuts and drops (published
    /// largest event times known or not): each partition it owns holds exactly what a server
    /// that always computed every partition holds, late records included, and the others hold
    /// nothing.
    @Test(arguments: [7, 8, 9]) func partitionsThatMoveHereAreComputedAsIfTheyNeverLeft(seed: UInt64) async throws {
        try await withSpeedLayer(delay: 5_000) { log, _, reference in
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let topic = try log.createTopic("clicks4", partitions: 4)
            let stream = StreamDefinition(name: "clicks4", partitions: 4, fields: Self.stream.fields, timeField: "ts")
            let definition = ViewDefinition(
                name: "by_page", stream: "clicks4", dimensions: ["page"], bucketMilliseconds: 60_000, aggregates: [("n", AggregateSpec(.count))])
            let view = try CompiledView(definition, stream: stream)
            let divided = SpeedLayer(log: log, configuration: SpeedLayerConfiguration(watermarkDelayMilliseconds: 5_000), logger: logger)
            let service = Task { try await divided.run() }
            defer { service.cancel() }
            divided.own(["clicks4": [0]])
            try reference.addView(view)
            try divided.addView(view)
            var random = SplitMix64(seed: seed)
            var clock: Int64 = 1_000_000
            var cut: [Int64]?
            for step in 0..<40 {
                for _ in 0..<Int(random.next() % 4) {
                    let partition = Int(random.next() % 4)
                    clock += Int64(random.next() % 3_000)
                    // Some events arrive up to 20 s late: behind the 5 s watermark delay.
                    let times = (0..<Int(1 + random.next() % 6)).map { _ in clock - Int64(random.next() % 20_000) }
                    _ = try await topic.append(Self.batch(times, page: "/p\(random.next() % 5)"), to: partition)
                }
                switch random.next() % 6 {
                case 0, 1:
                    let owned = Set((0..<4).filter { _ in random.next() % 2 == 0 })
                    divided.own(["clicks4": owned])
                case 2:
                    // A job's cut, taken where both have consumed everything below it.
                    let next = try reference.openSegmentAtLogEnd(view: "by_page")
                    try divided.openSegment(view: "by_page", at: next)
                    cut = next
                case 3:
                    // Its publication: both drop below it; the largest event times are sometimes known.
                    guard let published = cut else { break }
                    let maxima = reference.partitionProgress().first { $0.view == "by_page" && $0.stream == "clicks4" }
                    let known = random.next() % 2 == 0 && topic.endOffsets() == published ? maxima?.partitions.map(\.maxEventTime) : nil
                    reference.dropSegments(view: "by_page", below: published, maxEventTimes: known)
                    divided.dropSegments(view: "by_page", below: published, maxEventTimes: known)
                default: break
                }
                let owned = divided.ownedPartitions(of: "clicks4") ?? []
                let expected = try await partitionStates(reference, topic, atOrAfter: cut)
                let actual = try await partitionStates(divided, topic, atOrAfter: cut)
                for partition in 0..<4 {
                    if owned.contains(partition) {
                        #expect(actual[partition] == expected[partition], "step \(step), partition \(partition)")
                    } else {
                        #expect(actual[partition].rows.isEmpty, "step \(step), partition \(partition) is not owned")
                    }
                }
            }
            #expect(divided.status().first?.caughtUp == true)
        }
    }

    /// What one server sends another for its partitions: states (with sketches and late
    /// counts), positions and refusals round-trip; truncated or damaged bytes are an error, never a
    /// crash or a wrong state.
    @Test func partitionExportsRoundTripAndDamagedOnesAreRefused() throws {
        var state = ViewState()
        let key = StateKey(bucket: 60_000, group: GroupKey([.string("/a")]))
        state.mergeRow([.count(3), .count(1)], at: key)
        state.mergeRow([.count(2), .count(0)], at: StateKey(bucket: -120_000, group: GroupKey([nil])))
        let exports: [PartitionExport] = [
            .state(state, position: 17, maxEventTime: 1_763_600_000_000, lastIngestTime: nil), .notOwned,
            .cutUnavailable(firstSegment: 118), .state(ViewState(), position: 0, maxEventTime: nil, lastIngestTime: 5),
        ]
        let bytes = PartitionExport.encode(exports)
        #expect(try PartitionExport.decode(bytes) == exports)
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self, "truncated to \(length) bytes") { try PartitionExport.decode(Array(bytes.prefix(length))) }
        }
        var damaged = bytes
        damaged[4] = 0xFF  // a count far past the bytes
        #expect(throws: (any Error).self) { try PartitionExport.decode(damaged) }
        #expect(throws: (any Error).self) { try PartitionExport.decode(bytes + [0]) }
    }

    @Test func aFilteredSnapshotReadsTheIndexedRowsOfItsValues() async throws {
        try await withSpeedLayer { _, topic, speed in
            let pages = ["/a", "/b", "/c", "/d"]
            for (index, page) in pages.enumerated() {
                _ = try await topic.append(Self.batch((0..<50).map { Int64($0 * 60_000 + index) }, page: page), to: index % 2)
            }
            try speed.addView(Self.view)
            let all = try await settled(speed)
            let cut = try speed.openSegmentAtLogEnd(view: "by_page")
            _ = try await topic.append(Self.batch([30_000, 90_000], page: "/b"), to: 0)
            _ = try await topic.append(Self.batch([30_000], page: "/c"), to: 1)
            _ = try await settled(speed, atOrAfter: cut)
            for values: [FieldValue?] in [[.string("/b")], [.string("/c"), .string("/a")], [.string("/b"), .string("/b")], [.string("/none")]] {
                for (floor, from, to): ([Int64]?, Int64, Int64) in [(nil, .min, .max), (cut, .min, .max), (nil, 600_000, 1_200_000)] {
                    let whole = try #require(speed.snapshot(view: "by_page", atOrAfter: floor, from: from, to: to))
                    let narrowed = try #require(
                        speed.snapshot(
                            view: "by_page", atOrAfter: floor, from: from, to: to, narrowing: DimensionNarrowing(dimension: 0, values: values)))
                    #expect(narrowed.state.rows == whole.state.rows.filter { values.contains($0.key.group.values[0]) }, "\(values) \(from)")
                }
            }
            #expect(total(all) == 200)
        }
    }

    @Test func partitionsReadInParallelAnswerLikeTheSnapshot() async throws {
        try await withSpeedLayer { _, topic, speed in
            let pages = ["/a", "/b", "/c", "/d", "/e"]
            for (index, page) in pages.enumerated() {
                _ = try await topic.append(Self.batch((0..<40).map { Int64($0 * 45_000 + index) }, page: page), to: index % 2)
            }
            try speed.addView(Self.view)
            let cut = try speed.openSegmentAtLogEnd(view: "by_page")
            _ = try await topic.append(Self.batch([30_000, 90_000, 2_000_000], page: "/b"), to: 0)
            _ = try await topic.append(Self.batch([30_000], page: "/z"), to: 1)
            _ = try await settled(speed, atOrAfter: cut)
            let view = Self.view
            for floor in [nil, cut] {
                let state = try #require(speed.snapshot(view: "by_page", atOrAfter: floor)).state
                for request in [
                    RollupRequest(from: 0, to: 3_600_000, groupBy: ["page"], window: .tumbling(granularity: 600_000)),
                    RollupRequest(from: 0, to: 3_600_000, window: .hopping(size: 300_000, advance: 60_000)),
                    RollupRequest(
                        from: 0, to: 3_600_000, groupBy: ["page"], filter: .compare(field: "page", op: .in, values: [.string("/b"), .string("/z")])),
                ] {
                    let expected = view.rollup(state, request)
                    #expect(!expected.isEmpty)
                    // Forced parallel (parallelRows 0) and forced sequential answer alike.
                    for parallelRows in [0, Int.max] {
                        let read = try #require(
                            try await speed.read(
                                view: "by_page", atOrAfter: floor, parallelRows: parallelRows,
                                into: try RollupAccumulator(view, request, limits: .unlimited)
                            ) { partial, segment in try partial.add(segment) })
                        #expect(read.partials.count == 2)
                        var merged = try RollupAccumulator(view, request, limits: .unlimited)
                        for partial in read.partials { try merged.merge(partial) }
                        #expect(merged.rows() == expected, "\(request), parallelRows \(parallelRows)")
                        #expect(read.progress.cut == floor ?? [0, 0])
                        #expect(read.progress.offsets == [123, 81])
                    }
                }
            }
        }
    }

    @Test func watermarkIgnoresIdleCaughtUpPartitions() async throws {
        try await withSpeedLayer(delay: 1000) { _, topic, speed in
            try speed.addView(Self.view)
            #expect(try await settled(speed).watermark == nil)
            _ = try await topic.append(Self.batch([10_000, 50_000]), to: 0)
            // Partition 1 has no data but is caught up: it does not hold the watermark back.
            #expect(try await settled(speed).watermark == 49_000)
            _ = try await topic.append(Self.batch([20_000]), to: 1)
            // Both caught up: the largest.
            #expect(try await settled(speed).watermark == 49_000)
            _ = try await topic.append(Self.batch([90_000]), to: 1)
            #expect(try await settled(speed).watermark == 89_000)
        }
    }

    @Test func removedViewsStopAndReplayFromTheStart() async throws {
        try await withSpeedLayer { _, topic, speed in
            _ = try await topic.append(Self.batch([0, 1, 2]), to: 0)
            try speed.addView(Self.view)
            #expect(total(try await settled(speed)) == 3)
            speed.removeView("by_page")
            #expect(speed.snapshot(view: "by_page") == nil)
            #expect(speed.viewNames.isEmpty)
            _ = try await topic.append(Self.batch([3]), to: 1)
            try speed.addView(Self.view)
            let replayed = try await settled(speed)
            #expect(total(replayed) == 4)
            #expect(speed.isCaughtUp)
            #expect(speed.status().first?.caughtUp == true)
        }
    }
}
