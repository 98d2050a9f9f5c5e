/// The answer of `/healthz` and `/readyz`.
public struct HealthResponse: Codable, Sendable, Equatable {
    /// `ok` (`/healthz`), `ready` or `replaying` (`/readyz`).
    public var status: String
    /// Whether every view has replayed up to the log end seen at start.
    public var ready: Bool
    /// The speed layer's progress on each view.
    public var views: [SpeedViewStatus]
    /// Stored views that could not start, with their errors: the server answers without them.
    public var failedViews: [String: String]

    enum CodingKeys: String, CodingKey {
        case status, ready, views
        case failedViews = "failed_views"
    }

    /// Creates an answer.
    public init(status: String, ready: Bool, views: [SpeedViewStatus], failedViews: [String: String]) {
        self.status = status
        self.ready = ready
        self.views = views
        self.failedViews = failedViews
    }
}
