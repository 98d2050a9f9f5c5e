/// The answer of `GET /v1/views`.
public struct ViewsResponse: Codable, Sendable, Equatable {
    /// Every view, by name.
    public var views: [ViewResponse]

    /// Creates an answer.
    public init(views: [ViewResponse]) { self.views = views }
}
