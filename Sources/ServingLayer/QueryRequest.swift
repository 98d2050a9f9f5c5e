import Aggregation
import Events

/// A query, as posted to `POST /v1/query` (README, HTTP API: Queries).
public struct QueryRequest: Sendable, Codable, Equatable {
    /// Top-N ordering.
    public struct OrderBy: Sendable, Codable, Equatable {
        /// The aggregate to order by.
        public var aggregate: String
        /// Largest first (default).
        public var desc: Bool?
    }

    /// The window shape: `{"type": "tumbling"}`, `{"type": "hopping", "size": "1h", "advance": "15m"}`,
    /// or `{"type": "session", "gap": "30m", "key": "user_id"}`.
    public struct Window: Sendable, Codable, Equatable {
        public var type: String
        public var size: String?
        public var advance: String?
        public var gap: String?
        public var key: String?
    }

    public var view: String
    /// Start of the range: RFC 3339 (or epoch milliseconds as a string).
    public var from: String
    /// End of the range (exclusive).
    public var to: String
    /// A multiple of the view's bucket, or `all`; default: the bucket.
    public var granularity: String?
    public var groupBy: [String]?
    public var filter: Filter?
    public var aggregates: [String]?
    public var orderBy: OrderBy?
    public var limit: Int?
    public var window: Window?
    /// Whether an answer without the published batch version is wanted when that version cannot
    /// be read: a 200 marked `"complete": false` that names what is missing, instead of a 503
    /// `batch_unavailable`.
    public var allowPartial: Bool?

    enum CodingKeys: String, CodingKey {
        case view, from, to, granularity, filter, aggregates, limit, window
        case groupBy = "group_by"
        case orderBy = "order_by"
        case allowPartial = "allow_partial"
    }

    /// Creates a query.
    public init(
        view: String, from: String, to: String, granularity: String? = nil, groupBy: [String]? = nil, filter: Filter? = nil,
        aggregates: [String]? = nil, orderBy: OrderBy? = nil, limit: Int? = nil, window: Window? = nil, allowPartial: Bool? = nil
    ) {
        self.view = view
        self.from = from
        self.to = to
        self.granularity = granularity
        self.groupBy = groupBy
        self.filter = filter
        self.aggregates = aggregates
        self.orderBy = orderBy
        self.limit = limit
        self.window = window
        self.allowPartial = allowPartial
    }

    static func time(_ text: String, field: String) throws(ViewError) -> Int64 {
        if let millis = Timestamp.parse(text) { return millis }
        if let millis = Int64(text) { return millis }
        throw ViewError(.invalidRange, "\(field) must be an RFC 3339 time such as 2026-11-20T00:00:00Z, got \"\(text)\"", field: field)
    }

    static func duration(_ text: String?, field: String) throws(ViewError) -> Int64? {
        guard let text else { return nil }
        guard let millis = DurationText.milliseconds(text) else {
            throw ViewError(.invalidWindow, "\(field) must be a duration such as 15m or 1h, got \"\(text)\"", field: field)
        }
        return millis
    }

    /// The rollup this query asks of `view`, checked.
    func rollup(for view: CompiledView, limits: RollupLimits) throws(ViewError) -> RollupRequest {
        let from = try Self.time(from, field: "from")
        let to = try Self.time(to, field: "to")
        let shape: WindowShape
        switch window?.type ?? "tumbling" {
        case "tumbling":
            switch granularity {
            case nil: shape = .tumbling(granularity: view.definition.bucketMilliseconds)
            case "all"?: shape = .tumbling(granularity: nil)
            case let text?:
                guard let step = DurationText.milliseconds(text) else {
                    throw ViewError(.invalidGranularity, "granularity must be a duration such as 1h, or all; got \"\(text)\"", field: "granularity")
                }
                shape = .tumbling(granularity: step)
            }
        case "hopping", "sliding":
            let size = try Self.duration(window?.size, field: "window.size")
            let advance = try Self.duration(window?.advance, field: "window.advance") ?? view.definition.bucketMilliseconds
            guard let size else { throw ViewError(.invalidWindow, "a hopping window needs a size", field: "window.size") }
            shape = .hopping(size: size, advance: advance)
        case "session":
            guard let gap = try Self.duration(window?.gap, field: "window.gap"), let key = window?.key else {
                throw ViewError(.invalidWindow, "a session window needs a gap and a key", field: "window")
            }
            shape = .session(gap: gap, key: key)
        case let other:
            throw ViewError(.invalidWindow, "window type must be tumbling, hopping or session, got \"\(other)\"", field: "window.type")
        }
        let request = RollupRequest(from: from, to: to, groupBy: groupBy ?? [], filter: filter, window: shape)
        try view.check(request, limits: limits)
        for name in aggregates ?? [] where view.definition.aggregate(name) == nil {
            throw ViewError(.unknownAggregate, "view \"\(view.name)\" has no aggregate \"\(name)\"", field: "aggregates")
        }
        if let orderBy, view.definition.aggregate(orderBy.aggregate) == nil {
            throw ViewError(.unknownAggregate, "order_by names \"\(orderBy.aggregate)\", which is not an aggregate of the view", field: "order_by")
        }
        if let limit, limit < 1 { throw ViewError(.invalidRange, "limit must be at least 1", field: "limit") }
        return request
    }
}
