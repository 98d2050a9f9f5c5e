/// A bearer token as `POST /v1/tokens` and `GET /v1/tokens` describe it. Only the answer to its
/// creation carries the token itself.
public struct TokenResponse: Codable, Sendable, Equatable {
    /// The token's name.
    public var name: String
    /// Its public id (the part after `tdm_`).
    public var id: String
    /// `ingest`, `query` or `admin`.
    public var scope: String
    /// The streams an ingest token is limited to, if any.
    public var streams: [String]?
    /// When it was made (RFC 3339).
    public var createdAt: String
    /// The whole token, in the answer to its creation only.
    public var token: String?
    /// Its limit of requests a second, if any.
    public var requestsPerSecond: Double?
    /// Its limit of events a second, if any.
    public var eventsPerSecond: Double?

    enum CodingKeys: String, CodingKey {
        case name, id, scope, streams, token
        case createdAt = "created_at"
        case requestsPerSecond = "requests_per_second"
        case eventsPerSecond = "events_per_second"
    }

    /// Creates a description.
    public init(
        name: String, id: String, scope: String, streams: [String]?, createdAt: String, token: String?, requestsPerSecond: Double? = nil,
        eventsPerSecond: Double? = nil
    ) {
        self.requestsPerSecond = requestsPerSecond
        self.eventsPerSecond = eventsPerSecond
        self.name = name
        self.id = id
        self.scope = scope
        self.streams = streams
        self.createdAt = createdAt
        self.token = token
    }
}

/// `GET /v1/tokens`.
public struct TokensResponse: Codable, Sendable, Equatable {
    /// Every token, by name.
    public var tokens: [TokenResponse]

    /// Creates a list.
    public init(tokens: [TokenResponse]) { self.tokens = tokens }
}
