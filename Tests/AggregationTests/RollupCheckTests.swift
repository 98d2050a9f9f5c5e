import Aggregation
import Events
import Testing

/// `CompiledView.check(_:)` rejects requests that cannot be answered, with a stable code.
@Suite("Rollup request checks")
struct RollupCheckTests {
    static let minute = ViewFixture.minute

    static func request(
        from: Int64 = 0, to: Int64 = 3_600_000, groupBy: [String] = [], filter: Filter? = nil, window: WindowShape = .tumbling(granularity: nil)
    ) -> RollupRequest {
        RollupRequest(from: from, to: to, groupBy: groupBy, filter: filter, window: window)
    }

    static let rejected: [(String, RollupRequest, ViewError.Code)] = [
        ("granularity not a multiple of the bucket", request(window: .tumbling(granularity: 90_000)), .invalidGranularity),
        ("granularity below the bucket", request(window: .tumbling(granularity: 30_000)), .invalidGranularity),
        ("granularity zero", request(window: .tumbling(granularity: 0)), .invalidGranularity),
        ("granularity negative", request(window: .tumbling(granularity: -60_000)), .invalidGranularity),
        ("from equal to to", request(from: 5, to: 5), .invalidRange),
        ("from after to", request(from: 10, to: 5), .invalidRange),
        ("unknown group_by dimension", request(groupBy: ["url", "browser"]), .unknownField),
        ("group_by a field that is not a dimension", request(groupBy: ["user"]), .unknownField),
        ("filter on an unknown field", request(filter: ViewFixture.compare("browser", .equal, .string("x"))), .unknownField),
        ("filter on a field that is not a dimension", request(filter: ViewFixture.compare("latency", .less, .number(3))), .unknownField),
        ("filter nested deep on a non-dimension", request(filter: .not(.and([ViewFixture.compare("user", .exists)]))), .unknownField),
        ("filter value of the wrong type", request(filter: ViewFixture.compare("url", .equal, .number(3))), .invalidFilter),
        ("hopping size not a multiple", request(window: .hopping(size: 90_000, advance: 60_000)), .invalidWindow),
        ("hopping advance not a multiple", request(window: .hopping(size: 600_000, advance: 45_000)), .invalidWindow),
        ("hopping advance zero", request(window: .hopping(size: 600_000, advance: 0)), .invalidWindow),
        ("session key not a dimension", request(window: .session(gap: 600_000, key: "user")), .invalidWindow),
        ("session key unknown", request(window: .session(gap: 600_000, key: "nope")), .invalidWindow),
        ("session gap zero", request(window: .session(gap: 0, key: "url")), .invalidWindow),
    ]

    @Test("bad requests are rejected with their code", arguments: rejected.indices)
    func rejects(index: Int) throws {
        let (label, request, code) = Self.rejected[index]
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        let error = #expect(throws: ViewError.self, "\(label)") { try view.check(request) }
        #expect(error?.code == code, "\(label): \(String(describing: error))")
    }

    @Test("good requests pass")
    func accepts() throws {
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        let good: [RollupRequest] = [
            Self.request(),
            Self.request(from: -10, to: -9),
            Self.request(groupBy: ["country", "url"], window: .tumbling(granularity: 60_000)),
            Self.request(window: .tumbling(granularity: 86_400_000)),
            Self.request(filter: .or([ViewFixture.compare("url", .in, .string("/a")), .not(ViewFixture.compare("country", .exists))])),
            Self.request(window: .hopping(size: 60_000, advance: 60_000)),
            Self.request(window: .hopping(size: 3_600_000, advance: 900_000)),
            Self.request(groupBy: ["country"], window: .session(gap: 1, key: "url")),
        ]
        for request in good {
            #expect(throws: Never.self) { try view.check(request) }
        }
    }

    @Test("an empty state and an empty range roll up to no rows")
    func emptyRollups() throws {
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        #expect(view.rollup(ViewState(), Self.request()).isEmpty)
        var state = ViewState()
        let event = ViewFixture.Event(ts: 120_000, url: "/a", country: "US", user: "u1", latency: 3, bytes: 4)
        view.apply(values: event.values, eventTime: event.ts, to: &state)
        #expect(state.count == 1)
        #expect(view.rollup(state, Self.request(from: 180_000, to: 240_000)).isEmpty)
        #expect(view.rollup(state, Self.request(from: 0, to: 120_000)).isEmpty, "to is exclusive")
        let rows = view.rollup(state, Self.request(from: 120_000, to: 120_001, groupBy: ["country"]))
        #expect(rows.count == 1)
        #expect(rows.first?.time == nil)
        #expect(rows.first?.group == [.string("US")])
        #expect(rows.first.map { view.results($0.states)[0] } == .int(1))
    }

    @Test("events that fail the view filter change nothing")
    func filteredOut() throws {
        let view = try CompiledView(ViewFixture.view, stream: ViewFixture.stream)
        var state = ViewState()
        let health = ViewFixture.Event(ts: 1, url: "/health", country: "US", user: "u1", latency: 3, bytes: 4)
        let slow = ViewFixture.Event(ts: 1, url: "/a", country: "DE", user: "u1", latency: 901, bytes: 4)
        let noLatency = ViewFixture.Event(ts: 1, url: "/a", country: "FR", user: "u1", latency: nil, bytes: 4)
        let seven = ViewFixture.Event(ts: 1, url: "/rare/1", country: "JP", user: "u7", latency: 1, bytes: 4)
        for event in [health, slow, noLatency, seven] {
            #expect(!event.passesViewFilter)
            view.apply(values: event.values, eventTime: event.ts, to: &state)
        }
        #expect(state == ViewState())
        let noUser = ViewFixture.Event(ts: 1, url: "/rare/1", country: "JP", user: nil, latency: nil, bytes: nil)
        #expect(noUser.passesViewFilter, "!= holds for an absent field")
        view.apply(values: noUser.values, eventTime: noUser.ts, to: &state)
        #expect(state.count == 1)
    }
}
